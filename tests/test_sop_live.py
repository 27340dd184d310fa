"""Live assist over signaling: a host starts the assistant, shares a page, feeds a scripted
transcript, and the session record holds the execution table and the QA report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings
from zhanye_sdk.records import RecordService
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.signaling.envelope import ClientMessage
from zhanye_sdk.sop import QaRule
from zhanye_sdk.sop.live import SopLiveService

from .platform_world import World, build_world

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(fast_config: PlatformConfig, tmp_path: Path) -> AsyncIterator[World]:
    config = attrs.evolve(fast_config, materials=MaterialSettings(storage_root=tmp_path / "m"))
    w = await build_world(f"sqlite:///{tmp_path}/live.db", config)
    try:
        yield w
    finally:
        await w.platform.close()


async def test_host_sees_cards_and_checklist_and_the_record_keeps_the_outcome(world: World) -> None:
    platform, admin = world.platform, world.p("ca_A")
    sop = platform.sop
    category = await sop.create_category(admin, "话术")
    card = await sop.create_script(admin, category.id, "风险揭示话术", "", "本产品分红水平不确定")
    brochure = await platform.materials.add_link(admin, "年金保险", "https://example.com/i")
    flow = await sop.create_flow(
        admin,
        "年金保险",
        [
            {"id": "intro", "title": "产品介绍", "key_phrases": ["保险产品"], "pages": "1"},
            {
                "id": "risk",
                "title": "风险揭示",
                "key_phrases": ["风险揭示"],
                "required": True,
                "script_ids": [card.id],
                "pages": "2",
            },
            {"id": "cool", "title": "犹豫期说明", "key_phrases": ["犹豫期"], "required": True},
        ],
        material_id=brochure.id,
    )
    template = await sop.save_template(admin, "保险模板", [flow.id], [world.ids["A1"]])
    await sop.save_rule(
        admin,
        QaRule(
            "x", "承诺保本", "forbidden", severity="critical", deduction=30, expression="保本保息"
        ),
    )
    rooms = RoomService(platform, LocalBus())
    host = world.p("sp_A1")
    session = await rooms.start(host)
    seat = await rooms.seat_for_staff(host, session.id)
    live = SopLiveService(platform)

    async def send(kind: str, **data: object) -> list:
        return await live.handle(seat, ClientMessage(kind, dict(data), id="m"))

    [checklist] = await send("sop.start", template_id=template.id)
    assert checklist.type == "sop.checklist"
    assert [n["title"] for n in checklist.data["flows"][0]["nodes"]] == [
        "产品介绍",
        "风险揭示",
        "犹豫期说明",
    ]
    replies = await send("sop.page", material_id=brochure.id, page=2)
    assert [r.type for r in replies] == ["sop.flow", "sop.card", "ack"]
    assert replies[1].data["content"] == "本产品分红水平不确定"
    lines = [
        ("u1", "您好，今天介绍一款宝险产品", "salesperson"),
        ("u2", "下面是风险解示，请您仔细听", "salesperson"),
        ("u3", "这个产品保本保息吗", "customer"),
        ("u4", "放心，保本保息", "salesperson"),
    ]
    ticked, alerts = [], []
    for i, (uid, text, role) in enumerate(lines):
        replies = await send(
            "sop.segment",
            utterance=uid,
            text=text,
            start_ms=i * 4000,
            end_ms=i * 4000 + 3000,
            speaker="sales-1" if role == "salesperson" else "cust-1",
            role=role,
        )
        ticked += [r.data["node_id"] for r in replies if r.type == "sop.node"]
        alerts += [r.data["rule_name"] for r in replies if r.type == "sop.alert"]
    assert ticked == ["intro", "risk"]
    assert alerts == ["承诺保本"]  # the customer's question is not the salesperson's promise
    [summary] = await send("sop.finish")
    assert summary.type == "sop.summary"
    record = await RecordService(platform, rooms).get(host, session.id)
    assert [(s.level1, s.status) for s in record.sop_steps] == [
        ("产品介绍", "已执行"),
        ("风险揭示", "已执行"),
        ("犹豫期说明", "未执行（必选）"),
    ]
    assert record.sop_steps[1].script == "风险揭示话术"
    assert record.qa_report is not None
    assert record.qa_report["passed"] is False
    assert record.qa_report["score"] == 100 - 30 - 10
    assert record.qa_report["missing_mandatory"] == ["犹豫期说明"]
    assert record.qa_report["violations"][0]["text"] == "放心，保本保息"


async def test_only_the_host_drives_it_and_start_comes_first(world: World) -> None:
    rooms = RoomService(world.platform, LocalBus())
    host = world.p("sp_A1")
    session = await rooms.start(host)
    seat = await rooms.seat_for_staff(host, session.id)
    live = SopLiveService(world.platform)
    [reply] = await live.handle(seat, ClientMessage("sop.page", {"page": 1}, id="a"))
    assert reply.type == "error" and "sop.start" in reply.data["message"]
    customer = attrs.evolve(seat, role="customer", principal=None)
    [reply] = await live.handle(customer, ClientMessage("sop.start", {}, id="b"))
    assert reply.data["code"] == "permission_denied"
