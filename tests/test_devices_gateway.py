"""SMS gateways: logging, and the modem one with its persistent outbox and limits."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from zhanye_sdk.devices import gateway as gateway_module
from zhanye_sdk.devices import pdu
from zhanye_sdk.devices.at_errors import CmeError, cms_error
from zhanye_sdk.devices.calls import CallTimings
from zhanye_sdk.devices.gateway import (
    GatewayConfig,
    LoggingSmsGateway,
    ModemSmsGateway,
    RateLimits,
    SmsGateway,
)
from zhanye_sdk.devices.modem import Modem, ModemConfig
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator, unregister_simulator
from zhanye_sdk.errors import InvalidInput, NotFound

LONG = "感谢您的光临！本周末全场八折，会员再享九五折，欢迎携亲友前来品尝新菜。" * 4  # 3 parts


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Crash(BaseException):
    """Stands for the process dying in the middle of a send."""


class FakeSender:
    def __init__(self) -> None:
        self.sent: list[pdu.SubmitPart] = []
        self.errors: list[BaseException] = []
        self._ref = 0

    def encode(self, number: str, text: str) -> list[pdu.SubmitPart]:
        return pdu.encode_submit(number, text, reference=77)

    async def send_pdu(self, part: pdu.SubmitPart) -> int:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(part)
        self._ref += 1
        return self._ref


def test_all_is_exported() -> None:
    for name in gateway_module.__all__:
        assert hasattr(gateway_module, name)


@pytest.mark.anyio
async def test_logging_gateway_signs_validates_and_counts_parts() -> None:
    gw: SmsGateway = LoggingSmsGateway(signature="张记酒楼")
    results = await gw.send(["138 0013 8000", "13800138000", "+8613900000000"], "您好")
    assert [r.number for r in results] == ["13800138000", "+8613900000000"]
    assert all(r.status == "sent" and r.parts == 1 for r in results)
    assert isinstance(gw, LoggingSmsGateway)
    assert gw.sent[0] == ("13800138000", "您好【张记酒楼】")
    with pytest.raises(InvalidInput) as bad:
        await gw.send(["abc", "12", "13800138000"], "hi")
    assert "'abc'" in str(bad.value) and "'12'" in str(bad.value)
    with pytest.raises(InvalidInput):
        await gw.send("13800138000", "hi")
    with pytest.raises(InvalidInput):
        await gw.send(["13800138000"], "   ")


@pytest.mark.anyio
async def test_token_bucket_paces_one_message_every_three_seconds() -> None:
    clock, sender = Clock(), FakeSender()
    gw = ModemSmsGateway(sender, config=GatewayConfig(signature="店"), clock=clock)
    results = await gw.send(["13800138001", "13800138002", "13800138003"], "hello")
    assert [r.status for r in results] == ["queued"] * 3
    assert await gw.process_due() == 1
    clock.now += 1.0
    assert await gw.process_due() == 0
    assert await gw.wait_time() == pytest.approx(2.0)
    clock.now += 2.0
    assert await gw.process_due() == 1
    clock.now += 3.0
    assert await gw.process_due() == 1
    assert await gw.pending() == 0
    status = await gw.status(results[0].message_id)
    assert status.status == "sent" and status.references == (1,)
    assert pdu.decode(sender.sent[0].hex).text == "hello【店】"  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await gw.status(999)


@pytest.mark.anyio
async def test_hour_and_day_windows() -> None:
    clock, sender = Clock(), FakeSender()
    limits = RateLimits(min_interval=0.001, burst=100, per_hour=5, per_day=7)
    gw = ModemSmsGateway(sender, config=GatewayConfig(limits=limits), clock=clock)
    await gw.send([f"1380013{i:04d}" for i in range(10)], "hi")
    assert await gw.process_due() == 5
    clock.now += 1800
    assert await gw.process_due() == 0
    clock.now += 1801
    assert await gw.process_due() == 2  # the day cap (7) binds now
    clock.now += 86400
    assert await gw.process_due() == 3
    with pytest.raises(InvalidInput):
        RateLimits(per_hour=0)


@pytest.mark.anyio
async def test_same_text_to_the_same_number_is_sent_once_within_the_window() -> None:
    clock, sender = Clock(), FakeSender()
    gw = ModemSmsGateway(sender, config=GatewayConfig(dedupe_window=600), clock=clock)
    (first,) = await gw.send(["13800138000"], "预订成功")
    (again,) = await gw.send(["13800138000"], "预订成功")
    assert again.status == "duplicate" and again.message_id == first.message_id
    (other,) = await gw.send(["13800138000"], "另一条")
    assert other.status == "queued"
    clock.now += 601
    (later,) = await gw.send(["13800138000"], "预订成功")
    assert later.status == "queued"


@pytest.mark.anyio
async def test_retries_transient_cms_errors_only() -> None:
    clock, sender = Clock(), FakeSender()
    config = GatewayConfig(limits=RateLimits(min_interval=0.001), retry_base=10, max_attempts=3)
    gw = ModemSmsGateway(sender, config=config, clock=clock)
    sender.errors = [cms_error("42"), cms_error("42")]
    (msg,) = await gw.send(["13800138000"], "hi")
    assert await gw.process_due() == 0
    assert (await gw.status(msg.message_id)).status == "queued"
    clock.now += 10
    assert await gw.process_due() == 0  # second failure: backoff 20 s
    clock.now += 19
    assert await gw.process_due() == 0
    clock.now += 1
    assert await gw.process_due() == 1
    assert (await gw.status(msg.message_id)).status == "sent"

    sender.errors = [cms_error("21")]
    (rejected,) = await gw.send(["13800138001"], "hi")
    clock.now += 1
    await gw.process_due()
    failed = await gw.status(rejected.message_id)
    assert failed.status == "failed" and "short message transfer rejected" in (failed.error or "")

    sender.errors = [CmeError(10, "SIM not inserted", retryable=False)]
    (no_sim,) = await gw.send(["13800138002"], "hi")
    clock.now += 1
    await gw.process_due()
    assert (await gw.status(no_sim.message_id)).status == "failed"
    assert len(sender.sent) == 1


@pytest.mark.anyio
async def test_nothing_lost_nor_sent_twice_across_a_crash(tmp_path: Path) -> None:
    db = tmp_path / "outbox.sqlite"
    clock, sender = Clock(), FakeSender()
    config = GatewayConfig(limits=RateLimits(min_interval=0.001, burst=10))
    gw = ModemSmsGateway(sender, db, config, clock=clock)
    (long_msg,) = await gw.send(["13800138000"], LONG)
    (short_msg,) = await gw.send(["13900139000"], "queued before the crash")
    sender.errors = []

    class CrashAfterFirst(FakeSender):
        async def send_pdu(self, part: pdu.SubmitPart) -> int:
            if self.sent:
                raise Crash
            return await super().send_pdu(part)

    crashing = CrashAfterFirst()
    gw.sender = crashing
    with pytest.raises(Crash):
        await gw.process_due()
    gw.close()

    restarted_sender = FakeSender()
    clock.now += 10
    gw2 = ModemSmsGateway(restarted_sender, db, config, clock=clock)
    assert await gw2.process_due() == 2
    long_status = await gw2.status(long_msg.message_id)
    # The part on the wire when we died is not resent, and the message is not called
    # sent: whether the customer has that part is unknown.
    assert long_status.status == "in_doubt" and long_status.parts == 3
    assert long_status.in_doubt == (2,)
    parts = [pdu.decode(p.hex) for p in crashing.sent + restarted_sender.sent]
    numbers = [(p.recipient, p.concat.part if p.concat else 1) for p in parts]  # type: ignore[union-attr]
    assert numbers == [("13800138000", 1), ("13800138000", 3), ("13900139000", 1)]
    refs = {p.concat.reference for p in parts if p.concat}  # type: ignore[union-attr]
    assert len(refs) == 1  # the resumed part keeps the message's concat reference
    assert (await gw2.status(short_msg.message_id)).status == "sent"
    gw2.close()


@pytest.mark.anyio
async def test_rate_windows_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "outbox.sqlite"
    clock = Clock()
    config = GatewayConfig(limits=RateLimits(min_interval=0.001, burst=10, per_hour=2))
    gw = ModemSmsGateway(FakeSender(), db, config, clock=clock)
    await gw.send(["13800138001", "13800138002", "13800138003"], "hi")
    assert await gw.process_due() == 2
    gw.close()
    gw2 = ModemSmsGateway(FakeSender(), db, config, clock=clock)
    clock.now += 60
    assert await gw2.process_due() == 0
    gw2.close()


# ---------------------------------------------------------------- with the real modem

MODEM_CONFIG = ModemConfig(
    command_timeout=1.0,
    sms_timeout=1.0,
    init_retry_delay=0.02,
    reconnect_min=0.02,
    reconnect_max=0.05,
    tick_interval=0.02,
    call_timings=CallTimings(clip_wait=0.1, ring_timeout=0.5, poll_interval=0.1),
)


class UnplugAfterFirstPart:
    def __init__(self, modem: Modem, sim: ModemSimulator) -> None:
        self.modem, self.sim = modem, sim

    def encode(self, number: str, text: str) -> list[pdu.SubmitPart]:
        return self.modem.encode(number, text)

    async def send_pdu(self, part: pdu.SubmitPart) -> int:
        reference = await self.modem.send_pdu(part)
        if part.part == 1:
            self.sim.unplug()
        return reference


@pytest.mark.anyio
async def test_unplug_between_parts_resumes_after_replug_each_part_once() -> None:
    sim = ModemSimulator("generic")
    name = f"gw-{os.getpid()}-a"
    url = register_simulator(name, sim)
    try:
        async with Modem(url, MODEM_CONFIG) as modem:
            with anyio.fail_after(3):
                await modem.wait_connected()
            config = GatewayConfig(signature="张记", limits=RateLimits(min_interval=0.001))
            gw = ModemSmsGateway(UnplugAfterFirstPart(modem, sim), config=config)
            (msg,) = await gw.send(["13800138000"], LONG)
            await gw.process_due()  # part 1 goes, then the cable is pulled
            assert (await gw.status(msg.message_id)).status == "queued"
            sim.replug()
            with anyio.fail_after(3):
                await modem.wait_connected()
            # The gateway backs off while the modem is away: wait (bounded) for its
            # retry to finish the message rather than sampling once.
            status = await gw.status(msg.message_id)
            with anyio.fail_after(10):
                while status.status != "sent":
                    await gw.process_due()
                    await anyio.sleep(0.05)
                    status = await gw.status(msg.message_id)
    finally:
        unregister_simulator(name)
    assert status.status == "sent" and len(status.references) == status.parts
    assert [s.concat.part for s in sim.sent if s.concat] == list(range(1, status.parts + 1))
    assert "".join(s.text or "" for s in sim.sent) == LONG + "【张记】"


class UnplugDuringSubmit:
    def __init__(self, modem: Modem) -> None:
        self.modem = modem

    def encode(self, number: str, text: str) -> list[pdu.SubmitPart]:
        return self.modem.encode(number, text)

    async def send_pdu(self, part: pdu.SubmitPart) -> int:
        return await self.modem.send_pdu(part)


@pytest.mark.anyio
async def test_unplug_after_the_payload_left_is_in_doubt_not_resent() -> None:
    sim = ModemSimulator("generic")
    sim.on_sent = lambda sent: sim.unplug()  # the answer to AT+CMGS never comes
    name = f"gw-{os.getpid()}-b"
    url = register_simulator(name, sim)
    try:
        async with Modem(url, MODEM_CONFIG) as modem:
            with anyio.fail_after(3):
                await modem.wait_connected()
            gw = ModemSmsGateway(UnplugDuringSubmit(modem), config=GatewayConfig())
            (msg,) = await gw.send(["13800138000"], "hello")
            await gw.process_due()
            status = await gw.status(msg.message_id)
    finally:
        unregister_simulator(name)
    # Reported in doubt, not as sent; and not resent.
    assert status.status == "in_doubt" and status.in_doubt == (1,) and status.references == ()
    assert status.error is not None and "payload sent" in status.error
    assert len(sim.sent) == 1
    assert [r.status for r in await gw.recent()] == ["in_doubt"]


@pytest.mark.anyio
async def test_run_drains_the_queue() -> None:
    sender = FakeSender()
    config = GatewayConfig(limits=RateLimits(min_interval=0.02), idle_poll=0.05)
    gw = ModemSmsGateway(sender, config=config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(gw.run)
        await gw.send(["13800138001", "13800138002", "13800138003"], "hi")
        with anyio.fail_after(3):
            while await gw.pending():  # noqa: ASYNC110
                await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    assert len(sender.sent) == 3


class CountingModem:
    """The real modem, with the gateway's send attempts counted."""

    def __init__(self, modem: Modem) -> None:
        self.modem = modem
        self.attempts = 0

    def encode(self, number: str, text: str) -> list[pdu.SubmitPart]:
        return self.modem.encode(number, text)

    async def send_pdu(self, part: pdu.SubmitPart) -> int:
        self.attempts += 1
        return await self.modem.send_pdu(part)


class ConnectedCountingModem(CountingModem):
    """A sender that also tells whether the modem is there (as ``Modem`` does)."""

    @property
    def connected(self) -> bool:
        return self.modem.connected


@pytest.mark.anyio
@pytest.mark.parametrize("says_connected", [False, True])
async def test_while_unplugged_the_gateway_backs_off_and_sends_after_replug(
    tmp_path: Path, says_connected: bool
) -> None:
    sim = ModemSimulator("generic")
    name = f"gw-{os.getpid()}-offline"
    url = register_simulator(name, sim)
    try:
        async with Modem(url, MODEM_CONFIG) as modem:
            with anyio.fail_after(3):
                await modem.wait_connected()
            counting = (ConnectedCountingModem if says_connected else CountingModem)(modem)
            config = GatewayConfig(limits=RateLimits(min_interval=0.001), idle_poll=1.0)
            gw = ModemSmsGateway(counting, tmp_path / "outbox.db", config)
            sim.unplug()
            with anyio.fail_after(3):
                while modem.connected:  # noqa: ASYNC110 - the simulator is a thread
                    await anyio.sleep(0.01)
            (msg,) = await gw.send(["13800138000"], "hello")
            writes = gw._db.total_changes
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(gw.run)
                await anyio.sleep(3.0)
                # A bounded exponential back-off (0.1 s doubling to 2 s): a handful of
                # tries in 3 s, not one every 10 ms.
                assert 1 <= gw.offline_attempts <= 8, gw.offline_attempts
                if says_connected:
                    # The modem says it is away: no AT+CMGS, and no database write per
                    # try (one: the message's parts, encoded once).
                    assert counting.attempts == 0
                    assert gw._db.total_changes - writes <= 1
                else:
                    assert 1 <= counting.attempts <= 8, counting.attempts
                assert (await gw.status(msg.message_id)).status == "queued"
                sim.replug()
                with anyio.fail_after(10):
                    while (await gw.status(msg.message_id)).status != "sent":  # noqa: ASYNC110 - polls the outbox
                        await anyio.sleep(0.05)
                tasks.cancel_scope.cancel()
            gw.close()
    finally:
        unregister_simulator(name)
    assert [s.text for s in sim.sent] == ["hello"]


@pytest.mark.anyio
async def test_a_locked_gateway_holds_every_message_back_with_the_reason() -> None:
    from zhanye_sdk.merchant.registration import Registration, sms_lock

    registration: list[Registration | None] = [Registration(False, message="no subscription")]
    sender = FakeSender()
    gw = ModemSmsGateway(sender, lock=sms_lock(lambda: registration[0]))
    (held,) = await gw.send(["13800138000"], "您的预订已确认")
    assert held.status == "blocked" and held.error == "no subscription"
    assert await gw.process_due() == 0 and sender.sent == []
    assert (await gw.status(held.message_id)).status == "blocked"
    registration[0] = None
    (unverified,) = await gw.send(["13800138001"], "hi")
    assert unverified.status == "blocked" and "not been verified" in (unverified.error or "")
    # Once the SIM is registered the same text goes (a held message is no duplicate).
    registration[0] = Registration(True, quota_per_day=10)
    (sent,) = await gw.send(["13800138000"], "您的预订已确认")
    assert sent.status == "queued"
    assert await gw.process_due() == 1 and len(sender.sent) == 1
    assert [r.status for r in await gw.recent()] == ["sent", "blocked", "blocked"]
