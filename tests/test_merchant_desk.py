"""The merchant desk's business rules, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import anyio
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.errors import ConflictError, InvalidInput
from zhanye_sdk.merchant import AutoSmsRule, MerchantDesk, should_send
from zhanye_sdk.merchant.initials import MAX_COMBINATIONS, name_initials
from zhanye_sdk.merchant.money import parse_money, settle
from zhanye_sdk.merchant.schema import ledger

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[MerchantDesk]:
    opened = await MerchantDesk.open(database_url, clock=ManualClock(T0))
    try:
        yield opened
    finally:
        await opened.close()


def test_initials_cover_every_reading_of_polyphonic_surnames() -> None:
    assert name_initials("张三") == {"zs"}
    assert {"zgf", "cgf"} <= name_initials("曾国藩")
    assert {"stf", "dtf"} <= name_initials("单田芳")
    assert name_initials("Tom Lee") == {"tl"}
    assert name_initials("") == set()


@given(st.text(max_size=30))
def test_initials_never_fail_and_stay_small(text: str) -> None:
    found = name_initials(text)
    assert len(found) <= MAX_COMBINATIONS
    assert all(s.isascii() and s.isalpha() and s.islower() for s in found)


def test_money_is_exact() -> None:
    bill = settle(Decimal("46.30"), Decimal("0.88"), parse_money("50"))
    assert (bill.payable, bill.change) == (Decimal("40.74"), Decimal("9.26"))
    assert settle(Decimal("0.05"), Decimal("0.9"), Decimal("1")).payable == Decimal(
        "0.05"
    )  # 0.045 → 0.05
    for bad in (12.5, "-1", "1.234", "abc", "NaN"):
        with pytest.raises(InvalidInput):
            parse_money(bad)
    with pytest.raises(InvalidInput, match="less than"):
        settle(Decimal("10.00"), Decimal(1), Decimal("9.99"))


@given(
    st.times().map(lambda t: t.replace(microsecond=0)),
    st.none() | st.integers(0, 10**8),
    st.integers(0, 10**8),
)
def test_auto_sms_respects_quiet_hours_and_cooldown(
    now: time, last: int | None, now_ms: int
) -> None:
    rule = AutoSmsRule(
        template="感谢来电", quiet_start=time(21), quiet_end=time(8), cooldown_s=3600
    )
    ok, why = should_send(rule, datetime.combine(datetime(2026, 1, 1), now), last, now_ms)
    quiet = now >= time(21) or now < time(8)
    cooling = last is not None and now_ms - last < 3_600_000
    assert ok is (not quiet and not cooling)
    if not ok:
        assert why == ("quiet" if quiet else "cooldown")


async def test_callers_are_captured_once_and_found_by_initials(desk: MerchantDesk) -> None:
    book = desk.customers
    first, new = await book.capture("138 0013 8000")
    again, new_again = await book.capture("13800138000")
    assert new and not new_again and first.id == again.id
    assert first.display_name == "未知客户"
    await book.update(first.id, name="张三", birthday="1990-03-07", notes="喜欢靠窗")
    zeng, _ = await book.capture("13900139000")
    await book.update(zeng.id, name="曾小贤")
    assert [c.name for c in await book.search("zs")] == ["张三"]
    assert [c.name for c in await book.search("cxx")] == ["曾小贤"]
    assert [c.name for c in await book.search("zxx")] == ["曾小贤"]
    assert [c.name for c in await book.search("138001")] == ["张三"]
    assert [c.name for c in await book.search("小贤")] == ["曾小贤"]
    # Nothing typed: the book, newest customer first.
    assert [c.name for c in await book.search("  ")] == ["曾小贤", "张三"]
    with pytest.raises(InvalidInput, match="birthday"):
        await book.update(first.id, birthday="1990/3/7")
    with pytest.raises(InvalidInput):
        await book.capture("not a number")
    await book.add_to_group(first.id, "老客户")
    await book.add_to_group(first.id, "老客户")
    assert [c.id for c in await book.group_members("老客户")] == [first.id]
    call = await book.record_call(
        "13800138000", direction="in", outcome="answered", started_at=T0, duration_s=95
    )
    await book.note_call(call.id, "预订周六包间")
    history = await book.history(first.id)
    assert [(h.outcome, h.duration_s, h.notes) for h in history] == [
        ("answered", 95, "预订周六包间")
    ]


async def test_no_double_booking_even_under_concurrent_requests(desk: MerchantDesk) -> None:
    room = await desk.reservations.add_resource("牡丹厅", kind="room", capacity=10)
    guest, _ = await desk.customers.capture("13800138000")
    start = T0 + timedelta(days=1)
    booked = await desk.reservations.reserve(
        room.id, guest.id, 8, start, start + timedelta(hours=2)
    )
    with pytest.raises(ConflictError, match="牡丹厅"):
        await desk.reservations.reserve(
            room.id, guest.id, 4, start + timedelta(hours=1), start + timedelta(hours=3)
        )
    with pytest.raises(InvalidInput, match="seats 10"):
        await desk.reservations.reserve(
            room.id, guest.id, 12, start + timedelta(hours=5), start + timedelta(hours=6)
        )
    # Back to back is fine.
    await desk.reservations.reserve(
        room.id, guest.id, 2, start + timedelta(hours=2), start + timedelta(hours=3)
    )

    later = start + timedelta(days=1)
    outcomes: list[str] = []

    async def attempt() -> None:
        try:
            await desk.reservations.reserve(room.id, guest.id, 2, later, later + timedelta(hours=1))
            outcomes.append("booked")
        except ConflictError:
            outcomes.append("refused")

    async with anyio.create_task_group() as tasks:
        for _ in range(10):
            tasks.start_soon(attempt)
    assert sorted(outcomes) == ["booked"] + ["refused"] * 9

    moved = await desk.reservations.change(booked.id, start=start - timedelta(hours=2), end=start)
    assert moved.start == start - timedelta(hours=2)
    await desk.reservations.set_status(booked.id, "cancelled")
    with pytest.raises(ConflictError):
        await desk.reservations.set_status(booked.id, "cancelled")


async def test_check_out_applies_the_member_discount_once(desk: MerchantDesk) -> None:
    gold = await desk.customers.add_level("金卡", "0.88")
    guest, _ = await desk.customers.capture("13800138000")
    await desk.customers.set_level(guest.id, gold.id)
    table = await desk.reservations.add_resource("3号桌", kind="table", capacity=4)
    booking = await desk.reservations.reserve(table.id, guest.id, 3, T0, T0 + timedelta(hours=2))
    entry = await desk.check_out(booking.id, [("清蒸鲈鱼", 1, "88.00"), ("米饭", 3, "2.50")], "100")
    assert entry.settlement.amount == Decimal("95.50")
    assert entry.settlement.payable == Decimal("84.04")
    assert entry.settlement.change == Decimal("15.96")
    assert (await desk.reservations.get(booking.id)).status == "checked_out"
    with pytest.raises(ConflictError):
        await desk.check_out(booking.id, [("米饭", 1, "2.50")], "10")
    # A cancelled booking cannot be checked out: no bill goes into the ledger.
    later = await desk.reservations.reserve(
        table.id, guest.id, 2, T0 + timedelta(hours=3), T0 + timedelta(hours=4)
    )
    await desk.reservations.set_status(later.id, "cancelled")
    with pytest.raises(ConflictError, match="cancelled"):
        await desk.check_out(later.id, [("米饭", 1, "2.50")], "10")
    bills = await desk.ledger.report("day", T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert [b.bills for b in bills] == [1]


async def test_a_check_out_racing_a_cancel_never_bills_a_cancelled_booking(
    desk: MerchantDesk,
) -> None:
    guest, _ = await desk.customers.capture("13800138000")
    table = await desk.reservations.add_resource("5号桌", kind="table", capacity=4)
    bookings = [
        await desk.reservations.reserve(
            table.id, guest.id, 2, T0 + timedelta(hours=h), T0 + timedelta(hours=h, minutes=50)
        )
        for h in range(10)
    ]

    async def check_out(booking_id: int) -> None:
        with contextlib.suppress(ConflictError):
            await desk.check_out(booking_id, [("米饭", 1, "2.50")], "10")

    async def cancel(booking_id: int) -> None:
        with contextlib.suppress(ConflictError):
            await desk.reservations.set_status(booking_id, "cancelled")

    async with anyio.create_task_group() as tasks:
        for booking in bookings:
            tasks.start_soon(check_out, booking.id)
            tasks.start_soon(cancel, booking.id)
    statuses = {b.id: (await desk.reservations.get(b.id)).status for b in bookings}
    assert set(statuses.values()) <= {"checked_out", "cancelled"}
    async with desk.db.connect() as conn:
        billed = [r.reservation_id for r in await conn.execute(sa.select(ledger.c.reservation_id))]
    assert sorted(billed) == sorted(b for b, status in statuses.items() if status == "checked_out")


async def test_reports_total_by_period(desk: MerchantDesk) -> None:
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    for days, price in [(0, "10.00"), (0, "20.00"), (1, "5.50"), (40, "100.00"), (120, "1.00")]:
        clock.current = T0 + timedelta(days=days)
        await desk.ledger.record([("套餐", 1, price)], price)
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=400)
    days = await desk.ledger.report("day", start, end)
    assert [(d.period, d.bills, d.payable) for d in days][:2] == [
        ("2026-03-06", 2, Decimal("30.00")),
        ("2026-03-07", 1, Decimal("5.50")),
    ]
    quarters = await desk.ledger.report("quarter", start, end)
    assert [(q.period, q.bills) for q in quarters] == [
        ("2026-Q1", 3),
        ("2026-Q2", 1),
        ("2026-Q3", 1),
    ]
    years = await desk.ledger.report("year", start, end)
    assert [(y.period, y.amount) for y in years] == [("2026", Decimal("136.50"))]
