"""A room loaded from its snapshot never replaces one another caller loaded meanwhile and
already changed.

The race (seen once in CI: a customer's evaluation applied after the end was missing from
the room in memory): caller A reads the room's snapshot; before A keeps it, caller B loads
the room too and applies a command to it; A's older reading must not replace B's room.
The interleaving is forced with a real database whose first read waits for a signal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import pytest

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.rooms.core import Leave, Room
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.store.database import Database

from .platform_world import World, build_world

pytestmark = pytest.mark.anyio


class _HeldRead:
    """A connection context that, once its read is done, waits for ``go`` before closing."""

    def __init__(self, inner: Any, gate: _Gate) -> None:
        self._inner = inner
        self._gate = gate

    async def __aenter__(self) -> Any:
        return await self._inner.__aenter__()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        result = await self._inner.__aexit__(kind, exc, tb)
        self._gate.read.set()
        await self._gate.go.wait()
        return result


class _Gate:
    """The real database; the first ``connect()`` after ``arm()`` is held open."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._armed = False
        self.read = anyio.Event()
        self.go = anyio.Event()

    def arm(self) -> None:
        self._armed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def connect(self) -> Any:
        inner = self._db.connect()
        if not self._armed:
            return inner
        self._armed = False
        return _HeldRead(inner, self)


@pytest.fixture
async def world(fast_config: PlatformConfig, tmp_path: Path) -> AsyncIterator[World]:
    w = await build_world(f"sqlite:///{tmp_path}/cache.db", fast_config)
    try:
        yield w
    finally:
        await w.platform.close()


async def test_an_older_reading_never_replaces_a_room_changed_meanwhile(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rooms = RoomService(world.platform, LocalBus())
    host = world.p("sp_A1")
    sid = (await rooms.start(host)).id
    staff = await rooms.seat_for_staff(host, sid)
    await rooms.apply(sid, rooms.join_command(staff))
    rooms.forget(sid)  # as after a restart: the next use loads the stored snapshot
    gate = _Gate(world.platform.database)
    monkeypatch.setattr(rooms, "_db", gate)

    seen: list[Room] = []

    async def caller_a() -> None:
        seen.append(await rooms.room(sid))

    async with anyio.create_task_group() as tg:
        gate.arm()
        tg.start_soon(caller_a)
        with anyio.fail_after(10):
            await gate.read.wait()  # A has read the snapshot: the host is present
        # Caller B loads the room and the host leaves.
        await rooms.apply(sid, Leave(staff.participant_id, rooms.now_ms()))
        gate.go.set()

    _, state = await rooms.snapshot(sid)
    assert state["participants"][staff.participant_id]["present"] is False
    assert seen == [await rooms.room(sid)]
