"""Calling out through the SDK (no HTTP) on the modem simulator: the number is dialled in
its national form, the desk publishes the call with the customer's card, the call log
gets it as 去电; a busy line is a clear ConflictError."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices import Modem, ModemConfig
from zhanye_sdk.devices.calls import CallTimings
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator, unregister_simulator
from zhanye_sdk.errors import ConflictError, InvalidInput
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.calldesk import CallDesk, CallDialled, PopUpClosed

NOON = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_customer_is_called_from_the_desk_and_logged(tmp_path: Path) -> None:
    sim = ModemSimulator("huawei")
    name = f"dial-{uuid.uuid4().hex[:8]}"
    url = register_simulator(name, sim)
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/desk.db", clock=ManualClock(NOON))
    calldesk = CallDesk(desk, LoggingSmsGateway())
    timings = CallTimings(
        clip_wait=0.1, ring_timeout=1.0, poll_interval=0.2, active_poll_interval=0.2
    )
    zhang, _ = await desk.customers.capture("13800138000")
    await desk.customers.update(zhang.id, name="张三")
    try:
        async with Modem(url, ModemConfig(call_timings=timings)) as modem:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(calldesk.run, modem.events())
                await modem.wait_connected()
                events = calldesk.subscribe()
                async with events:
                    assert await calldesk.dial(modem, "+86 138-0013-8000") == "13800138000"
                    with anyio.fail_after(10):
                        dialled = await events.receive()
                        while not isinstance(dialled, CallDialled):
                            dialled = await events.receive()
                    assert dialled.customer is not None and dialled.customer.name == "张三"
                    assert sim.call is not None and sim.call.number == "13800138000"
                    await modem.hangup()
                    with anyio.fail_after(10):
                        ended = await events.receive()
                        while not isinstance(ended, PopUpClosed):
                            ended = await events.receive()
                    assert ended.call is not None and ended.call.direction == "out"
                    with pytest.raises(ConflictError, match="BUSY"):
                        await calldesk.dial(modem, "13900000000")
                    with pytest.raises(InvalidInput):
                        await calldesk.dial(modem, "13800138000;+CMGD=1,4")
                tasks.cancel_scope.cancel()
        history = await desk.customers.history(zhang.id)
        assert [(h.direction, h.phone) for h in history] == [("out", "13800138000")]
    finally:
        await desk.close()
        unregister_simulator(name)


@pytest.mark.anyio
async def test_calls_go_out_on_the_sim_line_never_the_landline(tmp_path: Path) -> None:
    # 主叫均由移动SIM卡呼出: the landline port (一机双号) only takes calls.
    sim = ModemSimulator("huawei")
    name = f"dial-{uuid.uuid4().hex[:8]}"
    url = register_simulator(name, sim)
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/desk.db", clock=ManualClock(NOON))
    calldesk = CallDesk(desk, LoggingSmsGateway())
    try:
        async with Modem(url, ModemConfig()) as modem:
            await modem.wait_connected()
            with pytest.raises(InvalidInput) as refused:
                await calldesk.dial(modem, "13800138000", "pstn")
            assert refused.value.zh == "座机线路只能接听来电，外呼均经手机卡线路"
            with pytest.raises(InvalidInput) as unknown:
                await calldesk.dial(modem, "13800138000", "fax")
            assert unknown.value.zh is not None and "线路" in unknown.value.zh
            assert not any(c.startswith("ATD") for c in sim.commands)
            assert await calldesk.dial(modem, "13800138000", "gsm") == "13800138000"
            assert sim.call is not None
            await modem.hangup()
    finally:
        await desk.close()
        unregister_simulator(name)
