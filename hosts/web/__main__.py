"""Run the web host.

    python -m hosts.web --demo                      # demo data + a simulated desk phone
    python -m hosts.web --db sqlite:///var/zhanye.db --port 8080
    python -m hosts.web --db postgresql://… --modem /dev/ttyUSB0
    python -m hosts.web --host 0.0.0.0 --ice-address 10.0.0.5   # media on one interface
    python -m hosts.web --public-url https://zy.example.com     # where customers reach it

With ``--demo`` the database is seeded with the demo company (idempotent) and SMS
invitations go through a simulated GSM desk phone (the SDK's modem simulator),
exactly as they would through a real one given with ``--modem``.

The SOP assistant listens to every session with the built-in offline recogniser (Whisper
base, from the SDK's ``asr`` extra) when it is installed; ``--asr-model DIR`` listens with a
sherpa-onnx model instead and ``--no-asr`` not at all. Sharing the demo's brochure plays a
scripted conversation into the assistant until someone is heard speaking.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import attrs
from aiohttp import web

from hosts.web.server import build_app
from zhanye_sdk import Platform, cli
from zhanye_sdk.devices.gateway import GatewayConfig, ModemSmsGateway
from zhanye_sdk.devices.modem import Modem
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator
from zhanye_sdk.devices.simulator.modem import SentSms
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.media.ice import IcePolicy, ice_policy
from zhanye_sdk.media.recorder import RecordingConfig
from zhanye_sdk.media.service import MediaConfig
from zhanye_sdk.sop.demo import demo_live_config
from zhanye_sdk.sop.live import SopLiveConfig
from zhanye_sdk.sop.speech import Recogniser, sherpa_onnx_recogniser
from zhanye_sdk.sop.whisper import whisper_available, whisper_recogniser


def media_config(ice: IcePolicy, recording: RecordingConfig | None) -> MediaConfig:
    """The host's media settings: its ICE addresses and where it records."""
    return MediaConfig(
        ice_host_addresses=ice.host_addresses,
        loopback_only=ice.loopback_only,
        recording=recording,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="zhanye-sdk example web host")
    parser.add_argument("--db", default="sqlite:///var/zhanye.db", help="database URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--public-url",
        help="where customers reach this host, e.g. https://zy.example.com (SMS invitations "
        "link there); default: http://HOST:PORT",
    )
    parser.add_argument("--demo", action="store_true", help="seed demo data, simulate the modem")
    parser.add_argument("--modem", help="serial device or pyserial URL of a GSM desk phone")
    parser.add_argument(
        "--recordings",
        default="var/recordings",
        help="folder for session recordings (every session is recorded; '' turns it off)",
    )
    parser.add_argument(
        "--ice-address",
        action="append",
        default=[],
        metavar="IP",
        help="a local address WebRTC offers to browsers (repeatable; default: the --host "
        "address, loopback only for 127.0.0.1, every interface for 0.0.0.0)",
    )
    listening = parser.add_mutually_exclusive_group()
    listening.add_argument(
        "--asr-model",
        help="folder of a sherpa-onnx streaming model to listen with instead of Whisper",
    )
    listening.add_argument(
        "--no-asr",
        action="store_true",
        help="the SOP assistant does not listen to the room (by default it does, with the "
        "built-in Whisper recogniser when the 'asr' extra is installed)",
    )
    args = parser.parse_args()
    base_url = f"http://{args.host}:{args.port}"
    public_url = (args.public_url or base_url).rstrip("/")
    if not public_url.startswith(("https://", "http://")):
        parser.error("--public-url must start with https:// or http://")
    try:
        ice = ice_policy(args.host, args.ice_address)
    except ValueError as exc:
        parser.error(f"--ice-address: {exc}")
    # Checked before anything starts: a bad model is a clear error, not a late one.
    recogniser: Callable[[Sequence[str]], Recogniser] | None = None
    try:
        if args.asr_model:
            recogniser = sherpa_onnx_recogniser(args.asr_model)
        elif not args.no_asr and whisper_available():
            print("SOP assistant: loading the offline speech recogniser (Whisper base)…")
            recogniser = whisper_recogniser()
    except InvalidInput as exc:
        parser.error(str(exc))
    if recogniser is None and not args.no_asr:
        print("SOP assistant: no speech recogniser installed; it follows typed transcripts only")

    if args.demo:
        code = cli.main(["--db", args.db, "demo-data", "--h5-base", public_url])
        if code:
            raise SystemExit(code)
    modem_url = args.modem
    simulator: ModemSimulator | None = None
    if modem_url is None and args.demo:
        simulator = ModemSimulator("huawei")
        modem_url = register_simulator("web-demo", simulator)

    async def app() -> web.Application:
        platform = await Platform.open(args.db)
        gateway = None
        modem = None
        if modem_url is not None:
            modem = Modem(modem_url)
            outbox = Path("var") / "sms-outbox.db"
            outbox.parent.mkdir(parents=True, exist_ok=True)
            gateway = ModemSmsGateway(modem, outbox, GatewayConfig(signature="智慧展业"))
        # The demo plays a scripted conversation when its brochure is shared (SOP 实时辅助).
        sop_config = demo_live_config(cli.DEMO_PDF) if args.demo else SopLiveConfig()
        sop_config = attrs.evolve(sop_config, recogniser=recogniser)
        recording = RecordingConfig(Path(args.recordings)) if args.recordings else None
        application = build_app(
            platform,
            sms_gateway=gateway,
            sop_config=sop_config,
            media_config=media_config(ice, recording),
            public_url=public_url,
        )

        async def device(_: web.Application) -> AsyncIterator[None]:
            if modem is None or gateway is None:
                yield
                return
            async with modem:
                sending = asyncio.create_task(gateway.run())
                yield
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sending
            gateway.close()

        async def close(_: web.Application) -> None:
            await platform.close()

        application.cleanup_ctx.append(device)
        application.on_cleanup.append(close)
        return application

    print(f"zhanye web host on {base_url}/  (database {args.db}; customers reach {public_url}/)")
    if simulator is not None:
        print("SMS goes through a simulated desk phone; what it sends is printed here.")

        def show(sms: SentSms) -> None:
            print(f"[simulated phone] SMS to {sms.recipient}: {sms.text}")

        simulator.on_sent = show
    web.run_app(app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
