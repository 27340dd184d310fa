"""A session participant as a program (the app host), a real WebRTC peer.

    python -m hosts.app join http://127.0.0.1:8080/join/TOKEN --name 客户 --tone 700 \\
        --record heard.wav --seconds 30 --loopback

Its microphone is a tone (``--tone HZ``) or a media file (``--media FILE``, played by
aiortc's MediaPlayer), its camera a flat colour (``--luma``) unless the file has video;
``--beauty S`` (0–1) applies 美颜 to the camera before it is sent (``--brighten B`` lifts skin).
``--record OUT`` writes what it hears (the server's mix of the others) as a WAV file;
``--timeline FILE`` writes when each received 20 ms frame arrived (JSON: pairs of the
host's monotonic clock in seconds and the frame's first sample in the WAV), for latency
and gap analysis against other programs on the same machine.
It stays until ``--seconds`` pass, the session ends, or it gets SIGTERM/SIGINT; then it
leaves. ``--loopback`` restricts ICE to 127.0.0.1 (tests).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import wave
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt

from zhanye_sdk.client import FlatVideoTrack, ToneTrack, join, open_invite
from zhanye_sdk.media.beauty import BeautyFilter, BeautyTrack
from zhanye_sdk.media.ice import limit_host_addresses


def _sources(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    if args.media:
        from aiortc.contrib.media import MediaPlayer

        player = MediaPlayer(args.media, loop=True)
        return player.audio, _camera(args, player.video or FlatVideoTrack(args.luma)), player
    microphone = ToneTrack(args.tone) if args.tone else None
    return microphone, _camera(args, FlatVideoTrack(args.luma)), None


def _camera(args: argparse.Namespace, camera: Any) -> Any:
    if not args.beauty and not args.brighten:
        return camera
    return BeautyTrack(camera, BeautyFilter(args.beauty, args.brighten))


async def run_join(args: argparse.Namespace) -> int:
    if args.loopback:
        limit_host_addresses(["127.0.0.1"])
    grant = await open_invite(args.invite_url, name=args.name)
    microphone, camera, _player = _sources(args)
    print(json.dumps({"joined": grant.participant_id, "session": grant.session_id}), flush=True)
    async with join(
        grant.ws_url,
        microphone=microphone,
        camera=camera,
        slots=args.slots,
        loopback_only=args.loopback,
    ) as me:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with anyio.create_task_group() as tasks:

                async def stop_on_signal() -> None:
                    async for _ in signals:
                        tasks.cancel_scope.cancel()

                async def stop_when_ended() -> None:
                    await me.ended.wait()
                    tasks.cancel_scope.cancel()

                tasks.start_soon(stop_on_signal)
                tasks.start_soon(stop_when_ended)
                if args.seconds:
                    tasks.cancel_scope.deadline = anyio.current_time() + args.seconds
        with anyio.CancelScope(shield=True), contextlib.suppress(TimeoutError, ConnectionError):
            # Best effort: without it the server lets us go after its grace period.
            await me.request("room.leave", limit_s=3)
        if args.record:
            _write_heard(me.audio, Path(args.record))
        if args.timeline:
            _write_timeline(me.audio, Path(args.timeline))
    return 0


def _write_heard(frames: list[tuple[float, npt.NDArray[np.int16]]], path: Path) -> None:
    chunks = [samples for _, samples in frames]
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(audio.astype("<i2").tobytes())


def _write_timeline(frames: list[tuple[float, npt.NDArray[np.int16]]], path: Path) -> None:
    offsets = np.cumsum([0] + [samples.size for _, samples in frames])
    timeline = [[at, int(offset)] for (at, _), offset in zip(frames, offsets, strict=False)]
    path.write_text(json.dumps(timeline), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hosts.app", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    joining = commands.add_parser("join", help="join a session through an invite link")
    joining.add_argument("invite_url")
    joining.add_argument("--name", default="客户")
    source = joining.add_mutually_exclusive_group()
    source.add_argument("--tone", type=float, help="microphone: a sine tone of HZ")
    source.add_argument("--media", help="microphone and camera: a media file")
    joining.add_argument("--luma", type=int, default=128, help="camera: flat colour luma")
    joining.add_argument("--beauty", type=float, default=0.0, help="美颜 strength 0–1")
    joining.add_argument("--brighten", type=float, default=0.0, help="美颜 brightening 0–1")
    joining.add_argument("--record", help="write what is heard to this WAV file")
    joining.add_argument("--timeline", help="write when each heard frame arrived (JSON)")
    joining.add_argument("--seconds", type=float, default=0, help="leave after this long")
    joining.add_argument("--slots", type=int, default=2, help="video slots to receive")
    joining.add_argument("--loopback", action="store_true", help="ICE on 127.0.0.1 only")
    args = parser.parse_args(argv)
    return anyio.run(run_join, args)


if __name__ == "__main__":
    sys.exit(main())
