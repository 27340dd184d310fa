"""A web host with media on loopback, a started session and signaling URLs for its seats."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import av
import numpy as np
import numpy.typing as npt
from aiohttp import web
from aiortc import MediaStreamTrack

from zhanye_sdk import Platform
from zhanye_sdk.client import SessionParticipant, ToneTrack, join, tone
from zhanye_sdk.media.service import MediaConfig, MediaService
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.endpoint import SignalingConfig
from zhanye_sdk.sop.live import SopLiveConfig

from .platform_world import PASSWORD, World, build_world
from .webhost import CHROMIUM_ARGS, DEPLOYMENT, build_app, free_port

BASE = web.AppKey("base", str)
FAST_SIGNALING = SignalingConfig(idle_timeout_s=30, leave_grace_s=0.5, tick_interval_s=0.2)
LOOPBACK_MEDIA = MediaConfig(
    ice_host_addresses=("127.0.0.1",), loopback_only=True, network_interval_s=0.5
)


@attrs.define
class MediaHost:
    base: str
    world: World
    rooms: RoomService
    media: MediaService
    session_id: str = ""
    host_url: str = ""
    login_token: str = ""

    def ws(self, query: str) -> str:
        return self.base.replace("http", "ws") + f"/ws/sessions/{self.session_id}?{query}"

    async def invite_token(self) -> str:
        """A fresh invite of the session, as the salesperson makes one."""
        async with aiohttp.ClientSession() as http:
            auth = {"Authorization": f"Bearer {self.login_token}"}
            invite = await (
                await http.post(
                    f"{self.base}/api/sessions/{self.session_id}/invite-link", headers=auth
                )
            ).json()
        return str(invite["token"])

    async def customer_url(self, name: str) -> str:
        token = await self.invite_token()
        async with aiohttp.ClientSession() as http:
            seat = await (
                await http.post(
                    f"{self.base}/api/invites/{token}/join",
                    json={"name": name, "recording_acknowledged": True},
                )
            ).json()
        return self.ws(f"seat={seat['seat_token']}")


@asynccontextmanager
async def serve(
    platform: Platform,
    media: MediaConfig,
    sop: SopLiveConfig | None = None,
    signaling: SignalingConfig = FAST_SIGNALING,
) -> AsyncIterator[web.Application]:
    """The web host over ``platform`` on a loopback port (a host process, in effect)."""
    app = build_app(platform, signaling_config=signaling, media_config=media, sop_config=sop)
    port = free_port()
    app[BASE] = f"http://127.0.0.1:{port}"
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield app
    finally:
        await runner.cleanup()


@asynccontextmanager
async def media_host(
    tmp_path: Path,
    config: PlatformConfig,
    media: MediaConfig = LOOPBACK_MEDIA,
    sop: SopLiveConfig | None = None,
    signaling: SignalingConfig = FAST_SIGNALING,
) -> AsyncIterator[MediaHost]:
    """The web host on a loopback port with one session started by salesperson sp-A1."""
    world = await build_world(f"sqlite:///{tmp_path}/media.db", config)
    try:
        async with serve(world.platform, media, sop, signaling) as app:
            host = MediaHost(app[BASE], world, app[DEPLOYMENT].rooms, app[DEPLOYMENT].media)
            await start_session(host)
            yield host
    finally:
        await world.platform.close()


@asynccontextmanager
async def host_and_customer(
    server: MediaHost, customer_hz: int = 550
) -> AsyncIterator[tuple[SessionParticipant, SessionParticipant]]:
    """The salesperson (a 440 Hz tone) and customer 客户甲 (``customer_hz``) joined with audio
    only, not waited for."""
    customer_url = await server.customer_url("客户甲")
    async with (
        join(server.host_url, microphone=ToneTrack(440), slots=0, loopback_only=True) as host,
        join(
            customer_url, microphone=ToneTrack(customer_hz), slots=0, loopback_only=True
        ) as customer,
    ):
        yield host, customer


async def start_session(host: MediaHost) -> None:
    """Log in as sp-A1 and start a session."""
    async with aiohttp.ClientSession() as http:
        login = await (
            await http.post(f"{host.base}/api/login", json={"login": "sp-A1", "password": PASSWORD})
        ).json()
        host.login_token = login["token"]
        auth = {"Authorization": f"Bearer {login['token']}"}
        session = await (await http.post(f"{host.base}/api/sessions", json={}, headers=auth)).json()
        host.session_id = session["id"]
    host.host_url = host.ws(f"token={host.login_token}")


async def invite_url(server: MediaHost) -> str:
    """A fresh invite link of the session, as the salesperson would send it."""
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {server.login_token}"}
        url = f"{server.base}/api/sessions/{server.session_id}/invite-link"
        link = await (await http.post(url, headers=auth)).json()
    return f"{server.base}{link['path']}"


def tone_level(samples: npt.NDArray[np.int16], hz: float, rate: int = 48_000) -> float:
    """Amplitude of the sine at ``hz`` in the samples (a Hann-windowed FFT peak)."""
    if samples.size < rate // 10:
        raise AssertionError(f"only {samples.size} samples to analyse")
    x = samples.astype(np.float64)
    window = np.hanning(x.size)
    spectrum = np.abs(np.fft.rfft(x * window))
    k = round(hz * x.size / rate)
    return float(2 * spectrum[max(k - 2, 0) : k + 3].max() / window.sum())


def tone_wav(path: Path, hz: float, seconds: float = 60.0, amplitude: int = 12_000) -> Path:
    """A 48 kHz mono WAV of a sine tone, for Chromium's fake microphone."""
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(48_000)
        f.writeframes(tone(hz, seconds, amplitude=amplitude))
    return path


def launch_chromium(
    playwright: Any,
    *,
    fake_devices: bool = True,
    fake_ui: bool = True,
    microphone_wav: Path | None = None,
    camera_fps: int | None = None,
    camera_y4m: Path | None = None,
) -> Any:
    """Headless Chromium as a WebRTC peer on loopback (see FACTS.md).

    ``fake_devices``: a fake camera and microphone (playing ``microphone_wav`` if given);
    without it the browser has no devices at all; ``camera_fps`` slows the fake camera
    (less video to relay on a busy machine); ``camera_y4m`` makes the fake camera play that
    Y4M file (looped). ``fake_ui``: getUserMedia is allowed
    without asking; without it only the permissions granted to a context are.
    """
    args = [
        *CHROMIUM_ARGS,
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
    ]
    if fake_devices:
        fps = f"=fps={camera_fps}" if camera_fps else ""
        args.append(f"--use-fake-device-for-media-stream{fps}")
    if fake_ui:
        args.append("--use-fake-ui-for-media-stream")
    if microphone_wav is not None:
        args.append(f"--use-file-for-fake-audio-capture={microphone_wav}")
    if camera_y4m is not None:
        args.append(f"--use-file-for-fake-video-capture={camera_y4m}")
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)


class NoiseVideoTrack(MediaStreamTrack):
    """A camera that shows faint random noise (grey ± 20): an encoder spends on it whatever
    bitrate it is given (VP8 at 320×240: about 260 kbit/s at a 300 kbit/s target, 1.3 Mbit/s
    at 1.5 Mbit/s), so the bytes sent show the sender's target."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        self._size = (width, height)
        self._fps = fps
        self._index = 0
        self._rng = np.random.default_rng(7)
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        delay = self._start + self._index / self._fps - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        width, height = self._size
        planes = (128 + self._rng.integers(-20, 20, size=(height * 3 // 2, width))).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = self._index * 90_000 // self._fps
        frame.time_base = Fraction(1, 90_000)
        self._index += 1
        return frame
