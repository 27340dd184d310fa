"""A drift-free periodic clock for the mixing tick.

Deadlines are absolute (``start + n * period``), so time spent working in a tick
never accumulates into drift the way ``sleep(period)`` in a loop does. A clock that
falls more than ``max_catch_up`` periods behind skips the missed ticks instead of
bursting through them, and counts them; the ticks it does catch up yield to the event
loop in between, so that after a stall every room's first late tick runs before any
room's second.

Rooms of one process tick on one event loop. Each new room takes the phase (its ticks'
position within the period) in the middle of the widest gap between the phases already
taken (``spread_phase``), so two rooms' ticks rarely fall due at the same moment and one
waits for the other's mixing and encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import anyio
import anyio.lowlevel

__all__ = ["TickClock", "spread_phase"]


class TickClock:
    """Waits for consecutive absolute deadlines ``period_s`` apart.

    Args:
        period_s: the tick period in seconds.
        now: the monotonic clock (defaults to the event loop's).
        max_catch_up: how many overdue ticks are run back to back before skipping.
        phase_s: where in the period the ticks fall (deadlines at ``phase_s`` plus whole
            periods of the clock's time); None: a period after the first ``wait``.
    """

    def __init__(
        self,
        period_s: float,
        *,
        now: Callable[[], float] = anyio.current_time,
        max_catch_up: int = 3,
        phase_s: float | None = None,
    ) -> None:
        if period_s <= 0:
            raise ValueError(f"period_s must be positive, got {period_s}")
        if phase_s is not None and not 0 <= phase_s < period_s:
            raise ValueError(f"phase_s must be in [0, {period_s}), got {phase_s}")
        self.period_s = period_s
        self.phase_s = phase_s
        self._now = now
        self._start: float | None = None
        self._index = 0
        self._max_catch_up = max_catch_up
        self.skipped = 0
        self.last_lateness_s = 0.0
        #: The deadline the last ``wait`` waited for (the clock's time), None before it.
        self.deadline_s: float | None = None

    @property
    def ticks(self) -> int:
        """Ticks delivered so far (skipped ones included)."""
        return self._index

    async def wait(self) -> float:
        """Sleep until the next deadline; return how late we woke (seconds)."""
        if self._start is None:
            now = self._now()
            if self.phase_s is None:
                self.phase_s = now % self.period_s
            # The latest moment at the phase, not after now: the first deadline is within
            # one period.
            self._start = now - (now - self.phase_s) % self.period_s
        self._index += 1
        deadline = self._start + self._index * self.period_s
        now = self._now()
        behind = int((now - deadline) / self.period_s)
        if behind > self._max_catch_up:
            self.skipped += behind
            self._index += behind
            deadline += behind * self.period_s
        self.deadline_s = deadline
        if now < deadline:
            await anyio.sleep(deadline - now)
        else:
            # Behind: other rooms' late ticks run between the ones this room catches up.
            await anyio.lowlevel.checkpoint()
        self.last_lateness_s = max(0.0, self._now() - deadline)
        return self.last_lateness_s


def spread_phase(taken: Iterable[float], period_s: float) -> float:
    """The phase in ``[0, period_s)`` farthest from every phase in ``taken``: the middle
    of the widest gap between them, going round the period (0.0 when none is taken)."""
    phases = sorted(p % period_s for p in taken)
    if not phases:
        return 0.0
    widest, start = -1.0, 0.0
    for i, phase in enumerate(phases):
        following = phases[i + 1] if i + 1 < len(phases) else phases[0] + period_s
        if following - phase > widest:
            widest, start = following - phase, phase
    return (start + widest / 2) % period_s
