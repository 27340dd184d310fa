"""Attacks on rate limits when several host processes serve one platform (Redis).

Covered:
- a client spreads invite joins from one address across two host processes (as a
  round-robin proxy would) to get twice the join budget: refused at the budget of one
  process (``RateLimited``), whichever process answers;
- the same spread against one session's join budget from many addresses: refused at
  the session's budget;
- Redis going away does not lift the limits: each process keeps limiting on its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zhanye_sdk.cluster.ratelimit import RedisLimiter
from zhanye_sdk.errors import RateLimited
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.rooms.service import RoomService, SessionConfig
from zhanye_sdk.signaling.bus import LocalBus

from ..platform_world import World, build_world
from ..redis_server import ThrowawayRedis

pytestmark = pytest.mark.anyio


async def _processes(
    redis_url: str, database_url: str, config: PlatformConfig
) -> tuple[list[RoomService], str, list[RedisLimiter], World]:
    world = await build_world(database_url, config)
    limiters = [RedisLimiter(redis_url) for _ in range(2)]
    services = [
        RoomService(world.platform, LocalBus(), SessionConfig(max_customers=100), limiter=limiter)
        for limiter in limiters
    ]
    host = world.p("sp_A1")
    session_id = (await services[0].start(host)).id
    token = await services[0].invite_token(host, session_id)
    return services, token, limiters, world


async def _join(rooms: RoomService, token: str, n: int, address: str) -> None:
    await rooms.join_with_invite(
        token, name=f"客户{n}", recording_acknowledged=True, client_address=address
    )


async def test_joins_spread_over_processes_share_one_address_budget(
    redis_server: ThrowawayRedis, tmp_path: Path, fast_config: PlatformConfig
) -> None:
    services, token, limiters, world = await _processes(
        redis_server.url(), f"sqlite:///{tmp_path}/z.db", fast_config
    )
    burst = int(SessionConfig().joins_per_address.burst)
    for n in range(burst):
        await _join(services[n % 2], token, n, "198.51.100.7")
    for rooms in services:  # either process refuses the next one
        with pytest.raises(RateLimited) as refused:
            await _join(rooms, token, burst, "198.51.100.7")
        assert refused.value.zh
    await _join(services[1], token, burst, "198.51.100.8")  # another address still may
    for limiter in limiters:
        await limiter.close()
    await world.platform.close()


async def test_joins_spread_over_processes_share_one_session_budget(
    redis_server: ThrowawayRedis, tmp_path: Path, fast_config: PlatformConfig
) -> None:
    services, token, limiters, world = await _processes(
        redis_server.url(), f"sqlite:///{tmp_path}/z.db", fast_config
    )
    burst = int(SessionConfig().joins_per_session.burst)
    for n in range(burst):
        await _join(services[n % 2], token, n, f"198.51.100.{n}")
    with pytest.raises(RateLimited):
        await _join(services[0], token, burst, "203.0.113.1")
    for limiter in limiters:
        await limiter.close()
    await world.platform.close()


async def test_a_redis_outage_does_not_lift_the_limits(
    redis_server: ThrowawayRedis, tmp_path: Path, fast_config: PlatformConfig
) -> None:
    services, token, limiters, world = await _processes(
        redis_server.url(), f"sqlite:///{tmp_path}/z.db", fast_config
    )
    redis_server.kill()
    burst = int(SessionConfig().joins_per_address.burst)
    for n in range(burst):
        await _join(services[0], token, n, "198.51.100.9")
    with pytest.raises(RateLimited):
        await _join(services[0], token, burst, "198.51.100.9")
    for limiter in limiters:
        await limiter.close()
    await world.platform.close()
