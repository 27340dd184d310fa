"""工作台 in a real browser, on a 375×812 phone as in the manual's §5: start a session
with a project and a title, the 展业会议列表 (unfinished and today's, with status,
customers and duration), one-click rejoin or record, and the §5.7 prompt."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from zhanye_sdk.rooms.core import RoomState

from .platform_world import World
from .test_web_admin_pages import log_in
from .webhost import RunningHost, phone_context, world_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    with world_host(tmp_path) as running:
        yield running


@pytest.fixture
def phone(browser: Any) -> Iterator[Page]:
    context = phone_context(browser)
    try:
        yield context.new_page()
    finally:
        context.close()


def inside_viewport(page: Page, selector: str) -> None:
    """Every element matching ``selector`` lies within the 375 px width."""
    boxes = page.locator(selector).evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; })"
    )
    assert boxes, selector
    for left, right in boxes:
        assert left >= 0 and right <= 375, (selector, left, right)


def test_workbench_lists_meetings_rejoins_and_asks_before_a_second_one(
    phone: Page, host: RunningHost
) -> None:
    world: World = host.extra
    rooms = host.deployment.rooms
    # An earlier meeting of today, ended, with a customer: listed with its record.
    earlier = host.run(rooms.start(world.p("sp_A1"), project="养老险", title="李先生首访"))
    host.run(rooms.end(world.p("sp_A1"), earlier.id))
    # Someone else's meeting is not in this salesperson's list.
    host.run(rooms.start(world.p("sp2_A1"), title="别人的会议"))

    log_in(phone, host, "sp-A1")
    expect(phone).to_have_url(re.compile(r"/workbench$"))
    meetings = phone.locator("#meetings li")
    expect(meetings).to_have_count(1)
    card = phone.locator(f'li[data-meeting="{earlier.meeting_number}"]')
    expect(card).to_contain_text("李先生首访")
    expect(card).to_contain_text("已结束")
    expect(card).to_contain_text("项目：养老险")
    expect(card).to_contain_text("客户 0 人")
    expect(card.get_by_role("link", name="查看记录")).to_be_visible()
    expect(phone.get_by_text("别人的会议")).to_have_count(0)

    # 开始会话 with a 项目 and a 会议主题 opens the hall.
    phone.get_by_label("项目（可选）").fill("重疾险")
    phone.get_by_label("会议主题（可选）").fill("张女士复访")
    phone.get_by_role("button", name="开始会话").click()
    expect(phone).to_have_url(re.compile(r"/sessions/[0-9a-f]+$"))
    first = phone.url
    first_id = first.rsplit("/", 1)[1]
    summary = host.run(rooms.get(world.p("sp_A1"), first_id))
    assert (summary.project, summary.title) == ("重疾险", "张女士复访")

    # Back on the workbench the unfinished meeting comes first, with one-click rejoin.
    phone.goto(f"{host.url}/workbench")
    expect(meetings).to_have_count(2)
    top = meetings.first
    expect(top).to_contain_text("张女士复访")
    expect(top).to_contain_text(re.compile("未开始|进行中"))
    inside_viewport(phone, "#meetings li")
    inside_viewport(phone, "#meetings li a")
    inside_viewport(phone, "#start")
    top.get_by_role("link", name="加入会议").click()
    expect(phone).to_have_url(first)

    # 创建会议 while one is unfinished: the §5.7 prompt, word for word.
    phone.goto(f"{host.url}/workbench")
    phone.get_by_role("button", name="开始会话").click()
    prompt = phone.locator("#unfinished-dialog")
    expect(prompt).to_be_visible()
    expect(prompt.locator("#unfinished-text")).to_have_text(
        "您当前有未结束的会议，是否加入该会议？"
    )
    expect(prompt.get_by_role("button")).to_have_text(["新建会议", "加入会议"])
    inside_viewport(phone, "#unfinished-dialog button")
    prompt.get_by_role("button", name="加入会议").click()
    expect(phone).to_have_url(first)

    phone.goto(f"{host.url}/workbench")
    phone.get_by_role("button", name="开始会话").click()
    prompt.get_by_role("button", name="新建会议").click()
    expect(phone).to_have_url(re.compile(r"/sessions/[0-9a-f]+$"))
    assert phone.url != first
    assert host.run(rooms.get(world.p("sp_A1"), first_id)).state is RoomState.ENDED

    # The ended one now offers its record; 查看记录 opens its details.
    phone.goto(f"{host.url}/workbench")
    expect(meetings).to_have_count(3)
    ended = phone.locator(f'li[data-meeting="{summary.meeting_number}"]')
    expect(ended).to_contain_text("已结束")
    ended.get_by_role("link", name="查看记录").click()
    expect(phone).to_have_url(re.compile(r"/records\?view="))
    details = phone.get_by_role("dialog", name="会议详情")
    expect(details).to_be_visible()
    expect(details.locator("#record-facts")).to_contain_text(summary.meeting_number)
    expect(details.locator("#record-facts")).to_contain_text("张女士复访")
