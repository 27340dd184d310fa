"""The account socket tells a page why its login ended even when the end came before
the socket was watching: before it connected, or while it was being authenticated."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.signaling.account_events import AccountEvents
from zhanye_sdk.signaling.endpoint import CLOSE_REVOKED, CLOSE_UNAUTHORIZED

from .platform_world import PASSWORD, World, build_world
from .test_deployment import MemoryTransport

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(tmp_path: Path, fast_config: PlatformConfig) -> AsyncIterator[World]:
    built = await build_world(f"sqlite:///{tmp_path}/a.db", fast_config)
    try:
        yield built
    finally:
        await built.platform.close()


async def serve(
    events: AccountEvents, token: str
) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
    transport = MemoryTransport()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(functools.partial(events.serve, transport, login_token=token))
            frames: list[dict[str, Any]] = []
            try:
                while True:
                    frames.append(json.loads(await transport._outbound.receive()))
                    if frames[-1]["type"] == "account.welcome":
                        await transport.hang_up()
            except anyio.EndOfStream:
                pass
    return frames, transport.closed


async def test_a_login_disabled_before_its_socket_connects_is_told_why(world: World) -> None:
    events = AccountEvents(world.platform)
    token = (await world.platform.auth.login("sp-A1", PASSWORD)).token
    await world.platform.accounts.set_disabled(world.p("oa_A1"), world.ids["sp_A1"], True)
    frames, closed = await serve(events, token)
    assert [f["type"] for f in frames] == ["account.login_ended"]
    assert frames[0]["data"]["reason"] == "disabled"
    assert frames[0]["data"]["message_zh"] == "账号已停用，请联系管理员"
    assert closed == (CLOSE_REVOKED, "disabled")


async def test_a_login_ended_while_its_socket_authenticates_is_told_why(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = AccountEvents(world.platform)
    token = (await world.platform.auth.login("sp-A1", PASSWORD)).token
    authenticate = world.platform.auth.authenticate

    async def kicked_meanwhile(given: str):  # type: ignore[no-untyped-def]
        principal = await authenticate(given)
        # The kick-out lands after the check, before the socket watches.
        await world.platform.accounts.kick_out(world.p("oa_A1"), world.ids["sp_A1"])
        return principal

    monkeypatch.setattr(world.platform.auth, "authenticate", kicked_meanwhile)
    frames, closed = await serve(events, token)
    assert [f["type"] for f in frames] == ["account.login_ended"]
    assert frames[0]["data"]["reason"] == "kicked_out"
    assert closed == (CLOSE_REVOKED, "kicked_out")


async def test_an_unknown_token_is_refused_without_a_reason(world: World) -> None:
    frames, closed = await serve(AccountEvents(world.platform), "no-such-login-token")
    assert [f["type"] for f in frames] == ["error"]
    assert closed is not None and closed[0] == CLOSE_UNAUTHORIZED
