"""Run the merchant desk terminal.

    python -m hosts.kiosk --demo                     # simulated desk phone; type `call 13800138000`
    python -m hosts.kiosk --modem /dev/ttyUSB0       # a real USB GSM desk phone

Open the address it prints (http://127.0.0.1:8090/#token=…) full-screen in a browser
at the desk: the page keeps the desk token for the tab and asks for it (桌面口令) when
opened without one. Set the token with ``--token`` or ``ZHANYE_DESK_TOKEN``; otherwise
one is made at the first start and kept in the data folder (``var/desk-token``), so a
restart does not lock out the open desk page. With ``--demo`` the
simulator's line protocol is read from this terminal: ``call 13800138000`` (a call to
the SIM's number), ``landline 02188886666`` (a call to the shop's old landline on the
phone's PSTN port, 一机双号; ``landline pickup`` / ``landline hangup``), ``hangup``,
``sms 13800138000 你好``, ``unplug``, ``replug``; what the simulated phone sends is
printed here.

The desk answers only to the host name it is bound to (``--allow-host`` adds names,
e.g. ``desk.local`` on a shop LAN).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
from pathlib import Path

from aiohttp import web

from hosts.kiosk.server import kiosk_app
from zhanye_sdk import Desk, DeskConfig
from zhanye_sdk.devices.simulator import ModemSimulator, SentSms, register_simulator
from zhanye_sdk.devices.simulator.control import apply_command
from zhanye_sdk.merchant.demo import seed_demo


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

    config = DeskConfig(
        desk_token=token,
        database_url=args.db,
        modem_url=url,
        data=data,
        shop=args.shop,
        # The demo's simulated SIM is registered; a real SIM must be listed with --sim.
        sims=(*args.sim, *([simulator.profile.iccid] if simulator is not None else [])),
        host=args.host,
        port=args.port,
        allowed_hosts=tuple(args.allow_host),
    )

    async def app() -> web.Application:
        merchant = await Desk.open_merchant(config)
        if args.demo:
            await seed_demo(merchant)
        application = kiosk_app(Desk(config, merchant))

        async def close(_: web.Application) -> None:
            await merchant.close()

        application.on_cleanup.append(close)
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
        print(
            "simulated desk phone: type `call 13800138000` (SIM line), "
            "`landline 02188886666` (landline), `hangup`, `sms 13800138000 你好`"
        )
        print("SMS goes through the simulated desk phone; what it sends is printed here.")
    print(f"merchant desk on http://{args.host}:{args.port}/#token={token}", flush=True)
    web.run_app(app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
