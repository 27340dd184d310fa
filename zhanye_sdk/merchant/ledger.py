"""The sales ledger (收银记账): entries with member discounts, and period reports."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from zhanye_sdk.clock import Clock, from_ms, to_ms
from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound
from zhanye_sdk.merchant.money import FEN, MAX_AMOUNT, Settlement, parse_money, settle
from zhanye_sdk.merchant.schema import customers, ledger, levels
from zhanye_sdk.store.database import Database

__all__ = ["Guest", "LedgerEntry", "LineItem", "PeriodTotal", "Quote", "SalesLedger", "total_of"]

PERIODS = ("day", "month", "quarter", "year")
MAX_QUANTITY = 9999
MAX_ITEMS = 200


@attrs.frozen
class LineItem:
    """One item on a bill: name, quantity and unit price."""

    name: str
    quantity: int
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        """Quantity × unit price."""
        return (self.unit_price * self.quantity).quantize(FEN)


@attrs.frozen
class Guest:
    """Who a bill was for, as the desk named them: from the book or typed."""

    name: str | None = None
    gender: str | None = None
    phone: str | None = None


@attrs.frozen
class Quote:
    """What a bill comes to before it is paid: the amount, the member rate, what is
    payable, and — once an amount paid is given — the change or what is still short."""

    amount: Decimal
    discount: Decimal
    payable: Decimal
    paid: Decimal | None = None
    change: Decimal | None = None
    short: Decimal | None = None


@attrs.frozen
class LedgerEntry:
    """A settled bill."""

    id: int
    at: datetime
    customer_id: int | None
    reservation_id: int | None
    items: tuple[LineItem, ...]
    settlement: Settlement
    #: When the bill was voided (冲红), and why; a voided bill is kept but not counted.
    voided_at: datetime | None = None
    void_reason: str | None = None
    #: Who the bill was for (name, gender, phone as the desk named them).
    guest: Guest | None = None


@attrs.frozen
class PeriodTotal:
    """A report row: the period's label, bill count, amounts before and after discount
    (voided bills not counted), and the voided bills: how many and what they came to."""

    period: str
    bills: int
    amount: Decimal
    payable: Decimal
    voided: int = 0
    voided_payable: Decimal = Decimal("0.00")


def _period(moment: datetime, kind: str) -> str:
    if kind == "day":
        return f"{moment:%Y-%m-%d}"
    if kind == "month":
        return f"{moment:%Y-%m}"
    if kind == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return f"{moment.year}"


class SalesLedger:
    """Records bills (applying the customer's member discount) and reports on them."""

    def __init__(self, db: Database, clock: Clock, timezone: str = "Asia/Shanghai") -> None:
        self._db = db
        self._clock = clock
        self._zone = ZoneInfo(timezone)

    async def _rate(self, customer_id: int | None) -> Decimal:
        if customer_id is None:
            return Decimal(1)
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(levels.c.discount)
                    .select_from(customers.outerjoin(levels))
                    .where(customers.c.id == customer_id)
                )
            ).first()
        if row is None:
            raise InvalidInput(
                f"customer {customer_id} not found",
                zh="找不到该顾客，可能已被删除，请刷新后重试",
            )
        return Decimal(row.discount) if row.discount is not None else Decimal(1)

    async def quote(
        self,
        items: list[tuple[str, int, str]],
        paid: str | None = None,
        *,
        customer_id: int | None = None,
    ) -> Quote:
        """What a bill would come to (nothing is written): the amount, the customer's
        member rate, what is payable and, with ``paid``, the change or the shortfall.

        Raises:
            InvalidInput: bad items or a bad amount paid.
        """
        lines = _lines(items)
        amount = sum((line.total for line in lines), Decimal("0.00"))
        rate = await self._rate(customer_id)
        payable = settle(amount, rate, MAX_AMOUNT).payable
        if paid is None or not str(paid).strip():
            return Quote(amount, rate, payable)
        given = parse_money(paid, "paid")
        if given < payable:
            return Quote(amount, rate, payable, given, short=payable - given)
        return Quote(amount, rate, payable, given, change=given - payable)

    async def record(
        self,
        items: list[tuple[str, int, str]],
        paid: str,
        *,
        customer_id: int | None = None,
        reservation_id: int | None = None,
        guest: Guest | None = None,
        before: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    ) -> LedgerEntry:
        """Settle a bill of (name, quantity, unit price) items; the discount is the
        customer's membership rate. Amounts are text or integers, never floats.

        ``before`` runs in the transaction that writes the bill, first: what it
        changes is kept only with the bill, and if it raises, nothing is written.

        Raises:
            InvalidInput: bad items, or less paid than payable.
            ConflictError: the reservation was checked out already.
        """
        lines = _lines(items)
        amount = sum((line.total for line in lines), Decimal("0.00"))
        rate = await self._rate(customer_id)
        settlement = settle(amount, rate, parse_money(paid, "paid"))
        at = self._clock.now()
        record = [
            {"name": x.name, "quantity": x.quantity, "unit_price": str(x.unit_price)} for x in lines
        ]
        try:
            async with self._db.begin() as conn:
                if before is not None:
                    await before(conn)
                result = await conn.execute(
                    ledger.insert().values(
                        customer_id=customer_id,
                        reservation_id=reservation_id,
                        at_ms=to_ms(at),
                        items=json.dumps(record, ensure_ascii=False),
                        amount=str(settlement.amount),
                        discount=str(settlement.discount),
                        payable=str(settlement.payable),
                        paid=str(settlement.paid),
                        change_due=str(settlement.change),
                        guest_name=guest.name if guest else None,
                        guest_gender=guest.gender if guest else None,
                        guest_phone=guest.phone if guest else None,
                    )
                )
        except IntegrityError as exc:
            raise ConflictError(
                "this reservation has been checked out already", zh="该预订已结过账，不能重复结账"
            ) from exc
        return LedgerEntry(
            int(result.inserted_primary_key[0]),
            at,
            customer_id,
            reservation_id,
            tuple(lines),
            settlement,
            guest=guest,
        )

    async def void(self, entry_id: int, reason: str) -> LedgerEntry:
        """Void a bill (冲红): it stays in the ledger, marked with when and why, and
        leaves the report totals.

        Raises:
            InvalidInput: no reason, or one over 200 characters.
            NotFound: no such bill. ConflictError: voided already.
        """
        why = reason.strip()
        if not 1 <= len(why) <= 200:
            raise InvalidInput(
                "voiding a bill needs a reason of 1–200 characters",
                zh="冲红须填写原因（1–200 个字）",
            )
        async with self._db.begin() as conn:
            result = await conn.execute(
                ledger.update()
                .where(ledger.c.id == entry_id)
                .where(ledger.c.voided_ms.is_(None))
                .values(voided_ms=to_ms(self._clock.now()), void_reason=why)
            )
            if not result.rowcount:
                exists = (
                    await conn.execute(sa.select(ledger.c.id).where(ledger.c.id == entry_id))
                ).first()
                if exists is None:
                    raise NotFound(f"bill {entry_id} not found", zh="找不到这张账单，请刷新后重试")
                raise ConflictError(
                    f"bill {entry_id} is voided already", zh="这张账单已经冲红，不能重复冲红"
                )
        return await self.get(entry_id)

    async def get(self, entry_id: int) -> LedgerEntry:
        """One bill.

        Raises:
            NotFound: no such bill.
        """
        async with self._db.connect() as conn:
            row = (await conn.execute(sa.select(ledger).where(ledger.c.id == entry_id))).first()
        if row is None:
            raise NotFound(f"bill {entry_id} not found", zh="找不到这张账单，请刷新后重试")
        return _entry(row)

    async def entries(
        self, start: datetime, end: datetime, *, limit: int = 200
    ) -> list[LedgerEntry]:
        """The bills of [start, end), newest first, voided ones included (and marked)."""
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(ledger)
                .where(ledger.c.at_ms >= to_ms(start))
                .where(ledger.c.at_ms < to_ms(end))
                .order_by(ledger.c.at_ms.desc(), ledger.c.id.desc())
                .limit(limit)
            )
            return [_entry(r) for r in rows]

    async def report(self, kind: str, start: datetime, end: datetime) -> list[PeriodTotal]:
        """Totals per day / month / quarter / year (local time) of bills in [start, end);
        voided bills are counted apart, not in the totals."""
        if kind not in PERIODS:
            raise InvalidInput(
                f"a report is by one of {PERIODS}", zh="报表只能按日、月、季度或年查看"
            )
        zero = Decimal("0.00")
        totals: dict[str, list[Any]] = defaultdict(lambda: [0, zero, zero, 0, zero])
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(ledger.c.at_ms, ledger.c.amount, ledger.c.payable, ledger.c.voided_ms)
                .where(ledger.c.at_ms >= to_ms(start))
                .where(ledger.c.at_ms < to_ms(end))
            )
            for row in rows:
                label = _period(from_ms(row.at_ms).astimezone(self._zone), kind)
                total = totals[label]
                if row.voided_ms is None:
                    total[0] += 1
                    total[1] += Decimal(row.amount)
                    total[2] += Decimal(row.payable)
                else:
                    total[3] += 1
                    total[4] += Decimal(row.payable)
        return [PeriodTotal(label, *totals[label]) for label in sorted(totals)]


def _entry(row: Any) -> LedgerEntry:
    named = (row.guest_name, row.guest_gender, row.guest_phone)
    guest = Guest(*named) if any(named) else None
    items = tuple(
        LineItem(x["name"], int(x["quantity"]), Decimal(x["unit_price"]))
        for x in json.loads(row.items)
    )
    return LedgerEntry(
        row.id,
        from_ms(row.at_ms),
        row.customer_id,
        row.reservation_id,
        items,
        Settlement(
            Decimal(row.amount),
            Decimal(row.discount),
            Decimal(row.payable),
            Decimal(row.paid),
            Decimal(row.change_due),
        ),
        from_ms(row.voided_ms) if row.voided_ms is not None else None,
        row.void_reason,
        guest,
    )


def _lines(items: list[tuple[str, int, str]]) -> list[LineItem]:
    if not items or len(items) > MAX_ITEMS:
        raise InvalidInput(f"a bill has 1–{MAX_ITEMS} items", zh=f"账单须有 1–{MAX_ITEMS} 项消费")
    lines = []
    for name, quantity, price in items:
        if (
            not isinstance(name, str)
            or not name.strip()
            or type(quantity) is not int
            or not 1 <= quantity <= MAX_QUANTITY
            or len(name.strip()) > 64
        ):
            raise InvalidInput(
                f"each item has a name (at most 64 characters) and a quantity of 1–{MAX_QUANTITY}",
                zh=f"每项消费须有名称（最多 64 个字），数量须为 1–{MAX_QUANTITY}",
            )
        lines.append(LineItem(name.strip(), quantity, parse_money(price, "unit price")))
    return lines


def total_of(rows: list[PeriodTotal]) -> PeriodTotal:
    """The report's 合计 row: every period added up (label ``total``)."""
    zero = Decimal("0.00")
    return PeriodTotal(
        "total",
        sum(r.bills for r in rows),
        sum((r.amount for r in rows), zero),
        sum((r.payable for r in rows), zero),
        sum(r.voided for r in rows),
        sum((r.voided_payable for r in rows), zero),
    )
