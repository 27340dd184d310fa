"""Room leases and the node registry against a real Redis server (started, killed and
restarted by the test), with the fencing tokens checked by the real database.

Covers: one holder at a time; a lease that is not renewed expires and the next
holder gets a higher fence, which the database accepts while it refuses the old
one; a Redis that restarts empty hands out no lease for one TTL, lets the holder it
forgot renew under the same fence, and never hands out a fence the database would
refuse; a holder keeps its room through an outage (Redis unreachable); the registry
lists live processes, drops a dead one after its TTL and sends new rooms to the
least-loaded process that is not draining.
"""

from __future__ import annotations

import anyio
import pytest

from zhanye_sdk.cluster.fencing import claim_room, stored_fence
from zhanye_sdk.cluster.leases import RedisLeases, Unreachable
from zhanye_sdk.cluster.nodes import Load, NodeInfo, NodeRegistry
from zhanye_sdk.errors import RoomMoved
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.rooms.core import Leave
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus

from .platform_world import build_world
from .redis_server import ThrowawayRedis

pytestmark = pytest.mark.anyio

TTL_MS = 600


async def _acquire_within(leases: RedisLeases, room: str, floor: int, seconds: float) -> int:
    with anyio.fail_after(seconds):
        while True:
            fence = await leases.acquire(room, floor)
            if fence is not None:
                return fence
            await anyio.sleep(0.05)


async def test_a_dead_owners_room_goes_to_a_survivor_whose_fence_the_database_takes(
    redis_server: ThrowawayRedis, database_url: str, fast_config: PlatformConfig
) -> None:
    world = await build_world(database_url, fast_config)
    db = world.platform.database
    host = world.p("sp_A1")
    a_leases = RedisLeases(redis_server.url(), "a", ttl_ms=TTL_MS)
    b_leases = RedisLeases(redis_server.url(), "b", ttl_ms=TTL_MS)
    a, b = RoomService(world.platform, LocalBus()), RoomService(world.platform, LocalBus())
    session_id = (await a.start(host)).id

    a_fence = await _acquire_within(a_leases, session_id, await stored_fence(db, session_id), 5)
    assert await b_leases.acquire(session_id) is None  # held
    await claim_room(db, session_id, a_fence)
    a.adopt(session_id, a_fence)
    await a.apply(session_id, a.join_command(await a.seat_for_staff(host, session_id)))
    assert await a_leases.renew(session_id, a_fence)
    assert not await b_leases.renew(session_id, a_fence)  # not b's lease

    # a stops renewing (killed); its lease expires and b takes the room.
    b_fence = await _acquire_within(b_leases, session_id, await stored_fence(db, session_id), 5)
    assert b_fence > a_fence
    assert await b_leases.holder(session_id) == ("b", b_fence)
    assert await claim_room(db, session_id, b_fence) == 2
    b.adopt(session_id, b_fence)
    assert (await b.room(session_id)).participants[host.account_id].present
    assert not await a_leases.renew(session_id, a_fence)  # a, back from the dead, lost it
    with pytest.raises(RoomMoved):
        await a.apply(session_id, Leave(host.account_id, a.now_ms()))
    assert [m.seq for m in await b.apply(session_id, Leave(host.account_id, b.now_ms()))] == [3]
    for leases in (a_leases, b_leases):
        await leases.close()
    await world.platform.close()


async def test_a_redis_that_restarts_empty_never_yields_two_owners(
    redis_server: ThrowawayRedis, database_url: str, fast_config: PlatformConfig
) -> None:
    world = await build_world(database_url, fast_config)
    db = world.platform.database
    host = world.p("sp_A1")
    a_leases = RedisLeases(redis_server.url(), "a", ttl_ms=TTL_MS)
    b_leases = RedisLeases(redis_server.url(), "b", ttl_ms=TTL_MS)
    a = RoomService(world.platform, LocalBus())
    session_id = (await a.start(host)).id
    a_fence = await _acquire_within(a_leases, session_id, 0, 5)
    await claim_room(db, session_id, a_fence)
    a.adopt(session_id, a_fence)

    redis_server.kill()
    with pytest.raises(Unreachable):
        await a_leases.renew(session_id, a_fence)
    # The outage does not stop the room: its owner writes on its fence.
    await a.apply(session_id, a.join_command(await a.seat_for_staff(host, session_id)))

    redis_server.start()  # empty: no lease, no fence counter
    assert await b_leases.acquire(session_id, await stored_fence(db, session_id)) is None
    assert await a_leases.renew(session_id, a_fence)  # the owner re-asserts its lease
    assert await a_leases.holder(session_id) == ("a", a_fence)
    # Past the quiet period a's lease still holds as long as a renews.
    with anyio.fail_after(5):
        for _ in range(4):
            await anyio.sleep(TTL_MS / 3000)
            assert await a_leases.renew(session_id, a_fence)
    assert await b_leases.acquire(session_id, await stored_fence(db, session_id)) is None

    # a releases (draining); b's fence is above everything the database has seen.
    assert await a_leases.release(session_id, a_fence)
    b_fence = await _acquire_within(b_leases, session_id, await stored_fence(db, session_id), 5)
    assert b_fence > a_fence
    await claim_room(db, session_id, b_fence)
    for leases in (a_leases, b_leases):
        await leases.close()
    await world.platform.close()


async def test_the_registry_lists_live_processes_and_picks_the_least_loaded(
    redis_server: ThrowawayRedis,
) -> None:
    registry = NodeRegistry(redis_server.url(), ttl_ms=TTL_MS)
    a = NodeInfo("a", "http://127.0.0.1:8001", "127.0.0.1", Load(rooms=3, participants=9))
    b = NodeInfo("b", "http://127.0.0.1:8002", "127.0.0.1", Load(rooms=1, participants=2))
    c = NodeInfo("c", "http://127.0.0.1:8003", "127.0.0.1", Load(), draining=True)
    full = NodeInfo("full", "http://127.0.0.1:8004", "127.0.0.1", Load(rooms=1, media=1.0))
    async with anyio.create_task_group() as group:
        for info in (a, b, c, full):
            group.start_soon(registry.heartbeat, lambda info=info: info)
        with anyio.fail_after(5):
            while len(await registry.nodes()) < 4:  # noqa: ASYNC110 - polls Redis
                await anyio.sleep(0.05)
        assert await registry.nodes() == [a, b, c, full]
        # c is idle but draining; full holds the fewest participants but no media room.
        assert await registry.least_loaded() == b
        await anyio.sleep(3 * TTL_MS / 1000)
        assert await registry.nodes() == [a, b, c, full]  # heartbeats keep them listed
        group.cancel_scope.cancel()
    # No more heartbeats: every process drops out once its TTL passes.
    with anyio.fail_after(5):
        while await registry.nodes():  # noqa: ASYNC110 - polls Redis
            await anyio.sleep(0.05)
    assert await registry.least_loaded() is None
    await registry.close()
