"""The call desk against the modem simulator: pop-ups, history, automatic SMS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices import Modem, ModemConfig
from zhanye_sdk.devices.calls import (
    CallDirection,
    CallEnded,
    CallOutcome,
    CallTimings,
    IncomingCall,
)
from zhanye_sdk.devices.gateway import (
    GatewayConfig,
    LoggingSmsGateway,
    ModemSmsGateway,
    RateLimits,
)
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator
from zhanye_sdk.devices.simulator.control import apply_command
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.calldesk import (
    AutoSmsSent,
    CallDesk,
    PopUpClosed,
    PopUpOpened,
    readable_number,
)
from zhanye_sdk.merchant.schema import calls

NOON = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def running(
    tmp_path: Path,
) -> AsyncIterator[tuple[ModemSimulator, MerchantDesk, CallDesk, Modem]]:
    sim = ModemSimulator("huawei", ring_interval=0.2)
    url = register_simulator(f"desk-{uuid.uuid4().hex[:8]}", sim)
    timings = CallTimings(
        clip_wait=0.1, ring_timeout=0.8, poll_interval=0.2, active_poll_interval=0.5
    )
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/desk.db", clock=ManualClock(NOON))
    async with Modem(url, ModemConfig(call_timings=timings)) as modem:
        gateway = ModemSmsGateway(
            modem,
            tmp_path / "outbox.db",
            GatewayConfig(
                signature="小馆",
                limits=RateLimits(min_interval=0.01, per_hour=100, per_day=100, burst=10),
            ),
        )
        calldesk = CallDesk(desk, gateway)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(gateway.run)
            tasks.start_soon(calldesk.run, modem.events())
            await modem.wait_connected()
            yield sim, desk, calldesk, modem
            tasks.cancel_scope.cancel()
        gateway.close()
    await desk.close()


async def wait_for_sms(sim: ModemSimulator) -> None:
    """Until the simulator (a thread of its own) has received an SMS."""
    with anyio.fail_after(10):
        while not sim.sent:  # noqa: ASYNC110 - the simulator is not an anyio task
            await anyio.sleep(0.05)


async def next_of(stream: object, kind: type, seconds: float = 10) -> object:
    with anyio.fail_after(seconds):
        async for event in stream:  # type: ignore[attr-defined]
            if isinstance(event, kind):
                return event
    raise AssertionError("stream ended")


@pytest.mark.anyio
async def test_known_caller_gets_their_card_and_a_hang_up_sms(running: tuple) -> None:
    sim, desk, calldesk, modem = running
    zhang, _ = await desk.customers.capture("13800138000")
    await desk.customers.update(zhang.id, name="张三")
    table = await desk.reservations.add_resource("3号桌", kind="table", capacity=4)
    await desk.reservations.reserve(
        table.id, zhang.id, 2, NOON + timedelta(days=1), NOON + timedelta(days=1, hours=2)
    )
    events = calldesk.subscribe()
    sim.incoming_call("13800138000")
    popup = await next_of(events, PopUpOpened)
    assert isinstance(popup, PopUpOpened) and popup.known
    assert popup.customer is not None and popup.customer.name == "张三"
    assert len(popup.upcoming) == 1
    await modem.answer()
    await anyio.sleep(0.3)
    sim.remote_hangup()
    closed = await next_of(events, PopUpClosed)
    assert isinstance(closed, PopUpClosed) and not closed.missed
    sms = await next_of(events, AutoSmsSent)
    assert isinstance(sms, AutoSmsSent) and sms.sent and sms.kind == "hang_up"
    await wait_for_sms(sim)
    assert sim.sent[0].recipient.endswith("13800138000")
    assert "张三您好" in (sim.sent[0].text or "") and "【小馆】" in (sim.sent[0].text or "")
    history = await desk.customers.history(zhang.id)
    assert [h.outcome for h in history] == ["answered"]


@pytest.mark.anyio
async def test_unknown_caller_who_gives_up_is_captured_and_texted_once(running: tuple) -> None:
    sim, desk, calldesk, _ = running
    events = calldesk.subscribe()
    for _ in range(2):
        sim.incoming_call("13912345678", rings=2)  # the caller gives up: no URC at all
        popup = await next_of(events, PopUpOpened)
        assert isinstance(popup, PopUpOpened) and popup.customer is not None
        assert popup.customer.display_name == "未知客户"
        closed = await next_of(events, PopUpClosed)
        assert isinstance(closed, PopUpClosed) and closed.missed
        sms = await next_of(events, AutoSmsSent)
        assert isinstance(sms, AutoSmsSent) and sms.kind == "missed"
        await anyio.sleep(0.2)
    # The second missed call falls in the cooldown: one reply only.
    await wait_for_sms(sim)
    await anyio.sleep(0.5)
    assert len(sim.sent) == 1 and "未能接听" in (sim.sent[0].text or "")
    caller = await desk.customers.by_phone("13912345678")
    assert caller is not None
    assert [h.outcome for h in await desk.customers.history(caller.id)] == ["missed", "missed"]


@pytest.mark.anyio
async def test_a_landline_caller_gets_no_sms(running: tuple) -> None:
    sim, desk, calldesk, _ = running
    events = calldesk.subscribe()
    sim.incoming_call("02188886666", rings=2)  # e.g. from the shop's old fixed line
    closed = await next_of(events, PopUpClosed)
    assert isinstance(closed, PopUpClosed) and closed.missed
    sms = await next_of(events, AutoSmsSent)
    assert isinstance(sms, AutoSmsSent) and (sms.sent, sms.reason) == (False, "landline")
    await anyio.sleep(0.5)
    assert sim.sent == []
    caller = await desk.customers.by_phone("02188886666")
    assert caller is not None  # captured all the same, with the call in the log
    assert [h.outcome for h in await desk.customers.history(caller.id)] == ["missed"]


CALLER_IDS = st.one_of(
    st.sampled_from(["abc", "*", "#", "1", "12", "1" * 21, "13800138000", "+8613800138000"]),
    st.from_regex(r"\+?[0-9*#]{0,30}", fullmatch=True),
    st.text(max_size=40),
)


@settings(max_examples=40)
@given(callers=st.lists(st.tuples(CALLER_IDS, st.booleans()), min_size=1, max_size=6))
def test_any_caller_id_pops_up_and_is_recorded_and_the_desk_carries_on(
    tmp_path_factory: pytest.TempPathFactory, callers: list[tuple[str, bool]]
) -> None:
    folder = tmp_path_factory.mktemp("desk")

    async def scenario() -> None:
        desk = await MerchantDesk.open(f"sqlite:///{folder}/desk.db", clock=ManualClock(NOON))
        try:
            calldesk = CallDesk(desk, LoggingSmsGateway())
            for call_id, (caller, answered) in enumerate(callers, start=1):
                (opened,) = await calldesk.feed(IncomingCall(call_id, caller, 129, False, 0.0))
                assert isinstance(opened, PopUpOpened)
                number = readable_number(caller)
                if number is None and caller:
                    # Shown as such, like a withheld number: no customer card.
                    assert opened.unreadable == caller and opened.customer is None
                else:
                    assert opened.unreadable is None
                    assert (opened.number is None) == (number is None)
                outcome = CallOutcome.COMPLETED if answered else CallOutcome.MISSED
                ended = CallEnded(
                    call_id,
                    CallDirection.INCOMING,
                    caller,
                    outcome,
                    0.0,
                    1.0 if answered else None,
                    3.0,
                )
                closed = (await calldesk.feed(ended))[0]
                assert isinstance(closed, PopUpClosed) and closed.call is not None
                assert closed.call.outcome == ("answered" if answered else "missed")
            # Every call is in the call log, readable number or not.
            async with desk.db.connect() as conn:
                logged = (
                    await conn.execute(sa.select(sa.func.count()).select_from(calls))
                ).scalar()
            assert logged == len(callers)
        finally:
            await desk.close()

    anyio.run(scenario)


@pytest.mark.anyio
async def test_an_unreadable_caller_does_not_stop_the_next_call_popping_up(
    running: tuple,
) -> None:
    sim, desk, calldesk, _ = running
    events = calldesk.subscribe()
    assert apply_command(sim, "call abc").startswith("ok")
    popup = await next_of(events, PopUpOpened)
    assert isinstance(popup, PopUpOpened) and popup.unreadable == "abc"
    sim.remote_hangup()
    closed = await next_of(events, PopUpClosed)
    assert isinstance(closed, PopUpClosed) and closed.call is not None
    sim.incoming_call("13800138000")
    popup = await next_of(events, PopUpOpened)
    assert isinstance(popup, PopUpOpened) and popup.number == "13800138000"
