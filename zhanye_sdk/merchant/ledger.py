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
from zhanye_sdk.errors import ConflictError, InvalidInput
from zhanye_sdk.merchant.money import FEN, Settlement, parse_money, settle
from zhanye_sdk.merchant.schema import customers, ledger, levels
from zhanye_sdk.store.database import Database

__all__ = ["LedgerEntry", "LineItem", "PeriodTotal", "SalesLedger"]

PERIODS = ("day", "month", "quarter", "year")


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
class LedgerEntry:
    """A settled bill."""

    id: int
    at: datetime
    customer_id: int | None
    reservation_id: int | None
    items: tuple[LineItem, ...]
    settlement: Settlement


@attrs.frozen
class PeriodTotal:
    """A report row: the period's label, bill count, amounts before and after discount."""

    period: str
    bills: int
    amount: Decimal
    payable: Decimal


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

    async def record(
        self,
        items: list[tuple[str, int, str]],
        paid: str,
        *,
        customer_id: int | None = None,
        reservation_id: int | None = None,
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
        if not items:
            raise InvalidInput("a bill has at least one item", zh="账单至少要有一项消费")
        lines = []
        for name, quantity, price in items:
            if (
                not isinstance(name, str)
                or not name.strip()
                or type(quantity) is not int
                or quantity < 1
            ):
                raise InvalidInput(
                    "each item has a name and a quantity ≥ 1", zh="每项消费须有名称，数量至少为 1"
                )
            lines.append(LineItem(name.strip(), quantity, parse_money(price, "unit price")))
        amount = sum((line.total for line in lines), Decimal("0.00"))
        rate = Decimal(1)
        async with self._db.connect() as conn:
            if customer_id is not None:
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
                if row.discount is not None:
                    rate = Decimal(row.discount)
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
        )

    async def report(self, kind: str, start: datetime, end: datetime) -> list[PeriodTotal]:
        """Totals per day / month / quarter / year (local time) of bills in [start, end)."""
        if kind not in PERIODS:
            raise InvalidInput(
                f"a report is by one of {PERIODS}", zh="报表只能按日、周、月或年查看"
            )
        totals: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal("0.00"), Decimal("0.00")])
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(ledger.c.at_ms, ledger.c.amount, ledger.c.payable)
                .where(ledger.c.at_ms >= to_ms(start))
                .where(ledger.c.at_ms < to_ms(end))
            )
            for row in rows:
                label = _period(from_ms(row.at_ms).astimezone(self._zone), kind)
                totals[label][0] += 1
                totals[label][1] += Decimal(row.amount)
                totals[label][2] += Decimal(row.payable)
        return [PeriodTotal(label, *totals[label]) for label in sorted(totals)]
