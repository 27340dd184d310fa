"""The adaptive jitter buffer (``zhanye_sdk.media.jitter``) inside an aiortc audio receiver.

aiortc's ``RTCRtpReceiver`` hands each audio packet to its jitter buffer and sends what
comes out to its decoder thread. :func:`install` puts a :class:`Playout` there instead:
it answers aiortc's ``add`` with nothing and releases the packets itself, on the event
loop's timer (or on its owner's tick, :meth:`Playout.release_on_tick`), at the playout
times the adaptive buffer gives, into the same decoder queue.
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

from zhanye_sdk._backend import AudioIntake, release_into
from zhanye_sdk.kernels.intake import MAX_NACK
from zhanye_sdk.media.jitter import AdaptiveJitterBuffer
from zhanye_sdk.media.opus import ResilientOpusDecoder

__all__ = ["MAX_NACK", "AudioSink", "Playout", "PlayoutFrame", "install"]

_PRIVATE = "_RTCRtpReceiver__"
#: Codecs ``Playout.decode_here`` decodes itself.
_DECODED_HERE = ("audio/opus", "audio/red")

#: Where ``Playout.decode_here`` hands each decoded frame: its int16 mono samples at
#: 48 kHz and what it is (None received, ``"red"``/``"fec"`` recovered, ``"plc"``
#: concealed).
AudioSink = Callable[[npt.NDArray[np.int16], str | None], None]


def _nack(codec: Any) -> bool:
    """Whether ``codec`` negotiated generic NACK."""
    return any(f.type == "nack" and not f.parameter for f in getattr(codec, "rtcpFeedback", []))


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
        self._tasks: set[asyncio.Task[None]] = set()
        self._intake: Any = None
        #: Frames decoded here and handed to the sink (``decode_here``) or the mixer.
        self.decoded = 0
        #: Of those, the frames decoded straight into the mixer (``release_into``).
        self.decoded_into = 0
        self._sink: AudioSink | None = None
        #: The decoder in use: its codec's name, itself, and the payload types it decodes.
        self._decoder: tuple[str, ResilientOpusDecoder, bytes] | None = None
        self._on_tick = False

    def decode_here(self, sink: AudioSink) -> None:
        """Decode released Opus and RED packets in the release itself (mono, 48 kHz) and
        hand each frame to ``sink`` on the event loop, instead of aiortc's decoder thread
        and track; another codec (G.711) still goes that way."""
        self._sink = sink

    def release_on_tick(self) -> None:
        """Release no more on the buffer's timer: the owner calls :meth:`release` once a
        tick instead (the room's mixing tick, just before it mixes), with the tick's
        deadline, not the moment it runs. A frame then reaches the mixer on the same
        tick as it would from the timer (due by the deadline: this tick; after it: the
        next), without a timer callback per packet, and a tick that runs late does not
        take the next tick's frame early (which left a buffer dry the tick after and
        cost a re-priming gap: the speech recogniser then heard one of three speakers).
        """
        self._on_tick = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def release_into(self, now: float, mix: Any, row: int) -> tuple[int, int]:
        """``release``, the frames of the decoder in use decoded straight into row ``row``
        of ``mix`` (the room's ``MixBuffers``) in one native call (``release_into``) rather
        than handed to the sink one by one; the frames so decoded and how many of them were
        concealed (the sink still gets, and counts, any others: a new codec's)."""
        if not self._on_tick:
            return 0, 0
        if self._decoder is None:
            self._release_due(now)  # the first frame makes the decoder
            return 0, 0
        _, decoder, tags = self._decoder
        decoded, concealed, left = release_into(self.buffer, decoder.kernel, tags, mix, row, now)
        self.decoded += decoded
        self.decoded_into += decoded
        if left:
            self._release_frames(left)
        return decoded, concealed

    def release(self, now: float) -> None:
        """Release (decode, or queue for aiortc's decoder) every frame due by ``now`` on
        the event loop's clock, once ``release_on_tick`` was called (a buffer on its own
        timer releases nothing here)."""
        if self._on_tick:
            self._release_due(now)

    @property
    def intake(self) -> Any:
        """The ``AudioIntake`` each packet goes through into the buffer (statistics, the
        NACK of a hole where the codec negotiated it), made at the first packet, when the
        receiver's codecs are known; a direct receiver drains into it too."""
        if self._intake is None:
            codecs: dict[int, Any] = self._private("codecs") or {}
            audio = [c.clockRate for c in codecs.values() if c.mimeType.lower() in _DECODED_HERE]
            self._intake = AudioIntake(
                clock_rate=audio[0] if audio else self.buffer.clock_rate,
                nack_payload_types=[pt for pt, c in codecs.items() if _nack(c)],
            )
        return self._intake

    @property
    def payload_types(self) -> collections.Counter[int]:
        """Packets received, by payload type (RED's or Opus's)."""
        return collections.Counter(self._intake.payload_types if self._intake else {})

    @property
    def nacks(self) -> int:
        """Packets asked for again (NACK)."""
        return int(self._intake.nacks) if self._intake is not None else 0

    @property
    def retransmitted(self) -> int:
        """Packets asked for again that came back."""
        return int(self._intake.retransmitted) if self._intake is not None else 0

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
            codecs: dict[int, Any] = self._private("codecs") or {}
            tags = bytes(pt for pt, c in codecs.items() if c.mimeType.lower() == name)
            decoder = ResilientOpusDecoder(red=name == "audio/red", channels=1)
            self._decoder = (name, decoder, tags)
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
        lost = self.intake.take(
            packet.ssrc,
            packet.payload_type,
            packet.sequence_number,
            packet.timestamp,
            getattr(packet, "_data", packet.payload),
            self._loop.time() if arrival is None else arrival,
            0.0,  # aiortc keeps this stream's statistics itself
            self.buffer,
        )
        if lost:
            self.ask_for(packet.ssrc, lost)
        self._schedule()
        return False, None

    def _schedule(self) -> None:
        if self._on_tick:
            return
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
        try:
            self._release_due(self._loop.time())
        finally:
            self._schedule()

    def _release_due(self, now: float) -> None:
        released = self.buffer.pop(now)
        if released:
            self._release_frames(released)

    def _release_frames(self, released: list[Any]) -> None:
        codecs = self._private("codecs") or {}
        for each in released:
            codec = codecs.get(each.tag)
            if codec is None:
                continue
            if self._sink is not None and codec.mimeType.lower() in _DECODED_HERE:
                self._decode(codec, each)
                continue
            queue = self._private("decoder_queue")
            thread = self._private("decoder_thread")
            mapper = self._private("timestamp_mapper")
            if queue is None or not thread or mapper is None:
                continue
            timestamp = mapper.map(each.timestamp)
            queue.put((codec, PlayoutFrame(each.payload, timestamp, each.discontinuity)))

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
