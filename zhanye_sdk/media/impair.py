"""Network impairment on the server's media sockets, for tests and benchmarks.

The kernel here has no ``netem``, so loss, burst loss, delay and jitter are injected in
user space, between aiortc's DTLS/SRTP layer and its ICE connection: every RTP/RTCP
datagram a peer sends (downlink, server → participant) or receives (uplink) passes a
:class:`LinkChannel` that drops it or holds it back. STUN and DTLS datagrams pass
untouched, so connections still come up. Every channel draws from its own seeded
generator: the same seed gives the same drops and delays, packet for packet.

Loss follows the Gilbert–Elliott model: a two-state Markov chain (good, bad) stepped once
per packet, every packet lost in the bad state and none in the good one.
``LinkImpairment(loss=0.1)`` is plain independent (Bernoulli) loss; ``burst`` (the mean
length in packets of a bad period) makes losses come in bursts, ``loss`` staying the
long-run fraction of packets lost.
"""

from __future__ import annotations

import asyncio
import collections
import random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

__all__ = ["LinkChannel", "LinkImpairment", "NetworkImpairment", "impair_ice_transport"]


def _fraction(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value}")


def _non_negative(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


@attrs.frozen
class LinkImpairment:
    """What one direction of a link does to media packets.

    Attributes:
        loss: long-run fraction of packets lost (0–1).
        burst: mean length, in packets, of a loss burst (the Gilbert–Elliott bad state, in
            which every packet is lost); None: independent loss.
        delay_ms: constant one-way delay added to every packet.
        jitter_ms: standard deviation of a normal delay variation on top (never below 0;
            packets may overtake each other, as on a real network).
        seed: seed of this direction's generator.
    """

    loss: float = attrs.field(default=0.0, validator=_fraction)
    burst: float | None = attrs.field(default=None)
    delay_ms: float = attrs.field(default=0.0, validator=_non_negative)
    jitter_ms: float = attrs.field(default=0.0, validator=_non_negative)
    seed: int = 0

    @burst.validator
    def _check_burst(self, _: Any, value: float | None) -> None:
        if value is None:
            return
        if self.loss >= 1.0:
            raise ValueError("a link that loses every packet has no bursts")
        # From the good state a burst starts with p = loss / (burst * (1 - loss)) <= 1.
        if value * (1.0 - self.loss) < self.loss or value < 1.0:
            raise ValueError(
                f"burst must be at least max(1, loss / (1 - loss)) packets, got {value}"
            )


@attrs.frozen
class NetworkImpairment:
    """Impairment of the server's media path, per direction (None: untouched).

    Attributes:
        uplink: what happens to packets from a participant to the server.
        downlink: what happens to packets from the server to a participant.
    """

    uplink: LinkImpairment | None = None
    downlink: LinkImpairment | None = None


class LinkChannel:
    """The sans-I/O decision for each packet of one direction: drop, or deliver after a delay.

    Bursts (Gilbert–Elliott, loss 1 in the bad state and 0 in the good one): from good, a
    packet starts a burst with probability ``p``; in a burst, the next packet ends it with
    ``r = 1 / burst``. The stationary loss is ``p / (p + r)``, so ``p = r * loss / (1 - loss)``.
    """

    def __init__(self, impairment: LinkImpairment, *, seed_offset: int = 0) -> None:
        self._random = random.Random(impairment.seed * 1_000_003 + seed_offset)
        self._bad = False
        self.packets = 0
        self.dropped = 0
        #: Datagrams offered, by kind: ``rtp <payload type>`` or ``rtcp <type> <format>``
        #: (SRTP and SRTCP leave these header fields readable).
        self.kinds: collections.Counter[str] = collections.Counter()
        self.change(impairment)

    def change(self, impairment: LinkImpairment) -> None:
        """Impair from the next packet on as ``impairment`` says (an episode starts or ends);
        the generator goes on (its seed stays the first impairment's)."""
        self.impairment = impairment
        loss, burst = impairment.loss, impairment.burst
        # Independent loss is the chain whose next state does not depend on this one.
        self._r = 1.0 - loss if burst is None else 1.0 / burst
        self._p = loss if burst is None else self._r * loss / (1.0 - loss)
        self._bad = self._bad and loss > 0

    def note(self, data: bytes) -> None:
        """Count a media datagram by kind (what tests look for: NACK, PLI, REMB, RTX)."""
        if len(data) < 2:
            return
        if 192 <= data[1] <= 223:  # RTCP packet types (RFC 5761)
            self.kinds[f"rtcp {data[1]} {data[0] & 0x1F}"] += 1
        else:
            self.kinds[f"rtp {data[1] & 0x7F}"] += 1

    def decide(self) -> float | None:
        """The next packet's fate: None (dropped) or its delay in seconds."""
        self.packets += 1
        step = self._random.random()
        self._bad = step >= self._r if self._bad else step < self._p
        jitter = self._random.gauss(0.0, 1.0) if self.impairment.jitter_ms else 0.0
        if self._bad:
            self.dropped += 1
            return None
        delay_ms = self.impairment.delay_ms + self.impairment.jitter_ms * jitter
        return max(0.0, delay_ms) / 1000.0


def _is_media(data: bytes) -> bool:
    # RFC 7983 demultiplexing: RTP and RTCP start with a byte in 128..191.
    return bool(data) and 128 <= data[0] <= 191


def _send_through(
    channel: LinkChannel, send: Callable[[bytes], Awaitable[None]]
) -> Callable[[bytes], Awaitable[None]]:
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Future[None]] = set()

    def settled(task: asyncio.Future[None]) -> None:
        pending.discard(task)
        # A connection closed while a packet was held back just loses it.
        if not task.cancelled():
            task.exception()

    def later(data: bytes) -> None:
        task = asyncio.ensure_future(send(data))
        pending.add(task)
        task.add_done_callback(settled)

    async def impaired(data: bytes) -> None:
        if not _is_media(data):
            await send(data)
            return
        channel.note(data)
        delay = channel.decide()
        if delay is None:
            return
        if delay == 0:
            await send(data)
        else:
            loop.call_later(delay, later, data)

    return impaired


def _recv_through(
    channel: LinkChannel, recv: Callable[[], Awaitable[bytes]]
) -> Callable[[], Awaitable[bytes]]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
    pump: list[asyncio.Task[None]] = []

    async def read() -> None:
        while True:
            try:
                data = await recv()
            except BaseException as exc:  # handed to the reader, who sees it as aiortc would
                queue.put_nowait(exc)
                return
            media = _is_media(data)
            if media:
                channel.note(data)
            delay = channel.decide() if media else 0.0
            if delay is None:
                continue
            if delay == 0:
                queue.put_nowait(data)
            else:
                loop.call_later(delay, queue.put_nowait, data)

    async def impaired() -> bytes:
        if not pump:
            pump.append(loop.create_task(read()))
        item = await queue.get()
        if isinstance(item, BaseException):
            queue.put_nowait(item)
            raise item
        return item

    return impaired


def impair_ice_transport(transport: Any, impairment: NetworkImpairment) -> list[LinkChannel]:
    """Put ``impairment`` between an aiortc ``RTCIceTransport`` and its DTLS transport.

    Call it before the connection starts (after ``setLocalDescription``). Returns the
    channels (uplink, downlink, whichever are set) so that callers can read their counters.
    """
    channels = []
    if impairment.uplink is not None:
        up = LinkChannel(impairment.uplink, seed_offset=1)
        transport._recv = _recv_through(up, transport._recv)
        channels.append(up)
    if impairment.downlink is not None:
        down = LinkChannel(impairment.downlink, seed_offset=2)
        transport._send = _send_through(down, transport._send)
        channels.append(down)
    return channels
