"""Run the merchant desk terminal.

    python -m hosts.kiosk --demo                     # simulated desk phone; type `call 13800138000`
    python -m hosts.kiosk --modem /dev/ttyUSB0       # a real USB GSM desk phone

Open the address it prints (http://127.0.0.1:8090/#token=…) full-screen in a browser
at the desk: the page keeps the desk token for the tab and asks for it (桌面口令) when
opened without one. Set the token with ``--token`` or ``ZHANYE_DESK_TOKEN``; otherwise
a new random one is made at every start. With ``--demo`` the
simulator's line protocol is read from this terminal: ``call 13800138000``,
``hangup``, ``sms 13800138000 你好``, ``unplug``, ``replug``.
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
from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.devices import Modem
from zhanye_sdk.devices.gateway import GatewayConfig, ModemSmsGateway
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator
from zhanye_sdk.devices.simulator.control import apply_command
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.bulk import BulkSms, CareCalendar, CustomerCare
from zhanye_sdk.merchant.calldesk import CallDesk, CallDeskRules
from zhanye_sdk.merchant.care import CareBook
from zhanye_sdk.merchant.housekeeping import Housekeeping
from zhanye_sdk.merchant.registration import LocalVerifier, Registration


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
        "--token",
        default=os.environ.get("ZHANYE_DESK_TOKEN"),
        help="the desk token pages must present (default: $ZHANYE_DESK_TOKEN, else random)",
    )
    args = parser.parse_args()
    token = args.token or secrets.token_urlsafe(18)
    url = args.modem
    simulator = None
    if url is None:
        simulator = ModemSimulator("huawei")
        url = register_simulator("kiosk-demo", simulator)

    async def app() -> web.Application:
        desk = await MerchantDesk.open(args.db)
        modem = Modem(url)
        outbox = Path("var") / "kiosk-outbox.db"
        outbox.parent.mkdir(parents=True, exist_ok=True)
        gateway = ModemSmsGateway(modem, outbox, GatewayConfig(signature=args.shop))
        calldesk = CallDesk(desk, gateway, CallDeskRules(shop=args.shop))
        # The demo's simulated SIM is registered; a real SIM must be listed with --sim.
        trusted = list(args.sim) + ([simulator.profile.iccid] if simulator is not None else [])
        verifier = LocalVerifier(
            {iccid: Registration(True, quota_per_day=500, signature=args.shop) for iccid in trusted}
        )
        registration: list[Registration | None] = [None]
        application = build_kiosk_app(
            MerchantApi(
                desk,
                calldesk,
                modem,
                gateway,
                registration=lambda: registration[0],
                desk_token=token,
            )
        )
        if not await desk.reservations.resources():
            await desk.reservations.add_resource("牡丹厅", kind="room", capacity=10)
            await desk.reservations.add_resource("1号桌", kind="table", capacity=4)

        async def device(_: web.Application) -> AsyncIterator[None]:
            async with modem:
                await modem.wait_connected()
                info = await modem.info()
                registration[0] = await verifier.verify(info.iccid or "", info.imsi)
                chores = Housekeeping(
                    desk,
                    Path(make_url(args.db).database or "var/merchant.db"),
                    Path("var") / "backups",
                    CustomerCare(desk, BulkSms(desk, gateway), CareCalendar()),
                    lambda: registration[0],
                    care_book=CareBook(desk.db),
                )
                tasks = [
                    asyncio.create_task(gateway.run()),
                    asyncio.create_task(calldesk.run(modem.events())),
                    asyncio.create_task(chores.run()),
                ]
                yield
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            gateway.close()
            await desk.close()

        application.cleanup_ctx.append(device)
        return application

    if simulator is not None:

        def console() -> None:
            for line in sys.stdin:
                if line.strip():
                    print(apply_command(simulator, line.strip()))

        threading.Thread(target=console, daemon=True).start()
        print("simulated desk phone: type `call 13800138000`, `hangup`, `sms 13800138000 你好`")
    print(f"merchant desk on http://{args.host}:{args.port}/#token={token}")
    web.run_app(app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
