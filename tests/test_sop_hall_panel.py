"""SOP 实时辅助 in the session hall, in real browsers: the salesperson sees the card of the
shared page, the checklist ticking as the transcript comes in and the QA alert; the
customer's phone shows none of it; a reload keeps the progress; ending shows the score."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from zhanye_sdk.signaling.endpoint import SignalingConfig
from zhanye_sdk.sop.transcript import ScriptedTranscript

from .hall_pages import copy_invite, join, open_share_menu, push_link
from .platform_world import World
from .sop_world import BROCHURE, CARD_INTRO, CARD_RISK, SopLibrary, build_sop_library
from .test_web_admin_pages import log_in
from .webhost import DEPLOYMENT, RunningHost, world_host

pytestmark = pytest.mark.e2e

LINK_CARD = "请客户逐项填写投保信息，敏感信息会自动遮挡。"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[RunningHost]:
    async def prepare(world: World) -> tuple[World, SopLibrary]:
        return world, await build_sop_library(world)

    with world_host(
        tmp_path,
        prepare,
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
        storage=tmp_path / "m",
    ) as running:
        yield running


def node(page: Page, node_id: str) -> Any:
    return page.locator(f'#sop-panel [data-node="{node_id}"]')


def test_the_salesperson_sees_cards_ticks_and_alerts_and_the_customer_sees_none(
    browser: Any, host: RunningHost
) -> None:
    _world, library = host.extra
    staff_context = browser.new_context(viewport={"width": 1366, "height": 900})
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    try:
        staff = staff_context.new_page()
        log_in(staff, host, "sp-A1")
        staff.get_by_role("button", name="开始会话").click()
        expect(staff.locator("#connection")).to_have_text("已连接")
        panel = staff.locator("#sop-panel")
        expect(panel.get_by_role("heading", name="SOP 实时辅助")).to_be_visible()
        expect(panel.get_by_label("SOP模板")).to_have_value(library.template.id)
        expect(panel).to_have_attribute("data-state", "started")
        expect(panel.get_by_text("共享素材后，这里显示对应的讲解话术。")).to_be_visible()
        expect(panel.locator(".sop-node")).to_have_count(3)
        expect(panel.get_by_text("当前共享的素材没有关联流程。")).to_be_visible()

        invite = copy_invite(staff)
        phone = join(phone_context, invite, "客户王女士")

        # Sharing the brochure: the server moves the assistant, the card of page 1 shows.
        open_share_menu(staff, "共享文件")
        staff.locator(f'#board-share-dialog li[data-name="{BROCHURE}"]').get_by_role(
            "button", name="共享"
        ).click()
        card = panel.locator(".sop-card article")
        expect(card).to_contain_text(CARD_INTRO)
        expect(panel.get_by_text("当前共享的素材没有关联流程。")).to_be_hidden()
        expect(panel.locator(".sop-flow.active")).to_have_attribute("open", "")
        staff.get_by_role("button", name="下一页").click()
        expect(card).to_contain_text(CARD_RISK)

        # The host's own ASR feeds the SDK's transcript source: nodes tick live.
        sid = staff.url.rsplit("/", 1)[1]
        live = host.app[DEPLOYMENT].sop_live
        roles = {"sales": "salesperson", "cust": "customer"}
        host.run(
            live.listen(
                sid,
                ScriptedTranscript(
                    [
                        ("sales", "您好，今天给您介绍一款宝险产品", 0, 3000),
                        ("sales", "下面是风险解示，请您仔细听", 4000, 7000),
                    ],
                    partial_chars=5,
                ),
                roles,
            )
        )
        for done in ("intro", "risk"):
            expect(node(staff, done)).to_have_attribute("data-done", "true")
        expect(node(staff, "cool")).to_have_attribute("data-done", "false")
        expect(panel.get_by_text("暂无质检提醒")).to_be_visible()

        # A forbidden promise raises an alert for the salesperson.
        host.run(
            live.listen(
                sid,
                ScriptedTranscript(
                    [
                        ("cust", "这个产品保本保息吗", 8000, 9000),
                        ("sales", "放心，保本保息", 9500, 11000),
                    ]
                ),
                roles,
            )
        )
        alert = panel.locator(".sop-alert")
        expect(alert).to_have_count(1)
        expect(alert).to_contain_text("承诺保本")
        expect(alert).to_contain_text("放心，保本保息")
        expect(alert).to_contain_text("严重")

        # The customer's phone: the shared page, but no script, no checklist, no alert.
        expect(phone.locator("#board-panel .page-label")).to_have_text("第 2 / 3 页")
        expect(phone.locator("#sop-panel")).to_have_count(0)
        for text in ("承诺保本", CARD_RISK, "风险揭示"):
            expect(phone.get_by_text(text)).to_have_count(0)

        # A reload (in English) keeps the progress: ticks, card and alert come back.
        staff.goto(staff.url + "?lang=en")
        expect(panel.get_by_role("heading", name="SOP assistant")).to_be_visible()
        expect(card).to_contain_text(CARD_RISK)
        for done in ("intro", "risk"):
            expect(node(staff, done)).to_have_attribute("data-done", "true")
        expect(panel.locator(".sop-alert")).to_have_count(1)
        staff.goto(staff.url.split("?")[0] + "?lang=zh-CN")
        expect(panel).to_have_attribute("data-state", "started")

        # Ending the session writes the record and shows the score.
        staff.get_by_role("button", name="结束会话").click()
        staff.get_by_role("dialog").get_by_role("button", name="确定").click()
        expect(panel.get_by_role("status")).to_have_text("本次会话质检得分 60（不合格）")
        expect(phone.get_by_text("质检得分")).to_have_count(0)
        # Back in the hall of the ended session: no assistant to restart, the record has it.
        staff.reload()
        expect(panel.get_by_role("status")).to_have_text(
            "会话已结束，SOP 执行情况和质检报告见会话记录。"
        )
        expect(panel).to_have_attribute("data-state", "ended")
    finally:
        staff_context.close()
        phone_context.close()


def test_a_pushed_product_link_brings_its_flow_and_card(browser: Any, host: RunningHost) -> None:
    world, library = host.extra
    admin = world.p("ca_A")
    sop = world.platform.sop

    async def link_flow() -> None:
        link = await world.platform.materials.add_link(
            admin, "百万安心疗", f"{host.url}/demo/h5/product.html", title="百万安心疗"
        )
        category = (await sop.categories(admin))[0]
        script = await sop.create_script(admin, category.id, "投保引导", "", LINK_CARD)
        flow = await sop.create_flow(
            admin,
            "百万安心疗投保",
            [{"id": "form", "title": "填写投保信息", "script_ids": [script.id]}],
            material_id=link.id,
        )
        template = library.template
        flows = [*template.flow_ids, flow.id]
        await sop.save_template(
            admin, template.name, flows, [world.ids["A1"]], template_id=template.id
        )

    host.run(link_flow())
    staff_context = browser.new_context(viewport={"width": 1366, "height": 900})
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    try:
        staff = staff_context.new_page()
        log_in(staff, host, "sp-A1")
        staff.get_by_role("button", name="开始会话").click()
        expect(staff.locator("#sop-panel")).to_have_attribute("data-state", "started")
        invite = copy_invite(staff)
        join(phone_context, invite, "客户李先生")
        push_link(staff, "百万安心疗")
        panel = staff.locator("#sop-panel")
        expect(panel.locator(".sop-card article")).to_contain_text(LINK_CARD)
        expect(panel.locator(".sop-flow.active summary")).to_have_text("百万安心疗投保")
    finally:
        staff_context.close()
        phone_context.close()
