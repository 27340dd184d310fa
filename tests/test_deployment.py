"""A ``Deployment`` serves a whole session with no web framework and no host at all.

Everything goes through its two entry points: ``deployment.http`` (the one router of
every capability) and ``deployment.serve_socket`` (the one WebSocket entry), with an
in-memory transport standing where a framework's WebSocket would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import TaskStatus

from zhanye_sdk import Deployment, DeploymentConfig
from zhanye_sdk.api.http import ApiRequest, ApiResponse, DuplicateRoute, Router
from zhanye_sdk.capability import BaseCapability, Capability
from zhanye_sdk.deployment import CLOSE_NO_SUCH_SOCKET
from zhanye_sdk.lifecycle import LifecycleEvent, ParticipantEntered, SessionEnded, SessionStarted
from zhanye_sdk.media.service import MediaConfig
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.records.capability import StatsCapability
from zhanye_sdk.rooms.service import Seat
from zhanye_sdk.signaling.endpoint import AreaHandler
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage

from .platform_world import PASSWORD, build_world

pytestmark = pytest.mark.anyio


class MemoryTransport:
    """A WebSocket made of two in-memory queues: the test is the client."""

    def __init__(self) -> None:
        self._inbound_send, self._inbound = anyio.create_memory_object_stream[str | None](100)
        self._outbound_send, self._outbound = anyio.create_memory_object_stream[str](1000)
        self.closed: tuple[int, str] | None = None
        self._next_id = 0

    # ---- the server's side (MessageTransport) ----
    async def receive(self) -> str | bytes | None:
        return await self._inbound.receive()

    async def send(self, text: str) -> None:
        await self._outbound_send.send(text)

    async def close(self, code: int, reason: str) -> None:
        if self.closed is None:
            self.closed = (code, reason)
            await self._outbound_send.aclose()

    def abort(self) -> None:
        self.closed = self.closed or (1006, "cut")
        self._outbound_send.close()

    # ---- the client's side ----
    async def say(self, kind: str, data: dict[str, Any] | None = None) -> str:
        self._next_id += 1
        frame_id = f"c{self._next_id}"
        message = {"v": 1, "type": kind, "id": frame_id, "data": data or {}}
        await self._inbound_send.send(json.dumps(message))
        return frame_id

    async def next(self, kind: str | None = None, *, re: str | None = None) -> dict[str, Any]:
        with anyio.fail_after(10):
            while True:
                frame: dict[str, Any] = json.loads(await self._outbound.receive())
                if (kind is None or frame["type"] == kind) and (
                    re is None or frame.get("re") == re
                ):
                    return frame

    async def hang_up(self) -> None:
        await self._inbound_send.send(None)


async def call(
    deployment: Deployment,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
) -> ApiResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = ApiRequest(
        method,
        path,
        headers=headers,
        body=json.dumps(body).encode() if body is not None else b"",
        client_address="127.0.0.1",
    )
    assert deployment.body_limit(method, path).max_bytes > 0  # asked before reading
    return await deployment.http(request)


@asynccontextmanager
async def socket(
    deployment: Deployment, tasks: anyio.abc.TaskGroup, path: str, **headers: str
) -> AsyncIterator[MemoryTransport]:
    transport = MemoryTransport()
    tasks.start_soon(lambda: deployment.serve_socket(transport, path, headers=headers))
    try:
        yield transport
    finally:
        await transport.hang_up()


def config(tmp_path: Path, platform: PlatformConfig) -> DeploymentConfig:
    return DeploymentConfig(
        database_url=f"sqlite:///{tmp_path}/deployment.db",
        platform=platform,
        public_url="https://zy.example.com",
        media=MediaConfig(ice_host_addresses=("127.0.0.1",), loopback_only=True),
    )


class Observer(BaseCapability):
    """A capability that only listens: what a new one gets by being in the list."""

    name = "observer"

    def __init__(self) -> None:
        super().__init__()
        self.events: list[LifecycleEvent] = []
        self.recovered_before_serving = False
        self.running = False

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        self.events.append(event)

    async def recover(self) -> None:
        self.recovered_before_serving = not self.running

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.running = True
        task_status.started()
        await anyio.sleep_forever()


async def test_a_session_runs_end_to_end_through_the_deployment_alone(
    tmp_path: Path, fast_config: PlatformConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await build_world(f"sqlite:///{tmp_path}/deployment.db", fast_config)
    await world.platform.close()  # the deployment opens the database itself
    observer = Observer()
    original = Deployment._capabilities
    monkeypatch.setattr(Deployment, "_capabilities", lambda self: [*original(self), observer])
    async with (
        Deployment.open(config(tmp_path, fast_config)) as deployment,
        anyio.create_task_group() as tasks,
    ):
        login = await call(
            deployment, "POST", "/api/login", {"login": "sp-A1", "password": PASSWORD}
        )
        assert login.status == 200, login.body
        token = login.json()["token"]
        started = await call(deployment, "POST", "/api/sessions", {}, token)
        assert started.status in (200, 201), started.body
        sid = started.json()["id"]
        invite = (
            await call(deployment, "POST", f"/api/sessions/{sid}/invite-link", None, token)
        ).json()
        joined = await call(
            deployment,
            "POST",
            f"/api/invites/{invite['token']}/join",
            {"name": "王先生", "recording_acknowledged": True},
        )
        assert joined.status == 201, joined.body
        seat = joined.json()
        path = f"/ws/sessions/{sid}"
        seat_protocol = {"Sec-WebSocket-Protocol": f"zhanye.v1, seat.{seat['seat_token']}"}
        async with socket(deployment, tasks, path, Authorization=f"Bearer {token}") as host:
            assert (await host.next("session.welcome"))["data"]["role"] == "host"
            async with socket(deployment, tasks, path, **seat_protocol) as customer:
                welcome = await customer.next("session.welcome")
                customer_id = welcome["data"]["participant_id"]
                assert welcome["data"]["role"] == "customer"
                joined_room = await host.next("room.participant_joined")
                while joined_room["data"]["participant"]["id"] != customer_id:  # the host's own
                    joined_room = await host.next("room.participant_joined")
                # A room command from the host reaches the customer.
                asked = await host.say("room.set_audio", {"target": customer_id, "on": False})
                answer = await host.next(re=asked)
                assert answer["type"] == "ack", answer
                changed = await customer.next("room.audio_changed")
                assert changed["data"]["participant"] == customer_id
                assert changed["data"]["on"] is False
                # Another capability's messages reach their handler through the same entry.
                board = await host.say("whiteboard.sync")
                assert (await host.next(re=board))["type"] == "whiteboard.snapshot"
                nobody = await host.say("nobody.here")
                assert (await host.next(re=nobody))["data"]["code"] == "unsupported"
                ended = await call(deployment, "POST", f"/api/sessions/{sid}/end", None, token)
                assert ended.status == 200, ended.body
                await customer.next("room.ended")
        record = await call(deployment, "GET", f"/api/records/{sid}", None, token)
        assert record.status == 200, record.body
        body = record.json()
        assert body["summary"]["id"] == sid
        assert body["summary"]["state"] == "ended"
        assert body["summary"]["end_reason"] == "staff_ended"
        people = {p["name"]: p["role"] for p in body["participants"]}
        assert people == {"sp_A1": "host", "王先生": "customer"}
        # The capability added to the list was recovered, run, and told the session's life.
        assert observer.recovered_before_serving and observer.running
        kinds = [type(e) for e in observer.events if e.session_id == sid]
        assert kinds[0] is SessionStarted and kinds[-1] is SessionEnded, kinds
        entered = [e for e in observer.events if isinstance(e, ParticipantEntered)]
        assert {e.participant_id for e in entered} == {login.json()["account"]["id"], customer_id}
        tasks.cancel_scope.cancel()


async def test_the_socket_entry_serves_only_its_own_paths(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    await (await build_world(f"sqlite:///{tmp_path}/deployment.db", fast_config)).platform.close()
    async with Deployment.open(config(tmp_path, fast_config)) as deployment:
        assert deployment.socket_limit("/ws/elsewhere") is None
        assert deployment.socket_limit("/ws/sessions/a/b") is None
        stray = MemoryTransport()
        await deployment.serve_socket(stray, "/ws/elsewhere")
        assert stray.closed == (CLOSE_NO_SUCH_SOCKET, "no such socket")
        # An account socket without a login is refused, as a session socket is.
        anonymous = MemoryTransport()
        await deployment.serve_socket(anonymous, "/ws/account")
        assert anonymous.closed is not None and anonymous.closed[0] == 4401
        unknown = await call(deployment, "GET", "/api/nothing-here")
        assert unknown.status == 404 and unknown.json()["error"]["code"] == "not_found"


async def test_a_socket_that_arrives_while_the_server_closes_its_sockets_is_closed_too(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    """A page's socket upgraded just as the host began to stop: it is told to reconnect
    elsewhere like the others, not left open until its idle timeout (45 s) holds up the
    shutdown."""
    await (await build_world(f"sqlite:///{tmp_path}/deployment.db", fast_config)).platform.close()
    async with Deployment.open(config(tmp_path, fast_config)) as deployment:
        await deployment.close_sockets(1001, "server restarting")
        late = MemoryTransport()
        with anyio.fail_after(5):
            await deployment.serve_socket(late, "/ws/account")
        assert late.closed == (1001, "server restarting")


class Squatter(BaseCapability):
    """A capability that claims a path another one owns."""

    name = "squatter"
    pattern = "/api/stats"

    def __init__(self) -> None:
        super().__init__()

        async def mine(request: ApiRequest, **_: str) -> ApiResponse:
            return ApiResponse.of_json({"mine": True})

        self.router.add("GET", self.pattern, mine)


class ParamSquatter(Squatter):
    """A capability whose ``{param}`` route would answer another one's literal path."""

    name = "wildcard"
    pattern = "/api/{area}"


class BoardSquatter(BaseCapability):
    """A capability that claims the ``share.*`` messages the whiteboard answers."""

    name = "boards"

    @property
    def signaling_areas(self) -> Mapping[str, AreaHandler]:
        async def mine(seat: Seat, message: ClientMessage) -> list[ServerMessage]:
            return []

        return {"share": mine}


async def test_two_capabilities_claiming_one_route_or_message_area_are_refused(
    tmp_path: Path, fast_config: PlatformConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await build_world(f"sqlite:///{tmp_path}/deployment.db", fast_config)
    try:
        original = Deployment._capabilities

        def with_squatter(self: Deployment) -> list[Capability]:
            return [*original(self), Squatter()]

        monkeypatch.setattr(Deployment, "_capabilities", with_squatter)
        with pytest.raises(DuplicateRoute, match="squatter: two handlers for GET /api/stats"):
            Deployment(config(tmp_path, fast_config), world.platform)

        def with_param_squatter(self: Deployment) -> list[Capability]:
            return [ParamSquatter(), *original(self)]

        monkeypatch.setattr(Deployment, "_capabilities", with_param_squatter)
        with pytest.raises(
            DuplicateRoute, match=r"two handlers for GET /api/\w+: /api/\{area\} answers it"
        ):
            Deployment(config(tmp_path, fast_config), world.platform)

        def with_board_squatter(self: Deployment) -> list[Capability]:
            return [*original(self), BoardSquatter()]

        monkeypatch.setattr(Deployment, "_capabilities", with_board_squatter)
        with pytest.raises(DuplicateRoute, match="boards: two handlers for share.. messages"):
            Deployment(config(tmp_path, fast_config), world.platform)
    finally:
        await world.platform.close()
    assert StatsCapability(world.platform).router.patterns()[0] == ("GET", "/api/stats")


def test_a_router_refuses_a_second_handler_for_one_route() -> None:
    async def handler(request: ApiRequest) -> ApiResponse:
        return ApiResponse.of_json({})

    router = Router()
    router.add("GET", "/api/x/{id}", handler)
    with pytest.raises(DuplicateRoute):
        router.add("get", "/api/x/{id}", handler)
    other = Router()
    other.add("POST", "/api/x/{id}", handler)
    router.include(other)  # another method on the same pattern is another route
    assert router.patterns() == [("GET", "/api/x/{id}"), ("POST", "/api/x/{id}")]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/api/x/{id}", "/api/x/export"),
        ("/api/x/export", "/api/x/{id}"),
        ("/api/x/{id}", "/api/x/{key}"),
        ("/api/x/{id}.pdf", "/api/x/report.pdf"),
        ("/api/{area}/{id}/files", "/api/x/export/files"),
    ],
)
def test_a_param_route_answering_another_routers_path_is_refused(first: str, second: str) -> None:
    async def handler(request: ApiRequest, **_: str) -> ApiResponse:
        return ApiResponse.of_json({})

    mine, theirs = Router(), Router()
    mine.add("GET", first, handler)
    theirs.add("GET", second, handler)
    with pytest.raises(DuplicateRoute) as refused:
        mine.include(theirs)
    assert first in str(refused.value) and second in str(refused.value)
    assert refused.value.zh == "两个功能声明了同一个接口路径"
    assert mine.patterns() == [("GET", first)]  # nothing of the other router was added


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/api/x/{id}", "/api/y/export"),
        ("/api/x/{id}", "/api/x/{id}/export"),
        ("/api/x/{id}.pdf", "/api/x/{id}.csv"),
        # Both answer only /api/records/export/cobrowse, a path neither is for (session
        # and job ids are hex): neither hides the other's paths.
        ("/api/records/{session_id}/cobrowse", "/api/records/export/{job_id}"),
    ],
)
def test_routes_that_never_answer_each_others_paths_go_together(first: str, second: str) -> None:
    async def handler(request: ApiRequest, **_: str) -> ApiResponse:
        return ApiResponse.of_json({})

    mine, theirs = Router(), Router()
    mine.add("GET", first, handler)
    theirs.add("GET", second, handler)
    theirs.add("POST", first, handler)  # another method on the same pattern
    mine.include(theirs)
    assert len(mine.patterns()) == 3
