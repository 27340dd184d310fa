"""Received SMS at the desk through the SDK, from the modem simulator: kept per customer,
published to the desk page; a 退订/TD reply puts the number on the opt-out list (bulk SMS
then skips it); the 退订 reader is fuzzed; the SMS template library is editable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices import Modem
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator, unregister_simulator
from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.bulk import BulkSms
from zhanye_sdk.merchant.calldesk import CallDesk, SmsArrived
from zhanye_sdk.merchant.optout import is_opt_out
from zhanye_sdk.merchant.registration import Registration
from zhanye_sdk.merchant.sms_library import SmsTemplates

NOON = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[ModemSimulator, MerchantDesk, CallDesk]]:
    sim = ModemSimulator("huawei")
    name = f"inbox-{uuid.uuid4().hex[:8]}"
    url = register_simulator(name, sim)
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/desk.db", clock=ManualClock(NOON))
    calldesk = CallDesk(desk, LoggingSmsGateway(signature="小馆"))
    try:
        async with Modem(url) as modem:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(calldesk.run, modem.events())
                await modem.wait_connected()
                yield sim, desk, calldesk
                tasks.cancel_scope.cancel()
    finally:
        await desk.close()
        unregister_simulator(name)


async def arrived(stream: object) -> SmsArrived:
    with anyio.fail_after(10):
        async for event in stream:  # type: ignore[attr-defined]
            if isinstance(event, SmsArrived):
                return event
    raise AssertionError("stream ended")


@pytest.mark.anyio
async def test_a_reply_is_kept_per_customer_and_td_opts_out(running: tuple) -> None:
    sim, desk, calldesk = running
    zhang, _ = await desk.customers.capture("13800138000")
    await desk.customers.update(zhang.id, name="张三")
    events = calldesk.subscribe()
    async with events:
        sim.receive_sms("+8613800138000", "周六还有包间吗？")
        first = await arrived(events)
        assert (first.who, first.message.text, first.message.opt_out) == (
            "张三",
            "周六还有包间吗？",
            False,
        )
        assert first.message.customer_id == zhang.id
        sim.receive_sms("13800138000", "ＴＤ")
        second = await arrived(events)
        assert second.message.opt_out
        # An unknown number that writes is captured into the book, like a caller.
        sim.receive_sms("13912345678", "你好")
        third = await arrived(events)
        assert third.who == "13912345678"
    assert (await desk.customers.get(zhang.id)).opted_out
    mine = await desk.inbox.messages(customer_id=zhang.id)
    assert [m.text for m in mine] == ["ＴＤ", "周六还有包间吗？"]
    assert len(await desk.inbox.messages()) == 3
    # Bulk SMS now skips the number that opted out.
    bulk = BulkSms(desk, LoggingSmsGateway())
    recipients = await bulk.recipients(numbers=["13800138000", "13912345678"], groups=[])
    report = await bulk.send(
        "{name}您好，周末8.8折", recipients, Registration(True, quota_per_day=100, signature="小馆")
    )
    assert [tuple(x) for x in report.skipped] == [("13800138000", "opted_out")]


def test_opt_out_replies_are_read_leniently_but_only_alone() -> None:
    for text in ["TD", "td", " T D ", "ＴＤ", "退订", "退订。", "【退订】", "t", "退定!"]:
        assert is_opt_out(text), text
    for text in ["", "明天TD见", "不要退订", "TDD", "好的", "退订" * 40, "1"]:
        assert not is_opt_out(text), text


@given(st.text(max_size=200))
def test_the_opt_out_reader_never_fails_and_needs_the_word(text: str) -> None:
    answer = is_opt_out(text)
    assert isinstance(answer, bool)
    if answer:
        assert any(c in text.upper() for c in "TＴｔ退")


@pytest.mark.anyio
async def test_the_template_library_starts_with_the_classics_and_is_editable(
    tmp_path: Path,
) -> None:
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/desk.db", clock=ManualClock(NOON))
    try:
        library = SmsTemplates(desk.db)
        assert [t.name for t in await library.all()] == ["新品通知", "降价优惠", "节日祝福"]
        spring = await library.add(
            "春节祝福", "{name}您好，{shop}祝您春节快乐！".replace("{shop}", "小馆")
        )
        changed = await library.update(spring.id, "春节问候", "{name}您好，新春快乐！")
        assert changed.name == "春节问候"
        with pytest.raises(ConflictError):
            await library.add("新品通知", "又一条")
        with pytest.raises(InvalidInput, match="placeholder"):
            await library.add("坏模板", "{name.__class__}")
        with pytest.raises(InvalidInput):
            await library.add("", "内容")
        await library.delete(spring.id)
        with pytest.raises(NotFound):
            await library.delete(spring.id)
        assert len(await library.all()) == 3
    finally:
        await desk.close()
