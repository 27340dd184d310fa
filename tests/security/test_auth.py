"""Attacks on authentication, from the attacker's side, over real HTTP and WebSockets.

Attacks covered:
1. Parallel brute force: 40 guesses at once against one account (SQLite and PostgreSQL)
   — at most the throttle's limit are evaluated, the rest get 429, never a 500.
2. Parallel brute force from one address across many logins — the address limit holds.
3. Weak passwords: common passwords and passwords containing the login are refused on
   create, reset and change.
4. Login enumeration by an admin of another company through the account search: the same
   answer for a login that exists elsewhere and one that does not (creating, signing in:
   ``test_logins.py``).
5. Sockets and tickets outliving their login: after logout, password change, expiry,
   kick-out, disable or delete the host's socket is closed at once and a mute it sends
   is not applied; board view tickets and customer seats end with the login / session.
6. A disabled account's right password is told "disabled", not "wrong password".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest
import sqlalchemy as sa
from aiohttp import web

from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.platform.throttle import ThrottlePolicy
from zhanye_sdk.rooms.service import SessionConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig
from zhanye_sdk.store.schema import companies

from ..live_session import Peer, connect_both, open_live_session
from ..platform_world import PASSWORD, World, build_world
from ..webhost import DEPLOYMENT, build_app, free_port, serving

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
    async with serving(world.platform, signaling_config=signaling) as url:
        yield url, world


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


async def test_the_bare_login_and_login_at_code_share_one_attempt_budget(
    host: tuple[str, World],
) -> None:
    # The home company's people sign in bare or as login@code: two spellings of one
    # account must not give an attacker two budgets of guesses.
    base, world = host
    async with world.platform.database.connect() as conn:
        code = (
            await conn.execute(sa.select(companies.c.code).where(companies.c.home.is_(True)))
        ).scalar_one()
    spellings = ["sp-A1", f"sp-A1@{code}", f"SP-A1@{code.upper()}"]
    async with aiohttp.ClientSession() as http:
        statuses = [
            await _guess(http, base, spellings[i % len(spellings)], f"guess-{i:02d}-x9")
            for i in range(3 * ACCOUNT_LIMIT)
        ]
        assert statuses.count(401) == ACCOUNT_LIMIT, statuses
        assert statuses[ACCOUNT_LIMIT:] == [429] * (2 * ACCOUNT_LIMIT), statuses
        for spelling in spellings:  # locked whichever way it is written
            assert await _guess(http, base, spelling, PASSWORD) == 429


# ---- sockets and tickets that outlive their login ----------------------------------------


@pytest.fixture
async def web_host(tmp_path: Any) -> AsyncIterator[tuple[str, World, web.Application]]:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1),
        token_ttl_s=3600,
    )
    world = await build_world(f"sqlite:///{tmp_path}/auth.db", config)
    # A long grace: a participant gone at once has left because the login ended.
    signaling = SignalingConfig(idle_timeout_s=10, leave_grace_s=30, tick_interval_s=0.1)
    app = build_app(
        world.platform,
        signaling_config=signaling,
        session_config=SessionConfig(seat_after_end_s=0),
    )
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", world, app
    finally:
        await runner.cleanup()
        await world.platform.close()


async def _login(http: aiohttp.ClientSession, base: str, login: str) -> dict[str, Any]:
    async with http.post(f"{base}/api/login", json={"login": login, "password": PASSWORD}) as r:
        assert r.status == 200
        body: dict[str, Any] = await r.json()
        return body


async def _until_closed(socket: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Every frame until the server closes the socket (bounded: 10 s)."""
    frames: list[dict[str, Any]] = []
    with anyio.fail_after(10):
        while True:
            message = await socket.receive()
            if message.type == aiohttp.WSMsgType.TEXT:
                frames.append(json.loads(message.data))
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return frames


async def test_logout_closes_the_hosts_socket_and_its_mute_is_not_applied(
    web_host: tuple[str, World, web.Application],
) -> None:
    base, _, app = web_host
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        host, customer = await connect_both(http, live)
        customer_id = live.seat["participant_id"]
        async with http.post(f"{base}/api/logout", headers=live.auth) as r:
            assert r.status == 200
        frames = await _until_closed(host.socket)
        ended = [f for f in frames if f["type"] == "session.login_ended"]
        assert ended and ended[0]["data"]["reason"] == "logged_out"
        assert ended[0]["data"]["message_zh"] == "已退出登录"
        assert host.socket.close_code == 4403
        # The attacker keeps using the socket: nothing reaches the room.
        with contextlib.suppress(Exception):
            await host.send("room.set_audio", {"target": customer_id, "on": False})
        await customer.reply_to(await customer.send("session.ping"))
        room = await app[DEPLOYMENT].rooms.room(live.session_id)
        assert room.participants[customer_id].audio_on is True
        # The customer sees the host leave at once (no grace in which media still flows).
        host_id = live.login["account"]["id"]

        def host_left() -> bool:
            return any(
                f["type"] == "room.participant_left" and f["data"]["participant"] == host_id
                for f in customer.frames
            )

        while not host_left():
            await customer.next("room.participant_left")
        # Reconnecting with the ended login is refused.
        again = await http.ws_connect(f"{live.ws_url}?token={live.login['token']}")
        await _until_closed(again)
        assert again.close_code == 4401


async def test_changing_ones_password_ends_the_other_logins_sockets(
    web_host: tuple[str, World, web.Application],
) -> None:
    base, _, _ = web_host
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
        await host.next("session.welcome")
        other = await _login(http, base, "sp-A1")
        mine = {"Authorization": f"Bearer {other['token']}"}
        async with http.post(
            f"{base}/api/me/password",
            json={"old_password": PASSWORD, "new_password": "Nw-8812-changed"},
            headers=mine,
        ) as r:
            assert r.status == 200, await r.text()
        frames = await _until_closed(host.socket)
        assert [f["data"]["reason"] for f in frames if f["type"] == "session.login_ended"] == [
            "password_changed"
        ]
        async with http.get(f"{base}/api/me", headers=live.auth) as r:
            assert r.status == 401
        async with http.get(f"{base}/api/me", headers=mine) as r:
            assert r.status == 200  # the login that made the change goes on


async def test_an_expiring_login_closes_its_sockets(tmp_path: Any) -> None:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1),
        token_ttl_s=3600,
    )
    world = await build_world(f"sqlite:///{tmp_path}/exp.db", config)
    app = build_app(world.platform, signaling_config=SignalingConfig(login_recheck_s=0.2))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            live = await open_live_session(http, base, "sp-A1", "客户甲")
            host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
            await host.next("session.welcome")
            account = await http.ws_connect(
                f"{base.replace('http', 'ws')}/ws/account",
                protocols=("zhanye.v1", f"bearer.{live.login['token']}"),
            )
            assert json.loads((await account.receive(timeout=5)).data)["type"] == "account.welcome"
            # The world's clock jumps past the login's expiry: both sockets end.
            world.clock.advance(3601)
            for socket in (host.socket, account):
                frames = await _until_closed(socket)
                reasons = [f["data"]["reason"] for f in frames if f["type"].endswith("login_ended")]
                assert reasons == ["expired"] and socket.close_code == 4403
    finally:
        await runner.cleanup()
        await world.platform.close()


@pytest.mark.parametrize(
    ("action", "reason", "shown"),
    [
        ("kick-out", "kicked_out", "已被管理员踢出"),
        ("disable", "disabled", "账号已停用"),
        ("delete", "deleted", "账号已删除"),
    ],
)
async def test_an_admin_action_tells_every_open_page_at_once(
    web_host: tuple[str, World, web.Application], action: str, reason: str, shown: str
) -> None:
    base, world, _ = web_host
    async with aiohttp.ClientSession() as http:
        sales = await _login(http, base, "sp-A1")
        pages = [
            await http.ws_connect(
                f"{base.replace('http', 'ws')}/ws/account",
                protocols=("zhanye.v1", f"bearer.{sales['token']}"),
            )
            for _ in range(2)
        ]
        for page in pages:
            welcome = json.loads((await page.receive(timeout=5)).data)
            assert welcome["type"] == "account.welcome"
        admin = {"Authorization": f"Bearer {(await _login(http, base, 'oa-A1'))['token']}"}
        target = f"{base}/api/accounts/{world.ids['sp_A1']}"
        if action == "kick-out":
            request = http.post(f"{target}/kick-out", headers=admin)
        elif action == "disable":
            request = http.post(f"{target}/disable", json={"disabled": True}, headers=admin)
        else:
            request = http.delete(target, headers=admin)
        async with request as r:
            assert r.status == 200, await r.text()
        for page in pages:
            frames = await _until_closed(page)
            assert [f["data"]["reason"] for f in frames] == [reason]
            assert shown in frames[0]["data"]["message_zh"]
            assert page.close_code == 4403


async def test_a_board_ticket_ends_with_its_login(
    web_host: tuple[str, World, web.Application],
) -> None:
    base, _, _ = web_host
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        board = f"{base}/api/sessions/{live.session_id}/board"
        async with http.post(f"{board}/ticket", headers=live.auth) as r:
            ticket = (await r.json())["ticket"]
        async with http.get(board, params={"ticket": ticket}) as r:
            assert r.status == 200
        async with http.post(f"{base}/api/logout", headers=live.auth) as r:
            assert r.status == 200
        async with http.get(board, params={"ticket": ticket}) as r:
            assert r.status == 401


async def test_a_customer_seat_ends_with_the_session(
    web_host: tuple[str, World, web.Application],
) -> None:
    base, _, _ = web_host
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        board = f"{base}/api/sessions/{live.session_id}/board"
        seat = live.seat["seat_token"]
        async with http.get(board, params={"seat": seat}) as r:
            assert r.status == 200
        async with http.post(f"{base}/api/sessions/{live.session_id}/end", headers=live.auth) as r:
            assert r.status == 200
        async with http.get(board, params={"seat": seat}) as r:
            assert r.status in (401, 403)
        socket = await http.ws_connect(f"{live.ws_url}?seat={seat}")
        await _until_closed(socket)
        assert socket.close_code == 4401


async def test_a_disabled_accounts_right_password_is_told_it_is_disabled(
    web_host: tuple[str, World, web.Application],
) -> None:
    base, world, _ = web_host
    await world.platform.accounts.set_disabled(world.p("oa_A1"), world.ids["sp_A1"], True)
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/api/login", json={"login": "sp-A1", "password": PASSWORD}
        ) as r:
            body = await r.json()
            assert r.status == 403 and body["error"]["code"] == "account_disabled"
            assert "停用" in body["error"]["message_zh"]
        async with http.post(
            f"{base}/api/login", json={"login": "sp-A1", "password": "Wrong-pass-77"}
        ) as r:
            assert r.status == 401  # a wrong password learns nothing about the account


# ---- weak passwords and login enumeration ---------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password123", "过于常见"),
        ("Qwerty123", "过于常见"),
        ("zhao-li-9x-zhaoliu", "登录账号"),
        ("short1", "8–128"),
    ],
)
async def test_weak_passwords_are_refused_on_create_reset_and_change(
    web_host: tuple[str, World, web.Application], password: str, why: str
) -> None:
    base, world, _ = web_host
    async with aiohttp.ClientSession() as http:
        admin = {"Authorization": f"Bearer {(await _login(http, base, 'oa-A1'))['token']}"}
        form = {"login": "zhaoliu", "name": "赵六", "role": "salesperson"}
        form["org_id"] = world.ids["A1"]
        async with http.post(
            f"{base}/api/accounts", json=form | {"password": password}, headers=admin
        ) as r:
            body = await r.json()
            assert r.status == 400 and why in body["error"]["message_zh"], body
        async with http.post(
            f"{base}/api/accounts/{world.ids['sp_A1']}/reset-password",
            json={"password": password.replace("zhaoliu", "sp-A1")},
            headers=admin,
        ) as r:
            body = await r.json()
            assert r.status == 400 and why in body["error"]["message_zh"], body
        sales = {"Authorization": f"Bearer {(await _login(http, base, 'sp-A1'))['token']}"}
        async with http.post(
            f"{base}/api/me/password",
            json={"old_password": PASSWORD, "new_password": password.replace("zhaoliu", "sp-A1")},
            headers=sales,
        ) as r:
            body = await r.json()
            assert r.status == 400 and why in body["error"]["message_zh"], body
        async with http.get(f"{base}/api/me", headers=sales) as r:
            assert r.status == 200  # nothing changed


async def test_another_companys_admin_cannot_tell_its_logins_from_missing_ones(
    web_host: tuple[str, World, web.Application],
) -> None:
    base, world, _ = web_host
    async with aiohttp.ClientSession() as http:
        spy = {"Authorization": f"Bearer {(await _login(http, base, 'ca-B@bank-b'))['token']}"}
        # Searching by login: a login of company A and one that exists nowhere look alike.
        answers = []
        for login in ("sp-A1", "no-such-login"):
            async with http.get(f"{base}/api/accounts", params={"login": login}, headers=spy) as r:
                answers.append((r.status, await r.json()))
        assert answers[0] == answers[1] == (200, {"items": [], "total": 0})
