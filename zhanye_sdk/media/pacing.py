"""A drift-free periodic clock for the mixing tick.

Deadlines are absolute (``start + n * period``), so time spent working in a tick
never accumulates into drift the way ``sleep(period)`` in a loop does. A clock that
falls more than ``max_catch_up`` periods behind skips the missed ticks instead of
bursting through them, and counts them.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

__all__ = ["TickClock"]


class TickClock:
    """Waits for consecutive absolute deadlines ``period_s`` apart.

    Args:
        period_s: the tick period in seconds.
        now: the monotonic clock (defaults to the event loop's).
        max_catch_up: how many overdue ticks are run back to back before skipping.
    """

    def __init__(
        self,
        period_s: float,
        *,
        now: Callable[[], float] = anyio.current_time,
        max_catch_up: int = 3,
    ) -> None:
        if period_s <= 0:
            raise ValueError(f"period_s must be positive, got {period_s}")
        self.period_s = period_s
        self._now = now
        self._start: float | None = None
        self._index = 0
        self._max_catch_up = max_catch_up
        self.skipped = 0
        self.last_lateness_s = 0.0

    @property
    def ticks(self) -> int:
        """Ticks delivered so far (skipped ones included)."""
        return self._index

    async def wait(self) -> float:
        """Sleep until the next deadline; return how late we woke (seconds)."""
        if self._start is None:
            self._start = self._now()
        self._index += 1
        deadline = self._start + self._index * self.period_s
        now = self._now()
        behind = int((now - deadline) / self.period_s)
        if behind > self._max_catch_up:
            self.skipped += behind
            self._index += behind
            deadline += behind * self.period_s
        if now < deadline:
            await anyio.sleep(deadline - now)
        self.last_lateness_s = max(0.0, self._now() - deadline)
        return self.last_lateness_s
