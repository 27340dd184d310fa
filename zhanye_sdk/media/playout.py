"""The adaptive jitter buffer (``zhanye_sdk.media.jitter``) inside an aiortc audio receiver.

aiortc's ``RTCRtpReceiver`` hands each audio packet to its jitter buffer and sends what
comes out to its decoder thread. :func:`install` puts a :class:`Playout` there instead:
it answers aiortc's ``add`` with nothing and releases the packets itself, on the event
loop's timer, at the playout times the adaptive buffer gives, into the same decoder queue.
A frame the buffer skipped to shrink its delay reaches the decoder as a discontinuity,
which the resilient Opus decoder does not conceal.

Where the sender negotiated ``nack`` for the audio codec (aiortc peers such as the SDK's
participant client do; Chromium offers it only for video), a hole in the sequence numbers
is asked for again at once (RTCP generic NACK, each packet once); aiortc's sender keeps
the packets it sent and repeats them, and a copy that arrives before its playout time
fills the hole.

On the server (:meth:`Playout.decode_here`) the released Opus or RED packets are decoded
right in the release, mono, and handed to the mixer: no decoder thread, no cross-thread
hop back to the loop per frame, no ``AudioFrame``, no reader task waking up
(``benchmarks/results/media_capacity_profile.md``).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from aiortc.jitterbuffer import JitterFrame

from zhanye_sdk.media.jitter import AdaptiveJitterBuffer
from zhanye_sdk.media.opus import ResilientOpusDecoder

__all__ = ["MAX_NACK", "AudioSink", "Playout", "PlayoutFrame", "install"]

_PRIVATE = "_RTCRtpReceiver__"
#: The longest hole asked for again; a longer one is an outage, not loss.
MAX_NACK = 10
#: Codecs ``Playout.decode_here`` decodes itself.
_DECODED_HERE = ("audio/opus", "audio/red")

#: Where ``Playout.decode_here`` hands each decoded frame: its int16 mono samples at
#: 48 kHz and what it is (None received, ``"red"``/``"fec"`` recovered, ``"plc"``
#: concealed).
AudioSink = Callable[[npt.NDArray[np.int16], str | None], None]


class PlayoutFrame(JitterFrame):
    """aiortc's encoded frame, saying whether the buffer skipped frames before it."""

    def __init__(self, data: bytes, timestamp: int, discontinuity: bool) -> None:
        super().__init__(data, timestamp)
        self.discontinuity = discontinuity


class Playout:
    """Stands in for aiortc's audio ``JitterBuffer`` in one receiver."""

    capacity = 1 << 16

    def __init__(self, receiver: Any, buffer: AdaptiveJitterBuffer | None = None) -> None:
        self.buffer = buffer or AdaptiveJitterBuffer()
        self._receiver = receiver
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._top: int | None = None
        self._nacked: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._payload_types: collections.Counter[int] = collections.Counter()
        self._nacks = 0
        self._retransmitted = 0
        self._intake: Any = None
        #: Frames decoded here and handed to the sink (``decode_here``).
        self.decoded = 0
        self._sink: AudioSink | None = None
        self._decoder: tuple[str, ResilientOpusDecoder] | None = None

    def decode_here(self, sink: AudioSink) -> None:
        """Decode released Opus and RED packets in the release itself (mono, 48 kHz) and
        hand each frame to ``sink`` on the event loop, instead of aiortc's decoder thread
        and track; another codec (G.711) still goes that way. Releases stay on the
        buffer's one timer. (Draining on the room's mixing tick instead was tried: the
        speech recogniser then heard one of three speakers, ``test_sop_whisper_tick``;
        the timer costs about 0.2 ms/s per participant.)
        """
        self._sink = sink

    @property
    def payload_types(self) -> collections.Counter[int]:
        """Packets received, by payload type (RED's or Opus's)."""
        if self._intake is None:
            return self._payload_types
        return self._payload_types + collections.Counter(self._intake.payload_types)

    @property
    def nacks(self) -> int:
        """Packets asked for again (NACK)."""
        return self._nacks + (self._intake.nacks if self._intake is not None else 0)

    @property
    def retransmitted(self) -> int:
        """Packets asked for again that came back."""
        extra = self._intake.retransmitted if self._intake is not None else 0
        return self._retransmitted + extra

    def hand_over(self, intake: Any) -> None:
        """From now on ``intake`` (an ``AudioIntake`` that a direct receiver drains into
        this buffer) counts the packets and finds the holes; it carries on from this
        playout's newest sequence number and open requests."""
        intake.resume(self._top, sorted(self._nacked))
        self._intake = intake

    def ask_for(self, ssrc: int, lost: list[int]) -> None:
        """Ask the sender for the packets ``lost`` again (RTCP generic NACK)."""
        self.defer(self._receiver._send_rtcp_nack(ssrc, lost))  # noqa: SLF001

    def taken(self) -> None:
        """Packets were put in the buffer by someone else (a direct receiver): make
        sure the release timer is due for them."""
        self._schedule()

    @property
    def timers_pending(self) -> int:
        """Release timers waiting on the event loop (0 or 1)."""
        return int(self._timer is not None)

    def _decode(self, codec: Any, released: Any) -> None:
        assert self._sink is not None
        name = codec.mimeType.lower()
        if self._decoder is None or self._decoder[0] != name:
            # As aiortc's decoder thread: a new decoder when the codec changes.
            self._decoder = (name, ResilientOpusDecoder(red=name == "audio/red", channels=1))
        decoded = self._decoder[1].decode_pcm(
            released.payload, released.timestamp, released.discontinuity
        )
        for samples, _, kind in decoded:
            self.decoded += 1
            self._sink(samples, kind)

    @property
    def receiver(self) -> Any:
        """The aiortc receiver this buffer serves."""
        return self._receiver

    @property
    def decoding_here(self) -> bool:
        """Whether ``decode_here`` was called (the owner drains this buffer)."""
        return self._sink is not None

    def defer(self, work: Any) -> None:
        """Run a coroutine of this receiver's as a task (kept until it ends)."""
        task = self._loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _private(self, name: str) -> Any:
        return getattr(self._receiver, _PRIVATE + name, None)

    def add(self, packet: Any, arrival: float | None = None) -> tuple[bool, None]:
        """aiortc's call for each packet: take it; frames leave on the timer. ``arrival``:
        when it arrived on the event loop's clock (None: now)."""
        seq = packet.sequence_number
        self._payload_types[packet.payload_type] += 1
        repeated = seq in self._nacked
        if repeated:
            self._nacked.discard(seq)
            self._retransmitted += 1
        self._ask_again(packet)
        self.buffer.push(
            seq,
            packet.timestamp,
            getattr(packet, "_data", packet.payload),
            self._loop.time() if arrival is None else arrival,
            # A repeat is late by design: its transit says nothing of the network's jitter.
            redundant=repeated,
            tag=packet.payload_type,
        )
        self._schedule()
        return False, None

    def _ask_again(self, packet: Any) -> None:
        seq = packet.sequence_number
        if self._top is None:
            self._top = seq
            return
        ahead = (seq - self._top) & 0xFFFF
        if ahead >= 0x8000:
            return  # older than the newest: a retransmission or a reordered packet
        if 1 < ahead <= MAX_NACK + 1 and self._negotiated(packet.payload_type):
            lost = [(self._top + k) & 0xFFFF for k in range(1, ahead)]
            self._nacked.update(lost)
            if len(self._nacked) > 4 * MAX_NACK:
                self._nacked = set(lost)
            self._nacks += len(lost)
            self.ask_for(packet.ssrc, lost)
        self._top = seq

    def _negotiated(self, payload_type: int) -> bool:
        codec = (self._private("codecs") or {}).get(payload_type)
        return any(f.type == "nack" and not f.parameter for f in getattr(codec, "rtcpFeedback", []))

    def _schedule(self) -> None:
        due = self.buffer.next_due()
        if due is None:
            return
        if self._timer is not None:
            if self._timer.when() <= due:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(due, self._release)

    def _release(self) -> None:
        self._timer = None
        queue = self._private("decoder_queue")
        thread = self._private("decoder_thread")
        codecs = self._private("codecs") or {}
        mapper = self._private("timestamp_mapper")
        try:
            for released in self.buffer.pop(self._loop.time()):
                codec = codecs.get(released.tag)
                if codec is None:
                    continue
                if self._sink is not None and codec.mimeType.lower() in _DECODED_HERE:
                    self._decode(codec, released)
                    continue
                if queue is None or not thread or mapper is None:
                    continue
                timestamp = mapper.map(released.timestamp)
                frame = PlayoutFrame(released.payload, timestamp, released.discontinuity)
                queue.put((codec, frame))
        finally:
            self._schedule()

    def close(self) -> None:
        """Stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def install(receiver: Any) -> Playout:
    """Replace an aiortc audio receiver's jitter buffer with the adaptive one."""
    playout = Playout(receiver)
    setattr(receiver, _PRIVATE + "jitter_buffer", playout)
    return playout
