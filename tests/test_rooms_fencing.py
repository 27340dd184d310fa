"""One room's event log under concurrent writers, and fencing tokens (SQLite and PostgreSQL).

* Two room services writing one room at once (an old process still ticking while its
  successor starts, or two host processes) used to both read the same ``last_seq`` and
  fail with ``UNIQUE constraint failed: session_events.session_id, seq``; the sequence
  numbers are now taken in the same statement that checks the owner.
* A process whose fencing token was superseded by a newer owner's claim writes
  nothing, whatever it believes; the newer owner restores every committed event.
"""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from zhanye_sdk.cluster.fencing import claim_room, stored_fence
from zhanye_sdk.errors import RoomMoved
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.rooms.core import Join, Leave, ParticipantRole, Terminal
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.store.schema import session_events

from .platform_world import build_world

pytestmark = pytest.mark.anyio


async def _stored_seqs(rooms: RoomService, session_id: str) -> list[int]:
    return [m.seq for m in await rooms.events_since(session_id, 0) if m.seq is not None]


async def _flap(rooms: RoomService, session_id: str, who: str, times: int) -> int:
    """Leave and rejoin ``times`` times; return how many events were stored."""
    stored = 0
    for _ in range(times):
        for command in (
            Leave(who, rooms.now_ms()),
            Join(who, ParticipantRole.HOST, "主持人", Terminal.PC_WEB, rooms.now_ms()),
        ):
            messages = await rooms.apply(session_id, command)
            stored += sum(1 for m in messages if m.seq is not None)
    return stored


async def test_two_writers_of_one_room_get_consecutive_sequence_numbers(
    database_url: str, fast_config: PlatformConfig
) -> None:
    world = await build_world(database_url, fast_config)
    host = world.p("sp_A1")
    first = RoomService(world.platform, LocalBus())
    second = RoomService(world.platform, LocalBus())
    session_id = (await first.start(host)).id
    await first.apply(session_id, first.join_command(await first.seat_for_staff(host, session_id)))
    await second.room(session_id)  # both hold the room in memory, as two processes would
    counts: list[int] = []

    async def writer(rooms: RoomService) -> None:
        counts.append(await _flap(rooms, session_id, host.account_id, 15))

    async with anyio.create_task_group() as group:
        group.start_soon(writer, first)
        group.start_soon(writer, second)
    seqs = await _stored_seqs(first, session_id)
    total = 2 + sum(counts)  # the host's first join: RoomStarted + ParticipantJoined
    assert seqs == list(range(1, total + 1))
    await world.platform.close()


async def test_a_superseded_owner_writes_nothing_and_the_new_owner_keeps_every_event(
    database_url: str, fast_config: PlatformConfig
) -> None:
    world = await build_world(database_url, fast_config)
    host = world.p("sp_A1")
    old = RoomService(world.platform, LocalBus())
    new = RoomService(world.platform, LocalBus())
    session_id = (await old.start(host)).id
    assert await stored_fence(world.platform.database, session_id) == 0
    await claim_room(world.platform.database, session_id, 1)
    old.adopt(session_id, 1)
    await old.apply(session_id, old.join_command(await old.seat_for_staff(host, session_id)))
    await _flap(old, session_id, host.account_id, 2)
    committed = await old.events_since(session_id, 0)

    # The new owner claims with a higher fence, then restores from the database.
    last = await claim_room(world.platform.database, session_id, 2)
    assert last == len(committed) == 6
    new.adopt(session_id, 2)
    restored = await new.room(session_id)
    assert restored.participants[host.account_id].present

    # The old owner, unaware (a long pause), tries to write: refused, nothing stored.
    with pytest.raises(RoomMoved):
        await old.apply(session_id, Leave(host.account_id, old.now_ms()))
    assert await old.events_since(session_id, 0) == committed
    # A stale claim is refused too: fences only grow.
    with pytest.raises(RoomMoved):
        await claim_room(world.platform.database, session_id, 2)

    # The new owner carries on from the last committed event.
    await _flap(new, session_id, host.account_id, 1)
    seqs = await _stored_seqs(new, session_id)
    assert seqs == list(range(1, 9))
    async with world.platform.database.connect() as conn:
        count = (
            await conn.execute(
                sa.select(sa.func.count()).where(session_events.c.session_id == session_id)
            )
        ).scalar_one()
    assert count == 8
    await world.platform.close()
