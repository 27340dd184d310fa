"""A web host with media on loopback, a started session and signaling URLs for its seats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import attrs
import numpy as np
import numpy.typing as npt
from aiohttp import web

from hosts.web.server import MEDIA, ROOMS, build_app
from zhanye_sdk.media.service import MediaConfig, MediaService
from zhanye_sdk.platform import Platform, PlatformConfig
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .platform_world import PASSWORD, World, build_world
from .webhost import free_port

BASE = web.AppKey("base", str)
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

    async def customer_url(self, name: str) -> str:
        async with aiohttp.ClientSession() as http:
            auth = {"Authorization": f"Bearer {self.login_token}"}
            invite = await (
                await http.post(
                    f"{self.base}/api/sessions/{self.session_id}/invite-link", headers=auth
                )
            ).json()
            seat = await (
                await http.post(
                    f"{self.base}/api/invites/{invite['token']}/join",
                    json={"name": name, "recording_acknowledged": True},
                )
            ).json()
        return self.ws(f"seat={seat['seat_token']}")


@asynccontextmanager
async def serve(platform: Platform, media: MediaConfig) -> AsyncIterator[web.Application]:
    """The web host over ``platform`` on a loopback port (a host process, in effect)."""
    signaling = SignalingConfig(idle_timeout_s=30, leave_grace_s=0.5, tick_interval_s=0.2)
    app = build_app(platform, signaling_config=signaling, media_config=media)
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
    tmp_path: Path, config: PlatformConfig, media: MediaConfig = LOOPBACK_MEDIA
) -> AsyncIterator[MediaHost]:
    """The web host on a loopback port with one session started by salesperson sp-A1."""
    world = await build_world(f"sqlite:///{tmp_path}/media.db", config)
    try:
        async with serve(world.platform, media) as app:
            host = MediaHost(app[BASE], world, app[ROOMS], app[MEDIA])
            await start_session(host)
            yield host
    finally:
        await world.platform.close()


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
