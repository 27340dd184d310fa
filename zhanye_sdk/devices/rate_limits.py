"""Per-SIM sending limits: a token bucket for the pace, and sliding hour and day windows
over the persistent send log (each part of a long message counts as one SMS)."""

from __future__ import annotations

import attrs

from zhanye_sdk.errors import InvalidInput

__all__ = ["PaceBucket", "RateLimits"]


@attrs.frozen
class RateLimits:
    """Per-SIM sending limits (each part of a long message counts as one SMS).

    Args:
        min_interval: seconds per token of the pacing bucket.
        burst: tokens the bucket holds.
        per_hour, per_day: most parts in any sliding hour / day.
    """

    min_interval: float = 3.0
    burst: int = 1
    per_hour: int = 150
    per_day: int = 800

    def __attrs_post_init__(self) -> None:
        bad = [
            name
            for name, value in attrs.asdict(self).items()
            if not isinstance(value, int | float) or value <= 0
        ]
        if bad:
            raise InvalidInput(f"rate limits must be positive: {', '.join(bad)}")

    def windows(self) -> tuple[tuple[float, int], ...]:
        """The sliding windows: (span in seconds, most parts within it)."""
        return ((3600.0, self.per_hour), (86400.0, self.per_day))


class PaceBucket:
    """The pacing token bucket of ``RateLimits`` (time passed in, in seconds).

    Args:
        limits: the SIM's limits.
        now: the time the bucket starts, full.
    """

    def __init__(self, limits: RateLimits, now: float) -> None:
        self._limits = limits
        self._tokens = float(limits.burst)
        self._at = now

    def empty_since(self, at: float) -> None:
        """Start empty, refilling from ``at`` (a restart after a send: not a full bucket)."""
        self._tokens = 0.0
        self._at = at

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._at)
        limits = self._limits
        self._tokens = min(float(limits.burst), self._tokens + elapsed / limits.min_interval)
        self._at = now

    def wait(self, now: float) -> float:
        """Seconds until the bucket holds a token (0: now)."""
        self._refill(now)
        if self._tokens < 1.0:
            return (1.0 - self._tokens) * self._limits.min_interval
        return 0.0

    def take(self, now: float) -> None:
        """One part went out at ``now``."""
        self._refill(now)
        self._tokens = max(0.0, self._tokens - 1.0)
