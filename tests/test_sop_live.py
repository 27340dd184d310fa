"""Live assist: a host starts the assistant, the board's shares move it, a transcript ticks
nodes and raises alerts on the staff channel, and the session record holds the outcome —
written by ``sop.finish`` or, without it, when the room ends."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

from zhanye_sdk.errors import ConflictError
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings
from zhanye_sdk.records import RecordService
from zhanye_sdk.rooms.service import RoomService, Seat
from zhanye_sdk.signaling.bus import LocalBus, staff_channel
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage
from zhanye_sdk.sop.live import SopLiveConfig, SopLiveService
from zhanye_sdk.sop.transcript import ScriptedTranscript
from zhanye_sdk.whiteboard.service import WhiteboardService

from .platform_world import World, build_world
from .sop_world import BROCHURE, CARD_INTRO, CARD_RISK, SopLibrary, build_sop_library

pytestmark = pytest.mark.anyio

LINES = [
    ("u1", "您好，今天介绍一款宝险产品", "salesperson"),
    ("u2", "下面是风险解示，请您仔细听", "salesperson"),
    ("u3", "这个产品保本保息吗", "customer"),
    ("u4", "放心，保本保息", "salesperson"),
]


@pytest.fixture
async def world(fast_config: PlatformConfig, tmp_path: Path) -> AsyncIterator[World]:
    config = attrs.evolve(fast_config, materials=MaterialSettings(storage_root=tmp_path / "m"))
    w = await build_world(f"sqlite:///{tmp_path}/live.db", config)
    try:
        yield w
    finally:
        await w.platform.close()


@attrs.define
class Rig:
    """A started session with the SOP service, the board and the staff channel's inbox."""

    world: World
    library: SopLibrary
    rooms: RoomService
    board: WhiteboardService
    live: SopLiveService
    seat: Seat
    inbox: Any
    tasks: Any
    ops: int = 0

    async def send(self, kind: str, **data: object) -> list[ServerMessage]:
        return await self.live.handle(self.seat, ClientMessage(kind, dict(data), id="m"))

    def staff(self) -> list[ServerMessage]:
        """The staff channel's messages so far (drained)."""
        out = []
        while True:
            try:
                out.append(self.inbox.receive_nowait())
            except anyio.WouldBlock:
                return out

    async def until(self, kind: str) -> list[ServerMessage]:
        """Staff messages up to the first of ``kind`` (waiting for the watcher)."""
        seen: list[ServerMessage] = []
        with anyio.fail_after(5):
            while not any(m.type == kind for m in seen):
                seen += self.staff()
                await anyio.sleep(0.01)
        return seen

    async def share(self, op: str, **data: object) -> None:
        self.ops += 1
        await self.board.apply(self.seat, op, {"op_id": f"op-{self.ops}", **data})


@asynccontextmanager
async def rig(world: World, config: SopLiveConfig | None = None) -> AsyncIterator[Rig]:
    library = await build_sop_library(world)
    bus = LocalBus()
    rooms = RoomService(world.platform, bus)
    board = WhiteboardService(world.platform, rooms, bus)
    live = SopLiveService(world.platform, bus, rooms=rooms, whiteboards=board, config=config)
    rooms.lifecycle.subscribe(board.on_lifecycle)
    rooms.lifecycle.subscribe(live.on_lifecycle)
    host = world.p("sp_A1")
    session = await rooms.start(host)
    seat = await rooms.seat_for_staff(host, session.id)
    await rooms.apply(session.id, rooms.join_command(seat))
    async with (
        anyio.create_task_group() as tasks,
        bus.subscribe(staff_channel(session.id)) as inbox,
    ):
        await tasks.start(live.run)
        yield Rig(world, library, rooms, board, live, seat, inbox, tasks)
        tasks.cancel_scope.cancel()


async def feed(r: Rig) -> None:
    for i, (uid, text, role) in enumerate(LINES):
        replies = await r.send(
            "sop.segment",
            utterance=uid,
            text=text,
            start_ms=i * 4000,
            end_ms=i * 4000 + 3000,
            speaker="sales-1" if role == "salesperson" else "cust-1",
            role=role,
        )
        assert [m.type for m in replies] == ["ack"]


async def test_cards_checklist_and_alerts_reach_the_staff_channel_and_finish_writes_the_record(
    world: World,
) -> None:
    async with rig(world) as r:
        [checklist] = await r.send("sop.start", template_id=r.library.template.id)
        assert checklist.type == "sop.checklist"
        [flow] = checklist.data["flows"]
        assert [n["title"] for n in flow["nodes"]] == ["产品介绍", "风险揭示", "犹豫期说明"]
        assert checklist.data["executed"] == [] and checklist.data["card"] is None
        # The page may still say what it shows (a co-browsed link): the card follows.
        assert [
            m.type for m in await r.send("sop.page", material_id=r.library.material_id, page=2)
        ] == ["ack"]
        events = r.staff()
        assert [m.type for m in events] == ["sop.flow", "sop.card"]
        assert events[1].data["content"] == CARD_RISK
        await feed(r)
        events = r.staff()
        assert [m.data["node_id"] for m in events if m.type == "sop.node"] == ["intro", "risk"]
        # The customer's question is not the salesperson's promise.
        assert [m.data["rule_name"] for m in events if m.type == "sop.alert"] == ["承诺保本"]

        # Starting again (a reconnect) keeps the progress and hands it back.
        [again] = await r.send("sop.start", template_id=r.library.template.id)
        assert again.data["executed"] == [[r.library.flow_id, "intro"], [r.library.flow_id, "risk"]]
        assert again.data["card"]["content"] == CARD_RISK
        assert [a["text"] for a in again.data["alerts"]] == ["放心，保本保息"]

        [summary] = await r.send("sop.finish")
        assert summary.type == "sop.summary"
        record = await RecordService(world.platform, r.rooms).get(
            world.p("sp_A1"), r.seat.session_id
        )
        assert [(s.level1, s.status) for s in record.sop_steps] == [
            ("产品介绍", "executed"),
            ("风险揭示", "executed"),
            ("犹豫期说明", "missed_required"),
        ]
        assert record.sop_steps[1].script == "风险揭示话术"
        assert record.qa_report is not None
        assert record.qa_report.passed is False
        assert record.qa_report.score == 100 - 30 - 10
        assert record.qa_report.missing_mandatory == ["犹豫期说明"]
        assert record.qa_report.violations[0].text == "放心，保本保息"


async def test_the_assistant_follows_the_boards_shares_by_itself(world: World) -> None:
    async with rig(world) as r:
        await r.send("sop.start", template_id=r.library.template.id)
        assert r.staff() == []
        await r.share("share.open", kind="file", source=r.library.material_id)
        events = await r.until("sop.card")
        assert [m.type for m in events] == ["sop.flow", "sop.card"]
        assert events[0].data["material_id"] == r.library.material_id
        assert events[1].data["content"] == CARD_INTRO
        document = f"file-{r.library.material_id}"
        await r.share("share.turn", document=document, page=2)
        [card] = await r.until("sop.card")
        assert card.data["content"] == CARD_RISK
        assistant = r.live.assistant(r.seat.session_id)
        assert assistant is not None and assistant.shown == (r.library.material_id, 2)
        # Closing the share leaves the material's flow.
        await r.share("share.close")
        [flow] = await r.until("sop.flow")
        assert flow.data == {"flow_id": None, "material_id": None, "page": None}


async def test_a_late_start_picks_up_what_the_board_shows(world: World) -> None:
    async with rig(world) as r:
        await r.share("share.open", kind="file", source=r.library.material_id)
        await r.share("share.turn", document=f"file-{r.library.material_id}", page=2)
        [checklist] = await r.send("sop.start", template_id=r.library.template.id)
        assert checklist.data["material_id"] == r.library.material_id
        assert checklist.data["page"] == 2
        assert checklist.data["active_flow"] == r.library.flow_id
        assert checklist.data["card"]["content"] == CARD_RISK


async def test_the_room_ending_writes_the_record_without_finish(world: World) -> None:
    async with rig(world) as r:
        await r.send("sop.start", template_id=r.library.template.id)
        await r.share("share.open", kind="file", source=r.library.material_id)
        await r.until("sop.flow")
        await feed(r)
        await r.rooms.end(world.p("sp_A1"), r.seat.session_id)
        events = await r.until("sop.summary")
        summary = next(m for m in events if m.type == "sop.summary")
        assert summary.data["qa"]["score"] == 100 - 30 - 10
        assert r.live.assistant(r.seat.session_id) is None
        record = await RecordService(world.platform, r.rooms).get(
            world.p("sp_A1"), r.seat.session_id
        )
        assert [s.status for s in record.sop_steps] == ["executed", "executed", "missed_required"]
        assert record.qa_report is not None
        assert [v.rule_name for v in record.qa_report.violations] == ["承诺保本"]
        # The ended session's outcome stays as written: the assistant does not restart.
        with pytest.raises(ConflictError, match="ended"):
            await r.send("sop.start", template_id=r.library.template.id)


async def test_a_scripted_transcript_plays_when_its_material_is_shared(world: World) -> None:
    script = ScriptedTranscript(
        [
            ("salesperson", "今天给您介绍一款保险产品", 0, 100),
            ("customer", "好的", 150, 200),
            ("salesperson", "接下来是风险揭示", 250, 300),
        ],
        partial_chars=4,
    )
    config = SopLiveConfig(scripted={BROCHURE: script}, tick_s=0.02)
    async with rig(world, config) as r:
        await r.send("sop.start", template_id=r.library.template.id)
        await r.share("share.open", kind="file", source=r.library.material_id)
        await r.until("sop.card")
        await anyio.sleep(0.2)
        assert [m.type for m in r.staff()] == []  # the platform's clock has not moved
        seen: list[ServerMessage] = []
        with anyio.fail_after(5):
            while len([m for m in seen if m.type == "sop.node"]) < 2:
                world.clock.advance(0.05)
                await anyio.sleep(0.03)
                seen += r.staff()
        assert [m.data["node_id"] for m in seen if m.type == "sop.node"] == ["intro", "risk"]
        assert {m.data["speaker"] for m in seen if m.type == "sop.node"} == {"salesperson"}


async def test_a_host_source_feeds_the_assistant(world: World) -> None:
    async with rig(world) as r:
        await r.send("sop.start", template_id=r.library.template.id)
        await r.send("sop.page", material_id=r.library.material_id, page=2)
        source = ScriptedTranscript([("spk-0", "这是风险揭示部分", 0, 1000)])
        await r.live.listen(r.seat.session_id, source, {"spk-0": "salesperson"})
        assert [m.data["node_id"] for m in r.staff() if m.type == "sop.node"] == ["risk"]
        # Another source numbering its utterances from the start again is heard too.
        again = ScriptedTranscript([("spk-0", "放心，保本保息", 2000, 3000)])
        await r.live.listen(r.seat.session_id, again, {"spk-0": "salesperson"})
        assert [m.data["rule_name"] for m in r.staff() if m.type == "sop.alert"] == ["承诺保本"]
        with pytest.raises(Exception, match="salesperson or customer"):
            await r.live.listen(r.seat.session_id, source, {"spk-0": "boss"})


async def test_only_the_host_drives_it_and_start_comes_first(world: World) -> None:
    async with rig(world) as r:
        [reply] = await r.send("sop.page", page=1)
        assert reply.type == "error" and "sop.start" in reply.data["message"]
        customer = attrs.evolve(r.seat, role="customer", principal=None)
        for kind in ("sop.start", "sop.segment", "sop.finish"):
            [reply] = await r.live.handle(customer, ClientMessage(kind, {}, id="b"))
            assert reply.data["code"] == "permission_denied"
        assert r.staff() == []


def garbage(rng: random.Random, depth: int = 0) -> object:
    choice = rng.randrange(9 if depth < 2 else 7)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 1, 2**70, 10**16, 3])
    if choice == 3:
        return rng.choice([float("inf"), float("nan"), 1.5, -0.0])
    if choice == 4:
        return rng.choice(["", "保本保息", "x" * 5000, "salesperson", "customer", "\\x00"])
    if choice == 5:
        return rng.choice(["u1", "sales", "1"])
    if choice == 6:
        return str(rng.random())
    if choice == 7:
        return [garbage(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {k: garbage(rng, depth + 1) for k in rng.sample(FIELDS, rng.randrange(4))}


FIELDS = [
    "utterance",
    "text",
    "start_ms",
    "end_ms",
    "speaker",
    "role",
    "final",
    "page",
    "material_id",
    "template_id",
]


async def test_garbage_is_refused_with_a_message_and_changes_nothing(world: World) -> None:
    rng = random.Random(7)
    async with rig(world) as r:
        await r.send("sop.start", template_id=r.library.template.id)
        for _ in range(400):
            kind = rng.choice(["sop.start", "sop.page", "sop.segment", "sop.nonsense"])
            data = {k: garbage(rng) for k in rng.sample(FIELDS, rng.randrange(1, 7))}
            replies = await r.live.handle(r.seat, ClientMessage(kind, data, id="g"))
            assert [m.type for m in replies] in (["ack"], ["error"], ["sop.checklist"])
            if replies[0].type == "error":
                assert replies[0].data["code"] in ("invalid_input", "permission_denied")
        assistant = r.live.assistant(r.seat.session_id)
        assert assistant is not None and assistant.executed == {}
