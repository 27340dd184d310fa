"""The demo: ``demo-data`` seeds an SOP library over the brochure (once), and a host built
with ``demo_live_config`` plays the scripted conversation when a salesperson shares the
brochure, on the platform's clock: cards change, every node ticks, the promise raises an
alert, and the room's end writes the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from zhanye_sdk import Platform, cli
from zhanye_sdk.clock import ManualClock
from zhanye_sdk.records import RecordService
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus, staff_channel
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage
from zhanye_sdk.sop.demo import DEMO_TEMPLATE, DEMO_TRANSCRIPT, demo_live_config
from zhanye_sdk.sop.live import SopLiveService
from zhanye_sdk.whiteboard.service import WhiteboardService

pytestmark = pytest.mark.anyio


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/demo.db"
    for _ in range(2):  # the second run adds nothing
        assert cli.main(["--db", url, "demo-data"]) == 0
    return url


async def test_the_demo_plays_its_conversation_when_the_brochure_is_shared(demo_db: str) -> None:
    clock = ManualClock()
    platform = await Platform.open(demo_db, clock=clock)
    try:
        login = await platform.auth.login("demo-admin", "Admin-2024-demo")
        admin = await platform.auth.authenticate(login.token)
        assert [t.name for t in await platform.sop.templates(admin)] == [DEMO_TEMPLATE]
        assert len(await platform.sop.rules(admin)) == 2
        login = await platform.auth.login("demo-sales", "sales1234")
        host = await platform.auth.authenticate(login.token)
        [template] = await platform.sop.templates(host)
        brochure = next(
            m for m in (await platform.materials.list(host)).items if m.name == cli.DEMO_PDF
        )

        bus = LocalBus()
        rooms = RoomService(platform, bus)
        board = WhiteboardService(platform, rooms, bus)
        live = SopLiveService(
            platform, bus, rooms=rooms, whiteboards=board, config=demo_live_config(cli.DEMO_PDF)
        )
        rooms.lifecycle.subscribe(board.on_lifecycle)
        rooms.lifecycle.subscribe(live.on_lifecycle)
        session = await rooms.start(host)
        seat = await rooms.seat_for_staff(host, session.id)
        await rooms.apply(session.id, rooms.join_command(seat))
        seen: list[ServerMessage] = []

        async def drain(inbox: Any) -> None:
            while True:
                try:
                    seen.append(inbox.receive_nowait())
                except anyio.WouldBlock:
                    return

        async with (
            anyio.create_task_group() as tasks,
            bus.subscribe(staff_channel(session.id)) as inbox,
        ):
            await tasks.start(live.run)
            [checklist] = await live.handle(
                seat, ClientMessage("sop.start", {"template_id": template.id}, id="s")
            )
            assert checklist.type == "sop.checklist"
            await board.apply(
                seat, "share.open", {"op_id": "o1", "kind": "file", "source": brochure.id}
            )
            end = DEMO_TRANSCRIPT.lines[-1][3]
            with anyio.fail_after(10):
                while clock.elapsed * 1000 < end + 1000:
                    clock.advance(0.5)
                    await anyio.sleep(0.005)
                    await drain(inbox)
            # The conversation is over: the feeder catches up (every segment is stored
            # before it is applied), then stops and nothing more comes.
            expected = {"overview", "highlights", "growth", "withdraw", "loan", "duty", "notice"}
            with anyio.move_on_after(5):
                while {m.data["node_id"] for m in seen if m.type == "sop.node"} != expected:
                    await anyio.sleep(0.02)
                    await drain(inbox)
            await anyio.sleep(0.3)
            await drain(inbox)
            ticked = [m.data["node_id"] for m in seen if m.type == "sop.node"]
            assert sorted(ticked) == sorted(expected)
            cards = [m.data["name"] for m in seen if m.type == "sop.card"]
            assert cards[0] == "产品概览"  # page 1 on sharing
            assert {"产品亮点", "保障责任说明", "投保须知与风险提示"} <= set(cards)
            alerts = [(m.data["rule_name"], m.data["text"]) for m in seen if m.type == "sop.alert"]
            assert alerts == [("承诺收益", "您放心，这个产品稳赚不赔。")]

            await rooms.end(host, session.id)
            with anyio.fail_after(5):
                while not any(m.type == "sop.summary" for m in seen):
                    await anyio.sleep(0.01)
                    await drain(inbox)
            tasks.cancel_scope.cancel()
        record = await RecordService(platform, rooms).get(host, session.id)
        assert all(step.status == "executed" for step in record.sop_steps)
        assert record.qa_report is not None
        assert record.qa_report.score == 80
        assert record.qa_report.missing_mandatory == []
    finally:
        await platform.close()
