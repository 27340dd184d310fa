"""Time as a dependency: services take a ``Clock``; cores take times as arguments."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

import attrs

__all__ = ["Clock", "ManualClock", "SystemClock", "from_ms", "to_ms"]


class Clock(Protocol):
    """Where a service reads the current time."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for timeouts and rates)."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()


@attrs.define
class ManualClock:
    """A clock that moves only when told to (tests, simulations, replays)."""

    current: datetime = attrs.field(factory=lambda: datetime(2026, 1, 5, 9, 30, tzinfo=UTC))
    elapsed: float = 0.0

    def now(self) -> datetime:
        """The time it was set to."""
        return self.current

    def monotonic(self) -> float:
        """Seconds advanced so far."""
        return self.elapsed

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        from datetime import timedelta

        self.current += timedelta(seconds=seconds)
        self.elapsed += seconds


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime (how the store keeps times)."""
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of a stored millisecond timestamp."""
    return datetime.fromtimestamp(ms / 1000, UTC)
