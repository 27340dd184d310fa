"""Loopback WebSocket servers for the signaling and co-browse benchmarks.

``Server`` runs an aiohttp app in its own thread and event loop; ``relay_app`` is the
bare relay baseline (each frame forwarded to the other sockets, nothing else);
``sdk_app`` is the real web host over a fresh SQLite platform with one salesperson.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web

from hosts.web.server import web_app
from zhanye_sdk import (
    Deployment,
    DeploymentConfig,
    Platform,
    PlatformConfig,
    Role,
    ServiceHours,
    SessionConfig,
    SignalingConfig,
)
from zhanye_sdk.platform import PasswordHashing
from zhanye_sdk.ratelimit import BucketPolicy


class Server:
    """An aiohttp app in its own thread and event loop."""

    def __init__(self, make_app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.make_app = make_app
        self.port = 0

    def start(self) -> Any:
        self.thread.start()
        return asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)

    async def _start(self) -> Any:
        app, extra = await self.make_app()
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return extra

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)


async def relay_app() -> tuple[web.Application, None]:
    sockets: set[web.WebSocketResponse] = set()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets.add(ws)
        try:
            async for message in ws:
                for other in list(sockets):
                    if other is not ws:
                        await other.send_str(message.data)
        finally:
            sockets.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/relay", handler)
    return app, None


async def sdk_app(folder: str) -> tuple[web.Application, Platform]:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )
    platform = await Platform.open(f"sqlite:///{folder}/bench.db", config=config)
    await platform.auth.bootstrap_super_admin("root", "Kv8-secret-pass", "root")
    login = await platform.auth.login("root", "Kv8-secret-pass")
    root = await platform.auth.authenticate(login.token)
    company = await platform.companies.create(root, "基准公司")
    org = await platform.organizations.create(
        root, "基准机构", hours=ServiceHours(), company_id=company.id
    )
    await platform.accounts.create(
        root,
        login="host",
        name="主持人",
        password="Kv8-secret-pass",
        role=Role.SALESPERSON,
        org_id=org.id,
    )
    # The benchmarks measure throughput, so the per-connection budgets that stop floods
    # in production are lifted here.
    unlimited = BucketPolicy(rate=1e9, burst=1e9)
    signaling = SignalingConfig(
        room_rate=unlimited, ink_rate=unlimited, board_rate=unlimited, message_rate=unlimited
    )
    config = DeploymentConfig(sessions=SessionConfig(max_customers=64), signaling=signaling)
    app = web_app(Deployment(config, platform))
    return app, platform


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
