"""Failover end to end: the process that owns a live session is killed (``kill -9``) in
the middle of a call, and the session goes on in another process with nothing lost.

Two web host processes on one PostgreSQL and one Redis behind HAProxy (real servers),
sharing one recordings folder. The salesperson and a customer join through the proxy
with the SDK's participant client, each sending a tone (440 Hz, 660 Hz) and hearing
the other's. Before the kill: the brochure is shared on the whiteboard with a stroke,
a product page is co-browsed (snapshot and a page event), the SOP assistant is
started and hears a line, and the recording has finished segments.

After the kill, the clients reconnect by themselves (``resume`` from their last
sequence number) and, finding another process, offer their media again; the survivor
takes the room over with a higher fence and restores every area. Checked: both hear
each other again (tone FFT); the survivor accepts the co-browse page's next event
and the SOP assistant's next line (before the fix: ``not_sharing``, "send sop.start
first"); the whiteboard has both strokes; each client received every event of the
room's log once; once the session ends, the recording's manifest verifies, its next
segment chained to the last complete one with the gap noted, and the SOP record
counts the lines heard before and after.

Redis restarted mid-session (stopped, the clients go on talking on the owner, started
again empty): the room keeps working on its owner, whose clients receive every event
during the outage; the owner keeps its lease (never two owners) and no event is lost.

A process paused (``SIGSTOP``) past its lease: the proxy drops its connections, the
clients come back on the survivor, which takes the room over; resumed (``SIGCONT``),
the paused process learns it lost the room and writes nothing more.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
import redis
import sqlalchemy as sa

from zhanye_sdk.client import SessionParticipant, ToneTrack, join
from zhanye_sdk.media.ice import limit_host_addresses
from zhanye_sdk.media.manifest import verify
from zhanye_sdk.media.records import MediaRecords, RecordingStatus
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.store.database import Database, open_database
from zhanye_sdk.store.schema import cobrowse_events, session_events, sessions, whiteboard_ops

from .cluster_hosts import Hosts
from .cluster_world import column, hears, owner_of, start_cluster
from .live_session import LiveSession, open_live_session
from .media_world import tone_level
from .redis_server import ThrowawayRedis

pytestmark = pytest.mark.anyio

HOST_HZ, CUSTOMER_HZ = 440.0, 660.0
SNAPSHOT = {"root": {"id": 1, "tag": "html", "children": [{"id": 2, "tag": "body"}]}}


def stroke(document: str, op_id: str, x: int) -> dict[str, Any]:
    return {
        "op_id": op_id,
        "stroke": {
            "id": op_id,
            "document": document,
            "page": 1,
            "tool": "pen",
            "colour": "#ff0000",
            "width": 30,
            "points": [x, 100, 500, x + 200, 300, 500],
        },
    }


def levels(host: SessionParticipant, customer: SessionParticipant) -> dict[str, Any]:
    now = time.monotonic()
    out: dict[str, Any] = {}
    for name, participant, hz in (("host", host, CUSTOMER_HZ), ("customer", customer, HOST_HZ)):
        samples = participant.audio_between(now - 0.5, now)
        level = tone_level(samples, hz) if samples.size >= 4800 else None
        pc = participant.connection
        state = (pc.connectionState, pc.iceConnectionState) if pc else None
        out[name] = (
            samples.size,
            level,
            participant.negotiations,
            participant.reconnections,
            state,
            len(participant.audio),
        )
    return out


async def wait_until(condition: Any, limit_s: float, what: Any) -> None:
    deadline = time.monotonic() + limit_s
    while not condition() and time.monotonic() < deadline:  # noqa: ASYNC110
        await anyio.sleep(0.05)
    assert condition(), what()


@asynccontextmanager
async def two_peers(
    live: LiveSession, *, tones: bool = True, ws_url: str | None = None
) -> AsyncIterator[tuple[SessionParticipant, ...]]:
    """The salesperson and the customer, each sending a tone, through the proxy (their
    ICE candidates on loopback, the only address the host processes accept), or to
    ``ws_url`` (one process directly)."""
    limit_host_addresses(("127.0.0.1",))
    ws_url = ws_url or live.ws_url
    host_url = f"{ws_url}?token={live.login['token']}"
    customer_url = f"{ws_url}?seat={live.seat['seat_token']}"
    host_mic = ToneTrack(HOST_HZ) if tones else None
    customer_mic = ToneTrack(CUSTOMER_HZ) if tones else None
    async with (
        join(host_url, microphone=host_mic, slots=0, loopback_only=True) as host,
        join(customer_url, microphone=customer_mic, slots=0, loopback_only=True) as cu,
    ):
        try:
            yield host, cu
        finally:
            limit_host_addresses(None)


async def acked(participant: SessionParticipant, kind: str, data: dict[str, Any]) -> None:
    reply = await participant.request(kind, data, limit_s=30)
    assert reply["type"] != "error", (kind, reply)


async def test_a_kill_9_of_the_owner_mid_call_loses_nothing(
    hosts: Hosts, fast_config: PlatformConfig
) -> None:
    library, link_id = await start_cluster(hosts, fast_config)
    assert library is not None
    base = f"http://127.0.0.1:{hosts.proxy_port}"
    store = redis.Redis.from_url(hosts.redis_url, decode_responses=True)
    database = await open_database(hosts.db_url)
    records = MediaRecords(database)
    document = f"file-{library.material_id}"
    try:
        async with aiohttp.ClientSession() as http:
            live = await open_live_session(http, base, "sp-A1", "张三")
        sid = live.session_id
        async with two_peers(live) as (host, customer):
            started = time.monotonic()
            await wait_until(
                lambda: hears(host, CUSTOMER_HZ, started) and hears(customer, HOST_HZ, started),
                30,
                lambda: f"the two peers hear each other: {levels(host, customer)}",
            )
            # Every area has state before the kill.
            share = {"op_id": "o1", "kind": "file", "source": library.material_id}
            await acked(host, "share.open", share)
            await acked(host, "whiteboard.stroke", stroke(document, "o2", 100))
            await acked(host, "sop.start", {"template_id": library.template.id})
            line = {"start_ms": 0, "end_ms": 1000, "speaker": "sp", "role": "salesperson"}
            await acked(host, "sop.segment", {**line, "utterance": "u1", "text": "介绍保险产品"})
            pushed = await host.request("cobrowse.share", {"material_id": link_id}, limit_s=30)
            assert pushed["type"] == "ack", pushed
            page = pushed["data"]["share"]
            await acked(customer, "cobrowse.snapshot", {"share": page, "snapshot": SNAPSHOT})
            scrolled = {"share": page, "kind": "scroll", "data": {"node": 1, "x": 0, "y": 120}}
            await acked(customer, "cobrowse.event", scrolled)
            with anyio.fail_after(30):
                while True:
                    record = await records.get(sid)
                    if record is not None and len(record.manifest.entries) >= 2:
                        break
                    await anyio.sleep(0.2)

            owner, fence = owner_of(store, sid)
            survivor = "b" if owner == "a" else "a"
            instance = host.welcome["instance"]
            dead_media = {host.media_owner, customer.media_owner}
            hosts.kill(owner)
            killed = time.monotonic()

            # Heard again means from media the survivor answered: what arrived from the
            # dead owner before the kill may be read after it on a loaded machine.
            def back(participant: SessionParticipant, hz: float) -> bool:
                moved = participant.media_owner not in {None, *dead_media}
                return moved and hears(participant, hz, killed + 1.0)

            await wait_until(
                lambda: back(host, CUSTOMER_HZ) and back(customer, HOST_HZ),
                40,
                lambda: f"they hear each other again on the survivor: {levels(host, customer)}",
            )
            audio_back_s = time.monotonic() - killed
            assert owner_of(store, sid) == (survivor, fence + 1)
            assert host.welcome["instance"] != instance and host.negotiations >= 2
            assert customer.negotiations >= 2  # a reconnect and the takeover may both re-offer

            # The survivor carries every area on where the dead owner left it.
            await acked(host, "whiteboard.stroke", stroke(document, "o3", 400))
            await acked(host, "sop.segment", {**line, "utterance": "u2", "text": "犹豫期说明"})
            moved = {"share": page, "kind": "scroll", "data": {"node": 1, "x": 0, "y": 480}}
            await acked(customer, "cobrowse.event", moved)
            template = {"template_id": library.template.id}
            checklist = await host.request("sop.start", template, limit_s=30)
            executed = {tuple(step) for step in checklist["data"]["executed"]}
            assert {(library.flow_id, "intro"), (library.flow_id, "cool")} <= executed

            assert (await host.request("room.end", limit_s=30))["type"] == "ack"
            await wait_until(lambda: customer.ended.is_set(), 20, lambda: "no end")

            # Each client received every event of the room's log, once, in order.
            stored = await column(
                database,
                sa.select(session_events.c.seq)
                .where(session_events.c.session_id == sid)
                .order_by(session_events.c.seq),
            )
            assert stored == list(range(1, stored[-1] + 1))
            for participant in (host, customer):
                seqs = [m["seq"] for m in participant.messages if isinstance(m.get("seq"), int)]
                first = seqs[0] if seqs else stored[-1]
                assert seqs == list(range(first, stored[-1] + 1)), participant.participant_id

        print(f"failover: audio back {audio_back_s:.1f} s after the kill")
        strokes = await column(
            database,
            sa.select(whiteboard_ops.c.op_id)
            .where(whiteboard_ops.c.session_id == sid)
            .where(whiteboard_ops.c.type == "whiteboard.stroke")
            .order_by(whiteboard_ops.c.seq),
        )
        assert strokes == ["o2", "o3"]
        scrolls = await column(
            database,
            sa.select(cobrowse_events.c.data)
            .where(cobrowse_events.c.share_id == page)
            .where(cobrowse_events.c.kind == "scroll")
            .order_by(cobrowse_events.c.seq),
        )
        assert [('"y": 120' in s, '"y": 480' in s) for s in scrolls] == [
            (True, False),
            (False, True),
        ]

        # The recording: finished by the survivor, one chain, the gap noted.
        with anyio.fail_after(60):
            while True:
                record = await records.get(sid)
                assert record is not None
                if record.recording_status in (RecordingStatus.READY, RecordingStatus.FAILED):
                    break
                await anyio.sleep(0.3)
        assert record.recording_status is RecordingStatus.READY, record.recording_error
        assert record.recording_folder is not None
        checked = verify(record.manifest, Path(record.recording_folder))
        assert checked.ok, checked.problems
        assert len(checked.gaps) == 1, record.manifest
        [(index, gap_ms)] = checked.gaps
        assert 0 < index < len(record.manifest.entries)
        assert gap_ms >= 1000
    finally:
        await database.close()


async def received_every_event(database: Database, sid: str, *clients: SessionParticipant) -> int:
    """Each client received every event of the room's log from its first, once, in
    order; returns the log's last sequence number."""
    stored = await column(
        database,
        sa.select(session_events.c.seq)
        .where(session_events.c.session_id == sid)
        .order_by(session_events.c.seq),
    )
    assert stored == list(range(1, stored[-1] + 1))
    for participant in clients:
        await wait_until(
            lambda p=participant: p.last_seq >= stored[-1], 20, lambda: "events missing"
        )
        seqs = [m["seq"] for m in participant.messages if isinstance(m.get("seq"), int)]
        assert seqs == list(range(seqs[0], stored[-1] + 1)), participant.participant_id
    return int(stored[-1])


async def toggle(host: SessionParticipant, target: str, times: int) -> int:
    """The host turns the customer's microphone off and on; returns the last event's seq."""
    last = 0
    for n in range(times):
        reply = await host.request(
            "room.set_audio", {"target": target, "on": n % 2 == 1}, limit_s=30
        )
        assert reply["type"] == "ack", reply
        last = max(last, host.last_seq)
    return last


async def test_a_redis_restart_mid_session_loses_no_event_and_makes_no_second_owner(
    hosts: Hosts, redis_server: ThrowawayRedis, fast_config: PlatformConfig
) -> None:
    await start_cluster(hosts, fast_config, recorded=False)
    base = f"http://127.0.0.1:{hosts.proxy_port}"
    store = redis.Redis.from_url(hosts.redis_url, decode_responses=True)
    database = await open_database(hosts.db_url)
    try:
        async with aiohttp.ClientSession() as http:
            live = await open_live_session(http, base, "sp-A1", "张三")
        sid, target = live.session_id, live.seat["participant_id"]
        # The clients are the owner's own (a client relayed from another process waits
        # for Redis like any cross-process relay).
        owner = owner_of(store, sid)
        on_owner = hosts.url(owner[0]).replace("http", "ws") + f"/ws/sessions/{sid}"
        async with two_peers(live, tones=False, ws_url=on_owner) as (host, customer):
            await toggle(host, target, 2)
            assert owner_of(store, sid) == owner

            redis_server.kill()
            # Longer than a lease: the owner keeps the room and its clients hear it all.
            outage_ends = time.monotonic() + 7
            while time.monotonic() < outage_ends:
                last = await toggle(host, target, 2)
                await wait_until(
                    lambda last=last: customer.last_seq >= last,
                    10,
                    lambda last=last: (
                        f"the customer got {customer.last_seq} of {last} in the outage"
                    ),
                )
                await anyio.sleep(0.5)
            assert customer.reconnections == host.reconnections == 0

            redis_server.start()  # empty: it forgot every lease
            with anyio.fail_after(30):
                while store.get(f"zhanye:lease:{sid}") is None:  # the owner renews
                    await toggle(host, target, 2)
                    await anyio.sleep(0.3)
            assert owner_of(store, sid) == owner
            await toggle(host, target, 4)
            await received_every_event(database, sid, host, customer)
        async with database.connect() as conn:
            fence = (
                await conn.execute(sa.select(sessions.c.owner_fence).where(sessions.c.id == sid))
            ).scalar_one()
        assert fence == owner[1]  # nobody else ever claimed it
    finally:
        await database.close()


async def test_a_process_paused_past_its_lease_loses_the_room_and_writes_nothing(
    hosts: Hosts, fast_config: PlatformConfig
) -> None:
    await start_cluster(hosts, fast_config, recorded=False)
    base = f"http://127.0.0.1:{hosts.proxy_port}"
    store = redis.Redis.from_url(hosts.redis_url, decode_responses=True)
    database = await open_database(hosts.db_url)
    try:
        async with aiohttp.ClientSession() as http:
            live = await open_live_session(http, base, "sp-A1", "张三")
        sid, target = live.session_id, live.seat["participant_id"]
        async with two_peers(live, tones=False) as (host, customer):
            await toggle(host, target, 2)
            owner, fence = owner_of(store, sid)
            survivor = "b" if owner == "a" else "a"
            hosts.pause(owner)
            try:
                # The proxy finds it silent and drops its connections; the clients come
                # back on the survivor, which waits out the lease and takes the room.
                await wait_until(
                    lambda: host.reconnections >= 1 and customer.reconnections >= 1,
                    40,
                    lambda: "the clients did not come back",
                )
                last = await toggle(host, target, 2)
                assert owner_of(store, sid) == (survivor, fence + 1)
                await wait_until(lambda: customer.last_seq >= last, 20, lambda: "no event")
            finally:
                hosts.resume(owner)
            log = hosts.tmp / f"{owner}.log"
            await wait_until(
                lambda: f"lost session {sid}" in log.read_text(errors="replace"),
                20,
                lambda: "the paused process did not learn it lost the room",
            )
            await toggle(host, target, 2)
            assert owner_of(store, sid) == (survivor, fence + 1)
            await received_every_event(database, sid, host, customer)
            # media moved too (a reconnect and the takeover may both re-offer)
            assert host.negotiations >= 2 and customer.negotiations >= 2
        async with database.connect() as conn:
            stored = (
                await conn.execute(sa.select(sessions.c.owner_fence).where(sessions.c.id == sid))
            ).scalar_one()
        assert stored == fence + 1
    finally:
        await database.close()
