"""Per-listener audio mixing of a room, sans I/O.

Theory of operation: each participant's decoded audio (int16 mono at the room's
rate, downmixed once on ingest) is ``push``-ed into that participant's small jitter
buffer as it arrives, in whatever chunk sizes the network delivers. Every tick
(20 ms) ``tick`` takes exactly one frame from every buffer -- silence from a buffer
that holds less than a frame, so a late or missing participant never stalls the
others -- and returns, for every participant, the native ``mix_minus`` of all the
others (gain 0 for the muted) plus the full mix for the recording.

A buffer that ran dry waits until it holds ``prime_frames`` frames before it plays
again (so jitter costs one short gap, not a stutter per packet), and never holds more
than ``max_frames`` (the oldest audio is dropped: latency stays bounded).
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from zhanye_sdk._backend import mix, mix_minus

__all__ = ["AudioMixer", "MixedTick", "UNITY_GAIN_Q15"]

UNITY_GAIN_Q15 = 32_768

Samples = npt.NDArray[np.int16]


@attrs.frozen
class MixedTick:
    """One tick's output: ``minus[i]`` is what ``participants[i]`` hears.

    ``sources[i]`` is what ``participants[i]`` said this tick (before gains),
    ``audible[i]`` whether the others heard it (gain above zero), and ``gains[i]`` its
    Q15 gain.
    """

    participants: tuple[str, ...]
    minus: Samples
    full: Samples
    sources: Samples
    audible: tuple[bool, ...]
    gains: npt.NDArray[np.int32]


@attrs.define
class _JitterBuffer:
    capacity: int
    data: Samples
    fill: int = 0
    primed: bool = False

    def push(self, samples: Samples) -> None:
        samples = samples[-self.capacity :]
        n = samples.shape[0]
        overflow = self.fill + n - self.capacity
        if overflow > 0:
            self.data[: self.fill - overflow] = self.data[overflow : self.fill]
            self.fill -= overflow
        self.data[self.fill : self.fill + n] = samples
        self.fill += n

    def take(self, out: Samples, prime: int) -> bool:
        """Copy one frame into ``out``; False (and ``out`` untouched) when starved."""
        size = out.shape[0]
        if not self.primed and self.fill >= max(prime, size):
            self.primed = True
        if not self.primed or self.fill < size:
            self.primed = False
            return False
        out[:] = self.data[:size]
        self.data[: self.fill - size] = self.data[size : self.fill]
        self.fill -= size
        return True


class AudioMixer:
    """Mix-minus of the latest frame of every participant, one frame per ``tick``.

    Args:
        frame_samples: samples per tick (960 = 20 ms at 48 kHz).
        prime_frames: frames a dry buffer collects before it plays again.
        max_frames: most frames a buffer holds; older audio is dropped.
    """

    def __init__(self, frame_samples: int = 960, prime_frames: int = 2, max_frames: int = 6):
        if frame_samples <= 0 or not 1 <= prime_frames <= max_frames:
            raise ValueError(
                "expected frame_samples > 0 and 1 <= prime_frames <= max_frames, got "
                f"{frame_samples}, {prime_frames}, {max_frames}"
            )
        self.frame_samples = frame_samples
        self._prime = prime_frames * frame_samples
        self._capacity = max_frames * frame_samples
        self._buffers: dict[str, _JitterBuffer] = {}
        self._gains: dict[str, int] = {}

    @property
    def participants(self) -> tuple[str, ...]:
        """Participants mixed, in the order they were added."""
        return tuple(self._buffers)

    def add(self, participant: str) -> None:
        """Start mixing ``participant`` (at unity gain); no-op if already mixed."""
        if participant not in self._buffers:
            self._buffers[participant] = _JitterBuffer(
                self._capacity, np.zeros(self._capacity, dtype=np.int16)
            )
            self._gains[participant] = UNITY_GAIN_Q15

    def remove(self, participant: str) -> None:
        """Stop mixing ``participant``."""
        self._buffers.pop(participant, None)
        self._gains.pop(participant, None)

    def set_gain(self, participant: str, gain_q15: int) -> None:
        """Set a participant's Q15 gain (0 mutes them for everyone)."""
        if participant in self._gains:
            self._gains[participant] = gain_q15

    def push(self, participant: str, samples: Samples) -> None:
        """Queue received int16 mono samples of ``participant`` (ignored if not mixed)."""
        buffer = self._buffers.get(participant)
        if buffer is not None and samples.shape[0]:
            buffer.push(samples)

    def buffered(self, participant: str) -> int:
        """Samples waiting in a participant's buffer."""
        buffer = self._buffers.get(participant)
        return 0 if buffer is None else buffer.fill

    def tick(self) -> MixedTick:
        """Take one frame from everyone and mix it for every listener."""
        names = tuple(self._buffers)
        frames = np.zeros((len(names), self.frame_samples), dtype=np.int16)
        for row, name in enumerate(names):
            self._buffers[name].take(frames[row], self._prime)
        if not names:
            empty = np.zeros((0, self.frame_samples), dtype=np.int16)
            silence = np.zeros(self.frame_samples, dtype=np.int16)
            return MixedTick((), empty, silence, empty, (), np.zeros(0, dtype=np.int32))
        gains = np.array([self._gains[n] for n in names], dtype=np.int32)
        return MixedTick(
            names,
            mix_minus(frames, gains, soft_limit=True),
            mix(frames, gains, soft_limit=True),
            frames,
            tuple(bool(g) for g in gains),
            gains,
        )
