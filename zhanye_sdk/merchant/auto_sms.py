"""When the desk texts a caller by itself: after an answered call (挂机短信) and after
a missed call (未接来电自动回复). A pure decision, with the time passed in."""

from __future__ import annotations

from datetime import datetime, time

import attrs

__all__ = ["AutoSmsRule", "should_send"]


@attrs.frozen
class AutoSmsRule:
    """One automatic message: its template, quiet hours and per-number cooldown.

    Quiet hours run from ``quiet_start`` to ``quiet_end`` local time (past midnight when
    the end is earlier); nothing is sent then. A number gets at most one such message
    per ``cooldown_s``.
    """

    template: str
    enabled: bool = True
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(8, 0)
    cooldown_s: int = 24 * 3600

    def in_quiet_hours(self, local: time) -> bool:
        """Whether ``local`` falls in the quiet hours."""
        if self.quiet_start is None or self.quiet_end is None:
            return False
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end


def should_send(
    rule: AutoSmsRule, now_local: datetime, last_sent_ms: int | None, now_ms: int
) -> tuple[bool, str]:
    """Whether to send now, and why not when not (``disabled``, ``quiet``, ``cooldown``)."""
    if not rule.enabled:
        return False, "disabled"
    if rule.in_quiet_hours(now_local.time()):
        return False, "quiet"
    if last_sent_ms is not None and now_ms - last_sent_ms < rule.cooldown_s * 1000:
        return False, "cooldown"
    return True, "ok"
