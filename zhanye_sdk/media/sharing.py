"""Which listeners of a room hear the same mix, so that one encoder can serve them all.

In a conversation one person speaks at a time. Everyone else is quiet, and what each
quiet listener hears is the same: the mix of the participants who are not quiet. The
mixing tick then encodes that mix once for all of them (``tracks.SharedEncoder``) instead
of once per listener, the largest cost a listener has (about 0.2 ms of Opus a frame).

A participant is quiet in a tick when muted or when no sample of theirs reaches
``quiet_peak`` (64 of 32767, about −54 dBFS: a microphone's noise floor, or nothing at
all from a sender in DTX). The shared mix leaves the quiet out, so nobody in it hears
themselves; a quiet listener misses only the other quiet ones' noise floor. A listener
joins the shared mix after ``settle_ticks`` quiet ticks in a row and leaves it in the
first tick they are not quiet: a pause between two words does not move them, and no
one ever hears their own voice back.

``QuietListeners`` is the state (ticks counted, no clock); ``quiet_rows`` and
``shared_mix`` are the per-tick arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

from zhanye_sdk._backend import mix
from zhanye_sdk.errors import InvalidInput

__all__ = [
    "QUIET_PEAK",
    "SETTLE_TICKS",
    "QuietListeners",
    "quiet_peaks",
    "quiet_rows",
    "shared_mix",
]

#: The loudest sample of a quiet participant's tick (about −54 dBFS).
QUIET_PEAK = 64
#: Quiet ticks in a row before a listener hears the shared mix (500 ms at 20 ms).
SETTLE_TICKS = 25


def quiet_rows(
    sources: npt.NDArray[np.int16], gains: npt.NDArray[np.int32], quiet_peak: int = QUIET_PEAK
) -> npt.NDArray[np.bool_]:
    """Per participant (a row of ``sources``): muted, or no sample above ``quiet_peak``."""
    if sources.ndim != 2 or gains.shape != (sources.shape[0],):
        raise InvalidInput(
            f"expected (n, samples) sources and n gains, got {sources.shape} and {gains.shape}"
        )
    if sources.shape[1] == 0:
        return np.ones(sources.shape[0], dtype=bool)
    return quiet_peaks(np.abs(sources.astype(np.int32)).max(axis=1), gains, quiet_peak)


def quiet_peaks(
    peaks: npt.NDArray[np.int32], gains: npt.NDArray[np.int32], quiet_peak: int = QUIET_PEAK
) -> npt.NDArray[np.bool_]:
    """``quiet_rows`` from each participant's peak magnitude (``MixedTick.peaks``)."""
    return np.asarray((gains == 0) | (peaks <= quiet_peak), dtype=bool)


def shared_mix(
    sources: npt.NDArray[np.int16], gains: npt.NDArray[np.int32], quiet: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int16]:
    """What every quiet listener hears: the mix of the participants who are not quiet
    (with the same soft limiter as each listener's own mix-minus)."""
    heard = np.where(quiet, 0, gains).astype(np.int32)
    return np.asarray(mix(sources, heard, soft_limit=True), dtype=np.int16)


@attrs.define
class QuietListeners:
    """Counts each participant's quiet ticks; says who has been quiet long enough to hear
    the shared mix.

    Args:
        settle_ticks: quiet ticks in a row before a listener joins (at least 1).
    """

    settle_ticks: int = attrs.field(default=SETTLE_TICKS)
    _quiet: dict[str, int] = attrs.field(factory=dict, init=False)

    @settle_ticks.validator
    def _check(self, _attribute: object, value: int) -> None:
        if value < 1:
            raise InvalidInput(f"settle_ticks must be at least 1, got {value}")

    def update(self, participants: Sequence[str], quiet: Sequence[bool]) -> frozenset[str]:
        """Take one tick (who is mixed, and who of them was quiet); the participants who
        hear the shared mix this tick. Participants no longer mixed are forgotten."""
        if len(participants) != len(quiet):
            raise InvalidInput(f"{len(participants)} participants but {len(quiet)} quiet flags")
        counts: dict[str, int] = {}
        for participant, is_quiet in zip(participants, quiet, strict=True):
            before = self._quiet.get(participant, 0)
            counts[participant] = min(before + 1, self.settle_ticks) if is_quiet else 0
        self._quiet = counts
        return frozenset(p for p, n in counts.items() if n >= self.settle_ticks)
