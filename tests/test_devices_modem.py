"""The Modem service against the simulator: in-process, over a real pty and over TCP."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import anyio
import attrs
import pytest

from zhanye_sdk.devices import modem as modem_module
from zhanye_sdk.devices.at import UssdReceived
from zhanye_sdk.devices.at_errors import AtTimeout, CmeError, CmsError, DeviceDisconnected
from zhanye_sdk.devices.calls import (
    CallAnswered,
    CallEnded,
    CallOutcome,
    CallTimings,
    IncomingCall,
    OutgoingCall,
)
from zhanye_sdk.devices.modem import (
    Modem,
    ModemConfig,
    ModemConnected,
    ModemDisconnected,
    ModemEvent,
    SmsReceived,
    StatusReportReceived,
)
from zhanye_sdk.devices.simulator import (
    ModemSimulator,
    PtyServer,
    TcpServer,
    apply_command,
    register_simulator,
    unregister_simulator,
)
from zhanye_sdk.errors import InvalidInput

E = TypeVar("E")
_names = itertools.count()

CONFIG = ModemConfig(
    command_timeout=1.0,
    sms_timeout=2.0,
    dial_timeout=2.0,
    init_retry_delay=0.02,
    reconnect_min=0.02,
    reconnect_max=0.1,
    tick_interval=0.02,
    call_timings=CallTimings(
        clip_wait=0.1, ring_timeout=0.5, poll_interval=0.1, active_poll_interval=0.2
    ),
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextmanager
def serve(sim: ModemSimulator, kind: str) -> Iterator[str]:
    """The URL of ``sim`` over ``kind``: in-process, a real pty, or TCP on 127.0.0.1."""
    if kind == "inproc":
        name = f"test-{os.getpid()}-{next(_names)}"
        url = register_simulator(name, sim)
        try:
            yield url
        finally:
            unregister_simulator(name)
    elif kind == "pty":
        with PtyServer(sim) as server:
            yield server.url
    else:
        with TcpServer(sim) as server:
            yield server.url


@asynccontextmanager
async def running(
    sim: ModemSimulator, kind: str = "inproc", config: ModemConfig = CONFIG
) -> AsyncIterator[Modem]:
    with serve(sim, kind) as url:
        async with Modem(url, config) as modem:
            with anyio.fail_after(5):
                await modem.wait_connected()
            yield modem


async def next_of(modem: Modem, kind: type[E], within: float = 3.0) -> E:
    with anyio.fail_after(within):
        async for event in modem.events():
            if isinstance(event, kind):
                return event
    raise AssertionError("event stream closed")


def drain_events(modem: Modem) -> list[ModemEvent]:
    out: list[ModemEvent] = []
    while True:
        try:
            out.append(modem.events().receive_nowait())
        except anyio.WouldBlock:
            return out


def test_all_is_exported() -> None:
    from zhanye_sdk import devices
    from zhanye_sdk.devices import simulator, transport

    for module in (modem_module, devices, simulator, transport):
        for name in module.__all__:
            assert getattr(module, name).__doc__, f"{module.__name__}.{name} has no docstring"


def test_simulator_program_prints_where_it_listens() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "zhanye_sdk.devices.simulator", "--tcp", "0"],
        input="status\nsms 13800138000 你好\nbogus\n",
        capture_output=True,
        text=True,
        timeout=20,
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert "modem: socket://127.0.0.1:" in out
    assert "ok: profile generic, plugged" in out
    assert "ok: sms from 13800138000 (1 part(s))" in out
    assert "error: unknown command 'bogus'" in out


KINDS = ["pty", "tcp"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("profile", ["generic", "huawei", "busy-echo", "simcom"])
async def test_init_signal_and_info_over_real_transports(kind: str, profile: str) -> None:
    sim = ModemSimulator(profile, ring_interval=0.15)
    async with running(sim, kind) as modem:
        assert sim.echo is False and sim.cmee == 2 and sim.clip and sim.cmgf == 0
        quality = await modem.signal()
        info = await modem.info()
    assert info.imei == sim.profile.imei and info.imsi == sim.profile.imsi
    assert info.iccid == sim.profile.iccid  # via +CCID, or +CRSM on the huawei profile
    assert info.own_number == sim.profile.own_number
    assert info.operator == "CHINA MOBILE" and info.registered
    if profile == "huawei":
        assert quality.technology == "td-scdma" and quality.dbm == -66
    else:
        assert quality.technology == "gsm" and quality.dbm == -113 + 2 * 23
    if profile == "busy-echo":
        assert any(c == "AT+CLIP=1" for c in sim.commands[4:])  # retried after SIM busy


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fault", ["echo", "urc_mid_response", "chunking", "stall"])
async def test_calls_and_sms_survive_each_fault(kind: str, fault: str) -> None:
    sim = ModemSimulator("huawei", ring_interval=0.15, seed=7)
    if fault == "stall":
        sim.faults.stall = 0.05
    else:
        setattr(sim.faults, fault, True)
    async with running(sim, kind) as modem:
        sim.incoming_call("13800138000")
        call = await next_of(modem, IncomingCall)
        assert call.number == "13800138000" and call.number_type == 129
        await modem.answer()
        await next_of(modem, CallAnswered)
        await anyio.sleep(0.05)
        sim.remote_hangup()
        ended = await next_of(modem, CallEnded)
        assert ended.outcome is CallOutcome.COMPLETED and ended.duration > 0

        text = "您好，您预订的包间已确认。欢迎光临！" * 5  # UCS2, 2 parts
        sim.receive_sms("13800138000", text)
        received = await next_of(modem, SmsReceived)
        assert received.sms.text == text and received.sms.complete and received.sms.parts == 2

        refs = await modem.send_sms("13800138000", "Table for 4 at 19:00 confirmed")
        assert refs == [sim.sent[-1].message_reference]
        assert sim.sent[-1].text == "Table for 4 at 19:00 confirmed"
        assert sim.sent[-1].recipient == "13800138000"
    assert not sim.storage


@pytest.mark.anyio
async def test_caller_gives_up_without_any_urc_is_a_missed_call_via_clcc() -> None:
    sim = ModemSimulator("generic", ring_interval=0.15)
    async with running(sim) as modem:
        sim.incoming_call("02188886666", rings=2)
        call = await next_of(modem, IncomingCall)
        ended = await next_of(modem, CallEnded)
    assert call.number == "02188886666"
    assert ended.missed and ended.call_id == call.call_id
    assert "AT+CLCC" in sim.commands
    assert modem.call_history == [ended]


@pytest.mark.anyio
async def test_missed_call_without_clcc_uses_the_ring_timeout() -> None:
    sim = ModemSimulator("generic", ring_interval=0.15)
    sim.profile = attrs.evolve(sim.profile, clcc=False)
    async with running(sim) as modem:
        sim.incoming_call("13800138000", rings=2)
        await next_of(modem, IncomingCall)
        ended = await next_of(modem, CallEnded)
    assert ended.missed


@pytest.mark.anyio
async def test_withheld_caller_and_international_number() -> None:
    sim = ModemSimulator("generic", ring_interval=0.15)
    async with running(sim) as modem:
        sim.incoming_call(None, withheld=True)
        call = await next_of(modem, IncomingCall)
        assert call.withheld and call.number is None
        await modem.hangup()
        ended = await next_of(modem, CallEnded)
        assert ended.outcome is CallOutcome.REJECTED
        sim.incoming_call("+8613800138000")
        call = await next_of(modem, IncomingCall)
        assert call.number == "+8613800138000" and call.number_type == 145


@pytest.mark.anyio
async def test_dial_connect_and_hang_up_and_busy() -> None:
    sim = ModemSimulator("generic")
    async with running(sim) as modem:
        await modem.dial("10086")
        assert isinstance(await next_of(modem, OutgoingCall), OutgoingCall)
        await next_of(modem, CallAnswered)  # seen by the CLCC poll
        await modem.hangup()
        ended = await next_of(modem, CallEnded)
        assert ended.outcome is CallOutcome.COMPLETED and ended.number == "10086"
        with pytest.raises(Exception, match="BUSY"):
            await modem.dial("13800000000")
        ended = await next_of(modem, CallEnded)
        assert ended.outcome is CallOutcome.BUSY


@pytest.mark.anyio
async def test_cms_and_cme_errors_are_typed() -> None:
    sim = ModemSimulator("generic")
    async with running(sim, "tcp") as modem:
        sim.fail_next("AT+CMGS", "+CMS ERROR: 42")
        with pytest.raises(CmsError) as info:
            await modem.send_sms("13800138000", "hi")
        assert info.value.code == 42 and info.value.retryable
        sim.fail_next("AT+CMGS", "+CMS ERROR: 21")
        with pytest.raises(CmsError) as info:
            await modem.send_sms("13800138000", "hi")
        assert not info.value.retryable
        sim.fail_next("AT+CSQ", "+CME ERROR: SIM failure")
        with pytest.raises(CmeError) as cme:
            await modem.signal()
        assert cme.value.code == 13
        assert (await modem.signal()).dbm is not None  # the engine carried on


@pytest.mark.anyio
async def test_stall_longer_than_the_timeout_raises_at_timeout() -> None:
    sim = ModemSimulator("generic")
    async with running(sim, "pty") as modem:
        sim.faults.stall = 0.4
        with pytest.raises(AtTimeout):
            await modem.command("AT+CSQ", seconds=0.1, prefix="+CSQ")
        sim.faults.stall = 0.0
        sim.rssi = 30
        # The late answer to the timed-out AT+CSQ must not be taken for this one's.
        assert (await modem.signal()).dbm == -113 + 2 * 30
        assert (await modem.signal()).dbm == -113 + 2 * 30
        assert sim.commands.count("AT") >= 3  # init + at least two resync probes


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["inproc", "pty", "tcp"])
async def test_unplug_in_the_middle_of_a_multipart_sms(kind: str) -> None:
    sim = ModemSimulator("generic")
    text = "春节快乐！本店推出团圆宴套餐，八折优惠，欢迎预订。" * 6  # 3 UCS2 parts
    async with running(sim, kind) as modem:
        sim.receive_sms("13800138000", text, reference=9, parts=slice(0, 1))
        with anyio.fail_after(3):
            while sim.storage or "AT+CMGD=1" not in sim.commands:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        sim.unplug()
        await next_of(modem, ModemDisconnected)
        sim.receive_sms("13800138000", text, reference=9, parts=slice(1, None))
        assert len(sim.storage) == 2  # stored on the SIM without an indication
        sim.replug()
        await next_of(modem, ModemConnected)
        received = await next_of(modem, SmsReceived)
        assert received.sms.text == text and received.sms.parts == 3 and received.sms.complete
        await anyio.sleep(0.2)
        assert not [e for e in drain_events(modem) if isinstance(e, SmsReceived)]
        assert not sim.storage
        assert modem.connects == 2
    assert sim.commands.count("ATE0") == 2  # init ran again
    assert sim.commands.count("AT+CMGL=4") == 2


@pytest.mark.anyio
async def test_command_in_flight_fails_when_unplugged_and_service_reconnects() -> None:
    sim = ModemSimulator("generic")
    async with running(sim, "tcp") as modem:
        sim.faults.stall = 5.0
        async with anyio.create_task_group() as tg:

            async def unplug_soon() -> None:
                await anyio.sleep(0.1)
                sim.unplug()

            tg.start_soon(unplug_soon)
            with pytest.raises(DeviceDisconnected):
                await modem.signal()
        sim.faults.stall = 0.0
        with pytest.raises(DeviceDisconnected):
            await modem.signal()  # fails fast while unplugged
        sim.replug()
        with anyio.fail_after(3):
            await modem.wait_connected()
        assert (await modem.signal()).dbm == -67


@pytest.mark.anyio
async def test_status_report_and_direct_cmt_delivery() -> None:
    sim = ModemSimulator("generic")
    config = ModemConfig(**{**_fields(CONFIG), "cnmi": "2,2,0,1,0", "status_reports": True})
    async with running(sim, config=config) as modem:
        (ref,) = await modem.send_sms("13800138000", "hello")
        sim.status_report(ref, "13800138000", 0)
        report = await next_of(modem, StatusReportReceived)
        assert report.report.message_reference == ref and report.report.delivered
        sim.receive_sms("13800138000", "你好")
        received = await next_of(modem, SmsReceived)
        assert received.sms.text == "你好"


def _fields(config: ModemConfig) -> dict[str, Any]:
    return attrs.asdict(config, recurse=False)


@pytest.mark.anyio
async def test_control_protocol_drives_the_simulator() -> None:
    sim = ModemSimulator("generic", ring_interval=0.15)
    async with running(sim) as modem:
        assert apply_command(sim, "call 13800138000").startswith("ok")
        assert (await next_of(modem, IncomingCall)).number == "13800138000"
        assert apply_command(sim, "hangup").startswith("ok")
        assert (await next_of(modem, CallEnded)).missed
        assert apply_command(sim, "sms 13800138000 你好").startswith("ok")
        assert (await next_of(modem, SmsReceived)).sms.text == "你好"
        assert apply_command(sim, "sent") == "ok: nothing sent yet"
        await modem.ussd("*100#")
        ussd = await next_of(modem, UssdReceived)
        assert ussd.text == "Balance 12.50 yuan"
        with pytest.raises(InvalidInput):
            await modem.ussd('*100#"')
        assert apply_command(sim, "bogus").startswith("error")
        assert apply_command(sim, "stall x").startswith("error")
        assert apply_command(sim, "unplug") == "ok: unplugged"
        await next_of(modem, ModemDisconnected)
        assert apply_command(sim, "replug") == "ok: replugged"
        await next_of(modem, ModemConnected)


@pytest.mark.anyio
async def test_commands_before_connecting_fail_fast() -> None:
    async with Modem("zhanyesim://nobody-here", CONFIG) as modem:
        with pytest.raises(DeviceDisconnected):
            await modem.send_sms("13800138000", "hi")
        assert not modem.connected


@pytest.mark.anyio
async def test_reconnect_backoff_starts_afresh_after_each_successful_reconnect() -> None:
    # A phone that is unplugged and replugged again and again is heard again at once
    # every time, not after a delay that grew with every earlier unplug.
    sim = ModemSimulator("generic")
    config = attrs.evolve(CONFIG, reconnect_min=0.1, reconnect_max=30.0)
    async with running(sim, config=config) as modem:
        drain_events(modem)
        for _ in range(8):
            sim.unplug()
            await next_of(modem, ModemDisconnected)
            sim.replug()
            # The first try comes after ~0.1 s; with the delay never reset it would be
            # 0.1 × 2^n s after the n-th unplug (25 s by the eighth).
            await next_of(modem, ModemConnected, within=3.0)


# The optional landline port (一机双号): calls on both lines, told apart by their line.
PSTN_CONFIG = attrs.evolve(
    CONFIG,
    pstn_call_timings=CallTimings(clip_wait=0.5, ring_timeout=0.8),
)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_both_lines_ring_at_once_and_are_answered_and_hung_up_each_on_its_own(
    kind: str,
) -> None:
    from zhanye_sdk.devices import Line
    from zhanye_sdk.devices.calls import CallState

    sim = ModemSimulator("huawei", ring_interval=0.15)
    async with running(sim, kind, PSTN_CONFIG) as modem:
        sim.landline_call("02188886666")
        landline = await next_of(modem, IncomingCall)
        assert (landline.line, landline.number) == (Line.PSTN, "02188886666")
        # The SIM's line rings too while the landline rings.
        sim.incoming_call("13800138000")
        mobile = await next_of(modem, IncomingCall)
        assert (mobile.line, mobile.number) == (Line.GSM, "13800138000")
        assert mobile.call_id != landline.call_id
        assert modem.line_state(Line.PSTN) is CallState.RINGING
        assert modem.line_state(Line.GSM) is CallState.RINGING

        # The landline is answered on its own port; the SIM's call keeps ringing.
        await modem.answer(Line.PSTN)
        answered = await next_of(modem, CallAnswered)
        assert (answered.call_id, answered.line) == (landline.call_id, Line.PSTN)
        assert "AT^PSTNANS" in sim.commands and "ATA" not in sim.commands
        assert modem.line_state(Line.GSM) is CallState.RINGING
        # The mobile caller gives up (silently): a missed call on the SIM's line only.
        sim.remote_hangup()
        missed = await next_of(modem, CallEnded)
        assert (missed.call_id, missed.line, missed.outcome) == (
            mobile.call_id,
            Line.GSM,
            CallOutcome.MISSED,
        )
        assert modem.line_state(Line.PSTN) is CallState.ACTIVE
        # The landline caller hangs up: ^PSTNEND ends the landline call.
        await anyio.sleep(0.05)
        sim.landline_hangup()
        ended = await next_of(modem, CallEnded)
        assert (ended.call_id, ended.line, ended.outcome) == (
            landline.call_id,
            Line.PSTN,
            CallOutcome.COMPLETED,
        )
        assert ended.number == "02188886666" and ended.duration > 0

        # Hung up from the desk: AT^PSTNHUP rejects a ringing landline call.
        sim.landline_call("02188886666")
        again = await next_of(modem, IncomingCall)
        assert again.line is Line.PSTN
        await modem.hangup(Line.PSTN)
        rejected = await next_of(modem, CallEnded)
        assert (rejected.line, rejected.outcome) == (Line.PSTN, CallOutcome.REJECTED)
        assert sim.landline is None and "AT^PSTNHUP" in sim.commands


@pytest.mark.anyio
async def test_a_landline_caller_who_gives_up_is_missed_and_the_handset_answers() -> None:
    from zhanye_sdk.devices import Line

    sim = ModemSimulator("generic", ring_interval=0.15)
    async with running(sim, "pty", PSTN_CONFIG) as modem:
        # No URC when a landline caller gives up: the rings stop; never in +CLCC.
        sim.landline_call("13900139000", rings=2)
        call = await next_of(modem, IncomingCall)
        ended = await next_of(modem, CallEnded)
        assert (call.line, call.number) == (Line.PSTN, "13900139000")
        assert (ended.call_id, ended.missed, ended.line) == (call.call_id, True, Line.PSTN)
        # A withheld landline caller, picked up on the handset (^PSTNCONN).
        sim.landline_call(None, withheld=True)
        hidden = await next_of(modem, IncomingCall)
        assert hidden.withheld and hidden.number is None and hidden.line is Line.PSTN
        sim.landline_picked_up()
        picked = await next_of(modem, CallAnswered)
        assert (picked.call_id, picked.line) == (hidden.call_id, Line.PSTN)
        # Without a line, answer/hang up mean the line that has the call.
        await modem.hangup()
        assert (await next_of(modem, CallEnded)).line is Line.PSTN
        assert sim.commands[-1] == "AT^PSTNHUP"


@pytest.mark.anyio
async def test_calls_go_out_on_the_sim_only_and_a_phone_without_the_port_refuses() -> None:
    from zhanye_sdk.devices import Line

    sim = ModemSimulator("generic", pstn=False)
    async with running(sim, "tcp", PSTN_CONFIG) as modem:
        with pytest.raises(InvalidInput) as refused:
            await modem.dial("13800138000", Line.PSTN)
        assert refused.value.zh == "座机线路只能接听来电，外呼均经手机卡线路"
        assert not any(c.startswith("ATD") for c in sim.commands)
        with pytest.raises(InvalidInput):
            sim.landline_call("02188886666")
        with pytest.raises(Exception, match="ERROR"):
            await modem.answer(Line.PSTN)
    assert apply_command(ModemSimulator(pstn=False), "landline 02188886666").startswith("error")


@pytest.mark.anyio
async def test_control_protocol_rings_the_landline() -> None:
    from zhanye_sdk.devices import Line

    sim = ModemSimulator("generic", ring_interval=0.15)
    async with running(sim, "tcp", PSTN_CONFIG) as modem:
        assert apply_command(sim, "landline 02188886666") == "ok: landline call from 02188886666"
        call = await next_of(modem, IncomingCall)
        assert (call.line, call.number) == (Line.PSTN, "02188886666")
        assert "landline state 4 with 02188886666" in apply_command(sim, "status")
        assert apply_command(sim, "landline pickup") == "ok: landline picked up"
        assert (await next_of(modem, CallAnswered)).line is Line.PSTN
        assert apply_command(sim, "landline hangup") == "ok: landline caller hung up"
        assert (await next_of(modem, CallEnded)).outcome is CallOutcome.COMPLETED


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_call_the_desk_rejects_is_rejected_although_huawei_says_cend_first(
    kind: str,
) -> None:
    # Huawei answers ATH with ^CEND before OK: that is our hang-up, not a caller who
    # gave up (a missed call would text them "sorry we missed your call").
    sim = ModemSimulator("huawei", ring_interval=0.15)
    async with running(sim, kind) as modem:
        sim.incoming_call("13800138000")
        await next_of(modem, IncomingCall)
        await modem.hangup()
        ended = await next_of(modem, CallEnded)
        assert ended.outcome is CallOutcome.REJECTED
        assert not [e for e in drain_events(modem) if isinstance(e, CallEnded)]
