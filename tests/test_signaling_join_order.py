"""A customer whose socket reaches the room before the salesperson's join is in the room
once the salesperson opens it (real WebSocket on loopback).

The welcome is sent before the participant's join is applied, so a customer connecting
right after the salesperson (on another process, in a cluster) may have their join
reach the room first, while it still waits for its host; that join is refused
(``not_started``). The customer's socket stays open and the room must take them in when
it starts — before, they stayed connected but out of the room ("not in the room" to
every command about them). Here the customer connects first, outright.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .live_session import Peer, open_live_session
from .platform_world import World, build_world
from .webhost import serving

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(tmp_path: Any, fast_config: PlatformConfig) -> AsyncIterator[tuple[str, World]]:
    world = await build_world(f"sqlite:///{tmp_path}/join.db", fast_config)
    config = SignalingConfig(idle_timeout_s=30, leave_grace_s=0.3, tick_interval_s=0.1)
    async with serving(world.platform, signaling_config=config) as url:
        yield url, world


async def test_a_customer_connected_before_the_host_joins_when_the_room_opens(
    server: tuple[str, World],
) -> None:
    base, _ = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "张三")
        customer_id = live.seat["participant_id"]
        customer = Peer(await http.ws_connect(f"{live.ws_url}?seat={live.seat['seat_token']}"))
        welcome = await customer.next("session.welcome")
        assert welcome["data"]["room"]["state"] == "waiting"

        host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
        await host.next("session.welcome")
        with anyio.fail_after(10):
            while True:
                joined = await host.next("room.participant_joined")
                if joined["data"]["participant"]["id"] == customer_id:
                    break
        ack = await host.reply_to(
            await host.send("room.set_audio", {"target": customer_id, "on": False})
        )
        assert ack["type"] == "ack", ack  # not "not in the room"
        changed = await customer.next("room.audio_changed")
        assert changed["data"]["participant"] == customer_id
        await host.socket.close()
        await customer.socket.close()
