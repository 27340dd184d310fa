"""Synthetic microphones and cameras for participants and tests: a tone, a flat colour.

Both pace themselves on absolute deadlines, like a real device delivering frames.
"""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction

import av
import numpy as np
from aiortc import MediaStreamTrack

from zhanye_sdk.media.frames import mono_to_audio_frame

__all__ = ["FlatVideoTrack", "ToneTrack", "tone"]

VIDEO_CLOCK_HZ = 90_000

#: How far behind its deadlines a source may fall before it skips ahead.
_BEHIND_S = 0.2


def tone(hz: float, seconds: float, *, sample_rate: int = 48_000, amplitude: int = 8_000) -> bytes:
    """A sine tone as int16 mono samples (for WAV files a fake microphone plays)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


class _Paced:
    def __init__(self, period_s: float) -> None:
        self._period = period_s
        self._start: float | None = None
        self.index = 0

    async def wait(self) -> None:
        if self._start is None:
            self._start = time.monotonic()
        deadline = self._start + self.index * self._period
        if time.monotonic() - deadline > _BEHIND_S:
            # Nobody read for a while (the connection was being replaced): start afresh
            # rather than deliver the missed frames in a burst, as a device would.
            self._start = time.monotonic() - self.index * self._period
            deadline = self._start + self.index * self._period
        self.index += 1
        delay = deadline - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class ToneTrack(MediaStreamTrack):
    """A microphone that plays a sine tone of ``hz`` in 20 ms frames."""

    kind = "audio"

    def __init__(self, hz: float, *, sample_rate: int = 48_000, amplitude: int = 8_000) -> None:
        super().__init__()
        self.hz = hz
        self.sample_rate = sample_rate
        self.amplitude = amplitude
        self._samples = sample_rate // 50
        self._clock = _Paced(0.02)
        self._position = 0

    async def recv(self) -> av.AudioFrame:
        await self._clock.wait()
        n = self._samples
        t = (self._position + np.arange(n)) / self.sample_rate
        samples = (self.amplitude * np.sin(2 * np.pi * self.hz * t)).astype(np.int16)
        frame = mono_to_audio_frame(samples, self.sample_rate, pts=self._position)
        self._position += n
        return frame


class FlatVideoTrack(MediaStreamTrack):
    """A camera that shows one flat colour (Y, U, V), so a receiver can tell who it sees."""

    kind = "video"

    def __init__(
        self,
        luma: int,
        *,
        chroma: tuple[int, int] = (128, 128),
        width: int = 160,
        height: int = 120,
        fps: int = 15,
    ) -> None:
        super().__init__()
        self.luma = luma
        self._chroma = chroma
        self._size = (width, height)
        self._fps = fps
        self._clock = _Paced(1 / fps)

    async def recv(self) -> av.VideoFrame:
        await self._clock.wait()
        width, height = self._size
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane, value in zip(frame.planes, (self.luma, *self._chroma), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts = (self._clock.index - 1) * VIDEO_CLOCK_HZ // self._fps
        frame.time_base = Fraction(1, VIDEO_CLOCK_HZ)
        return frame
