"""Scale-out: a participant whose socket drops on one process and who comes back
through another within the grace period stays in the room (real PostgreSQL, Redis, two
``python -m hosts.web --redis …`` processes).

The customer's socket on process a drops; they reconnect to process b at once. When
a's grace period ends, a asks the other processes whether the customer has a socket
open there: b has, so nobody leaves — the room never announces the customer gone, and
their room commands are still taken. When the socket on b drops for good, b's own
grace leave announces it, once.
"""

from __future__ import annotations

import aiohttp
import anyio
import pytest

from zhanye_sdk.platform.config import PlatformConfig

from .cluster_hosts import Hosts
from .live_session import Peer, open_live_session
from .platform_world import build_world

pytestmark = pytest.mark.anyio

GRACE_S = 2.0


async def _until(peer: Peer, kind: str, after: int, seconds: float = 20) -> dict[str, object]:
    with anyio.fail_after(seconds):
        while True:
            for frame in peer.frames[after:]:
                if frame["type"] == kind:
                    return frame
            try:
                await peer.next()
            except TimeoutError:
                continue


async def test_a_reconnect_through_another_process_within_the_grace_keeps_the_participant(
    hosts: Hosts, fast_config: PlatformConfig
) -> None:
    world = await build_world(hosts.db_url, fast_config)
    await world.platform.close()
    hosts.leave_grace_s = GRACE_S
    hosts.start_serving("a", "b")
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, hosts.url("a"), "sp-A1", "张三")
        ws = {
            n: hosts.url(n).replace("http", "ws") + f"/ws/sessions/{live.session_id}" for n in "ab"
        }
        customer_id = live.seat["participant_id"]
        host = Peer(await http.ws_connect(f"{ws['a']}?token={live.login['token']}"))
        await _until(host, "session.welcome", 0)
        on_a = Peer(await http.ws_connect(f"{ws['a']}?seat={live.seat['seat_token']}"))
        await _until(on_a, "session.welcome", 0)
        await _until(host, "room.participant_joined", 1)

        # The customer's socket on a drops; they come back through b straight away.
        mark = len(host.frames)
        await on_a.socket.close()
        on_b = Peer(await http.ws_connect(f"{ws['b']}?seat={live.seat['seat_token']}"))
        await _until(on_b, "session.welcome", 0)

        # Past a's grace period (and then some): the customer is still in the room.
        await anyio.sleep(GRACE_S * 3)
        frame_id = await on_b.send("room.set_audio", {"target": customer_id, "on": False})
        with anyio.fail_after(20):
            while True:
                try:
                    reply = await on_b.reply_to(frame_id)
                    break
                except TimeoutError:
                    continue
        assert reply["type"] == "ack", reply  # not "not in the room"
        await _until(host, "room.audio_changed", mark)
        left = [f for f in host.frames[mark:] if f["type"] == "room.participant_left"]
        assert left == [], left

        # The socket on b drops for good: b's grace leave announces it, once.
        await on_b.socket.close()
        gone = await _until(host, "room.participant_left", mark)
        assert gone["data"]["participant"] == customer_id, gone  # type: ignore[index]
        await anyio.sleep(GRACE_S * 2)
        while True:
            try:
                with anyio.fail_after(0.5):
                    await host.next()
            except TimeoutError:
                break
        left = [f for f in host.frames[mark:] if f["type"] == "room.participant_left"]
        assert len(left) == 1, left
        await host.socket.close()
