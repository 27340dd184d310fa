"""A room owner stopped while it answers a relayed command tells the asker at once.

Two web host processes on one PostgreSQL and one Redis. A salesperson's socket is on
the process that does not own the room, so their command is relayed to the owner, which
takes its time over it (``tests/slow_command_host.py``). The owner is then stopped
(SIGTERM: a rolling restart). It answers the command it was running before it exits --
the room is unreachable for now, whether the command was applied not being known --
and the salesperson hears so at once. Before, the stopping owner dropped the request
unanswered and the asking process waited out the relay's 15 s limit: the salesperson's
socket was closed for the moved room (after waiting 10 s for the command) with no
answer at all, and a process with such a request under way (a kicked-out login leaving
its room) took 15 s to stop.
"""

from __future__ import annotations

import time

import aiohttp
import pytest
import redis

from zhanye_sdk.platform import PlatformConfig

from .cluster_hosts import Hosts
from .cluster_world import owner_of
from .live_session import Peer, open_live_session
from .platform_world import build_world
from .test_cluster_failover import wait_until

pytestmark = pytest.mark.anyio


async def test_an_owner_stopped_mid_command_answers_it_before_it_exits(
    hosts: Hosts, fast_config: PlatformConfig
) -> None:
    world = await build_world(hosts.db_url, fast_config)
    await world.platform.close()
    hosts.module = "tests.slow_command_host"
    hosts.env = {"ZHANYE_TEST_SLOW_DIR": str(hosts.tmp)}
    hosts.start_serving("a", "b")
    store = redis.Redis.from_url(hosts.redis_url, decode_responses=True)
    try:
        async with aiohttp.ClientSession() as http:
            live = await open_live_session(http, hosts.url("a"), "sp-A1", "张三")
            sid, customer_id = live.session_id, live.seat["participant_id"]
            owner, _ = owner_of(store, sid)
            other = "b" if owner == "a" else "a"
            url = hosts.url(other).replace("http", "ws")
            salesperson = Peer(
                await http.ws_connect(f"{url}/ws/sessions/{sid}?token={live.login['token']}")
            )
            await salesperson.next("session.welcome")

            (hosts.tmp / f"{owner}.slow").touch()
            asked = await salesperson.send("room.set_main_view", {"target": customer_id})
            log = hosts.tmp / f"{owner}.log"
            await wait_until(
                lambda: f"applying slowly: session {sid}" in log.read_text(),
                30,
                lambda: log.read_text()[-3000:],
            )
            process = hosts.processes[owner]
            stopping = time.monotonic()
            process.terminate()
            reply = await salesperson.next(within_s=30)
            while reply.get("re") != asked:
                reply = await salesperson.next(within_s=30)
            answered_s = time.monotonic() - stopping
            assert reply["type"] == "error", reply
            assert reply["data"]["message_zh"] == "会话所在的服务节点暂时没有响应，请稍后重试"
            assert answered_s < 5, answered_s  # the relay's own limit is 15 s
            process.wait(timeout=10)
    finally:
        store.close()
