"""The cashier (流水录入): a bill names a customer (from the book or typed), gets their
member discount, and the change is computed exactly; reports by period export as sheets."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant.book import Customer, CustomerBook
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.ledger import Guest, LedgerEntry, PeriodTotal, Quote, total_of
from zhanye_sdk.merchant.transfer import encode_sheet

__all__ = ["GENDERS", "REPORT_COLUMNS", "Cashier", "report_sheet"]

#: The genders a bill names (as the desk's 性别 offers them).
GENDERS = ("男", "女")
#: The report sheet's columns, as the desk shows them.
REPORT_COLUMNS = ("期间", "笔数", "金额（元）", "应收（元）", "冲红笔数", "冲红金额（元）")
_PERIOD_ZH = {"day": "日报", "month": "月报", "quarter": "季报", "year": "年报"}


class Cashier:
    """Bills at the desk for a named customer (see the module doc)."""

    def __init__(self, desk: MerchantDesk) -> None:
        self._desk = desk

    @staticmethod
    def _clean(name: str | None, gender: str | None) -> tuple[str | None, str | None]:
        fields = CustomerBook.clean_fields(name=name or None, gender=gender or None)
        if fields.get("gender") not in (None, *GENDERS):
            raise InvalidInput("gender is 男 or 女 (or none)", zh="性别只能为“男”或“女”，也可不填")
        return fields.get("name"), fields.get("gender")

    async def _known(self, phone: str | None) -> Customer | None:
        if not phone or not phone.strip():
            return None
        return await self._desk.customers.by_phone(phone)

    async def quote(
        self,
        items: list[tuple[str, int, str]],
        paid: str | None = None,
        *,
        phone: str | None = None,
    ) -> Quote:
        """What the bill comes to for the customer with this number (their member rate;
        a number not in the book pays full price), and the change for ``paid``.

        Raises:
            InvalidInput: bad items, amount or number.
        """
        known = await self._known(phone)
        return await self._desk.ledger.quote(items, paid, customer_id=known.id if known else None)

    async def bill(
        self,
        items: list[tuple[str, int, str]],
        paid: str,
        *,
        phone: str | None = None,
        name: str | None = None,
        gender: str | None = None,
    ) -> LedgerEntry:
        """Record a paid bill. With a phone number the customer is the book's (a new
        number is put in the book, and a typed name or gender fills a blank on the card)
        and their member discount applies; without one it is a walk-in, named as typed.

        Raises:
            InvalidInput: bad items, too little paid, a bad number, name or gender
                (nothing is written, nobody is put in the book).
        """
        name, gender = self._clean(name, gender)
        known = await self._known(phone)
        check = await self._desk.ledger.quote(items, paid, customer_id=known.id if known else None)
        if check.short is not None:
            raise InvalidInput(
                f"paid {check.paid} is less than the payable {check.payable}",
                zh=f"实收 {check.paid} 元少于应付 {check.payable} 元，请核对金额",
            )
        customer_id = None
        guest = Guest(name, gender, None) if name or gender else None
        if phone and phone.strip():
            customer, _ = await self._desk.customers.capture(phone)
            blanks = {
                key: value
                for key, value in (("name", name), ("gender", gender))
                if value and not getattr(customer, key)
            }
            if blanks:
                customer = await self._desk.customers.update(customer.id, **blanks)
            customer_id = customer.id
            guest = Guest(name or customer.name, gender or customer.gender, customer.phone)
        return await self._desk.ledger.record(items, paid, customer_id=customer_id, guest=guest)

    async def report(
        self, kind: str, start: datetime, end: datetime
    ) -> tuple[list[PeriodTotal], PeriodTotal]:
        """The periods of [start, end) and their 合计."""
        rows = await self._desk.ledger.report(kind, start, end)
        return rows, total_of(rows)


def report_sheet(kind: str, rows: list[PeriodTotal], total: PeriodTotal, fmt: str) -> bytes:
    """A report as a CSV or XLSX sheet: one row a period, then 合计.

    Raises:
        InvalidInput: another format.
    """

    def cells(row: PeriodTotal, label: str) -> list[str]:
        return [
            label,
            str(row.bills),
            _money(row.amount),
            _money(row.payable),
            str(row.voided),
            _money(row.voided_payable),
        ]

    sheet = [list(REPORT_COLUMNS)]
    sheet += [cells(row, row.period) for row in rows]
    sheet.append(cells(total, "合计"))
    return encode_sheet(sheet, fmt, f"流水{_PERIOD_ZH.get(kind, '报表')}")


def _money(value: Decimal) -> str:
    return f"{value:.2f}"
