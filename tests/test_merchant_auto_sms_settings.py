"""系统设置 → 挂机短信 and 未接来电回复: the shop's text (placeholders checked by the
template module), on/off, quiet hours and cooldown are kept and drive the call desk;
fuzzed: any typed setting or group name is accepted or refused clearly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices.calls import CallDirection, CallEnded, CallOutcome, IncomingCall
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.auto_sms_settings import check_rule
from zhanye_sdk.merchant.calldesk import AutoSmsSent, CallDesk, CallDeskRules
from zhanye_sdk.merchant.groups import check_group_name
from zhanye_sdk.merchant.templates import fill

pytestmark = pytest.mark.anyio

NOON = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def answered_call(calldesk: CallDesk, call_id: int, number: str) -> AutoSmsSent:
    await calldesk.feed(IncomingCall(call_id, number, 129, False, 0.0))
    events = await calldesk.feed(
        CallEnded(call_id, CallDirection.INCOMING, number, CallOutcome.COMPLETED, 0.0, 1.0, 9.0)
    )
    (sms,) = [e for e in events if isinstance(e, AutoSmsSent)]
    return sms


async def test_the_shops_hang_up_text_is_kept_and_sent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/desk.db"
    desk = await MerchantDesk.open(url, clock=ManualClock(NOON))
    zhang, _ = await desk.customers.capture("13800138000")
    await desk.customers.update(zhang.id, name="张三")
    gateway = LoggingSmsGateway()
    calldesk = CallDesk(desk, gateway, CallDeskRules(shop="小馆"))
    # Built in until the shop saves its own.
    assert (await answered_call(calldesk, 1, "13800138000")).sent
    assert "感谢致电小馆" in gateway.sent[-1][1]
    await desk.auto_sms.save(
        "hang_up",
        template="{name}，{shop}送您 {{8折}} 券",
        enabled=True,
        quiet_start=None,
        quiet_end=None,
        cooldown_s=0,
    )
    await desk.close()

    desk = await MerchantDesk.open(url, clock=ManualClock(NOON))
    try:
        calldesk = CallDesk(desk, gateway, CallDeskRules(shop="小馆"))
        assert (await answered_call(calldesk, 2, "13800138000")).sent  # no cooldown now
        assert gateway.sent[-1][1].startswith("张三，小馆送您 {8折} 券")
        # Switched off, or in its quiet hours: not sent, and the log says why.
        await desk.auto_sms.save(
            "hang_up", template="谢谢", enabled=False, quiet_start="", quiet_end="", cooldown_s=0
        )
        assert (await answered_call(calldesk, 3, "13800138000")).reason == "disabled"
        await desk.auto_sms.save(
            "hang_up",
            template="谢谢",
            enabled=True,
            quiet_start="11:00",
            quiet_end="13:00",
            cooldown_s=0,
        )
        assert (await answered_call(calldesk, 4, "13800138000")).reason == "quiet"
        assert [e.auto_sms for e in await desk.calls.search()] == [
            "quiet",
            "disabled",
            "sent",
            "sent",
        ]
        # The missed-call reply is its own setting, still built in.
        rule = await desk.auto_sms.rule("missed", CallDeskRules().missed)
        assert rule == CallDeskRules().missed
    finally:
        await desk.close()


@pytest.mark.parametrize(
    ("change", "zh"),
    [
        ({"template": "{phone}您好"}, "{phone}"),
        ({"template": "您好{name"}, "第 3 个字符"),
        ({"template": "  "}, "挂机短信内容须为"),
        ({"template": "长" * 301}, "挂机短信内容须为"),
        ({"quiet_start": "21:00", "quiet_end": None}, "免打扰时段"),
        ({"quiet_start": "9点", "quiet_end": "10:00"}, "免打扰开始时间"),
        ({"quiet_start": "21:00", "quiet_end": "08:00xyz"}, "免打扰结束时间"),
        ({"quiet_start": "10:00", "quiet_end": "10:00"}, "免打扰时段"),
        ({"cooldown_s": -1}, "发送间隔"),
        ({"cooldown_s": 31 * 24 * 3600}, "发送间隔"),
    ],
)
async def test_a_bad_setting_is_refused_and_nothing_changes(
    tmp_path: Path, change: dict[str, object], zh: str
) -> None:
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/desk.db", clock=ManualClock(NOON))
    try:
        good: dict[str, object] = {
            "template": "{name}您好",
            "enabled": True,
            "quiet_start": "21:00",
            "quiet_end": "08:00",
            "cooldown_s": 3600,
        }
        await desk.auto_sms.save("hang_up", **good)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput) as refused:
            await desk.auto_sms.save("hang_up", **{**good, **change})  # type: ignore[arg-type]
        assert refused.value.zh is not None and zh in refused.value.zh
        kept = await desk.auto_sms.rule("hang_up", CallDeskRules().hang_up)
        assert kept.template == "{name}您好" and kept.cooldown_s == 3600
        with pytest.raises(InvalidInput):
            await desk.auto_sms.save("birthday", **good)  # type: ignore[arg-type]
    finally:
        await desk.close()


@given(
    template=st.text(max_size=320),
    start=st.one_of(st.none(), st.text(max_size=9)),
    end=st.one_of(st.none(), st.text(max_size=9)),
    cooldown=st.integers(min_value=-(10**6), max_value=10**8),
)
def test_any_typed_setting_is_a_rule_or_a_clear_refusal(
    template: str, start: str | None, end: str | None, cooldown: int
) -> None:
    try:
        rule = check_rule(
            "missed",
            template=template,
            enabled=True,
            quiet_start=start,
            quiet_end=end,
            cooldown_s=cooldown,
        )
    except InvalidInput as exc:
        assert exc.zh
        return
    # A rule that was accepted always fills without error.
    fill(rule.template, {"name": "张三", "shop": "小馆"})
    assert 0 <= rule.cooldown_s <= 30 * 24 * 3600


@given(st.text(max_size=40))
def test_any_group_name_is_kept_or_refused_clearly(name: str) -> None:
    try:
        kept = check_group_name(name)
    except InvalidInput as exc:
        assert exc.zh
        return
    assert 1 <= len(kept) <= 32 and kept == kept.strip()
    assert not any(sep in kept for sep in ",，、;；\n")
