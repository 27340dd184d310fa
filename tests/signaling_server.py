"""The web host without media on a loopback port, for signaling and HTTP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .platform_world import build_world
from .webhost import build_app, free_port


@asynccontextmanager
async def signaling_server(tmp_path: Path, config: PlatformConfig) -> AsyncIterator[str]:
    """The host's base URL (``http://127.0.0.1:port``) over a fresh demo world."""
    world = await build_world(f"sqlite:///{tmp_path}/sig.db", config)
    signaling = SignalingConfig(idle_timeout_s=3, leave_grace_s=0.3, tick_interval_s=0.1)
    runner = web.AppRunner(build_app(world.platform, signaling_config=signaling))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await world.platform.close()
