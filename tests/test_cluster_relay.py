"""Scale-out: any host process serves any socket of any room (real PostgreSQL, Redis,
three ``python -m hosts.web --redis …`` processes and HAProxy spreading requests
round-robin).

The room goes to the least-loaded process when the session starts. The salesperson's
socket lands (through the proxy) on one process and the customer's on another, not the
owner: their room commands, whiteboard strokes and co-browse share are relayed to the
owner over Redis, and both see the same whiteboard (also over HTTP from a process that
does not own the room), the same co-browse events and the
same room events, numbered the same, once each; with media, each hears the other's
tone (FFT) through the owner, their offers relayed to it. A second session goes to another,
less-loaded process. Per-client budgets are shared: invite-code lookups and taken logins
tried on three processes count against one budget. An admin's kick-out on one process
closes the salesperson's signaling and account sockets on the others at once, with the
reason (faster than their periodic re-check of the login, 30 s).
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import anyio
import pytest
import redis

from zhanye_sdk.client import SessionParticipant, ToneTrack, join
from zhanye_sdk.media.ice import limit_host_addresses
from zhanye_sdk.platform.config import PlatformConfig
from zhanye_sdk.rooms.invite_codes import new_code

from .cluster_hosts import Hosts
from .live_session import Peer, open_live_session
from .media_world import tone_level
from .platform_world import PASSWORD, build_world

pytestmark = pytest.mark.anyio

HOST_HZ, CUSTOMER_HZ = 440.0, 660.0
SNAPSHOT = {"root": {"id": 1, "tag": "html"}, "masked": []}
STROKE = {
    "id": "s1",
    "document": "",
    "page": 1,
    "tool": "pen",
    "colour": "#d0021b",
    "width": 4,
    "points": [100, 100, 500, 100, 700, 500],
}


async def _frame(peer: Peer, kind: str, seconds: float = 20) -> dict[str, Any]:
    """The next frame of ``kind`` (frames in between are kept in ``peer.frames``)."""
    with anyio.fail_after(seconds):
        while True:
            try:
                return await peer.next(kind)
            except TimeoutError:
                continue


async def _seen(peer: Peer, kind: str, after: int, op_id: str | None = None) -> dict[str, Any]:
    """The first frame of ``kind`` (for ``op_id``, if given) after the first ``after``
    frames (received already, or waited for)."""
    with anyio.fail_after(20):
        while True:
            for frame in peer.frames[after:]:
                if frame["type"] == kind and op_id in (None, frame["data"].get("op_id")):
                    return frame
            try:
                await peer.next()
            except TimeoutError:
                continue


async def _answer(peer: Peer, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    frame_id = await peer.send(kind, data)
    with anyio.fail_after(20):
        while True:
            try:
                return await peer.reply_to(frame_id)
            except TimeoutError:
                continue


async def _hear_each_other(host_ws: str, customer_ws: str, token: str, seat: str) -> None:
    limit_host_addresses(("127.0.0.1",))  # the only address the host processes offer
    try:
        async with (
            join(
                f"{host_ws}?token={token}",
                microphone=ToneTrack(HOST_HZ),
                slots=0,
                loopback_only=True,
            ) as host,
            join(
                f"{customer_ws}?seat={seat}",
                microphone=ToneTrack(CUSTOMER_HZ),
                slots=0,
                loopback_only=True,
            ) as customer,
        ):

            def hears(participant: SessionParticipant, hz: float) -> bool:
                now = time.monotonic()
                samples = participant.audio_between(now - 0.2, now)
                return samples.size >= 4800 and tone_level(samples, hz) > 500

            with anyio.fail_after(40):
                while not (hears(host, CUSTOMER_HZ) and hears(customer, HOST_HZ)):  # noqa: ASYNC110
                    await anyio.sleep(0.1)
    finally:
        limit_host_addresses(None)


async def _offer() -> str:
    """An SDP offer of an audio-only peer (ICE on loopback), as a page sends with its join."""
    from aiortc import RTCPeerConnection

    limit_host_addresses(("127.0.0.1",))
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("audio", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()
        limit_host_addresses(None)


def _events(peer: Peer) -> list[tuple[int, str]]:
    return [(f["seq"], f["type"]) for f in peer.frames if "seq" in f]


async def _login(http: aiohttp.ClientSession, base: str, name: str) -> dict[str, Any]:
    response = await http.post(f"{base}/api/login", json={"login": name, "password": PASSWORD})
    login: dict[str, Any] = await response.json()
    return login


async def test_any_process_serves_any_socket_and_shares_what_was_per_process(
    hosts: Hosts, fast_config: PlatformConfig
) -> None:
    world = await build_world(hosts.db_url, fast_config)
    link = await world.platform.materials.add_link(
        world.p("oa_A1"), "百万安心疗", "http://127.0.0.1:9/demo/h5/product.html"
    )
    await world.platform.close()
    hosts.start_serving("a", "b", "c")
    hosts.start_proxy(balance="roundrobin")
    base = f"http://127.0.0.1:{hosts.proxy_port}"
    store = redis.Redis.from_url(hosts.redis_url, decode_responses=True)

    def holder(session_id: str) -> str:
        return str(store.get(f"zhanye:lease:{session_id}")).rpartition(":")[0]

    async with aiohttp.ClientSession() as http:
        with anyio.fail_after(60):
            while True:  # until the proxy's health checks pass
                try:
                    if (await http.get(f"{base}/")).status == 200:
                        break
                except aiohttp.ClientError:
                    pass
                await anyio.sleep(0.2)
        live = await open_live_session(http, base, "sp-A1", "张三")
        # A fresh cluster: every process holds nothing, the tie goes to the first id.
        owner = holder(live.session_id)
        assert owner == "a"

        host_socket = await http.ws_connect(f"{live.ws_url}?token={live.login['token']}")
        host_node = host_socket._response.headers["X-Served-By"]
        host = Peer(host_socket)
        await _frame(host, "session.welcome")
        customer_node = "b" if host_node != "b" else "c"
        customer_url = hosts.url(customer_node).replace("http", "ws")
        customer = Peer(
            await http.ws_connect(
                f"{customer_url}/ws/sessions/{live.session_id}?seat={live.seat['seat_token']}"
            )
        )
        await _frame(customer, "session.welcome")
        assert customer_node != owner and host_node != customer_node

        # Media: the offers are relayed to the owner, whose media the peers connect to;
        # each side hears the other's tone (FFT) through the owner's mix.
        await _hear_each_other(
            hosts.url(host_node).replace("http", "ws") + f"/ws/sessions/{live.session_id}",
            f"{customer_url}/ws/sessions/{live.session_id}",
            live.login["token"],
            live.seat["seat_token"],
        )

        # An offer sent with a customer's join is answered by the owner's media whichever
        # process takes the join: three joins through the three processes, one media.
        owners = set()
        for node in ("a", "b", "c"):
            joined = await (
                await http.post(
                    f"{hosts.url(node)}/api/invites/{live.invite['token']}/join",
                    json={
                        "name": f"客户{node}",
                        "recording_acknowledged": True,
                        "offer": await _offer(),
                    },
                )
            ).json()
            assert joined["media"]["type"] == "answer" and "a=candidate" in joined["media"]["sdp"]
            owners.add(joined["media"]["owner"])
        assert len(owners) == 1, owners

        # A room command from either side, applied once by the owner.
        target = live.seat["participant_id"]
        muted = await _answer(host, "room.set_audio", {"target": target, "on": False})
        assert muted["type"] == "ack", muted
        seen = await _seen(customer, "room.audio_changed", 0)
        assert seen["data"]["participant"] == target and holder(live.session_id) == owner

        # The whiteboard: the host opens a blank page and draws; the customer sees it and
        # finds it in the board's snapshot.
        marks = (len(host.frames), len(customer.frames))
        opened = await _answer(host, "share.open", {"op_id": "o1", "kind": "blank"})
        assert opened["type"] == "ack", opened
        applied = await _seen(customer, "whiteboard.applied", 0, "o1")
        document = applied["data"]["effects"][0]["document"]["id"]
        # The board over HTTP from a process that does not own the room (a page's
        # picture may be asked of any process): read before and after the stroke.
        board_url = (
            f"{hosts.url(customer_node)}/api/sessions/{live.session_id}/board"
            f"?seat={live.seat['seat_token']}"
        )
        assert (await (await http.get(board_url)).json())["strokes"] == []
        marks = (len(host.frames), len(customer.frames))
        drawn = await _answer(
            host,
            "whiteboard.stroke",
            {"op_id": "o2", "stroke": {**STROKE, "document": document}},
        )
        assert drawn["type"] == "ack", drawn
        on_board = [
            (await _seen(peer, "whiteboard.applied", mark, "o2"))["data"]
            for peer, mark in zip((host, customer), marks, strict=True)
        ]
        assert on_board[0] == on_board[1]
        board = (await _answer(customer, "whiteboard.sync", {}))["data"]
        assert [s["id"] for s in board["strokes"]] == ["s1"], board
        from_store = await (await http.get(board_url)).json()
        assert [s["id"] for s in from_store["strokes"]] == ["s1"], from_store

        # Co-browse: the host pushes a page; the customer's agent sends its snapshot.
        marks = (len(host.frames), len(customer.frames))
        shared = await _answer(host, "cobrowse.share", {"material_id": link.id})
        assert shared["type"] == "ack", shared
        share_id = shared["data"]["share"]
        started = [
            (await _seen(p, "cobrowse.started", mark))["data"]
            for p, mark in zip((host, customer), marks, strict=True)
        ]
        assert started[0] == started[1] and started[0]["share"] == share_id
        page = await _answer(customer, "cobrowse.snapshot", {"snapshot": SNAPSHOT})
        assert page["type"] == "ack", page
        pages = [
            (await _seen(p, "cobrowse.page", mark))["data"]
            for p, mark in zip((host, customer), marks, strict=True)
        ]
        assert pages[0] == pages[1] and pages[0]["share"] == share_id

        # The same room events, numbered the same, once each, for both.
        last = max(s for s, _ in _events(host) + _events(customer))
        with anyio.fail_after(20):
            for peer in (host, customer):
                while max([s for s, _ in _events(peer)] or [0]) < last:
                    await peer.next()
        joined = max(f["data"]["seq"] for f in customer.frames if f["type"] == "session.welcome")
        common = [e for e in _events(host) if e[0] > joined]
        assert common == [e for e in _events(customer) if e[0] > joined]
        assert [s for s, _ in common] == list(range(joined + 1, last + 1))

        # New rooms go to the least-loaded process: once the owner reports its room,
        # a second session starts elsewhere.
        with anyio.fail_after(20):
            while json.loads(str(store.get("zhanye:node:a")))["load"]["rooms"] < 1:  # noqa: ASYNC110
                await anyio.sleep(0.2)
        other = await _login(http, base, "sp-A2")
        auth = {"Authorization": f"Bearer {other['token']}"}
        second = await (await http.post(f"{base}/api/sessions", json={}, headers=auth)).json()
        assert holder(second["id"]) in ("b", "c")

        # Budgets shared by every process: invite-code lookups (30 at once per client,
        # then one every 2 s), tried in turn on the three processes until refused: one
        # budget lets about 30 through, three would let 90.
        admitted, began = 0, time.monotonic()
        for attempt in range(200):
            node = ("a", "b", "c")[attempt % 3]
            status = (await http.get(f"{hosts.url(node)}/api/invites/{new_code()}")).status
            if status == 429:
                break
            assert status == 403
            admitted += 1
        assert 30 <= admitted <= 30 + (time.monotonic() - began) / 2 + 1, admitted
        # … and taken logins an admin tries (5 at once).
        admin = await _login(http, base, "oa-A1")
        admin_auth = {"Authorization": f"Bearer {admin['token']}"}
        taken = {
            "login": "sp-A1",
            "name": "重名",
            "password": PASSWORD,
            "role": "salesperson",
            "org_id": world.ids["A1"],
        }
        tries = [
            (
                await http.post(f"{hosts.url(node)}/api/accounts", json=taken, headers=admin_auth)
            ).status
            for node in ("a", "b", "c", "a", "b", "c")
        ]
        assert tries[:5] == [409] * 5 and tries[5] == 429, tries

        # A kick-out on a third process reaches the salesperson's sockets on the others.
        account = Peer(
            await http.ws_connect(
                f"{customer_url}/ws/account",
                headers={"Authorization": f"Bearer {live.login['token']}"},
            )
        )
        await anyio.sleep(0.5)  # the account socket is listening
        elsewhere = next(n for n in ("a", "b", "c") if n not in (host_node, customer_node))
        kicked = await http.post(
            f"{hosts.url(elsewhere)}/api/accounts/{world.ids['sp_A1']}/kick-out",
            headers=admin_auth,
        )
        assert kicked.status == 200, await kicked.text()
        for peer in (host, account):
            with anyio.fail_after(10):  # a socket re-checks its login only every 30 s
                while True:
                    message = await peer.socket.receive()
                    if message.type == aiohttp.WSMsgType.TEXT:
                        frame = json.loads(message.data)
                        if frame["type"] in ("session.login_ended", "account.login_ended"):
                            assert frame["data"]["reason"] == "kicked_out"
                            assert frame["data"]["message_zh"] == "已被管理员踢出，请重新登录"
                    elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                        assert peer.socket.close_code == 4403
                        break
    store.close()
