"""Signaling over a real WebSocket on loopback: join, member control, errors, resume, kick-out."""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.ratelimit import BucketPolicy
from zhanye_sdk.rooms.core import Leave
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.endpoint import LEAVE_LIMIT_S, SignalingConfig
from zhanye_sdk.signaling.handshake import PROTOCOL, HandshakeCredentials, handshake_credentials
from zhanye_sdk.signaling.transport import CLOSE_LIMIT_S

from .live_session import Peer, connect_both, open_live_session
from .platform_world import PASSWORD, World, build_world
from .webhost import DEPLOYMENT, build_app, free_port, serving

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(tmp_path: Any, fast_config: PlatformConfig) -> AsyncIterator[tuple[str, World]]:
    world = await build_world(f"sqlite:///{tmp_path}/sig.db", fast_config)
    config = SignalingConfig(idle_timeout_s=3, leave_grace_s=0.3, tick_interval_s=0.1)
    async with serving(world.platform, signaling_config=config) as url:
        yield url, world


async def test_a_session_over_websockets(server: tuple[str, World]) -> None:
    base, world = server
    async with aiohttp.ClientSession() as http:
        login = await (
            await http.post(f"{base}/api/login", json={"login": "sp-A1", "password": PASSWORD})
        ).json()
        auth = {"Authorization": f"Bearer {login['token']}"}
        session = await (await http.post(f"{base}/api/sessions", json={}, headers=auth)).json()
        sid = session["id"]
        assert len(session["meeting_number"]) == 8 and session["state"] == "waiting"
        invite = await (
            await http.post(f"{base}/api/sessions/{sid}/invite-link", headers=auth)
        ).json()
        seat = await (
            await http.post(
                f"{base}/api/invites/{invite['token']}/join",
                json={"name": "客户甲", "recording_acknowledged": True, "terminal": "mini-program"},
            )
        ).json()
        assert "seat_token" in seat, seat
        ws = base.replace("http", "ws") + f"/ws/sessions/{sid}"

        host = Peer(await http.ws_connect(f"{ws}?token={login['token']}"))
        welcome = await host.next("session.welcome")
        assert welcome["data"]["role"] == "host"
        await host.next("room.started")
        await host.next("room.participant_joined")

        customer = Peer(await http.ws_connect(f"{ws}?seat={seat['seat_token']}"))
        assert (await customer.next("session.welcome"))["data"]["room"]["state"] == "live"
        joined = await host.next("room.participant_joined")
        customer_id = joined["data"]["participant"]["id"]
        assert customer_id == seat["participant_id"]

        # The host mutes the customer: acknowledged, and both see it.
        ack = await host.reply_to(
            await host.send("room.set_audio", {"target": customer_id, "on": False})
        )
        assert ack["type"] == "ack"
        for peer in (host, customer):
            changed = await peer.next("room.audio_changed")
            assert changed["data"] == {
                "participant": customer_id,
                "on": False,
                "by": login["account"]["id"],
                "at": changed["data"]["at"],
            }

        # The customer may not mute the host; malformed frames change nothing either.
        refused = await customer.reply_to(
            await customer.send("room.set_audio", {"target": login["account"]["id"], "on": False})
        )
        assert refused["data"]["code"] == "not_allowed"
        bad_type = await customer.reply_to(
            await customer.send("room.set_audio", {"target": customer_id, "on": "yes"})
        )
        assert bad_type["data"]["code"] == "invalid_input"
        await customer.socket.send_str("{not json")
        assert (await customer.next("error"))["data"]["code"] == "not_json"
        await customer.socket.send_str(json.dumps({"v": 2, "type": "room.end", "data": {}}))
        assert (await customer.next("error"))["data"]["code"] == "unsupported_version"
        ping = await customer.reply_to(await customer.send("session.ping"))
        assert ping["type"] == "session.pong"

        # The customer's connection drops; events continue; a resume gets exactly the gap.
        seen = customer.last_seq
        await customer.socket.close()
        await host.reply_to(await host.send("room.set_video", {"target": customer_id, "on": False}))
        await host.reply_to(await host.send("room.set_main_view", {"target": customer_id}))
        customer = Peer(await http.ws_connect(f"{ws}?seat={seat['seat_token']}&resume={seen}"))
        assert (await customer.next("session.welcome"))["data"]["resumed"] is True
        replayed = [await customer.next() for _ in range(2)]
        assert [f["type"] for f in replayed] == ["room.video_changed", "room.main_view_changed"]
        assert [f["seq"] for f in replayed] == [seen + 1, seen + 2]

        # The host ends the session; the customer rates it.
        await host.reply_to(await host.send("room.end"))
        ended = await customer.next("room.ended")
        assert ended["data"]["reason"] == "staff_ended"
        rated = await customer.reply_to(
            await customer.send("room.evaluate", {"score": 5, "comment": "讲解清楚"})
        )
        assert rated["type"] == "ack"
        record = await (await http.get(f"{base}/api/sessions/{sid}", headers=auth)).json()
        assert record["state"] == "ended" and record["end_reason"] == "staff_ended"


async def test_kicked_out_staff_connection_is_closed_at_once(server: tuple[str, World]) -> None:
    base, world = server
    async with aiohttp.ClientSession() as http:
        login = await (
            await http.post(f"{base}/api/login", json={"login": "sp-A1", "password": PASSWORD})
        ).json()
        auth = {"Authorization": f"Bearer {login['token']}"}
        sid = (await (await http.post(f"{base}/api/sessions", json={}, headers=auth)).json())["id"]
        host = Peer(
            await http.ws_connect(
                base.replace("http", "ws") + f"/ws/sessions/{sid}?token={login['token']}"
            )
        )
        await host.next("session.welcome")
        await world.platform.accounts.kick_out(world.p("oa_A1"), world.ids["sp_A1"])
        message = await host.socket.receive(timeout=5)
        while message.type == aiohttp.WSMsgType.TEXT:
            message = await host.socket.receive(timeout=5)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert host.socket.close_code == 4403
        # The revoked token no longer opens anything.
        again = await http.ws_connect(
            base.replace("http", "ws") + f"/ws/sessions/{sid}?token={login['token']}"
        )
        error = json.loads((await again.receive(timeout=5)).data)
        assert error["data"]["code"] == "authentication_failed"


async def test_tokens_only_open_their_own_room(server: tuple[str, World]) -> None:
    base, world = server
    async with aiohttp.ClientSession() as http:
        sessions = []
        for login_name in ("sp-A1", "sp-A2"):
            login = await (
                await http.post(
                    f"{base}/api/login", json={"login": login_name, "password": PASSWORD}
                )
            ).json()
            auth = {"Authorization": f"Bearer {login['token']}"}
            sid = (await (await http.post(f"{base}/api/sessions", json={}, headers=auth)).json())[
                "id"
            ]
            invite = await (
                await http.post(f"{base}/api/sessions/{sid}/invite-link", headers=auth)
            ).json()
            sessions.append((sid, login["token"], invite["token"], auth))
        (sid1, token1, invite1, auth1), (sid2, _, _, _) = sessions
        seat = await (
            await http.post(
                f"{base}/api/invites/{invite1}/join",
                json={"name": "客户", "recording_acknowledged": True},
            )
        ).json()
        ws = base.replace("http", "ws")
        for url in (
            # A customer's seat for another room:
            f"{ws}/ws/sessions/{sid2}?seat={seat['seat_token']}",
            f"{ws}/ws/sessions/{sid2}?token={token1}",  # staff in a colleague's session
            f"{ws}/ws/sessions/{sid1}",  # no credentials at all
            f"{ws}/ws/sessions/{sid1}?seat={seat['seat_token'][:-3]}abc",  # a forged seat
        ):
            socket = await http.ws_connect(url)
            frame = json.loads((await socket.receive(timeout=5)).data)
            assert frame["type"] == "error" and frame["data"]["code"] == "authentication_failed", (
                url
            )
            await socket.close()
        # A salesperson cannot read a colleague's session record either.
        other = await http.get(f"{base}/api/sessions/{sid2}", headers=auth1)
        assert other.status == 404
        # Joining without acknowledging the recording notice is refused.
        refused = await http.post(
            f"{base}/api/invites/{invite1}/join",
            json={"name": "客户", "recording_acknowledged": False},
        )
        assert refused.status == 400


async def test_rejoin_or_start_new(server: tuple[str, World]) -> None:
    base, _ = server
    async with aiohttp.ClientSession() as http:
        login = await (
            await http.post(f"{base}/api/login", json={"login": "sp-A2", "password": PASSWORD})
        ).json()
        auth = {"Authorization": f"Bearer {login['token']}"}
        first = await (await http.post(f"{base}/api/sessions", json={}, headers=auth)).json()
        again = await http.post(f"{base}/api/sessions", json={}, headers=auth)
        assert again.status == 409
        body = await again.json()
        assert (
            body["error"]["code"] == "unfinished_session"
            and body["error"]["session_id"] == first["id"]
        )
        unfinished = await (await http.get(f"{base}/api/sessions/unfinished", headers=auth)).json()
        assert unfinished["session"]["id"] == first["id"]
        fresh = await http.post(f"{base}/api/sessions", json={"start_new": True}, headers=auth)
        assert fresh.status == 201
        old = await (await http.get(f"{base}/api/sessions/{first['id']}", headers=auth)).json()
        assert old["state"] == "ended"


async def test_host_process_restart_keeps_the_session_and_clients_resume(
    tmp_path: Any, fast_config: PlatformConfig
) -> None:
    db = f"sqlite:///{tmp_path}/restart.db"
    world = await build_world(db, fast_config)
    await world.platform.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    async def start_host() -> tuple[web.AppRunner, Any]:
        from zhanye_sdk import Platform

        platform = await Platform.open(db, config=fast_config, clock=world.clock)
        runner = web.AppRunner(build_app(platform))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner, platform

    runner, platform = await start_host()
    async with aiohttp.ClientSession() as http:
        login = await (
            await http.post(f"{base}/api/login", json={"login": "sp-A1", "password": PASSWORD})
        ).json()
        auth = {"Authorization": f"Bearer {login['token']}"}
        sid = (await (await http.post(f"{base}/api/sessions", json={}, headers=auth)).json())["id"]
        invite = await (
            await http.post(f"{base}/api/sessions/{sid}/invite-link", headers=auth)
        ).json()
        seat = await (
            await http.post(
                f"{base}/api/invites/{invite['token']}/join",
                json={"name": "客户乙", "recording_acknowledged": True},
            )
        ).json()
        ws = f"ws://127.0.0.1:{port}/ws/sessions/{sid}"
        host = Peer(await http.ws_connect(f"{ws}?token={login['token']}"))
        await host.next("session.welcome")
        customer = Peer(await http.ws_connect(f"{ws}?seat={seat['seat_token']}"))
        await customer.next("session.welcome")
        await host.reply_to(
            await host.send("room.set_audio", {"target": seat["participant_id"], "on": False})
        )
        await customer.next("room.audio_changed")
        seen = customer.last_seq

        # The process goes away (clients are told 1001) and a new one takes over.
        await runner.cleanup()
        await platform.close()
        runner, platform = await start_host()
        try:
            customer = Peer(await http.ws_connect(f"{ws}?seat={seat['seat_token']}&resume={seen}"))
            welcome = await customer.next("session.welcome")
            assert welcome["data"]["resumed"] is True
            state = welcome["data"]["room"]
            assert state["state"] == "live"
            assert state["participants"][seat["participant_id"]]["audio_on"] is False
            host = Peer(await http.ws_connect(f"{ws}?token={login['token']}&resume={seen}"))
            await host.next("session.welcome")
            await host.reply_to(await host.send("room.end"))
            ended = await customer.next("room.ended")
            assert ended["seq"] > seen
            seqs = [f["seq"] for f in customer.frames if "seq" in f]
            assert seqs == sorted(set(seqs)), "an event arrived twice or out of order"
        finally:
            await runner.cleanup()
            await platform.close()


async def test_disabling_the_organization_ends_its_sessions_and_closes_staff(
    server: tuple[str, World],
) -> None:
    base, world = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A2", "客户丙")
        host, customer = await connect_both(http, live)
        await world.platform.organizations.set_disabled(world.p("ca_A"), world.ids["A2"], True)
        ended = await customer.next("room.ended")
        assert ended["data"]["reason"] == "org_disabled"
        message = await host.socket.receive(timeout=5)
        while message.type == aiohttp.WSMsgType.TEXT:
            message = await host.socket.receive(timeout=5)
        assert host.socket.close_code == 4403


async def test_credentials_travel_in_the_handshake_headers_not_the_url(
    server: tuple[str, World],
) -> None:
    """Pages offer their credential as a subprotocol (programs may send Authorization):
    the socket URL carries none. A wrong credential there is refused like anywhere else."""
    base, _ = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        token = live.auth["Authorization"].removeprefix("Bearer ")
        ws = live.ws_url
        staff = await http.ws_connect(ws, protocols=(PROTOCOL, f"bearer.{token}"))
        assert staff.protocol == PROTOCOL  # the host answers with the envelope's protocol
        assert (await Peer(staff).next("session.welcome"))["data"]["role"] == "host"
        seated = await http.ws_connect(ws, protocols=(PROTOCOL, f"seat.{live.seat['seat_token']}"))
        assert (await Peer(seated).next("session.welcome"))["data"]["role"] == "customer"
        program = await http.ws_connect(ws, headers=live.auth)
        assert (await Peer(program).next("session.welcome"))["data"]["role"] == "host"
        for forged in (f"bearer.{token[:-2]}xx", f"seat.{live.seat['seat_token'][:-2]}xx"):
            refused = await http.ws_connect(ws, protocols=(PROTOCOL, forged))
            message = await refused.receive()
            while message.type == aiohttp.WSMsgType.TEXT:  # the error event, then the close
                message = await refused.receive()
            assert refused.close_code == 4401, (forged, message)
        for socket in (staff, seated, program):
            await socket.close()


PROTOCOL_TEXT = st.text(alphabet=st.characters(blacklist_characters=","), max_size=30)


@given(
    st.lists(PROTOCOL_TEXT | st.builds("bearer.{}".format, PROTOCOL_TEXT), max_size=4),
    st.text(max_size=40),
    st.dictionaries(st.sampled_from(["token", "seat", "resume"]), st.text(max_size=20)),
)
def test_the_first_credential_offered_in_the_handshake_wins(
    protocols: list[str], authorization: str, query: dict[str, str]
) -> None:
    headers = {"Sec-WebSocket-Protocol": ", ".join(protocols), "Authorization": authorization}
    found = handshake_credentials(headers, query)
    offered = [
        p.strip()
        for p in protocols
        if p.strip().startswith(("bearer.", "seat.")) and p.strip() not in ("bearer.", "seat.")
    ]
    if offered:
        kind, _, value = offered[0].partition(".")
        expected = (
            HandshakeCredentials(login_token=value)
            if kind == "bearer"
            else HandshakeCredentials(seat_token=value)
        )
        assert found == expected
    elif authorization.lower().startswith("bearer ") and authorization[7:].strip():
        assert found == HandshakeCredentials(login_token=authorization[7:].strip())
    else:
        assert found == HandshakeCredentials(query.get("token") or None, query.get("seat") or None)


def test_the_participant_client_moves_the_credential_out_of_the_url() -> None:
    from zhanye_sdk.client.participant import _handshake

    url, protocols = _handshake("ws://127.0.0.1:8080/ws/sessions/s1?seat=a.b&resume=7")
    assert url == "ws://127.0.0.1:8080/ws/sessions/s1?resume=7"
    assert protocols == (PROTOCOL, "seat.a.b")
    url, protocols = _handshake("ws://h/ws/sessions/s1?token=abc")
    assert (url, protocols) == ("ws://h/ws/sessions/s1", (PROTOCOL, "bearer.abc"))
    assert _handshake("ws://h/ws/sessions/s1") == ("ws://h/ws/sessions/s1", ())


def backed_up(transport: Any) -> bool:
    """Whether the server holds more data for this socket than it lets a writer queue
    (what the kernel would not take): sending to it now waits for the client."""
    request = transport.socket._req  # aiohttp's
    if request is None or request.transport is None:
        return False
    _low, high = request.transport.get_write_buffer_limits()
    return bool(request.transport.get_write_buffer_size() > high)


def small_window(info: Any) -> socket.socket:
    """A client socket with a tiny receive buffer: what it does not read soon fills the
    server's buffers (a phone whose app froze)."""
    sock = socket.socket(info[0], info[1], info[2])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


async def test_a_restart_is_not_held_up_by_a_client_that_stopped_reading(
    tmp_path: Any, fast_config: PlatformConfig
) -> None:
    """The customer's app froze: it reads nothing, and what the room sends it fills the
    server's buffers. Stopping the host tells every socket to reconnect elsewhere and cuts
    the customer's after a short wait. Before, the server's close waited on the full buffer
    for as long as the frozen client held its connection: the process never stopped."""
    world = await build_world(f"sqlite:///{tmp_path}/frozen.db", fast_config)
    plenty = BucketPolicy(rate=1000, burst=1000)
    quick_ink = SignalingConfig(ink_rate=plenty, board_rate=plenty, message_rate=plenty)
    runner = web.AppRunner(build_app(world.platform, signaling_config=quick_ink))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stopped = False
    frozen = aiohttp.TCPConnector(socket_factory=small_window)
    try:
        async with (
            aiohttp.ClientSession() as http,
            aiohttp.ClientSession(connector=frozen) as frozen_app,
        ):
            live = await open_live_session(http, f"http://127.0.0.1:{port}", "sp-A1", "客户甲")
            host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
            await host.next("session.welcome")
            seat = f"{live.ws_url}?seat={live.seat['seat_token']}"
            customer = Peer(await frozen_app.ws_connect(seat))
            await customer.next("session.welcome")
            await host.reply_to(await host.send("share.open", {"op_id": "o", "kind": "blank"}))
            document = (await host.next("whiteboard.applied"))["data"]["effects"][0]["document"]
            points = [v for n in range(2000) for v in (1000 + n, 1000 + n, 500)]
            sockets = runner.app[DEPLOYMENT]._sockets
            for n in itertools.count():  # 30 kB of ink a stroke, which the customer never reads
                assert n < 1000, "the server's buffers never filled"
                body = {
                    "op_id": f"s{n}",
                    "stroke": {
                        "id": f"s{n}",
                        "document": document["id"],
                        "page": 1,
                        "tool": "pen",
                        "colour": "#ff0000",
                        "width": 4,
                        "points": points,
                    },
                }
                reply = await host.reply_to(await host.send("whiteboard.stroke", body))
                assert reply["type"] == "ack", reply
                if any(backed_up(transport) for transport in sockets):
                    break  # the kernel's buffers are full: the server holds the rest
            began = time.monotonic()
            with anyio.fail_after(20):
                await runner.cleanup()
            stopped = True
            took = time.monotonic() - began
            assert took < 8, f"stopping took {took:.1f} s"
            message = await host.socket.receive(timeout=5)
            while message.type is aiohttp.WSMsgType.TEXT:  # what came before the close
                message = await host.socket.receive(timeout=5)
            assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 1001
    finally:
        if not stopped:
            with anyio.move_on_after(5):
                await runner.cleanup()
        await world.platform.close()


async def test_a_socket_whose_login_ended_does_not_wait_on_a_silent_owner(
    tmp_path: Any, fast_config: PlatformConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A salesperson's login ends while the room's owner takes no command (another process,
    stopping too in a fleet restart): the socket leaves the room at once as far as it can,
    then gives up waiting. Before, its handler waited out the relay's 15 s, shielded, and
    held up its own process's shutdown as long."""
    world = await build_world(f"sqlite:///{tmp_path}/silent.db", fast_config)
    runner = web.AppRunner(build_app(world.platform))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    apply = RoomService.apply

    async def silent_owner(self: RoomService, session_id: str, command: Any) -> Any:
        if isinstance(command, Leave):
            await anyio.sleep_forever()
        return await apply(self, session_id, command)

    try:
        async with aiohttp.ClientSession() as http:
            live = await open_live_session(http, f"http://127.0.0.1:{port}", "sp-A1", "客户甲")
            host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
            await host.next("session.welcome")
            monkeypatch.setattr(RoomService, "apply", silent_owner)
            sockets = runner.app[DEPLOYMENT]._sockets
            await world.platform.auth.logout(live.login["token"])
            ended = time.monotonic()
            with anyio.fail_after(10):
                while sockets:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            # (its close waits for the client first, which reads nothing here)
            assert time.monotonic() - ended < CLOSE_LIMIT_S + LEAVE_LIMIT_S + 2
    finally:
        monkeypatch.undo()
        with anyio.move_on_after(20):
            await runner.cleanup()
        await world.platform.close()
