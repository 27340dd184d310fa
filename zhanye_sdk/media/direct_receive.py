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

Each audio packet then goes where aiortc's receiver would have put it, inside the same
native call (an ``AudioIntake``: no Python per packet): the receive statistics of its
SSRC (aiortc's receiver reports and ``getStats`` read them through
:class:`LinkStatistics`, with the kernel's arrival time, so the jitter measured is the
network's, not the tick's), a NACK of the hole it reveals, and the ``Playout``'s jitter
buffer, which releases it at its playout time as before.

A packet the link cannot authenticate is handed to aiortc too (its own SRTP session,
which saw the stream from its start, may still read it), so a participant is never
silenced by a state the link missed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiortc import clock
from aiortc.rtcrtpreceiver import StreamStatistics

from zhanye_sdk._backend import AudioReceiveLink
from zhanye_sdk.kernels.intake import StatisticsRow
from zhanye_sdk.media.direct_send import selected_socket, srtp_key
from zhanye_sdk.media.playout import Playout

__all__ = ["DirectAudioReceiver", "LinkStatistics", "open_direct_receiver"]

_log = logging.getLogger(__name__)
_RECEIVER = "_RTCRtpReceiver__"
_AUDIO = ("audio/opus", "audio/red")


_NO_PACKETS: StatisticsRow = (None, None, 0, 0, 0, None, None)


class LinkStatistics(StreamStatistics):
    """aiortc's RFC 3550 receive statistics of a stream the tick reads: the counters are
    the ``AudioIntake``'s (kept in native code, with the kernel's arrival times, so the
    jitter measured is the network's, not the tick's); aiortc's receiver reports and
    ``getStats`` read them through this object as before."""

    def __init__(self, intake: Any, ssrc: int, clockrate: int, before: Any = None) -> None:
        self._intake = intake
        self._ssrc = ssrc
        self._clockrate = clockrate
        # The receiver reports' interval counts carry on from aiortc's own object.
        self._expected_prior = getattr(before, "_expected_prior", 0)
        self._received_prior = getattr(before, "_received_prior", 0)

    def _row(self) -> StatisticsRow:
        return self._intake.statistics(self._ssrc) or _NO_PACKETS

    base_seq = property(lambda self: self._row()[0])
    max_seq = property(lambda self: self._row()[1])
    cycles = property(lambda self: self._row()[2])
    packets_received = property(lambda self: self._row()[3])
    _jitter_q4 = property(lambda self: self._row()[4])

    def add(self, packet: Any) -> None:
        """A packet aiortc read itself (one the link could not authenticate): the
        intake's counters are the stream's, so it is not counted twice."""


def _row_of(stats: Any) -> StatisticsRow:
    return (
        stats.base_seq,
        stats.max_seq,
        stats.cycles,
        stats.packets_received,
        stats._jitter_q4,  # noqa: SLF001
        stats._last_arrival,  # noqa: SLF001
        stats._last_timestamp,  # noqa: SLF001
    )


class DirectAudioReceiver:
    """Drains one participant's socket on the tick (see the module docstring).

    Args:
        link: the participant's ``AudioReceiveLink``.
        protocol: aioice's protocol of the socket (gets every other datagram).
        receiver: the aiortc ``RTCRtpReceiver`` of the participant's audio.
        playout: that receiver's ``Playout``, whose intake and jitter buffer it fills.
    """

    def __init__(self, link: Any, protocol: Any, receiver: Any, playout: Playout) -> None:
        self.link = link
        self._protocol = protocol
        self._receiver = receiver
        self._playout = playout
        self._streams: dict[int, Any] = getattr(receiver, _RECEIVER + "remote_streams")
        self._active: dict[int, Any] = getattr(receiver, _RECEIVER + "active_ssrc")
        #: Each audio packet's statistics, NACK and jitter buffer (native code): the
        #: playout's own, which carries on from the packets aiortc read before.
        self.intake = playout.intake
        self._clock_rate = playout.buffer.clock_rate
        # The statistics carry on from where aiortc's reading left them.
        for ssrc, stats in list(self._streams.items()):
            if stats.base_seq is not None:
                self.intake.seed(ssrc, _row_of(stats))
                self._streams[ssrc] = LinkStatistics(self.intake, ssrc, self._clock_rate, stats)

    def drain(self) -> int:
        """Read what waits on the socket; the audio packets taken in."""
        playout = self._playout
        other, taken, nacks, seen = self.link.drain_into(
            self.intake,
            playout.buffer,
            take=self._receiver._enabled,  # noqa: SLF001
        )
        for data, source in other:
            self._protocol.datagram_received(data, source)
        if not taken:
            return 0
        for ssrc, lost in nacks:
            playout.ask_for(ssrc, lost)
        now = clock.current_datetime()
        for ssrc in seen:
            if type(self._streams.get(ssrc)) is not LinkStatistics:
                self._streams[ssrc] = LinkStatistics(
                    self.intake, ssrc, self._clock_rate, self._streams.get(ssrc)
                )
            self._active[ssrc] = now
        playout.taken()
        return int(taken)

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
