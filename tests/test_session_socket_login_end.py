"""A session socket tells a staff member why their login ended even when the end came
before the socket was listening: before it connected (a page reconnecting on a weak
network), or while it was being authenticated."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from zhanye_sdk import Deployment
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.signaling.endpoint import CLOSE_REVOKED

from .platform_world import PASSWORD, build_world
from .test_deployment import MemoryTransport, call, config, socket

pytestmark = pytest.mark.anyio


async def _ended_on_connect(transport: MemoryTransport) -> dict[str, object]:
    frame = await transport.next()
    with anyio.fail_after(10), pytest.raises(anyio.EndOfStream):  # closed, nothing after
        await transport._outbound.receive()
    assert transport.closed == (CLOSE_REVOKED, frame["data"]["reason"]), transport.closed
    assert frame["type"] == "session.login_ended", frame
    return frame["data"]


@pytest.mark.parametrize("when", ["before connecting", "while authenticating"])
async def test_a_session_socket_of_an_ended_login_says_why(
    tmp_path: Path, fast_config: PlatformConfig, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    world = await build_world(f"sqlite:///{tmp_path}/deployment.db", fast_config)
    salesperson = world.ids["sp_A1"]
    await world.platform.close()  # the deployment opens the database itself
    async with (
        Deployment.open(config(tmp_path, fast_config)) as deployment,
        anyio.create_task_group() as tasks,
    ):
        auth, accounts = deployment.platform.auth, deployment.platform.accounts
        admin = await auth.authenticate((await auth.login("oa-A1", PASSWORD)).token)
        token = (await auth.login("sp-A1", PASSWORD)).token
        started = await call(deployment, "POST", "/api/sessions", {}, token)
        assert started.status in (200, 201), started.body
        path = f"/ws/sessions/{started.json()['id']}"
        if when == "before connecting":
            await accounts.set_disabled(admin, salesperson, True)
            expected = ("disabled", "账号已停用，请联系管理员")
        else:
            authenticate = auth.authenticate

            async def kicked_meanwhile(given: str):  # type: ignore[no-untyped-def]
                principal = await authenticate(given)
                if given == token:  # lands after the check, before the socket listens
                    await accounts.kick_out(admin, salesperson)
                return principal

            monkeypatch.setattr(auth, "authenticate", kicked_meanwhile)
            expected = ("kicked_out", "已被管理员踢出")
        async with socket(deployment, tasks, path, Authorization=f"Bearer {token}") as host:
            ended = await _ended_on_connect(host)
        assert ended["reason"] == expected[0]
        assert expected[1] in str(ended["message_zh"]), ended
