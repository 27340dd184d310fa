"""A company admin starts and hosts a session (manual §三: 公司管理员 — 开展同屏会话)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from zhanye_sdk.platform import PlatformConfig

from .live_session import Peer
from .platform_world import PASSWORD, World, build_world
from .webhost import serving

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(tmp_path: Any, fast_config: PlatformConfig) -> AsyncIterator[tuple[str, World]]:
    world = await build_world(f"sqlite:///{tmp_path}/ca.db", fast_config)
    async with serving(world.platform) as url:
        yield url, world


async def _login(http: aiohttp.ClientSession, base: str, login: str) -> dict[str, Any]:
    async with http.post(f"{base}/api/login", json={"login": login, "password": PASSWORD}) as r:
        body: dict[str, Any] = await r.json()
        return body


async def test_a_company_admin_starts_hosts_and_invites(server: tuple[str, World]) -> None:
    base, world = server
    async with aiohttp.ClientSession() as http:
        login = await _login(http, base, "ca-A")
        auth = {"Authorization": f"Bearer {login['token']}"}
        async with http.post(f"{base}/api/sessions", json={}, headers=auth) as r:
            session = await r.json()
            assert r.status == 201, session
        # Held in an organization of the admin's own company.
        assert session["org_id"] in (world.ids["A1"], world.ids["A2"])
        async with http.post(
            f"{base}/api/sessions",
            json={"org_id": world.ids["A2"], "start_new": True},
            headers=auth,
        ) as r:
            chosen = await r.json()
            assert r.status == 201 and chosen["org_id"] == world.ids["A2"], chosen
        # Another company's organization is refused like a missing one.
        async with http.post(
            f"{base}/api/sessions",
            json={"org_id": world.ids["B1"], "start_new": True},
            headers=auth,
        ) as r:
            assert r.status == 404
        sid = chosen["id"]
        async with http.post(f"{base}/api/sessions/{sid}/invite-link", headers=auth) as r:
            assert r.status == 200
        ws = base.replace("http", "ws") + f"/ws/sessions/{sid}"
        host = Peer(await http.ws_connect(ws, protocols=("zhanye.v1", f"bearer.{login['token']}")))
        welcome = await host.next("session.welcome")
        assert welcome["data"]["role"] == "host"
        await host.next("room.started")
        await host.socket.close()


async def test_a_salesperson_cannot_start_in_another_organization(
    server: tuple[str, World],
) -> None:
    base, world = server
    async with aiohttp.ClientSession() as http:
        login = await _login(http, base, "sp-A1")
        auth = {"Authorization": f"Bearer {login['token']}"}
        async with http.post(
            f"{base}/api/sessions", json={"org_id": world.ids["A2"]}, headers=auth
        ) as r:
            refused = await r.json()
            assert r.status == 403
            assert refused["error"]["message_zh"] == "只能在本机构发起会话"
