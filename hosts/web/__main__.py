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
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from hosts.web.server import web_app
from zhanye_sdk import Deployment, DeploymentConfig, cli
from zhanye_sdk.cluster.setup import ClusterConfig
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator
from zhanye_sdk.devices.simulator.modem import SentSms
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.media.ice import ice_policy
from zhanye_sdk.signaling.endpoint import SignalingConfig
from zhanye_sdk.sop.demo import demo_live_config
from zhanye_sdk.sop.live import SopLiveConfig
from zhanye_sdk.sop.speech import Recogniser, sherpa_onnx_recogniser
from zhanye_sdk.sop.whisper import whisper_available, whisper_recogniser


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
        "--recording-segment-s",
        type=float,
        default=60.0,
        help="length of one recording segment in seconds (a process that dies loses at "
        "most the segment it was writing)",
    )
    parser.add_argument(
        "--ice-address",
        action="append",
        default=[],
        metavar="IP",
        help="a local address WebRTC offers to browsers (repeatable; default: the --host "
        "address, loopback only for 127.0.0.1, every interface for 0.0.0.0)",
    )
    parser.add_argument(
        "--redis",
        help="scale-out: redis://host:port/db shared by every host process of the platform "
        "(needs a postgresql:// --db); see docs/scale-out.md",
    )
    parser.add_argument("--node-id", help="scale-out: this process's id (default: host-pid)")
    parser.add_argument(
        "--leave-grace-s",
        type=float,
        default=SignalingConfig().leave_grace_s,
        help="how long a participant whose connection dropped stays in the room, waiting "
        "for them to reconnect",
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

    config = DeploymentConfig(
        database_url=args.db,
        public_url=public_url,
        ice=ice,
        recordings=Path(args.recordings) if args.recordings else None,
        recording_segment_s=args.recording_segment_s,
        # The demo plays a scripted conversation when its brochure is shared (SOP 实时辅助).
        sop=demo_live_config(cli.DEMO_PDF) if args.demo else SopLiveConfig(),
        asr=recogniser,
        modem_url=modem_url,
        signaling=SignalingConfig(leave_grace_s=args.leave_grace_s),
        cluster=(
            ClusterConfig(
                redis_url=args.redis,
                node_id=args.node_id,
                http_url=base_url,
                ice_address=ice.host_addresses[0] if ice.host_addresses else args.host,
            )
            if args.redis
            else None
        ),
    )

    async def app() -> web.Application:
        platform = await Deployment.open_platform(config)
        application = web_app(Deployment(config, platform))

        async def close(_: web.Application) -> None:
            await platform.close()

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
