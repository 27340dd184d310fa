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

from zhanye_sdk._backend import MixBuffers
from zhanye_sdk.kernels.mixbuffer import UNITY_GAIN_Q15

__all__ = ["AudioMixer", "MixedTick", "UNITY_GAIN_Q15"]

Samples = npt.NDArray[np.int16]


@attrs.frozen
class MixedTick:
    """One tick's output: ``minus[i]`` is what ``participants[i]`` hears.

    ``sources[i]`` is what ``participants[i]`` said this tick (before gains),
    ``audible[i]`` whether the others heard it (gain above zero), ``gains[i]`` its
    Q15 gain and ``peaks[i]`` the largest magnitude of ``sources[i]``.
    """

    participants: tuple[str, ...]
    minus: Samples
    full: Samples
    sources: Samples
    audible: tuple[bool, ...]
    gains: npt.NDArray[np.int32]
    peaks: npt.NDArray[np.int32]


class AudioMixer:
    """Mix-minus of the latest frame of every participant, one frame per ``tick``.

    The participants' audio waits in ``MixBuffers`` (native, or its numpy twin), one row
    each in the order they were added; a tick is one call for the whole room.

    Args:
        frame_samples: samples per tick (960 = 20 ms at 48 kHz).
        prime_frames: frames a dry buffer collects before it plays again.
        max_frames: most frames a buffer holds; older audio is dropped.
    """

    def __init__(self, frame_samples: int = 960, prime_frames: int = 2, max_frames: int = 6):
        self._buffers = MixBuffers(frame_samples, prime_frames, max_frames)
        self.frame_samples = frame_samples
        self._rows: dict[str, int] = {}

    @property
    def participants(self) -> tuple[str, ...]:
        """Participants mixed, in the order they were added."""
        return tuple(self._rows)

    def add(self, participant: str) -> None:
        """Start mixing ``participant`` (at unity gain); no-op if already mixed."""
        if participant not in self._rows:
            self._rows[participant] = self._buffers.add()

    def remove(self, participant: str) -> None:
        """Stop mixing ``participant``."""
        row = self._rows.pop(participant, None)
        if row is not None:
            self._buffers.remove(row)
            self._rows = {name: i for i, name in enumerate(self._rows)}

    def set_gain(self, participant: str, gain_q15: int) -> None:
        """Set a participant's Q15 gain (0 mutes them for everyone)."""
        row = self._rows.get(participant)
        if row is not None:
            self._buffers.set_gain(row, gain_q15)

    def push(self, participant: str, samples: Samples) -> None:
        """Queue received int16 mono samples of ``participant`` (ignored if not mixed)."""
        row = self._rows.get(participant)
        if row is not None and samples.shape[0]:
            self._buffers.push(row, samples)

    def row(self, participant: str) -> int | None:
        """The row of ``participant`` in ``buffers`` (None: not mixed); rows after a
        removed participant's move up."""
        return self._rows.get(participant)

    @property
    def buffers(self) -> MixBuffers:
        """The room's ``MixBuffers`` (native, or its twin)."""
        return self._buffers

    def buffered(self, participant: str) -> int:
        """Samples waiting in a participant's buffer."""
        row = self._rows.get(participant)
        return 0 if row is None else self._buffers.buffered(row)

    def tick(self) -> MixedTick:
        """Take one frame from everyone and mix it for every listener."""
        names = tuple(self._rows)
        if not names:
            empty = np.zeros((0, self.frame_samples), dtype=np.int16)
            silence = np.zeros(self.frame_samples, dtype=np.int16)
            none = np.zeros(0, dtype=np.int32)
            return MixedTick((), empty, silence, empty, (), none, none)
        frames, minus, full, peaks, gains = self._buffers.tick()
        audible = tuple(g > 0 for g in gains.tolist())
        return MixedTick(names, minus, full, frames, audible, gains, peaks)
