"""Scale-out: a room's owner is watched once per room and process, not once per socket.

Two deployments (``ClusterConfig``) on one PostgreSQL and one Redis, served on loopback
in this event loop. A session's room is owned by one of them; five sockets of it (the
salesperson on four tabs and the customer) are on the other. That process reads the
room's owner from Redis once per interval for the room, whatever its sockets: Redis
(``MONITOR``) sees one read of the lease per round, not five; a second room's sockets
add one watch. When the owner goes away (it stops and gives its leases up), every one
of the five sockets is closed with "room moved" (their clients reconnect and offer
their media to the new owner), and the watch ends with its last socket.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from hosts.web.server import web_app
from zhanye_sdk import Deployment, DeploymentConfig
from zhanye_sdk.cluster.setup import ClusterConfig
from zhanye_sdk.platform import PlatformConfig

from .cluster_hosts import free_port
from .live_session import LiveSession, Peer, open_live_session
from .platform_world import build_world
from .postgres import ThrowawayPostgres
from .redis_server import ThrowawayRedis
from .test_cluster_failover import wait_until

pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def node(db_url: str, redis_url: str, name: str) -> AsyncIterator[tuple[str, Deployment]]:
    """One host process's deployment (cluster node ``name``), served on a free port."""
    url = f"http://127.0.0.1:{free_port()}"
    config = DeploymentConfig(
        database_url=db_url,
        public_url=url,
        cluster=ClusterConfig(redis_url=redis_url, node_id=name, http_url=url),
    )
    platform = await Deployment.open_platform(config)
    deployment = Deployment(config, platform)
    runner = web.AppRunner(web_app(deployment))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(url.rsplit(":", 1)[1])).start()
    try:
        yield url, deployment
    finally:
        await runner.cleanup()
        await platform.close()


async def sockets_on(http: aiohttp.ClientSession, url: str, live: LiveSession) -> list[Peer]:
    """The salesperson on four tabs and the customer, welcomed by the process at ``url``."""
    ws = url.replace("http", "ws") + f"/ws/sessions/{live.session_id}"
    queries = [f"token={live.login['token']}"] * 4 + [f"seat={live.seat['seat_token']}"]
    peers = [Peer(await http.ws_connect(f"{ws}?{query}")) for query in queries]
    for peer in peers:
        await peer.next("session.welcome")
    return peers


async def test_one_owner_watch_per_room_whatever_its_sockets(
    postgres: ThrowawayPostgres, redis_server: ThrowawayRedis, fast_config: PlatformConfig
) -> None:
    db_url = postgres.new_database()
    world = await build_world(db_url, fast_config)
    await world.platform.close()
    reads: list[str] = []
    async with (
        contextlib.AsyncExitStack() as stack,
        aiohttp.ClientSession() as http,
        anyio.create_task_group() as tasks,
    ):
        nodes, stops = {}, {}
        for name in ("a", "b"):
            stops[name] = contextlib.AsyncExitStack()
            stack.push_async_callback(stops[name].aclose)
            nodes[name] = await stops[name].enter_async_context(
                node(db_url, redis_server.url(), name)
            )
        live = await open_live_session(http, nodes["a"][0], "sp-A1", "张三")
        sid = live.session_id
        store = aioredis.Redis.from_url(redis_server.url(), decode_responses=True)
        stack.push_async_callback(store.aclose)
        owner = str(await store.get(f"zhanye:lease:{sid}")).rpartition(":")[0]
        other = "b" if owner == "a" else "a"
        url, deployment = nodes[other]
        watch = deployment.signaling.owner_watch
        assert watch is not None

        peers = await sockets_on(http, url, live)
        await wait_until(lambda: watch.rooms == 1, 10, lambda: watch.rooms)

        lease_read = f"GET zhanye:lease:{sid}"

        async def monitor() -> None:
            async with aioredis.Redis.from_url(redis_server.url()).monitor() as commands:
                async for command in commands.listen():
                    # (the lease scripts' own reads run as "lua")
                    if command["command"] == lease_read and command["client_address"] != "lua":
                        reads.append(command["command"])

        tasks.start_soon(monitor)
        await wait_until(lambda: len(reads) > 0, 20, lambda: "no read of the owner")
        first = len(reads)
        await wait_until(lambda: len(reads) > first, 20, lambda: "no second read")
        began = time.monotonic()
        await wait_until(lambda: len(reads) >= first + 6, 60, lambda: "the watch stopped")
        # Five more reads with five sockets open took five rounds (one read a round, the
        # rounds ``owner_check_s`` apart; a whole round allowed for delivery jitter), not
        # one round of five reads. A loaded machine only makes rounds longer.
        interval_s = deployment.signaling.config.owner_check_s
        assert time.monotonic() - began >= 4 * interval_s, reads
        second = await open_live_session(http, nodes["a"][0], "sp-A2", "李四")
        more = await sockets_on(http, url, second)
        await wait_until(lambda: watch.rooms == 2, 10, lambda: watch.rooms)

        # The owner stops and gives the room up: all five sockets are told it moved.
        await stops[owner].aclose()
        for peer in peers:
            with anyio.fail_after(20):
                message: Any = await peer.socket.receive()
                while message.type == aiohttp.WSMsgType.TEXT:
                    message = await peer.socket.receive()
            assert peer.socket.close_code == 4002, (message, peer.socket.close_code)
        for peer in more:
            await peer.socket.close()
        tasks.cancel_scope.cancel()
