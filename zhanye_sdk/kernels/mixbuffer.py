"""The twin of the native ``MixBuffers`` (``mixbuffer.rs``): a room's rows of buffered
mono audio, and its tick in one call.

Each participant's decoded audio waits in a row of its own; each ``tick`` takes one frame
from every row (silence from a starved one), mixes every row's mix-minus and the full
mix with the soft limiter, and reports each row's peak magnitude and gain. A row that ran
dry plays again once it holds ``prime_frames`` frames, and never holds more than
``max_frames`` (the oldest audio is dropped). Both implementations give the same arrays.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zhanye_sdk.kernels.mix import MAX_GAIN_Q15, mix, mix_minus

__all__ = ["UNITY_GAIN_Q15", "MixBuffers"]

UNITY_GAIN_Q15 = 32_768

Samples = npt.NDArray[np.int16]


class _Row:
    __slots__ = ("data", "fill", "gain", "primed")

    def __init__(self, capacity: int) -> None:
        self.data = np.zeros(capacity, dtype=np.int16)
        self.fill = 0
        self.primed = False
        self.gain = UNITY_GAIN_Q15

    def push(self, samples: Samples) -> None:
        capacity = self.data.shape[0]
        samples = samples[max(0, samples.shape[0] - capacity) :]
        n = samples.shape[0]
        overflow = self.fill + n - capacity
        if overflow > 0:
            self.data[: self.fill - overflow] = self.data[overflow : self.fill]
            self.fill -= overflow
        self.data[self.fill : self.fill + n] = samples
        self.fill += n

    def take(self, out: Samples, prime: int) -> bool:
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


class MixBuffers:
    """A room's rows of buffered audio, mixed one frame a tick (module docstring).

    Args:
        frame_samples: samples a tick takes from each row.
        prime_frames: frames a dry row collects before it plays again.
        max_frames: most frames a row holds.
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
        self._rows: list[_Row] = []

    @property
    def rows(self) -> int:
        """Rows mixed."""
        return len(self._rows)

    def add(self) -> int:
        """A new empty row at the end, at unity gain; its index."""
        self._rows.append(_Row(self._capacity))
        return len(self._rows) - 1

    def _row(self, index: int) -> _Row:
        if not 0 <= index < len(self._rows):
            raise IndexError(f"no row {index}: the buffers have {len(self._rows)} rows")
        return self._rows[index]

    def remove(self, index: int) -> None:
        """Drop row ``index``; the rows after it move up one."""
        self._row(index)
        del self._rows[index]

    def set_gain(self, index: int, gain_q15: int) -> None:
        """Row ``index``'s Q15 gain (0 mutes it for everyone)."""
        if not 0 <= gain_q15 <= MAX_GAIN_Q15:
            raise ValueError(
                f"gains_q15[{index}] is {gain_q15}; expected a Q15 gain in 0..={MAX_GAIN_Q15}"
            )
        self._row(index).gain = gain_q15

    def push(self, index: int, samples: Samples) -> None:
        """Queue int16 mono ``samples`` on row ``index``."""
        if not isinstance(samples, np.ndarray) or samples.dtype != np.int16 or samples.ndim != 1:
            raise ValueError(
                "samples must be a numpy array of dtype int16 and shape (S,), got "
                f"{getattr(samples, 'dtype', type(samples).__name__)}"
            )
        self._row(index).push(samples)

    def buffered(self, index: int) -> int:
        """Samples waiting in row ``index``."""
        return self._row(index).fill

    def tick(
        self,
    ) -> tuple[Samples, Samples, Samples, npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """One tick: (frames, minus, full, peaks, gains)."""
        n, s = len(self._rows), self.frame_samples
        frames = np.zeros((n, s), dtype=np.int16)
        for row, buffer in enumerate(self._rows):
            buffer.take(frames[row], self._prime)
        gains = np.array([r.gain for r in self._rows], dtype=np.int32)
        peaks = (
            np.abs(frames.astype(np.int32)).max(axis=1).astype(np.int32)
            if s
            else np.zeros(n, dtype=np.int32)
        )
        minus = np.asarray(mix_minus(frames, gains, soft_limit=True), dtype=np.int16)
        full = np.asarray(mix(frames, gains, soft_limit=True), dtype=np.int16)
        return frames, minus, full, peaks, gains
