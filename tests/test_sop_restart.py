"""A host restart in the middle of a session loses nothing of the SOP assistant: a new
``SopLiveService`` over the same database (a new process) has the same checklist, card and
alerts, keeps following the board and the transcript, and the room's end writes one record
with everything; a room that ended while the host was down gets its record on start."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
import sqlalchemy as sa

from zhanye_sdk import Platform
from zhanye_sdk.errors import ConflictError
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings
from zhanye_sdk.records import RecordService
from zhanye_sdk.rooms.service import RoomService, Seat
from zhanye_sdk.signaling.bus import LocalBus, staff_channel
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage
from zhanye_sdk.sop.live import SopLiveService
from zhanye_sdk.store.schema import sop_assist_inputs, sop_session_reports
from zhanye_sdk.whiteboard.service import WhiteboardService

from .platform_world import World, build_world
from .sop_world import CARD_INTRO, CARD_RISK, SopLibrary, build_sop_library

pytestmark = pytest.mark.anyio


@attrs.frozen
class Setup:
    world: World
    url: str
    config: PlatformConfig
    library: SopLibrary


@pytest.fixture
async def s(fast_config: PlatformConfig, tmp_path: Path, database_url: str) -> AsyncIterator[Setup]:
    """The world and the SOP library, on SQLite and on PostgreSQL."""
    config = attrs.evolve(fast_config, materials=MaterialSettings(storage_root=tmp_path / "m"))
    url = database_url
    world = await build_world(url, config)
    try:
        yield Setup(world, url, config, await build_sop_library(world))
    finally:
        await world.platform.close()


@attrs.define
class Host:
    """One host process: its platform over the shared database and its services."""

    platform: Platform
    rooms: RoomService
    board: WhiteboardService
    live: SopLiveService
    inbox: Any

    def staff(self) -> list[ServerMessage]:
        out = []
        while True:
            try:
                out.append(self.inbox.receive_nowait())
            except anyio.WouldBlock:
                return out

    async def until(self, kind: str) -> list[ServerMessage]:
        seen: list[ServerMessage] = []
        with anyio.fail_after(5):
            while not any(m.type == kind for m in seen):
                seen += self.staff()
                await anyio.sleep(0.01)
        return seen


@asynccontextmanager
async def host_process(
    s: Setup, session_id: str | None = None, *, run: bool = True
) -> AsyncIterator[tuple[Host, str]]:
    """A host process over the shared database; a session is started unless given.

    Leaving the block stops the process: its tasks are cancelled, its memory is gone.
    """
    platform = await Platform.open(s.url, config=s.config, clock=s.world.clock)
    bus = LocalBus()
    rooms = RoomService(platform, bus)
    board = WhiteboardService(platform, rooms, bus)
    live = SopLiveService(platform, bus, rooms=rooms, whiteboards=board)
    if session_id is None:
        session_id = (await rooms.start(s.world.p("sp_A1"))).id
    try:
        async with (
            anyio.create_task_group() as tasks,
            bus.subscribe(staff_channel(session_id)) as inbox,
        ):
            if run:  # as a deployment runs its services: subscribed, recovered, running
                rooms.lifecycle.subscribe(board.on_lifecycle)
                rooms.lifecycle.subscribe(live.on_lifecycle)
                await board.recover()
                await live.recover()
                await tasks.start(board.run)
                await tasks.start(live.run)
            yield Host(platform, rooms, board, live, inbox), session_id
            tasks.cancel_scope.cancel()
    finally:
        await platform.close()


async def seat_of(s: Setup, host: Host, session_id: str, join: bool = False) -> Seat:
    seat = await host.rooms.seat_for_staff(s.world.p("sp_A1"), session_id)
    if join:
        await host.rooms.apply(session_id, host.rooms.join_command(seat))
    return seat


async def send(host: Host, seat: Seat, kind: str, **data: object) -> ServerMessage:
    [reply] = await host.live.handle(seat, ClientMessage(kind, dict(data), id="m"))
    assert reply.type != "error", reply.data
    return reply


async def say(
    host: Host, seat: Seat, utterance: str, text: str, at_s: int, role: str = "salesperson"
) -> None:
    speaker = "sales-1" if role == "salesperson" else "cust-1"
    data = {"utterance": utterance, "text": text, "speaker": speaker, "role": role}
    await send(host, seat, "sop.segment", **data, start_ms=at_s * 1000, end_ms=at_s * 1000 + 900)


async def first_half(s: Setup, host: Host, session_id: str) -> Seat:
    """Start the template, share the brochure, say the intro and a forbidden promise."""
    seat = await seat_of(s, host, session_id, join=True)
    await send(host, seat, "sop.start", template_id=s.library.template.id)
    ops = {"op_id": "o1", "kind": "file", "source": s.library.material_id}
    await host.board.apply(seat, "share.open", ops)
    assert (await host.until("sop.card"))[-1].data["content"] == CARD_INTRO
    await say(host, seat, "u1", "您好，今天介绍一款宝险产品", 0)
    await say(host, seat, "u2", "这个产品保本保息吗", 4, role="customer")
    await say(host, seat, "u3", "放心，保本保息", 8)
    return seat


async def stored_inputs(platform: Platform, session_id: str) -> int:
    async with platform.database.connect() as conn:
        query = sa.select(sa.func.count()).where(sop_assist_inputs.c.session_id == session_id)
        return int((await conn.execute(query)).scalar_one())


async def test_a_restarted_host_carries_on_and_the_room_end_writes_one_record(s: Setup) -> None:
    async with host_process(s) as (first, sid):
        await first_half(s, first, sid)
        before = first.live.progress(sid)
        summary = first.live.assistant(sid).summary()  # type: ignore[union-attr]
        assert before is not None and before["executed"] == [[s.library.flow_id, "intro"]]
        assert [a["rule_name"] for a in before["alerts"]] == ["承诺保本"]

    # A new process over the same database: the checklist, card and alerts are as before.
    async with host_process(s, sid) as (second, _):
        assert second.live.progress(sid) == before
        assert second.live.assistant(sid).summary() == summary  # type: ignore[union-attr]
        seat = await seat_of(s, second, sid)
        # The host's page reconnects and starts again: it gets the progress back.
        checklist = await send(second, seat, "sop.start", template_id=s.library.template.id)
        assert checklist.data == before
        # The board is watched again: turning the page moves the card.
        await second.board.apply(
            seat,
            "share.turn",
            {"op_id": "o2", "document": f"file-{s.library.material_id}", "page": 2},
        )
        assert (await second.until("sop.card"))[-1].data["content"] == CARD_RISK
        # More of the transcript continues where it was.
        await say(second, seat, "u4", "下面是风险解示，请您仔细听", 12)
        await say(second, seat, "u5", "最后说明犹豫期十五天", 16)
        nodes = [m.data["node_id"] for m in second.staff() if m.type == "sop.node"]
        assert nodes == ["risk", "cool"]

        await second.rooms.end(s.world.p("sp_A1"), sid)
        [summary_message] = [
            m for m in await second.until("sop.summary") if m.type == "sop.summary"
        ]
        assert summary_message.data["qa"]["score"] == 100 - 30

        record = await RecordService(second.platform, second.rooms).get(s.world.p("sp_A1"), sid)
        assert [(x.level1, x.status) for x in record.sop_steps] == [
            ("产品介绍", "executed"),
            ("风险揭示", "executed"),
            ("犹豫期说明", "executed"),
        ]
        qa = record.qa_report
        assert qa is not None and qa.score == 70 and qa.passed is False
        assert qa.missing_mandatory == []
        [violation] = qa.violations
        assert (violation.rule_name, violation.text) == ("承诺保本", "放心，保本保息")
        assert (violation.time_ms, violation.speaker, violation.role) == (
            8000,
            "sales-1",
            "salesperson",
        )
        assert record.summary.qa_score == 70 and record.summary.qa_passed is False
        # One record, and nothing left to replay.
        async with second.platform.database.connect() as conn:
            reports = sa.select(sa.func.count()).where(sop_session_reports.c.session_id == sid)
            assert (await conn.execute(reports)).scalar_one() == 1
        assert await stored_inputs(second.platform, sid) == 0
        assert second.live.assistant(sid) is None


async def test_a_room_that_ended_while_the_host_was_down_gets_its_record_on_start(
    s: Setup,
) -> None:
    async with host_process(s) as (first, sid):
        await first_half(s, first, sid)
    # The session ends while no SOP service runs (another process ended it).
    async with host_process(s, sid, run=False) as (other, _):
        await other.rooms.end(s.world.p("sp_A1"), sid)
        assert await stored_inputs(other.platform, sid) > 0
    async with host_process(s, sid) as (second, _):
        [summary] = [m for m in await second.until("sop.summary") if m.type == "sop.summary"]
        assert summary.data["qa"]["missing_mandatory"] == ["风险揭示", "犹豫期说明"]
        record = await RecordService(second.platform, second.rooms).get(s.world.p("sp_A1"), sid)
        assert [x.status for x in record.sop_steps] == [
            "executed",
            "missed_required",
            "missed_required",
        ]
        assert record.qa_report is not None
        assert [v.rule_name for v in record.qa_report.violations] == ["承诺保本"]
        assert record.qa_report.score == 100 - 30 - 10 - 10
        assert await stored_inputs(second.platform, sid) == 0
        seat = await seat_of(s, second, sid)
        with pytest.raises(ConflictError, match="ended"):
            await second.live.start(seat.principal, sid, s.library.template.id)  # type: ignore[arg-type]


async def test_without_run_a_reconnecting_host_restores_the_assistant(s: Setup) -> None:
    async with host_process(s) as (first, sid):
        await first_half(s, first, sid)
        before = first.live.progress(sid)
    async with host_process(s, sid, run=False) as (second, _):
        seat = await seat_of(s, second, sid)
        [refused] = await second.live.handle(seat, ClientMessage("sop.page", {"page": 1}, id="p"))
        assert refused.type == "error" and "sop.start" in refused.data["message"]
        checklist = await send(second, seat, "sop.start", template_id=s.library.template.id)
        assert checklist.data == before
        await say(second, seat, "u4", "下面是风险解示，请您仔细听", 12)
        assert [m.data["node_id"] for m in second.staff() if m.type == "sop.node"] == ["risk"]
        steps, report = await second.live.finish(sid)
        assert [x["status"] for x in steps] == ["executed", "executed", "missed_required"]
        assert [v["role"] for v in report["violations"]][:1] == ["salesperson"]


async def test_unreadable_stored_inputs_leave_the_other_sessions_restored(s: Setup) -> None:
    async with host_process(s) as (first, sid):
        await first_half(s, first, sid)
        before = first.live.progress(sid)
        other = (await first.rooms.start(s.world.p("sp2_A1"))).id
        async with first.platform.database.begin() as conn:
            await conn.execute(
                sop_assist_inputs.insert(),
                [
                    {"session_id": other, "seq": 1, "kind": "segment", "data": "{}", "at_ms": 0},
                    {"session_id": other, "seq": 2, "kind": "??", "data": "[", "at_ms": 0},
                ],
            )
    async with host_process(s, sid) as (second, _):
        assert second.live.progress(sid) == before
        assert second.live.assistant(other) is None
        assert await stored_inputs(second.platform, other) == 2  # left for a look, not lost


WARM_CHECK = """
import sys, time
import anyio
from zhanye_sdk import Deployment, DeploymentConfig
from zhanye_sdk.sop.pinyin import phrase_readings

async def main() -> None:
    async with Deployment.open(DeploymentConfig(database_url=sys.argv[1])):
        deadline = time.monotonic() + 30
        # The package's names are bound once its tables are loaded.
        while getattr(sys.modules.get("pypinyin"), "pinyin", None) is None:
            if time.monotonic() > deadline:
                sys.exit("nothing loaded the pinyin tables in 30 s")
            await anyio.sleep(0.1)
        began = time.monotonic()
        phrase_readings("介绍保险产品")
        print(time.monotonic() - began)

anyio.run(main)
"""


def test_a_started_process_has_the_pinyin_tables_before_a_room_needs_them(tmp_path: Path) -> None:
    """A process that takes a room over replays its SOP assistant before the room serves
    anyone. The first pinyin reading in a process loads pypinyin's tables (1–4 s on this
    machine), which froze the survivor's event loop — every room it serves — in the middle
    of a failover. A started deployment loads them in the background: readings are
    instant by the time a room needs them (a fresh interpreter, as a host process is)."""
    ran = subprocess.run(
        [sys.executable, "-c", WARM_CHECK, f"sqlite:///{tmp_path}/z.db"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert float(ran.stdout) < 0.25, ran.stdout
