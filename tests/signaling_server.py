"""The web host without media on a loopback port, for signaling and HTTP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .platform_world import build_world
from .webhost import serving


@asynccontextmanager
async def signaling_server(tmp_path: Path, config: PlatformConfig) -> AsyncIterator[str]:
    """The host's base URL (``http://127.0.0.1:port``) over a fresh demo world."""
    world = await build_world(f"sqlite:///{tmp_path}/sig.db", config)
    signaling = SignalingConfig(idle_timeout_s=3, leave_grace_s=0.3, tick_interval_s=0.1)
    async with serving(world.platform, signaling_config=signaling) as url:
        yield url
