"""The adaptive jitter buffer (``zhanye_sdk.media.jitter``) inside an aiortc audio receiver.

aiortc's ``RTCRtpReceiver`` hands each audio packet to its jitter buffer and sends what
comes out to its decoder thread. :func:`install` puts a :class:`Playout` there instead:
it answers aiortc's ``add`` with nothing and releases the packets itself, on the event
loop's timer, at the playout times the adaptive buffer gives, into the same decoder queue.
A frame the buffer skipped to shrink its delay reaches the decoder as a discontinuity,
which the resilient Opus decoder does not conceal.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc.jitterbuffer import JitterFrame

from zhanye_sdk.media.jitter import AdaptiveJitterBuffer

__all__ = ["Playout", "PlayoutFrame", "install"]

_PRIVATE = "_RTCRtpReceiver__"


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
        self._codecs: dict[int, Any] = {}
        self._payload_type: dict[int, int] = {}

    def _private(self, name: str) -> Any:
        return getattr(self._receiver, _PRIVATE + name, None)

    def add(self, packet: Any) -> tuple[bool, None]:
        """aiortc's call for each packet: take it; frames leave on the timer."""
        self.buffer.push(
            packet.sequence_number,
            packet.timestamp,
            getattr(packet, "_data", packet.payload),
            self._loop.time(),
        )
        self._payload_type[packet.sequence_number] = packet.payload_type
        self._schedule()
        return False, None

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
        for released in self.buffer.pop(self._loop.time()):
            payload_type = self._payload_type.pop(released.sequence & 0xFFFF, None)
            codec = codecs.get(payload_type)
            if codec is None or queue is None or not thread or mapper is None:
                continue
            timestamp = mapper.map(released.timestamp)
            queue.put((codec, PlayoutFrame(released.payload, timestamp, released.discontinuity)))
        if len(self._payload_type) > 4096:  # entries of packets dropped as late
            self._payload_type.clear()
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
