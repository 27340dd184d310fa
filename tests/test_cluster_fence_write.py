"""The database, not the process, refuses a write whose lease was lost after the check.

Two web host processes on one PostgreSQL and one Redis. The room's owner stops
(``SIGSTOP``) in the middle of a room command's write: past its own lease check, its
transaction open, before the fenced ``UPDATE`` (``tests/paused_write_host.py``, a stop
point armed by the test; the test waits for the stopped process, not for time). Its
lease runs out, the other process takes the room over (fence + 1, claimed in the
database) and applies the salesperson's next command there. Then the owner is resumed:
it goes on with the write it had under way, under its old fence, with no check of its
own in between — and PostgreSQL refuses it (no row has that fence any more). Its timers
that fell due while it was stopped run before that write reaches the database (the
host holds the built statement back): the lease renewal finds the room lost, and the
socket's owner watch finds the room moved. Closing that socket does not cut the
command off: the salesperson's first command gets the database's refusal, then the
socket closes ("room moved"). Nothing of the command is stored, the room's log stays
one unbroken sequence, and the stored room is the new owner's.

Without the fence in the ``UPDATE`` (``RoomService._store``), the resumed write would
go through: a second writer of one room, its stale room snapshot stored over the new
owner's.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
import redis
import sqlalchemy as sa

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.store.database import open_database
from zhanye_sdk.store.schema import session_events, sessions

from .cluster_hosts import Hosts
from .cluster_world import owner_of
from .live_session import Peer, open_live_session
from .platform_world import build_world
from .test_cluster_failover import wait_until

pytestmark = pytest.mark.anyio


def stopped(pid: int) -> bool:
    """The process is stopped (SIGSTOP), as the kernel reports it."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rpartition(")")[2].split()[0] == "T"


async def test_a_write_under_way_when_the_lease_is_lost_is_refused_by_the_database(
    hosts: Hosts, fast_config: PlatformConfig
) -> None:
    world = await build_world(hosts.db_url, fast_config)
    await world.platform.close()
    hosts.module = "tests.paused_write_host"
    hosts.env = {"ZHANYE_TEST_PAUSE_DIR": str(hosts.tmp)}
    hosts.start_serving("a", "b")
    store = redis.Redis.from_url(hosts.redis_url, decode_responses=True)
    database = await open_database(hosts.db_url)
    try:
        async with aiohttp.ClientSession() as http:
            live = await open_live_session(http, hosts.url("a"), "sp-A1", "张三")
            sid, customer_id = live.session_id, live.seat["participant_id"]
            owner, fence = owner_of(store, sid)
            other = "b" if owner == "a" else "a"

            def ws(node: str, query: str) -> str:
                return hosts.url(node).replace("http", "ws") + f"/ws/sessions/{sid}?{query}"

            token = f"token={live.login['token']}"
            first = Peer(await http.ws_connect(ws(owner, token)))
            host_id = (await first.next("session.welcome"))["data"]["participant_id"]
            customer = Peer(await http.ws_connect(ws(owner, f"seat={live.seat['seat_token']}")))
            await customer.next("session.welcome")

            (hosts.tmp / f"{owner}.arm").touch()
            under_way = await first.send("room.set_main_view", {"target": customer_id})
            paused = hosts.tmp / f"{owner}.paused"
            pid = hosts.processes[owner].pid
            await wait_until(
                lambda: paused.exists() and stopped(pid),
                30,
                lambda: "the owner did not stop in its write",
            )
            assert int(paused.read_text()) == fence  # it passed its lease check with it

            # Nobody renews the lease: it runs out, and the other process takes the room
            # over for the salesperson's command there.
            await wait_until(
                lambda: store.get(f"zhanye:lease:{sid}") is None,
                30,
                lambda: "the stopped owner's lease did not run out",
            )
            second = Peer(await http.ws_connect(ws(other, token)))
            await second.next("session.welcome")
            taken = await second.reply_to(
                await second.send("room.set_main_view", {"target": host_id})
            )
            assert taken["type"] == "ack", taken
            assert owner_of(store, sid) == (other, fence + 1)

            hosts.resume(owner)
            log = hosts.tmp / f"{owner}.log"
            await wait_until(
                lambda: f"the database refused the write of session {sid}" in log.read_text(),
                30,
                lambda: log.read_text()[-3000:],
            )
            # It went on with its old fence: the refusal is the database's.
            text = log.read_text()
            assert f"resumed: writing session {sid} under fence {fence}\n" in text
            assert f"the database took the write of session {sid}" not in text
            # The process knew the room lost before the write was decided.
            lost = text.index(f"node {owner} lost session {sid} to another process")
            assert lost < text.index(f"the database refused the write of session {sid}")
            refused = await first.reply_to(under_way)
            assert refused["type"] == "error", refused
            closed = await first.socket.receive(timeout=10)
            assert closed.type is aiohttp.WSMsgType.CLOSE, closed
            assert (closed.data, closed.extra) == (4002, "room moved")

        async with database.connect() as conn:
            stored_fence, snapshot = (
                await conn.execute(
                    sa.select(sessions.c.owner_fence, sessions.c.room_snapshot).where(
                        sessions.c.id == sid
                    )
                )
            ).one()
            log_rows = (
                await conn.execute(
                    sa.select(session_events.c.seq, session_events.c.type)
                    .where(session_events.c.session_id == sid)
                    .order_by(session_events.c.seq)
                )
            ).all()
        assert stored_fence == fence + 1
        seqs = [row.seq for row in log_rows]
        assert seqs == list(range(1, len(seqs) + 1))
        # One main-view change stored: the new owner's (the refused one left nothing).
        assert [row.type for row in log_rows].count("room.main_view_changed") == 1
        assert json.loads(snapshot)["participants"][host_id]["main_view"] == host_id
    finally:
        await database.close()
        store.close()
