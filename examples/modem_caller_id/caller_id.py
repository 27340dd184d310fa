"""Print incoming calls and SMS from a desk phone (or the simulator) and answer SMS.

    python examples/modem_caller_id/caller_id.py                # built-in demo
    python examples/modem_caller_id/caller_id.py /tmp/x/ttyZY0  # a pty from zhanye-modem-sim
    python examples/modem_caller_id/caller_id.py socket://127.0.0.1:7000

With no URL it runs a simulator in-process and plays a short script (a call that
is answered, a caller who gives up, a Chinese SMS in two parts) and exits.
"""

from __future__ import annotations

import argparse
import datetime as dt

import anyio

from zhanye_sdk.devices import (
    CallAnswered,
    CallEnded,
    IncomingCall,
    Modem,
    ModemConfig,
    ModemConnected,
    ModemDisconnected,
    SmsReceived,
)
from zhanye_sdk.devices.calls import CallTimings
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator
from zhanye_sdk.errors import DeviceError


def stamp() -> str:
    return dt.datetime.now().strftime("%H:%M:%S")


async def watch(modem: Modem, *, reply: bool, stop_after: int | None) -> None:
    seen = 0
    async for event in modem.events():
        if isinstance(event, ModemConnected):
            try:
                info = await modem.info()
                signal = await modem.signal()
            except DeviceError as exc:
                print(f"{stamp()} connected, but asking the device failed: {exc}")
                continue
            print(
                f"{stamp()} connected: IMEI {info.imei}, ICCID {info.iccid}, "
                f"{info.operator}, signal {signal.dbm} dBm ({signal.technology})"
            )
        elif isinstance(event, ModemDisconnected):
            print(f"{stamp()} disconnected ({event.reason}); reconnecting…")
        elif isinstance(event, IncomingCall):
            who = "withheld number" if event.withheld else (event.number or "unknown number")
            print(f"{stamp()} ☎ incoming call #{event.call_id} from {who}")
        elif isinstance(event, CallAnswered):
            print(f"{stamp()} ☎ call #{event.call_id} answered")
        elif isinstance(event, CallEnded):
            what = "missed" if event.missed else f"ended after {event.duration:.0f} s"
            print(f"{stamp()} ☎ call #{event.call_id} from {event.number} {what}")
            seen += 1
        elif isinstance(event, SmsReceived):
            sms = event.sms
            print(f"{stamp()} ✉ SMS from {sms.sender} ({sms.parts} part(s)): {sms.text}")
            if reply:
                refs = await modem.send_sms(sms.sender, f"已收到您的短信：{sms.text[:20]}")
                print(f"{stamp()} ✉ replied, message reference(s) {refs}")
            seen += 1
        if stop_after is not None and seen >= stop_after:
            return


async def demo(sim: ModemSimulator, modem: Modem) -> None:
    await modem.wait_connected()
    await anyio.sleep(0.3)
    sim.incoming_call("13800138000")
    await anyio.sleep(0.5)
    await modem.answer()
    await anyio.sleep(1.0)
    sim.remote_hangup()
    await anyio.sleep(0.3)
    sim.incoming_call("02188886666", rings=2)  # gives up: no URC at all
    await anyio.sleep(1.5)
    sim.receive_sms("+8613912345678", "您好，我想预订周六晚上六点的包间，八位，谢谢！" * 4)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="device path or pyserial URL")
    parser.add_argument("--no-reply", action="store_true", help="do not answer SMS")
    args = parser.parse_args()

    if args.url is None:
        sim = ModemSimulator("huawei", ring_interval=0.4)
        url = register_simulator("caller-id-demo", sim)
        timings = CallTimings(clip_wait=0.2, ring_timeout=1.5, poll_interval=0.3)
        async with Modem(url, ModemConfig(call_timings=timings)) as modem:
            async with anyio.create_task_group() as tg:
                tg.start_soon(demo, sim, modem)
                await watch(modem, reply=not args.no_reply, stop_after=3)
                tg.cancel_scope.cancel()
        for sent in sim.sent:
            print(f"(simulator received from the driver: to {sent.recipient}: {sent.text})")
        return

    print(f"watching {args.url} — Ctrl-C to stop")
    async with Modem(args.url) as modem:
        await watch(modem, reply=not args.no_reply, stop_after=None)


if __name__ == "__main__":
    try:
        anyio.run(main)
    except KeyboardInterrupt:
        pass
