"""``RedisBus`` between two "processes" (two buses, two room services, one database)
against a real Redis server that the test starts, kills and restarts.

A room's events reach a subscriber on another bus in order; after a Redis outage
(everything published meanwhile is lost by Redis) the subscriber reads the missing
events from the room's event log: each event arrives exactly once, in order.
"""

from __future__ import annotations

import anyio
import pytest

from zhanye_sdk.cluster.redis_bus import RedisBus
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.rooms.core import Join, Leave, ParticipantRole, Terminal
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.envelope import ServerMessage

from .platform_world import build_world
from .redis_server import ThrowawayRedis

pytestmark = pytest.mark.anyio


async def _flap(rooms: RoomService, session_id: str, who: str) -> None:
    await rooms.apply(session_id, Leave(who, rooms.now_ms()))
    join = Join(who, ParticipantRole.HOST, "主持人", Terminal.PC_WEB, rooms.now_ms())
    await rooms.apply(session_id, join)


async def _received_until(received: list[ServerMessage], seq: int) -> None:
    with anyio.fail_after(15):
        while not received or (received[-1].seq or 0) < seq:  # noqa: ASYNC110 - polls a list
            await anyio.sleep(0.02)


async def test_a_subscriber_on_another_process_gets_every_event_once_in_order_across_an_outage(
    redis_server: ThrowawayRedis, database_url: str, fast_config: PlatformConfig
) -> None:
    world = await build_world(database_url, fast_config)
    host = world.p("sp_A1")
    owner_bus = RedisBus(redis_server.url())
    owner = RoomService(world.platform, owner_bus)
    # The relaying process: its own bus and its own view of the database.
    relay_bus = RedisBus(redis_server.url(), retry_s=0.05)
    relay = RoomService(world.platform, relay_bus)
    relay_bus.read_gaps_from(relay.events_since)
    session_id = (await owner.start(host)).id
    received: list[ServerMessage] = []

    async with relay_bus.subscribe(session_id) as events:

        async def collect() -> None:
            async for message in events:
                received.append(message)

        async with anyio.create_task_group() as group:
            group.start_soon(collect)
            await owner.apply(
                session_id, owner.join_command(await owner.seat_for_staff(host, session_id))
            )
            for _ in range(5):
                await _flap(owner, session_id, host.account_id)
            await _received_until(received, 12)

            redis_server.kill()
            for _ in range(3):  # published into the void
                await _flap(owner, session_id, host.account_id)
            redis_server.start()
            # The relay resubscribes and reads what it missed from the log.
            await _received_until(received, 18)
            for _ in range(2):
                await _flap(owner, session_id, host.account_id)
            await _received_until(received, 22)
            group.cancel_scope.cancel()

    assert [m.seq for m in received] == list(range(1, 23))
    assert [m.type for m in received] == [m.type for m in await relay.events_since(session_id, 0)]
    await owner_bus.close()
    await relay_bus.close()
    await world.platform.close()


async def test_a_subscriber_that_sees_a_gap_fills_it_from_the_log(
    redis_server: ThrowawayRedis, database_url: str, fast_config: PlatformConfig
) -> None:
    world = await build_world(database_url, fast_config)
    host = world.p("sp_A1")
    silent = RoomService(world.platform, RedisBus("redis://127.0.0.1:1/0"))  # no Redis there
    session_id = (await silent.start(host)).id
    await silent.apply(
        session_id, silent.join_command(await silent.seat_for_staff(host, session_id))
    )
    bus = RedisBus(redis_server.url())
    owner = RoomService(world.platform, bus)
    bus.read_gaps_from(owner.events_since)
    received: list[ServerMessage] = []
    async with bus.subscribe(session_id) as events:

        async def collect() -> None:
            async for message in events:
                received.append(message)

        async with anyio.create_task_group() as group:
            group.start_soon(collect)
            await _flap(owner, session_id, host.account_id)  # seq 3, 4
            await _received_until(received, 4)
            await _flap(silent, session_id, host.account_id)  # 5, 6: never published
            await owner.room(session_id)
            owner.adopt(session_id, 0)  # reload the room the other writer changed
            await _flap(owner, session_id, host.account_id)  # 7, 8: the gap shows
            await _received_until(received, 8)
            group.cancel_scope.cancel()
    assert [m.seq for m in received] == [3, 4, 5, 6, 7, 8]
    await bus.close()
    await world.platform.close()


async def test_messages_from_many_publishers_keep_each_publishers_order(
    redis_server: ThrowawayRedis,
) -> None:
    buses = [RedisBus(redis_server.url()) for _ in range(3)]
    received: list[ServerMessage] = []
    async with buses[0].subscribe("room/staff") as events:

        async def collect() -> None:
            async for message in events:
                received.append(message)
                if len(received) == 200:
                    return

        async with anyio.create_task_group() as group:
            group.start_soon(collect)
            for n in range(100):
                await buses[1].publish("room/staff", ServerMessage("sop.card", {"from": 1, "n": n}))
                await buses[2].publish("room/staff", ServerMessage("sop.card", {"from": 2, "n": n}))
    for publisher in (1, 2):
        ns = [m.data["n"] for m in received if m.data["from"] == publisher]
        assert ns == list(range(100))
    for bus in buses:
        await bus.close()
