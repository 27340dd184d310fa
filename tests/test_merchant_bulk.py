"""Bulk SMS and customer care: previews, opt-outs, quotas, registration, once per occasion."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices import Modem, ModemConfig
from zhanye_sdk.devices.gateway import (
    GatewayConfig,
    LoggingSmsGateway,
    ModemSmsGateway,
    RateLimits,
)
from zhanye_sdk.devices.simulator import (
    ModemSimulator,
    SentSms,
    register_simulator,
    unregister_simulator,
)
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.bulk import BulkSms, CareCalendar, CustomerCare
from zhanye_sdk.merchant.registration import LocalVerifier, NotRegistered, Registration

pytestmark = pytest.mark.anyio
NOW = datetime(2027, 2, 6, 2, 0, tzinfo=UTC)  # 10:00 on 春节 2027 in Shanghai
ICCID = "89860000000000000001"


async def registered(quota: int = 1000) -> Registration:
    verifier = LocalVerifier({ICCID: Registration(True, quota_per_day=quota, signature="小馆")})
    return await verifier.verify(ICCID, None)


async def test_group_send_honours_opt_out_and_quota(tmp_path: Path) -> None:
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/d.db", clock=ManualClock(NOW))
    gateway = LoggingSmsGateway(signature="小馆")
    bulk = BulkSms(desk, gateway)
    try:
        for i in range(500):
            customer, _ = await desk.customers.capture(f"1390000{i:04d}")
            await desk.customers.update(customer.id, name=f"会员{i}")
            await desk.customers.add_to_group(customer.id, "会员")
            if i % 50 == 0:
                await desk.customers.set_opted_out(customer.id, True)
        recipients = await bulk.recipients(groups=["会员"], numbers=["13900000001"])
        assert len(recipients) == 500
        previews = await bulk.preview("{name}您好，本周末会员日全场{level}88折！", recipients[:1])
        # Typed numbers come first; the same number in the group is not texted twice.
        assert previews[0].text.startswith("会员1您好") and previews[0].encoding == "ucs2"
        assert previews[0].parts == 1
        long = await bulk.preview("{name}" + "很长的内容" * 20, recipients[:1])
        assert long[0].parts == 2
        progress: list[int] = []
        report = await bulk.send(
            "{name}您好", recipients, await registered(quota=400), lambda d, t: progress.append(d)
        )
        assert progress[-1] == 500
        assert sum(1 for _, why in report.skipped if why == "opted_out") == 10
        assert (
            len(report.sent) == 400 and sum(1 for _, why in report.skipped if why == "quota") == 90
        )
        assert len(gateway.sent) == 400 and all(
            text.endswith("【小馆】") for _, text in gateway.sent
        )
        with pytest.raises(NotRegistered, match="no active subscription"):
            await bulk.send("hi", recipients, await LocalVerifier().verify("other", None))
        with pytest.raises(InvalidInput, match="placeholders"):
            await bulk.preview("{phone}", recipients[:1])
    finally:
        await desk.close()


async def test_greetings_go_once_per_customer_per_occasion(tmp_path: Path) -> None:
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/d.db", clock=ManualClock(NOW))
    gateway = LoggingSmsGateway()
    try:
        a, _ = await desk.customers.capture("13800000001")
        await desk.customers.update(a.id, name="寿星", birthday="1990-02-06")
        await desk.customers.capture("13800000002")
        calendar = CareCalendar(holidays={"2027-02-06": ("春节", "{name}，新春快乐！")})
        care = CustomerCare(desk, BulkSms(desk, gateway), calendar)
        first = await care.run_once(NOW, await registered())
        assert sorted(first.sent) == ["13800000001", "13800000001", "13800000002"]
        # Run again (or after a restart): nothing twice.
        care_again = CustomerCare(desk, BulkSms(desk, gateway), calendar)
        second = await care_again.run_once(NOW, await registered())
        assert second.sent == () and len(gateway.sent) == 3
        assert any("生日快乐" in text for _, text in gateway.sent)
    finally:
        await desk.close()


# ---------------------------------------------------------------- through the real gateway

FAST_MODEM = ModemConfig(
    command_timeout=1.0,
    sms_timeout=1.0,
    init_retry_delay=0.02,
    reconnect_min=0.02,
    reconnect_max=0.05,
    tick_interval=0.02,
)


class GatewayClock:
    """The gateway's wall clock, moved by the test (rate windows without waiting)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_bulk_to_500_through_the_modem_gateway_survives_an_unplug(tmp_path: Path) -> None:
    """A group of 500 (10 opted out) goes out through the persistent outbox to the
    simulated desk phone, paced by the SIM's limits, with the cable pulled twice —
    once while a message was on the wire, once between messages. The phone network
    (the simulator) receives every wanted message exactly once and nothing else."""
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/d.db", clock=ManualClock(NOW))
    sim = ModemSimulator("generic")
    clock = GatewayClock()
    received_at: list[float] = []
    unplugged_on_the_wire = False

    def on_sent(sent: SentSms) -> None:
        nonlocal unplugged_on_the_wire
        received_at.append(clock.now)
        if len(sim.sent) == 150 and not unplugged_on_the_wire:
            unplugged_on_the_wire = True
            sim.unplug()  # the answer to this AT+CMGS never comes

    sim.on_sent = on_sent
    name = f"bulk-{uuid.uuid4().hex[:8]}"
    url = register_simulator(name, sim)
    limits = RateLimits(min_interval=1.0, burst=20, per_hour=300, per_day=1000)
    opted_out: set[str] = set()
    try:
        for i in range(500):
            customer, _ = await desk.customers.capture(f"1390000{i:04d}")
            await desk.customers.update(customer.id, name=f"会员{i}")
            await desk.customers.add_to_group(customer.id, "会员")
            if i % 50 == 7:
                await desk.customers.set_opted_out(customer.id, True)
                opted_out.add(customer.phone)
        async with Modem(url, FAST_MODEM) as modem:
            with anyio.fail_after(5):
                await modem.wait_connected()
            gateway = ModemSmsGateway(
                modem,
                tmp_path / "outbox.db",
                GatewayConfig(signature="小馆", limits=limits),
                clock=clock,
            )
            bulk = BulkSms(desk, gateway)
            recipients = await bulk.recipients(groups=["会员"])
            report = await bulk.send(
                "{name}您好，本周末会员日全场88折！", recipients, await registered()
            )
            assert len(report.sent) == 490 and len(report.skipped) == 10
            assert {n for n, why in report.skipped if why == "opted_out"} == opted_out
            assert await gateway.pending() == 490

            steps = 0
            with anyio.fail_after(120):
                while await gateway.pending():
                    steps += 1
                    went = await gateway.process_due()
                    if steps == 20:
                        sim.unplug()  # between messages
                    if not sim.plugged:
                        with anyio.fail_after(5):
                            while modem.connected:  # noqa: ASYNC110 - the driver's own pace
                                await anyio.sleep(0.01)
                        pending = await gateway.pending()
                        clock.now += 60.0
                        assert await gateway.process_due() == 0  # waits for the device
                        assert await gateway.pending() == pending
                        sim.replug()
                        with anyio.fail_after(5):
                            await modem.wait_connected()
                    clock.now += 5.0 if went else 60.0
            gateway.close()
    finally:
        unregister_simulator(name)
        await desk.close()

    assert unplugged_on_the_wire
    wanted = {number for number, _ in recipients} - opted_out
    got = [s.recipient for s in sim.sent]
    assert len(got) == len(set(got)) == 490  # nothing twice
    assert set(got) == wanted  # nothing lost, nobody who opted out
    assert all(
        (s.text or "").startswith(f"会员{int(s.recipient[-4:])}您好")
        and s.text.endswith("【小馆】")  # type: ignore[union-attr]
        for s in sim.sent
    )
    # The limits held at every moment: a full bucket of 20, then one a second; 300 an hour.
    for i, at in enumerate(received_at):
        since_start = at - received_at[0]
        assert i + 1 <= limits.burst + since_start / limits.min_interval
        in_hour = sum(1 for other in received_at[: i + 1] if other > at - 3600)
        assert in_hour <= limits.per_hour
    assert received_at[-1] - received_at[0] >= 3600  # the hour cap made the rest wait
