"""Record exports shared by the processes of a scale-out deployment (real PostgreSQL).

Each ``SharedExports`` stands for one host process on the same database (time is the
platform's manual clock, so a claim lapses exactly when the test says). A job claimed
by a process that then dies is claimed by no one else while the claim holds, then by
another process, which finishes it; a third serves the file. Two runners working
through the same queue run every job exactly once.

The end-to-end version (a host process killed after taking the request) is in
``tests/test_cluster_relay_processes.py``.
"""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from zhanye_sdk.cluster.exports import SharedExports
from zhanye_sdk.platform.config import PlatformConfig
from zhanye_sdk.platform.permissions import NotAccessible
from zhanye_sdk.records.jobs import ExportState
from zhanye_sdk.records.service import RecordService
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.store.schema import export_jobs

from .platform_world import build_world
from .postgres import ThrowawayPostgres

pytestmark = pytest.mark.anyio


async def test_an_export_whose_process_died_is_finished_by_another(
    postgres: ThrowawayPostgres, fast_config: PlatformConfig
) -> None:
    world = await build_world(postgres.new_database(), fast_config)
    try:
        salesperson = world.p("sp_A1")
        rooms = RoomService(world.platform, LocalBus())
        session = await rooms.start(salesperson, title="百万安心疗讲解")
        records = RecordService(world.platform, rooms)
        db = world.platform.database

        def process(node: str) -> SharedExports:
            return SharedExports(records, world.clock, db, node, claim_s=10)

        dead, survivor = process("a"), process("b")
        job = await dead.start(salesperson, None, "csv")
        claimed = await dead.claim()  # process a takes the job … and dies before the end
        assert claimed is not None and claimed.id == job.id
        assert await survivor.claim() is None  # its claim holds: nobody runs it twice
        assert (await survivor.status(salesperson, job.id)).state is ExportState.RUNNING

        world.clock.advance(11)  # a renews no more: its claim lapses
        resumed = await survivor.claim()
        assert resumed is not None and resumed.id == job.id
        await survivor.run_claimed(resumed)

        third = process("c")
        path, finished = await third.file(salesperson, job.id)
        assert finished.state is ExportState.DONE and finished.done == finished.total == 1
        text = path.read_bytes().decode("utf-8-sig")
        assert session.meeting_number in text and "百万安心疗讲解" in text
        with pytest.raises(NotAccessible):
            await third.status(world.p("sp2_A1"), job.id)  # someone else's: not found
        async with db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(export_jobs.c.claimed_by, export_jobs.c.attempts).where(
                        export_jobs.c.id == job.id
                    )
                )
            ).one()
        assert (row.claimed_by, row.attempts) == ("b", 2)
        for exports in (dead, survivor, third):
            exports.close()
    finally:
        await world.platform.close()


async def test_two_runners_run_every_queued_export_exactly_once(
    postgres: ThrowawayPostgres, fast_config: PlatformConfig
) -> None:
    world = await build_world(postgres.new_database(), fast_config)
    try:
        rooms = RoomService(world.platform, LocalBus())
        records = RecordService(world.platform, rooms)
        db = world.platform.database
        runners = [
            SharedExports(records, world.clock, db, node, poll_s=0.05) for node in ("a", "b")
        ]
        jobs = [
            await runners[n % 2].start(world.p(who), None, "xlsx")
            for n, who in enumerate(["sp_A1", "sp_A1", "sp_A1", "sp2_A1", "sp2_A1", "oa_A1"])
        ]
        async with anyio.create_task_group() as tasks:
            for runner in runners:
                tasks.start_soon(runner.run)
            with anyio.fail_after(60):
                while True:
                    async with db.connect() as conn:
                        states = (
                            await conn.execute(
                                sa.select(export_jobs.c.state, export_jobs.c.attempts)
                            )
                        ).all()
                    if all(s.state == ExportState.DONE.value for s in states):
                        break
                    await anyio.sleep(0.1)
            tasks.cancel_scope.cancel()
        assert len(states) == len(jobs) and {s.attempts for s in states} == {1}
    finally:
        await world.platform.close()
