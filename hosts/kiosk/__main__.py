"""Run the merchant desk terminal.

    python -m hosts.kiosk --demo                     # simulated desk phone; type `call 13800138000`
    python -m hosts.kiosk --modem /dev/ttyUSB0       # a real USB GSM desk phone

Open the address it prints (http://127.0.0.1:8090/#token=…) full-screen in a browser
at the desk: the page keeps the desk token for the tab and asks for it (桌面口令) when
opened without one. Set the token with ``--token`` or ``ZHANYE_DESK_TOKEN``; otherwise
one is made at the first start and kept in the data folder (``var/desk-token``), so a
restart does not lock out the open desk page. With ``--demo`` the
simulator's line protocol is read from this terminal: ``call 13800138000``,
``hangup``, ``sms 13800138000 你好``, ``unplug``, ``replug``; what the simulated phone
sends is printed here.

The desk answers only to the host name it is bound to (``--allow-host`` adds names,
e.g. ``desk.local`` on a shop LAN).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from sqlalchemy.engine import make_url

from hosts.kiosk.server import build_kiosk_app
from zhanye_sdk.api.desk_guard import HostCheck
from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.devices import Modem
from zhanye_sdk.devices.gateway import GatewayConfig, ModemSmsGateway
from zhanye_sdk.devices.simulator import ModemSimulator, SentSms, register_simulator
from zhanye_sdk.devices.simulator.control import apply_command
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.bulk import BulkSms, CareCalendar, CustomerCare
from zhanye_sdk.merchant.calldesk import CallDesk, CallDeskRules
from zhanye_sdk.merchant.care import CareBook
from zhanye_sdk.merchant.demo import seed_demo
from zhanye_sdk.merchant.housekeeping import Housekeeping
from zhanye_sdk.merchant.registration import LocalVerifier, Registration, sms_lock
from zhanye_sdk.merchant.runtime import DeskRuntime, SimRegistration


def desk_token(given: str | None, data: Path) -> str:
    """The desk token: ``given`` (``--token``/``ZHANYE_DESK_TOKEN``), else the one kept
    in ``data/desk-token``, else a new one written there (readable by this user only)."""
    if given:
        return given
    path = data / "desk-token"
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if len(kept) >= 16:
        return kept
    data.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(18)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description="zhanye merchant desk (kiosk host)")
    parser.add_argument("--db", default="sqlite:///var/merchant.db")
    parser.add_argument("--modem", help="serial device or pyserial URL of the desk phone")
    parser.add_argument("--demo", action="store_true", help="use the modem simulator")
    parser.add_argument("--shop", default="小馆", help="the shop's name and SMS signature")
    parser.add_argument(
        "--sim", action="append", default=[], help="ICCID of a registered SIM (repeatable)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        help="another host name the desk is opened by (repeatable)",
    )
    parser.add_argument("--data", default="var", help="the kiosk's data folder")
    parser.add_argument(
        "--token",
        default=os.environ.get("ZHANYE_DESK_TOKEN"),
        help="the desk token pages must present "
        "(default: $ZHANYE_DESK_TOKEN, else the one kept in the data folder)",
    )
    args = parser.parse_args()
    data = Path(args.data)
    token = desk_token(args.token, data)
    url = args.modem
    simulator = None
    if url is None:
        simulator = ModemSimulator("huawei")
        url = register_simulator("kiosk-demo", simulator)

    async def app() -> web.Application:
        desk = await MerchantDesk.open(args.db)
        modem = Modem(url)
        outbox = data / "kiosk-outbox.db"
        outbox.parent.mkdir(parents=True, exist_ok=True)
        # The demo's simulated SIM is registered; a real SIM must be listed with --sim.
        trusted = list(args.sim) + ([simulator.profile.iccid] if simulator is not None else [])
        verifier = LocalVerifier(
            {iccid: Registration(True, quota_per_day=500, signature=args.shop) for iccid in trusted}
        )
        sim_registration = SimRegistration(modem, verifier)
        gateway = ModemSmsGateway(
            modem,
            outbox,
            GatewayConfig(signature=args.shop),
            lock=sms_lock(sim_registration.current),
        )
        calldesk = CallDesk(
            desk, gateway, CallDeskRules(shop=args.shop), registration=sim_registration.current
        )
        chores = Housekeeping(
            desk,
            Path(make_url(args.db).database or "var/merchant.db"),
            data / "backups",
            CustomerCare(desk, BulkSms(desk, gateway), CareCalendar()),
            sim_registration.current,
            care_book=CareBook(desk.db),
        )
        runtime = DeskRuntime(
            modem,
            gateway,
            calldesk,
            sim_registration.current,
            chores={"registration": sim_registration.run, "chores": chores.run},
        )
        application = build_kiosk_app(
            MerchantApi(
                desk,
                calldesk,
                modem,
                gateway,
                registration=sim_registration.current,
                desk_token=token,
                runtime=runtime,
                hosts=HostCheck(args.host, args.port, args.allow_host),
            )
        )
        if args.demo:
            await seed_demo(desk)

        async def device(_: web.Application) -> AsyncIterator[None]:
            async with modem:
                # The page is served at once; the desk shows "unplugged" until the
                # phone is there, and every desk task is restarted if it fails.
                running = asyncio.create_task(runtime.run())
                yield
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
            gateway.close()
            await desk.close()

        application.cleanup_ctx.append(device)
        return application

    if simulator is not None:

        def console() -> None:
            for line in sys.stdin:
                if line.strip():
                    print(apply_command(simulator, line.strip()), flush=True)

        def show(sms: SentSms) -> None:
            print(f"[simulated phone] SMS to {sms.recipient}: {sms.text}", flush=True)

        simulator.on_sent = show
        threading.Thread(target=console, daemon=True).start()
        print("simulated desk phone: type `call 13800138000`, `hangup`, `sms 13800138000 你好`")
        print("SMS goes through the simulated desk phone; what it sends is printed here.")
    print(f"merchant desk on http://{args.host}:{args.port}/#token={token}", flush=True)
    web.run_app(app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
