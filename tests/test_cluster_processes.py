"""Scale-out end to end: two web host processes (``python -m hosts.web --redis …``) on
one PostgreSQL and one Redis behind HAProxy (real servers the test starts), and a
``kill -9`` of the room's owner.

The proxy sends a session's sockets to one process by the hash of the socket's path
and takes a process whose health check fails out. The host and a customer join on
the process holding the room's Redis lease, which is killed; both reconnect
through the proxy with ``?resume=`` and land on the survivor, which waits out the
dead owner's lease, takes the room over with a higher fencing token, restores it
from the database and goes on numbering its events where the owner stopped: no event
lost, none repeated. Both processes registered in Redis. A multi-process deployment
on SQLite is refused.
"""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import anyio
import pytest
import redis
import sqlalchemy as sa

from zhanye_sdk.client.participant import WELCOME_LIMIT_S
from zhanye_sdk.cluster.fencing import stored_fence
from zhanye_sdk.cluster.setup import Cluster, ClusterConfig
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.store.database import open_database
from zhanye_sdk.store.schema import session_events

from .cluster_hosts import Hosts, wait_http
from .live_session import Peer, open_live_session
from .platform_world import build_world

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[1]


async def _frames_until(peer: Peer, seq: int) -> None:
    with anyio.move_on_after(20):
        while not peer.frames or peer.last_seq < seq:
            await peer.next()
    assert peer.frames and peer.last_seq >= seq, peer.frames


async def test_a_room_survives_a_kill_9_of_its_owner_behind_the_proxy(
    hosts: Hosts, fast_config: PlatformConfig
) -> None:
    world = await build_world(hosts.db_url, fast_config)
    await world.platform.close()
    for node in ("a", "b"):
        hosts.start(node)
    for port in hosts.ports.values():
        wait_http(f"http://127.0.0.1:{port}")
    hosts.start_proxy()
    base = f"http://127.0.0.1:{hosts.proxy_port}"
    store = redis.Redis.from_url(hosts.redis_url, decode_responses=True)

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
        # The room went to the least-loaded process when it started (the first room
        # after Redis started waited out one lease TTL: a fresh Redis cannot know of
        # leases from before it). Both clients join on the owner itself (any process
        # would relay to it), so that its death cuts them off.
        owner = str(store.get(f"zhanye:lease:{live.session_id}")).rpartition(":")[0]
        assert owner in ("a", "b")
        on_owner = hosts.url(owner).replace("http", "ws") + f"/ws/sessions/{live.session_id}"
        host = Peer(await http.ws_connect(f"{on_owner}?token={live.login['token']}"))
        with anyio.fail_after(30):
            while True:
                try:
                    await host.next("session.welcome")
                    break
                except TimeoutError:
                    continue
        customer = Peer(await http.ws_connect(f"{on_owner}?seat={live.seat['seat_token']}"))
        await customer.next("session.welcome")
        await _frames_until(host, 3)  # started, host joined, customer joined
        before = host.last_seq
        assert owner == str(store.get(f"zhanye:lease:{live.session_id}")).rpartition(":")[0]
        survivor = "b" if owner == "a" else "a"
        registered = {n.split(":")[-1] for n in store.scan_iter("zhanye:node:*")}
        assert registered == {"a", "b"}

        hosts.kill(owner)
        for peer in (host, customer):
            with anyio.fail_after(10):
                while True:
                    message = await peer.socket.receive()
                    if message.type in (
                        aiohttp.WSMsgType.CLOSE,
                        aiohttp.WSMsgType.CLOSED,
                        aiohttp.WSMsgType.ERROR,
                    ):
                        break

        # Both come back through the proxy (now to the survivor) and resume.
        ws_url = live.ws_url
        started = time.monotonic()
        with anyio.fail_after(60):
            while True:
                try:
                    resumed_host = Peer(
                        await http.ws_connect(
                            f"{ws_url}?token={live.login['token']}&resume={before}"
                        )
                    )
                    # The survivor answers once the dead owner's lease ran out (up to a
                    # TTL) and it restored the room: as long as a client's welcome may
                    # take (``WELCOME_LIMIT_S``), not the usual 5 s.
                    first = await resumed_host.next(within_s=WELCOME_LIMIT_S)
                except (aiohttp.ClientError, AssertionError):
                    await anyio.sleep(0.3)
                    continue
                if first["type"] != "error":
                    break
                await anyio.sleep(0.3)
        failover_s = time.monotonic() - started
        resumed_customer = Peer(
            await http.ws_connect(f"{ws_url}?seat={live.seat['seat_token']}&resume={before}")
        )
        assert owner != str(store.get(f"zhanye:lease:{live.session_id}")).rpartition(":")[0]
        holder, _, fence = str(store.get(f"zhanye:lease:{live.session_id}")).rpartition(":")
        assert (holder, int(fence)) == (survivor, 2)

        # The survivor numbers new events after the last one the dead owner stored,
        # and the customer gets every one of them once, in order.
        target = live.seat["participant_id"]
        asked = await resumed_host.send("room.set_audio", {"target": target, "on": False})
        assert (await resumed_host.reply_to(asked))["type"] == "ack"
        with anyio.fail_after(20):
            while not [f for f in resumed_host.frames if "seq" in f]:
                await resumed_host.next()
        last = max(f["seq"] for f in resumed_host.frames if "seq" in f)
        assert last == before + 1
        with anyio.fail_after(20):
            while max([f["seq"] for f in resumed_customer.frames if "seq" in f] or [0]) < last:
                await resumed_customer.next()
        seqs = [f["seq"] for f in resumed_customer.frames if "seq" in f]
        assert seqs == list(range(before + 1, last + 1)), resumed_customer.frames
    print(f"failover: {failover_s:.1f} s after the owner's death was noticed")

    database = await open_database(hosts.db_url)
    assert await stored_fence(database, live.session_id) == 2
    async with database.connect() as conn:
        stored = [
            r.seq
            for r in await conn.execute(
                sa.select(session_events.c.seq)
                .where(session_events.c.session_id == live.session_id)
                .order_by(session_events.c.seq)
            )
        ]
    assert stored == list(range(1, last + 1))
    await database.close()


async def test_a_multi_process_deployment_on_sqlite_is_refused(tmp_path: Path) -> None:
    database = await open_database(f"sqlite:///{tmp_path}/z.db")
    with pytest.raises(InvalidInput) as refused:
        Cluster.build(ClusterConfig(redis_url="redis://127.0.0.1:1/0"), database)
    assert "postgresql" in str(refused.value) and refused.value.zh
    await database.close()
