"""A participant's audio read straight off its socket by the mixing tick, past aiortc's
receive path.

aiortc reads every datagram through asyncio (an event-loop wake-up), aioice (which tries
to parse it as STUN first), a queue and a task, libsrtp through cffi, its RTP parser and
its receiver, all in Python, before the packet reaches the jitter buffer (``Playout``).
Once a participant's DTLS is up, :func:`open_direct_receiver` takes the selected ICE
pair's socket out of asyncio's reader and has an ``AudioReceiveLink``
(``zhanye_sdk._backend``: native, or its libsrtp twin) read it on each tick: the
participant's audio RTP is unprotected and parsed in one call with the kernel's arrival
times; every other datagram (STUN, DTLS, RTCP, video, another address) goes to aioice
as asyncio would have handed it, so ICE consent, RTCP and video work as before.

Each audio packet then goes where aiortc's receiver would have put it: the receive
statistics of its SSRC (aiortc's receiver reports and ``getStats``, with the kernel's
arrival time, so the jitter measured is the network's, not the tick's) and the
``Playout``, which releases it at its playout time as before.

A packet the link cannot authenticate is handed to aiortc too (its own SRTP session,
which saw the stream from its start, may still read it), so a participant is never
silenced by a state the link missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiortc import clock
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.utils import uint16_gt

from zhanye_sdk._backend import AudioReceiveLink
from zhanye_sdk.media.direct_send import selected_socket, srtp_key
from zhanye_sdk.media.playout import Playout

__all__ = ["DirectAudioReceiver", "open_direct_receiver"]

_log = logging.getLogger(__name__)
_RECEIVER = "_RTCRtpReceiver__"
_AUDIO = ("audio/opus", "audio/red")


class _Packet:
    """The fields of a received RTP packet that aiortc's statistics and the playout read."""

    __slots__ = (
        "_data",
        "arrival_wall",
        "marker",
        "payload",
        "payload_type",
        "sequence_number",
        "ssrc",
        "timestamp",
    )

    def __init__(
        self,
        ssrc: int,
        payload_type: int,
        sequence: int,
        timestamp: int,
        marker: bool,
        payload: bytes,
        arrival_wall: float,
    ) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.sequence_number = sequence
        self.timestamp = timestamp
        self.marker = marker
        self.payload = payload
        self._data = payload  # aiortc's depayload of an audio codec: the payload itself
        self.arrival_wall = arrival_wall


class ArrivalStatistics(StreamStatistics):
    """aiortc's RFC 3550 receive statistics, taking each packet's arrival time from the
    packet (the kernel's) instead of the clock when it is added."""

    def add(self, packet: Any) -> None:
        """Count ``packet`` (a ``_Packet``, with ``arrival_wall`` in wall-clock seconds)."""
        in_order = self.max_seq is None or uint16_gt(packet.sequence_number, self.max_seq)
        self.packets_received += 1
        if self.base_seq is None:
            self.base_seq = packet.sequence_number
        if not in_order:
            return
        arrival = int(packet.arrival_wall * self._clockrate)
        if self.max_seq is not None and packet.sequence_number < self.max_seq:
            self.cycles += 1 << 16
        self.max_seq = packet.sequence_number
        if packet.timestamp != self._last_timestamp and self.packets_received > 1:
            assert self._last_arrival is not None and self._last_timestamp is not None
            diff = abs((arrival - self._last_arrival) - (packet.timestamp - self._last_timestamp))
            self._jitter_q4 += diff - ((self._jitter_q4 + 8) >> 4)
        self._last_arrival = arrival
        self._last_timestamp = packet.timestamp


class DirectAudioReceiver:
    """Drains one participant's socket on the tick (see the module docstring).

    Args:
        link: the participant's ``AudioReceiveLink``.
        protocol: aioice's protocol of the socket (gets every other datagram).
        receiver: the aiortc ``RTCRtpReceiver`` of the participant's audio.
        playout: that receiver's ``Playout``.
    """

    def __init__(self, link: Any, protocol: Any, receiver: Any, playout: Playout) -> None:
        self.link = link
        self._protocol = protocol
        self._receiver = receiver
        self._playout = playout
        self._streams: dict[int, Any] = getattr(receiver, _RECEIVER + "remote_streams")
        self._active: dict[int, Any] = getattr(receiver, _RECEIVER + "active_ssrc")
        self._codecs: dict[int, Any] = getattr(receiver, _RECEIVER + "codecs")

    def drain(self) -> int:
        """Read what waits on the socket; the audio packets taken in."""
        audio, other = self.link.drain()
        for data, source in other:
            self._protocol.datagram_received(data, source)
        if not audio or not self._receiver._enabled:  # noqa: SLF001
            return 0
        wall = time.time() - time.monotonic()
        taken = 0
        seen: set[int] = set()
        for ssrc, payload_type, sequence, timestamp, marker, payload, arrival in audio:
            codec = self._codecs.get(payload_type)
            if codec is None:
                continue
            packet = _Packet(
                ssrc, payload_type, sequence, timestamp, marker, payload, arrival + wall
            )
            stats = self._streams.get(ssrc)
            if stats is None:
                stats = self._streams[ssrc] = ArrivalStatistics(codec.clockRate)
            elif type(stats) is not ArrivalStatistics:
                stats.__class__ = ArrivalStatistics  # the same state, read from here on
            stats.add(packet)
            seen.add(ssrc)
            self._playout.add(packet, arrival)
            taken += 1
        now = clock.current_datetime()
        for ssrc in seen:
            self._active[ssrc] = now
        return taken

    def close(self) -> None:
        """Close the link's descriptor."""
        self.link.close()


def open_direct_receiver(transceiver: Any, playout: Playout) -> DirectAudioReceiver | None:
    """A direct receiver of ``transceiver``'s audio once its DTLS is connected over a
    plain UDP pair, reading the socket from now on; None when this connection cannot
    have one (aiortc then goes on reading it)."""
    receiver = transceiver.receiver
    selected = selected_socket(receiver.transport)
    keyed = srtp_key(receiver.transport, sending=False) if selected is not None else None
    loop = asyncio.get_running_loop()
    codecs: dict[int, Any] = getattr(receiver, _RECEIVER + "codecs")
    audio_types = [pt for pt, c in codecs.items() if c.mimeType.lower() in _AUDIO]
    if selected is None or keyed is None or not audio_types:
        return None
    if not hasattr(loop, "_remove_reader"):
        return None  # not asyncio's selector loop: its reader cannot be taken over
    pair, sock = selected
    host, port = pair.remote_addr
    try:
        link = AudioReceiveLink(
            sock.fileno(), host, port, keyed[0], keyed[1], payload_types=audio_types
        )
    except (ValueError, OSError) as exc:
        _log.warning("audio is read through aiortc: no direct link (%s)", exc)
        return None
    # From here on the tick reads the socket; asyncio no longer wakes up for it.
    loop._remove_reader(sock.fileno())  # noqa: SLF001
    return DirectAudioReceiver(link, pair.protocol, receiver, playout)
