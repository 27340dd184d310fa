"""测评 (assessments) in real browsers: the salesperson shares the risk-tolerance
questionnaire like an H5 product, the customer answers it on a phone and submits, and
the answers (never the masked ID number) are in the session record's details."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from .hall_pages import open_share_menu
from .platform_world import World
from .test_web_admin_pages import log_in
from .webhost import RunningHost, world_host

pytestmark = pytest.mark.e2e

ID_NUMBER = "110101199003077777"


@pytest.fixture
def host(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHost]:
    monkeypatch.chdir(tmp_path)
    with world_host(tmp_path) as running:
        yield running


def test_customer_submits_an_assessment_and_the_record_shows_the_answers(
    browser: Any, host: RunningHost
) -> None:
    world: World = host.extra
    assert host.platform is not None
    host.run(
        host.platform.materials.add_link(
            world.p("oa_A1"),
            "风险承受能力测评",
            f"{host.url}/demo/h5/risk-assessment.html",
            title="客户风险承受能力评估问卷",
            assessment=True,
        )
    )
    staff_context = browser.new_context(viewport={"width": 1366, "height": 900})
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    try:
        staff = staff_context.new_page()
        log_in(staff, host, "sp-A1")
        staff.get_by_role("button", name="开始会话").click()
        expect(staff.locator("#connection")).to_have_text("已连接")
        session_id = staff.url.rsplit("/", 1)[1]
        staff.get_by_role("button", name="邀请客户").click()
        expect(staff.locator("#invite-link")).to_have_value(re.compile("/join/"))
        link = staff.locator("#invite-link").input_value()
        staff.keyboard.press("Escape")

        phone = phone_context.new_page()
        phone.goto(link)
        phone.get_by_label("您的称呼").fill("客户王女士")
        phone.get_by_label(re.compile("全程录音录像")).check()
        phone.get_by_role("button", name="进入会话").click()
        expect(staff.locator('#members li[data-name="客户王女士"]')).to_be_visible()

        # 共享 → 共享测评: listed there (not among the products), pushed after confirmation.
        open_share_menu(staff, "共享产品链接")
        expect(staff.locator("#share-dialog .link-item")).to_have_count(0)
        staff.locator("#share-dialog").get_by_role("button", name="取消").click()
        open_share_menu(staff, "共享测评")
        items = staff.locator("#share-dialog .link-item")
        expect(items).to_have_count(1)
        items.first.click()
        confirm = staff.locator("dialog.confirm")
        expect(confirm).to_contain_text("确认推送【风险承受能力测评】测评？")
        confirm.get_by_role("button", name="确定").click()
        page = phone.frame_locator("#cobrowse-page")
        expect(page.get_by_role("heading", name="客户风险承受能力评估问卷")).to_be_visible()
        mirror = staff.frame_locator("#cobrowse-mirror")
        expect(mirror.get_by_role("heading", name="客户风险承受能力评估问卷")).to_be_visible()

        page.locator("#name").fill("王芳")
        page.locator("#id-number").fill(ID_NUMBER)
        page.get_by_role("radio", name="30–45 岁").check()
        page.get_by_role("radio", name="30–100 万元").check()
        page.get_by_role("radio", name="1–3 年").check()
        page.get_by_role("radio", name="10% 以内").check()
        page.get_by_role("checkbox", name="保本保值").check()
        page.get_by_role("checkbox", name="稳定收益").check()
        # The salesperson follows along in the mirror (co-browse).
        expect(mirror.locator("#name")).to_have_value("王芳")
        page.get_by_role("button", name="提交问卷").click()
        expect(page.locator("#result")).to_contain_text("提交成功")
        expect(phone.locator("[data-cobrowse=notice]")).to_have_text(
            "问卷已提交，答案已保存到会话记录。"
        )
        expect(staff.locator("#notice")).to_contain_text("客户已提交测评“风险承受能力测评”")

        # The record's details list the answers, never the masked ID number.
        records = staff
        records.goto(f"{host.url}/records?view={session_id}")
        details = records.get_by_role("dialog", name="会议详情")
        expect(details).to_be_visible()
        answers = details.locator("#record-assessments")
        expect(answers.locator("h4")).to_contain_text("风险承受能力测评（客户王女士，")
        rows = answers.locator("tbody tr")
        expect(rows).to_have_text(
            [
                re.compile(r"姓名\s*王芳"),
                re.compile(r"1\. 您的年龄\s*30–45 岁"),
                re.compile(r"2\. 您的家庭年收入\s*30–100 万元"),
                re.compile(r"3\. 您的投资经验\s*1–3 年"),
                re.compile(r"4\. 您能接受的最大亏损\s*10% 以内"),
                re.compile(r"5\. 您的投资目标（可多选）\s*保本保值、稳定收益"),
            ]
        )
        assert ID_NUMBER not in records.content()
        materials = details.locator("#record-materials tbody tr")
        expect(materials.first).to_contain_text("测评")
        expect(materials.first).to_contain_text("风险承受能力测评")
    finally:
        phone_context.close()
        staff_context.close()
