"""The call log (通信记录): filters by kind, by a day in the shop's zone and by
customer; why an automatic SMS was not sent; the reminder of recent missed calls;
conversation notes written after the call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices.calls import CallDirection, CallEnded, CallOutcome, IncomingCall
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.calldesk import AutoSmsSent, CallDesk
from zhanye_sdk.merchant.registration import Registration

pytestmark = pytest.mark.anyio

# 23:30 on 6 March in Shanghai (15:30 UTC): in the shop's quiet hours.
LATE = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
NOON = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[MerchantDesk, CallDesk, ManualClock]]:
    clock = ManualClock(NOON)
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/desk.db", clock=clock)
    try:
        yield desk, CallDesk(desk, LoggingSmsGateway()), clock
    finally:
        await desk.close()


_ids = iter(range(1, 10_000))


async def call(
    calldesk: CallDesk, number: str, *, answered: bool, outgoing: bool = False
) -> list[object]:
    call_id = next(_ids)
    if not outgoing:
        await calldesk.feed(IncomingCall(call_id, number, 129, False, 0.0))
    ended = CallEnded(
        call_id,
        CallDirection.OUTGOING if outgoing else CallDirection.INCOMING,
        number,
        CallOutcome.COMPLETED if answered else CallOutcome.MISSED,
        0.0,
        1.0 if answered else None,
        31.0,
    )
    return list(await calldesk.feed(ended))


async def test_the_log_filters_by_kind_day_and_customer(
    world: tuple[MerchantDesk, CallDesk, ManualClock],
) -> None:
    desk, calldesk, clock = world
    zhang, _ = await desk.customers.capture("13800138000")
    await desk.customers.update(zhang.id, name="张三")
    await call(calldesk, "13800138000", answered=True)
    await call(calldesk, "13900139000", answered=False)
    await call(calldesk, "13700137000", answered=True, outgoing=True)
    log = desk.calls
    assert [e.kind for e in await log.search()] == ["outgoing", "missed", "answered"]
    assert [e.phone for e in await log.search(kind="missed")] == ["13900139000"]
    answered = await log.search(kind="answered")
    assert [(e.phone, e.display_name, e.duration_s) for e in answered] == [
        ("13800138000", "张三", 30)
    ]
    assert [e.phone for e in await log.search(kind="outgoing")] == ["13700137000"]
    assert [e.phone for e in await log.search(customer="张")] == ["13800138000"]
    assert [e.phone for e in await log.search(customer="139")] == ["13900139000"]
    assert [e.phone for e in await log.search(customer="%")] == []
    with pytest.raises(InvalidInput):
        await log.search(kind="everything")
    # 00:30 on 7 March in Shanghai is still 6 March in UTC: the shop's day counts.
    clock.advance((datetime(2026, 3, 6, 16, 30, tzinfo=UTC) - NOON).total_seconds())
    await call(calldesk, "13600136000", answered=False)
    assert [e.phone for e in await log.search(day=date(2026, 3, 7))] == ["13600136000"]
    assert len(await log.search(day=date(2026, 3, 6))) == 3


async def test_each_row_says_what_became_of_its_automatic_sms(
    world: tuple[MerchantDesk, CallDesk, ManualClock],
) -> None:
    desk, calldesk, clock = world
    first = await call(calldesk, "13900139000", answered=False)
    assert any(isinstance(e, AutoSmsSent) and e.sent for e in first)
    again = await call(calldesk, "13900139000", answered=False)
    assert any(isinstance(e, AutoSmsSent) and e.reason == "cooldown" for e in again)
    li, _ = await desk.customers.capture("13500135000")
    await desk.customers.set_opted_out(li.id, True)
    await call(calldesk, "13500135000", answered=True)
    clock.advance((LATE - NOON).total_seconds())
    await call(calldesk, "13300133000", answered=True)
    rows = {(e.phone, e.auto_sms) for e in await desk.calls.search()}
    assert rows == {
        ("13900139000", "sent"),
        ("13900139000", "cooldown"),
        ("13500135000", "opted_out"),
        ("13300133000", "quiet"),
    }


async def test_the_reminder_lists_recent_missed_callers_not_called_back(
    world: tuple[MerchantDesk, CallDesk, ManualClock],
) -> None:
    desk, calldesk, clock = world
    await call(calldesk, "13100131000", answered=False)  # a day later: too old
    clock.advance(25 * 3600)
    await call(calldesk, "13800138000", answered=False)
    clock.advance(60)
    await call(calldesk, "13900139000", answered=False)
    clock.advance(60)
    await call(calldesk, "13900139000", answered=False)
    clock.advance(60)
    await call(calldesk, "13800138000", answered=True, outgoing=True)  # called back
    reminder = await desk.calls.recent_missed()
    assert [e.phone for e in reminder] == ["13900139000"]


async def test_notes_written_after_the_call_are_on_the_customers_log(
    world: tuple[MerchantDesk, CallDesk, ManualClock],
) -> None:
    desk, calldesk, _ = world
    await call(calldesk, "13800138000", answered=True)
    zhang = await desk.customers.by_phone("13800138000")
    assert zhang is not None
    (entry,) = await desk.calls.search(customer_id=zhang.id)
    await desk.customers.note_call(entry.id, "订周六 6 位")
    await desk.customers.note_call(entry.id, "改订周日 6 位")
    (noted,) = await desk.calls.search(customer_id=zhang.id)
    assert noted.notes == "改订周日 6 位"
    assert [h.notes for h in await desk.customers.history(zhang.id)] == ["改订周日 6 位"]


async def test_the_daily_quota_also_bounds_the_automatic_messages(
    world: tuple[MerchantDesk, CallDesk, ManualClock],
) -> None:
    desk, _, clock = world
    gateway = LoggingSmsGateway()
    calldesk = CallDesk(desk, gateway, registration=lambda: Registration(True, quota_per_day=1))
    first = await call(calldesk, "13800138000", answered=False)
    assert any(isinstance(e, AutoSmsSent) and e.sent for e in first)
    second = await call(calldesk, "13900139000", answered=True)
    (skipped,) = [e for e in second if isinstance(e, AutoSmsSent)]
    assert (skipped.sent, skipped.reason) == (False, "quota")
    assert len(gateway.sent) == 1
    rows = await desk.calls.search(kind="answered")
    assert [(e.auto_sms, e.auto_sms_detail) for e in rows] == [("quota", "今日短信额度已用完")]
    # A new day in the shop's zone: the quota is back.
    clock.advance(24 * 3600)
    third = await call(calldesk, "13900139000", answered=True)
    assert any(isinstance(e, AutoSmsSent) and e.sent for e in third)
