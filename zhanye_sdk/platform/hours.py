"""Organization service windows (上午/下午服务时间) and the business-hours check.

A window runs from ``start`` to ``end`` inclusive, to the second, in the
organization's time zone. An organization with no window at all is open around the
clock (全天); once one window is set, an unset one is closed (休息): an organization
with only a morning window does not serve in the afternoon. A window given as input
(``ServiceWindow.parse``) must end after it starts: 12:00–09:00 is refused rather
than read as a night shift. (A window stored before that rule and ending before it
starts still runs past midnight, and says so: ``overnight``.)
The check is a pure function: the caller passes the moment to test.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from zhanye_sdk.errors import InvalidInput, OutsideServiceHours
from zhanye_sdk.wire import parse_clock_time

__all__ = [
    "OutsideServiceHours",
    "ServiceHours",
    "ServiceWindow",
    "check_service_hours",
    "parse_clock_time",
]


@attrs.frozen
class ServiceWindow:
    """One service window, inclusive at both ends."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """Whether a local wall-clock time falls inside the window."""
        moment = moment.replace(microsecond=0, tzinfo=None)
        if self.start <= self.end:
            return self.start <= moment <= self.end
        return moment >= self.start or moment <= self.end

    @property
    def overnight(self) -> bool:
        """Whether the window runs past midnight (only stored, older windows can)."""
        return self.end < self.start

    def __str__(self) -> str:
        return f"{self.start:%H:%M:%S}–{self.end:%H:%M:%S}"

    @classmethod
    def parse(cls, start: str, end: str) -> ServiceWindow:
        """Build a window from two ``HH:MM:SS`` strings; it must end after it starts.

        Raises:
            InvalidInput: a time is malformed, or the end is not after the start.
        """
        return cls(parse_clock_time(start), parse_clock_time(end)).checked()

    def checked(self) -> ServiceWindow:
        """This window, if it ends after it starts.

        Raises:
            InvalidInput: the end is not after the start (e.g. 12:00–09:00).
        """
        if self.end <= self.start:
            raise InvalidInput(
                f"service window {self} does not end after it starts; the end must be "
                "after the start",
                zh=f"服务时间 {self} 的结束时间须晚于开始时间，请检查是否把开始和结束填反了",
            )
        return self


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"time zone {name!r} is unknown; expected e.g. Asia/Shanghai") from exc


@attrs.frozen
class ServiceHours:
    """An organization's morning and afternoon windows and its time zone."""

    morning: ServiceWindow | None = None
    afternoon: ServiceWindow | None = None
    timezone: str = attrs.field(default="Asia/Shanghai")

    @timezone.validator
    def _check_zone(self, _attribute: object, value: str) -> None:
        _zone(value)

    @property
    def windows(self) -> tuple[ServiceWindow, ...]:
        """The windows that are set."""
        return tuple(w for w in (self.morning, self.afternoon) if w is not None)

    def checked(self) -> ServiceHours:
        """These hours, if every window ends after it starts (what new input must meet).

        Raises:
            InvalidInput: a window does not end after it starts.
        """
        for window in self.windows:
            window.checked()
        return self

    @property
    def all_day(self) -> bool:
        """Whether the organization serves around the clock (no window set at all)."""
        return not self.windows

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` (timezone-aware) falls in a window, in the org's zone."""
        if moment.tzinfo is None:
            raise InvalidInput("moment must be timezone-aware")
        if not self.windows:
            return True
        local = moment.astimezone(_zone(self.timezone)).time()
        return any(w.contains(local) for w in self.windows)

    def describe(self) -> str:
        """The windows as text, e.g. ``09:00:00–12:00:00, 13:30:00–18:00:00``."""
        return ", ".join(str(w) for w in self.windows) or "00:00:00–23:59:59"

    def describe_zh(self) -> str:
        """The windows as a person reads them, e.g. ``上午 09:00:00–12:00:00，下午休息``."""
        if self.all_day:
            return "全天"

        def part(label: str, window: ServiceWindow | None) -> str:
            if window is None:
                return f"{label}休息"
            return f"{label} {window}" + ("（跨夜）" if window.overnight else "")

        return f"{part('上午', self.morning)}，{part('下午', self.afternoon)}"


def check_service_hours(org_name: str, hours: ServiceHours, moment: datetime) -> None:
    """Raise ``OutsideServiceHours`` unless ``moment`` is inside a window."""
    if not hours.is_open(moment):
        raise OutsideServiceHours(
            org_name,
            windows=hours.describe(),
            windows_zh=hours.describe_zh(),
            timezone=hours.timezone,
            local=moment.astimezone(_zone(hours.timezone)),
        )
