"""The cashier (流水录入) through the SDK: a bill names its customer (from the book or
typed), the member discount applies, the change is exact, a short payment writes nothing,
voided bills leave the totals, and reports export as CSV and XLSX with 合计."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.cashier import Cashier, report_sheet
from zhanye_sdk.merchant.ledger import Guest, PeriodTotal, total_of

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[MerchantDesk]:
    opened = await MerchantDesk.open(database_url, clock=ManualClock(T0))
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_members_bill_gets_the_discount_and_exact_change(desk: MerchantDesk) -> None:
    cashier = Cashier(desk)
    gold = await desk.customers.add_level("金卡", "0.88")
    zhang, _ = await desk.customers.capture("13800138000")
    await desk.customers.update(zhang.id, name="张三", gender="男")
    await desk.customers.set_level(zhang.id, gold.id)
    items = [("清蒸鲈鱼", 1, "88.00"), ("米饭", 3, "2.50")]

    quote = await cashier.quote(items, phone="+86 138-0013-8000")
    assert (quote.amount, quote.discount, quote.payable) == (
        Decimal("95.50"),
        Decimal("0.88"),
        Decimal("84.04"),
    )
    assert quote.change is None and quote.short is None
    assert (await cashier.quote(items, "80", phone="13800138000")).short == Decimal("4.04")
    assert (await cashier.quote(items, "100", phone="13800138000")).change == Decimal("15.96")
    # A number not in the book pays full price.
    assert (await cashier.quote(items, phone="13900139000")).payable == Decimal("95.50")

    entry = await cashier.bill(items, "100", phone="13800138000")
    assert entry.customer_id == zhang.id
    assert entry.settlement.change == Decimal("15.96")
    assert entry.guest == Guest("张三", "男", "13800138000")
    assert (await desk.ledger.get(entry.id)).guest == Guest("张三", "男", "13800138000")


async def test_a_typed_customer_goes_into_the_book_and_a_walk_in_is_named(
    desk: MerchantDesk,
) -> None:
    cashier = Cashier(desk)
    entry = await cashier.bill(
        [("套餐", 2, "30")], "60", phone="13900139000", name="李四", gender="女"
    )
    li = await desk.customers.by_phone("13900139000")
    assert li is not None and (li.name, li.gender) == ("李四", "女")
    assert entry.customer_id == li.id
    # A typed name never renames a card that has one.
    again = await cashier.bill([("套餐", 1, "30")], "30", phone="13900139000", name="李小四")
    assert (await desk.customers.get(li.id)).name == "李四"
    assert again.guest == Guest("李小四", "女", "13900139000")

    walk_in = await cashier.bill([("咖啡", 1, "18")], "20", name="王先生", gender="男")
    assert walk_in.customer_id is None
    assert walk_in.guest == Guest("王先生", "男", None)
    assert walk_in.settlement.change == Decimal("2.00")
    assert (await cashier.bill([("咖啡", 1, "18")], "18")).guest is None


async def test_a_bad_bill_writes_nothing_and_puts_nobody_in_the_book(desk: MerchantDesk) -> None:
    cashier = Cashier(desk)
    with pytest.raises(InvalidInput, match="less than the payable"):
        await cashier.bill([("套餐", 1, "30")], "20", phone="13700137000", name="赵六")
    with pytest.raises(InvalidInput):
        await cashier.bill([("套餐", 1, "30")], "30", phone="13700137000", gender="未知")
    with pytest.raises(InvalidInput):
        await cashier.bill([("套餐", 0, "30")], "30", phone="13700137000")
    assert await desk.customers.all() == []
    assert await desk.ledger.entries(T0 - timedelta(days=1), T0 + timedelta(days=1)) == []


async def test_reports_total_and_export_with_voided_bills_apart(desk: MerchantDesk) -> None:
    cashier = Cashier(desk)
    await cashier.bill([("套餐", 1, "30.00")], "30")
    wrong = await cashier.bill([("套餐", 10, "30.00")], "300")
    await desk.ledger.void(wrong.id, "数量录错")
    desk.clock.advance(40 * 86400)  # type: ignore[attr-defined]
    await cashier.bill([("套餐", 2, "30.00")], "100")
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=60)
    rows, total = await cashier.report("month", start, end)
    assert [(r.period, r.bills, r.payable, r.voided) for r in rows] == [
        ("2026-03", 1, Decimal("30.00"), 1),
        ("2026-04", 1, Decimal("60.00"), 0),
    ]
    assert (total.bills, total.payable, total.voided, total.voided_payable) == (
        2,
        Decimal("90.00"),
        1,
        Decimal("300.00"),
    )
    text = report_sheet("month", rows, total, "csv").decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [
        ["期间", "笔数", "金额（元）", "应收（元）", "冲红笔数", "冲红金额（元）"],
        ["2026-03", "1", "30.00", "30.00", "1", "300.00"],
        ["2026-04", "1", "60.00", "60.00", "0", "0.00"],
        ["合计", "2", "90.00", "90.00", "1", "300.00"],
    ]
    book = load_workbook(io.BytesIO(report_sheet("month", rows, total, "xlsx")))
    sheet = book["流水月报"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)][-1] == [
        "合计",
        "2",
        "90.00",
        "90.00",
        "1",
        "300.00",
    ]
    with pytest.raises(InvalidInput):
        report_sheet("month", rows, total, "pdf")


money = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False)


@given(st.lists(st.tuples(st.integers(0, 500), money, st.integers(0, 5), money), max_size=12))
def test_the_total_row_adds_up_every_period(cells: list[tuple]) -> None:
    rows = [
        PeriodTotal(f"2026-{i:02d}", bills, amount, amount, voided, voided_payable)
        for i, (bills, amount, voided, voided_payable) in enumerate(cells)
    ]
    total = total_of(rows)
    assert total.bills == sum(r.bills for r in rows)
    assert total.payable == sum((r.payable for r in rows), Decimal("0.00"))
    assert total.voided_payable == sum((r.voided_payable for r in rows), Decimal("0.00"))
    assert total.payable.as_tuple().exponent == -2 or not rows
