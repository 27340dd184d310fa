"""The call log (通信记录): every call in and out, filtered by kind, by a day in the
shop's time zone, by customer and by the desk phone's line (the SIM's or the landline
port's, 一机双号); and the reminder of recent missed calls.

Each row says what became of its automatic SMS: sent, or why not (quiet hours,
cooldown, switched off, the customer opted out, the SIM's lock or quota).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs
import sqlalchemy as sa

from zhanye_sdk.clock import Clock, from_ms, to_ms
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant.book import UNKNOWN_NAME, check_line
from zhanye_sdk.merchant.schema import calls, customers
from zhanye_sdk.store.database import Database

__all__ = ["KINDS", "CallLog", "CallLogEntry"]

#: The log's filters: 未接来电, 已接来电, 拒接, 去电.
KINDS = ("missed", "answered", "rejected", "outgoing")
_MAX_ROWS = 500


@attrs.frozen
class CallLogEntry:
    """One call as the log shows it."""

    id: int
    phone: str
    customer_id: int | None
    customer_name: str | None
    kind: str
    started_at: datetime
    duration_s: int
    notes: str | None
    #: ``sent``, a reason it was not (``quiet``, ``cooldown``, ``disabled``,
    #: ``opted_out``, ``quota``, ``blocked``, ``refused``) or None (no automatic SMS).
    auto_sms: str | None
    auto_sms_detail: str | None
    #: ``gsm`` (the SIM's line) or ``pstn`` (the landline port).
    line: str = "gsm"

    @property
    def display_name(self) -> str:
        """The customer's name, or 未知客户."""
        return self.customer_name or UNKNOWN_NAME


def check_kind(kind: str | None) -> str | None:
    """A log filter (one of :data:`KINDS`), or None for every call.

    Raises:
        InvalidInput: anything else.
    """
    if kind in (None, "", "all"):
        return None
    if kind not in KINDS:
        raise InvalidInput(
            f"kind is one of {', '.join(KINDS)}", zh="通话类型须为未接、已接、拒接或去电"
        )
    return kind


class CallLog:
    """Reads the desk's calls for the log screen."""

    def __init__(self, db: Database, clock: Clock, timezone: str) -> None:
        self._db = db
        self._clock = clock
        self._zone = ZoneInfo(timezone)

    def _day_range(self, day: date) -> tuple[int, int]:
        start = datetime.combine(day, time(0), self._zone)
        end = datetime.combine(day + timedelta(days=1), time(0), self._zone)
        return to_ms(start), to_ms(end)

    async def search(
        self,
        *,
        kind: str | None = None,
        day: date | None = None,
        customer: str = "",
        customer_id: int | None = None,
        line: str | None = None,
        limit: int = 200,
    ) -> list[CallLogEntry]:
        """Calls, newest first: of one ``kind`` (see :data:`KINDS`), on one ``day`` of
        the shop's calendar, of customers whose number or name contains ``customer``,
        of one customer, on one ``line`` (``gsm`` or ``pstn``).

        Raises:
            InvalidInput: an unknown kind or line, or a customer text over 64 characters.
        """
        wanted = check_kind(kind)
        if line not in (None, "", "all"):
            query_line: str | None = check_line(str(line))
        else:
            query_line = None
        text = customer.strip()
        if len(text) > 64:
            raise InvalidInput(
                "the customer filter is at most 64 characters", zh="客户筛选最多 64 个字符"
            )
        query = sa.select(calls, customers.c.name.label("customer_name")).select_from(
            calls.outerjoin(customers, calls.c.customer_id == customers.c.id)
        )
        if wanted == "outgoing":
            query = query.where(calls.c.direction == "out")
        elif wanted is not None:
            query = query.where(calls.c.direction == "in").where(calls.c.outcome == wanted)
        if day is not None:
            start, end = self._day_range(day)
            query = query.where(calls.c.started_ms >= start).where(calls.c.started_ms < end)
        if customer_id is not None:
            query = query.where(calls.c.customer_id == customer_id)
        if query_line is not None:
            query = query.where(calls.c.line == query_line)
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                sa.or_(
                    calls.c.phone.like(like, escape="\\"),
                    customers.c.name.like(like, escape="\\"),
                )
            )
        query = query.order_by(calls.c.started_ms.desc(), calls.c.id.desc()).limit(
            max(1, min(limit, _MAX_ROWS))
        )
        async with self._db.connect() as conn:
            return [_entry(r) for r in await conn.execute(query)]

    async def recent_missed(self, *, hours: int = 24, limit: int = 10) -> list[CallLogEntry]:
        """Missed calls of the last ``hours``, newest first, leaving out callers the
        desk has talked to since (answered their next call or called them back)."""
        since = to_ms(self._clock.now()) - hours * 3600 * 1000
        async with self._db.connect() as conn:
            missed = [
                _entry(r)
                for r in await conn.execute(
                    sa.select(calls, customers.c.name.label("customer_name"))
                    .select_from(calls.outerjoin(customers, calls.c.customer_id == customers.c.id))
                    .where(calls.c.direction == "in")
                    .where(calls.c.outcome == "missed")
                    .where(calls.c.started_ms >= since)
                    .order_by(calls.c.started_ms.desc(), calls.c.id.desc())
                )
            ]
            talked = {
                (r.phone, r.started_ms)
                for r in await conn.execute(
                    sa.select(calls.c.phone, calls.c.started_ms)
                    .where(calls.c.started_ms >= since)
                    .where(calls.c.outcome == "answered")
                )
            }
        out: list[CallLogEntry] = []
        seen: set[str] = set()
        for entry in missed:
            later = any(
                phone == entry.phone and ms > to_ms(entry.started_at) for phone, ms in talked
            )
            if later or (entry.phone and entry.phone in seen):
                continue
            seen.add(entry.phone)
            out.append(entry)
            if len(out) >= limit:
                break
        return out


def _entry(row: sa.Row[object]) -> CallLogEntry:
    r = row._mapping
    kind = "outgoing" if r["direction"] == "out" else str(r["outcome"])
    return CallLogEntry(
        id=int(r["id"]),
        phone=str(r["phone"]),
        customer_id=r["customer_id"],
        customer_name=r["customer_name"],
        kind=kind,
        started_at=from_ms(int(r["started_ms"])),
        duration_s=int(r["duration_s"]),
        notes=r["notes"],
        auto_sms=r["auto_sms"],
        auto_sms_detail=r["auto_sms_detail"],
        line=str(r["line"] or "gsm"),
    )
