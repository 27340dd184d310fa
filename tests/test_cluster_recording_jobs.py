"""A recording's post-processing as a job claimed by one process (real PostgreSQL).

Each ``RecordingJobs`` stands for one host process on the same database (time is the
platform's manual clock, so a claim lapses exactly when the test says). The process
whose room ended claims the recording's post-processing; while it renews its claim no
other process's sweep or start-up recovery touches the recording (none finalises it
early); once it dies and its claim lapses, exactly one other process finishes it, and
the dead process's late result, if it comes back, is dropped.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from zhanye_sdk.media.finishing import RecordingJobs
from zhanye_sdk.media.manifest import Manifest
from zhanye_sdk.media.records import MediaRecords, RecordingStatus
from zhanye_sdk.platform.config import PlatformConfig
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.store.schema import session_media

from .platform_world import build_world
from .postgres import ThrowawayPostgres

pytestmark = pytest.mark.anyio


async def _a_recording_session(
    world: Any, folder: object, *, with_manifest: bool = False
) -> tuple[RoomService, Any, MediaRecords]:
    """A started session whose recording is running into ``folder`` (with its start
    time and an empty manifest when asked)."""
    rooms = RoomService(world.platform, LocalBus())
    session = await rooms.start(world.p("sp_A1"), title="百万安心疗讲解")
    records = MediaRecords(world.platform.database)
    recorded: dict[str, Any] = (
        {"recording_started_ms": rooms.now_ms(), "manifest": Manifest()} if with_manifest else {}
    )
    await records.update(
        session.id,
        recording_status=RecordingStatus.RECORDING,
        recording_folder=str(folder),
        **recorded,
    )
    return rooms, session, records


async def test_a_claimed_recording_is_finished_by_one_process_and_by_another_if_it_dies(
    postgres: ThrowawayPostgres, fast_config: PlatformConfig, tmp_path: object
) -> None:
    world = await build_world(postgres.new_database(), fast_config)
    try:
        rooms, session, records = await _a_recording_session(world, tmp_path, with_manifest=True)

        def process(node: str) -> RecordingJobs:
            return RecordingJobs(records, node, rooms.now_ms, claim_s=30, renew_s=5)

        owner, other, starting = process("a"), process("b"), process("c")
        await owner.begin(session.id)  # the room ended on a: it finishes the recording

        for _ in range(4):  # a renews its claim while it encodes: 80 s, claim 30 s
            world.clock.advance(20)
            assert await owner.renew(session.id)
            assert await other.sweep() == 0
            # a process starting meanwhile does not finalise it early either
            assert not await starting.take(session.id, status=RecordingStatus.PROCESSING)
            record = await records.get(session.id)
            assert record is not None and record.recording_status is RecordingStatus.PROCESSING
            assert record.processing_by == "a"

        world.clock.advance(31)  # a died mid-processing: its claim lapses
        assert await other.sweep() == 1  # b finishes it from the stored segments
        assert await starting.sweep() == 0  # … and nobody else does
        record = await records.get(session.id)
        assert record is not None and record.recording_status is RecordingStatus.FAILED
        assert record.recording_error == "no intact segments were left by the stopped host"
        assert record.processing_by == "b" and record.recording_ended_ms == rooms.now_ms()

        # a comes back from a freeze with its own result: refused, nothing overwritten
        assert not await owner.renew(session.id)
        assert not await owner.finish(session.id, recording_status=RecordingStatus.READY)
        world.clock.advance(60)
        assert await other.sweep() == 0 and await starting.sweep() == 0
        async with world.platform.database.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(session_media.c.recording_status, session_media.c.processing_by)
                )
            ).one()
        assert (row.recording_status, row.processing_by) == ("failed", "b")
    finally:
        await world.platform.close()


async def test_the_owner_finishes_its_own_claimed_recording_once(
    postgres: ThrowawayPostgres, fast_config: PlatformConfig, tmp_path: object
) -> None:
    world = await build_world(postgres.new_database(), fast_config)
    try:
        rooms, session, records = await _a_recording_session(world, tmp_path)
        owner = RecordingJobs(records, "a", rooms.now_ms, claim_s=30)
        other = RecordingJobs(records, "b", rooms.now_ms, claim_s=30)
        await owner.begin(session.id)
        world.clock.advance(10)
        assert await owner.finish(
            session.id, recording_status=RecordingStatus.READY, recording_ended_ms=1
        )
        world.clock.advance(60)  # long after: no sweep finds it unfinished
        assert await other.sweep() == 0
        assert not await other.take(session.id, status=RecordingStatus.PROCESSING)
        record = await records.get(session.id)
        assert record is not None and record.recording_status is RecordingStatus.READY
        assert record.processing_by == "a" and record.processing_until_ms is None
    finally:
        await world.platform.close()
