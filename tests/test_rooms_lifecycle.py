"""A session's lifecycle reaches every capability as typed events, after it is stored.

``RoomService`` publishes ``SessionStarted``, ``ParticipantEntered`` (``rejoined`` the
second time), ``ParticipantLeft`` and ``SessionEnded`` on its ``lifecycle`` hub; the
whiteboard publishes ``ShareChanged`` when a document is opened, its page turned or it
is closed. Each subscriber reads the store while it handles an event and finds the change
already there; one subscriber's failure keeps the event from no other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from zhanye_sdk.lifecycle import (
    Lifecycle,
    LifecycleEvent,
    ParticipantEntered,
    ParticipantLeft,
    SessionEnded,
    SessionStarted,
    ShareChanged,
)
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings
from zhanye_sdk.rooms.core import Leave, RoomState
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.whiteboard.service import WhiteboardService

from .platform_world import World, build_world
from .sop_world import BROCHURE, build_sop_library

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(fast_config: PlatformConfig, tmp_path: Path) -> AsyncIterator[World]:
    config = attrs.evolve(fast_config, materials=MaterialSettings(storage_root=tmp_path / "m"))
    w = await build_world(f"sqlite:///{tmp_path}/lifecycle.db", config)
    try:
        yield w
    finally:
        await w.platform.close()


async def test_the_room_publishes_its_lifecycle_after_storing_each_change(world: World) -> None:
    hub = Lifecycle()
    rooms = RoomService(world.platform, LocalBus(), lifecycle=hub)
    assert rooms.lifecycle is hub
    host = world.p("sp_A1")
    seen: list[tuple[LifecycleEvent, str]] = []

    async def broken(_: LifecycleEvent) -> None:
        raise RuntimeError("a capability's bug")

    async def capability(event: LifecycleEvent) -> None:
        # What the store says while the event is handled.
        seen.append((event, (await rooms.get(host, event.session_id)).state.value))

    hub.subscribe(broken)
    hub.subscribe(capability)
    sid = (await rooms.start(host)).id
    await rooms.apply(sid, rooms.join_command(await rooms.seat_for_staff(host, sid)))
    invite = await rooms.invite_token(host, sid)
    seat = await rooms.join_with_invite(invite, name="客户甲", recording_acknowledged=True)
    customer = await rooms.seat_for_customer(sid, seat.seat_token)
    await rooms.apply(sid, rooms.join_command(customer))
    await rooms.apply(sid, Leave(customer.participant_id, rooms.now_ms()))
    await rooms.apply(sid, rooms.join_command(customer))
    await rooms.end(host, sid)

    kinds = [
        (type(e).__name__, getattr(e, "participant_id", None), getattr(e, "rejoined", None))
        for e, _ in seen
    ]
    assert kinds == [
        ("SessionStarted", None, None),
        ("ParticipantEntered", host.account_id, False),
        ("ParticipantEntered", customer.participant_id, False),
        ("ParticipantLeft", customer.participant_id, None),
        ("ParticipantEntered", customer.participant_id, True),
        # The end takes everyone out of the room, then ends it.
        ("ParticipantLeft", host.account_id, None),
        ("ParticipantLeft", customer.participant_id, None),
        ("SessionEnded", None, None),
    ]
    assert all(e.session_id == sid for e, _ in seen)
    [(started, state)] = [(e, s) for e, s in seen if isinstance(e, SessionStarted)]
    assert state == RoomState.LIVE.value
    [(ended, state)] = [(e, s) for e, s in seen if isinstance(e, SessionEnded)]
    assert state == RoomState.ENDED.value and ended.reason == "staff_ended"
    entered = [e for e, _ in seen if isinstance(e, ParticipantEntered)]
    assert [e.role for e in entered] == ["host", "customer", "customer"]
    assert all(isinstance(e, ParticipantLeft) for e, _ in (seen[3], seen[5], seen[6]))


async def test_the_whiteboard_publishes_what_it_shows(world: World) -> None:
    library = await build_sop_library(world)
    bus = LocalBus()
    rooms = RoomService(world.platform, bus)
    board = WhiteboardService(world.platform, rooms, bus)
    shares: list[ShareChanged] = []

    async def follow(event: LifecycleEvent) -> None:
        if isinstance(event, ShareChanged):
            shares.append(event)

    rooms.lifecycle.subscribe(follow)
    host = world.p("sp_A1")
    sid = (await rooms.start(host)).id
    seat = await rooms.seat_for_staff(host, sid)
    await rooms.apply(sid, rooms.join_command(seat))
    material = library.material_id
    document = f"file-{material}"
    await board.apply(seat, "share.open", {"op_id": "o1", "kind": "file", "source": material})
    await board.apply(seat, "share.turn", {"op_id": "o2", "document": document, "page": 2})
    assert await board.shown(sid) == ShareChanged(
        sid, "file", material, rooms.now_ms(), page=2, name=BROCHURE
    )
    await board.apply(seat, "share.close", {"op_id": "o3"})
    await board.apply(seat, "share.open", {"op_id": "o4", "kind": "blank"})
    assert [(s.kind, s.material_id, s.page, s.name, s.opened) for s in shares] == [
        ("file", material, 1, BROCHURE, True),
        ("file", material, 2, BROCHURE, False),
        (None, None, None, None, False),
        ("blank", None, None, None, True),
    ]
    assert (await board.shown(sid)).material_id is None
