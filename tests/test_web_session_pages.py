"""A whole session in real browsers: the salesperson's hall and a customer's phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from playwright.sync_api import Page, expect

from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .hall_pages import copy_invite
from .platform_world import PASSWORD, World
from .test_web_admin_pages import log_in
from .webhost import DEPLOYMENT, IPHONE_SAFARI, RunningHost, phone_context, world_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    with world_host(
        tmp_path,
        sms_gateway=LoggingSmsGateway(signature="智慧展业"),
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
    ) as running:
        yield running


def test_salesperson_runs_a_session_with_a_customer_on_a_phone(
    browser: Any, host: RunningHost
) -> None:
    staff_context = browser.new_context(viewport={"width": 1366, "height": 800})
    customer_phone = phone_context(browser)
    try:
        staff: Page = staff_context.new_page()
        log_in(staff, host, "sp-A1")
        expect(staff).to_have_url(re.compile(r"/workbench$"))
        staff.get_by_role("button", name="开始会话").click()
        expect(staff).to_have_url(re.compile(r"/sessions/[0-9a-f]{32}$"))
        expect(staff.locator("#meeting-number")).to_have_text(re.compile(r"^\d{8}$"))
        expect(staff.locator("#connection")).to_have_text("已连接")

        staff.get_by_role("button", name="邀请客户").click()
        link_box = staff.locator("#invite-link")
        expect(link_box).to_have_value(re.compile(r"/join/"))
        link = link_box.input_value()
        staff.get_by_role("button", name="复制链接").click()
        staff.locator("#sms-numbers").fill("13800138000\n+8613900139000")
        staff.get_by_role("button", name="发送短信").click()
        expect(staff.locator("#sms-result")).to_have_text("已向 2 个号码发送邀请短信")
        gateway = host.app[DEPLOYMENT].sms_gateway
        assert [number for number, _ in gateway.sent] == ["13800138000", "+8613900139000"]
        # The SMS carries the invite's short link (/j/<code>), one SMS part long.
        assert f"{host.url}/j/" in gateway.sent[0][1]
        assert gateway.sent[0][1].endswith("【智慧展业】")
        staff.locator("#invite-dialog").get_by_role("button", name="取消").click()

        phone: Page = customer_phone.new_page()
        phone.goto(link)
        expect(phone.locator("#join-info")).to_contain_text("邀请您参加远程会话")
        phone.get_by_label("您的称呼").fill("客户王女士")
        phone.get_by_role("button", name="进入会话").click()
        # The recording notice must be acknowledged first (the browser's own check).
        expect(phone.locator("#in-session")).to_be_hidden()
        phone.get_by_label(re.compile("全程录音录像")).check()
        phone.get_by_role("button", name="进入会话").click()
        expect(phone.locator("#in-session")).to_be_visible()
        expect(phone.locator("#connection")).to_have_text("已连接")
        # The customer's page fits a 375 px screen without sideways scrolling.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375

        # The host sees the customer and mutes them; the customer's phone shows it.
        member = staff.locator('#members li[data-name="客户王女士"]')
        expect(member).to_contain_text("客户")
        expect(member).to_contain_text("手机")  # an iPhone is not recorded as a PC
        member.locator('button[data-control="audio"]').click()
        expect(phone.locator("#my-audio")).to_have_attribute("aria-pressed", "false")
        # Muted by the host, the customer cannot unmute themself; they are told why ...
        phone.locator("#my-audio").click()
        expect(phone.locator("#notice")).to_have_text("主持人已将您静音，需由主持人为您解除静音。")
        expect(phone.locator("#my-audio")).to_have_attribute("aria-pressed", "false")
        # ... until the host allows it.
        staff.get_by_label("允许被静音的客户自行解除静音").check()
        phone.locator("#my-audio").click()
        expect(phone.locator("#my-audio")).to_have_attribute("aria-pressed", "true")
        expect(member.locator('button[data-control="audio"]')).to_have_attribute(
            "aria-pressed", "true"
        )
        # The customer can turn their own camera off, but has no power over the host.
        phone.locator("#my-video").click()
        expect(member.locator('button[data-control="video"]')).to_have_attribute(
            "aria-pressed", "false"
        )
        host_row = phone.locator('#members li[data-name="sp_A1"]')
        expect(host_row.locator('button[data-control="audio"]')).to_be_disabled()

        staff.get_by_role("button", name="结束会话").click()
        staff.get_by_role("dialog").get_by_role("button", name="确定").click()
        expect(staff.locator("#connection")).to_have_text("会话已结束")
        expect(phone.locator("#evaluation")).to_be_visible()
        phone.get_by_role("button", name="提交评价").click()
        expect(phone.locator("#evaluation-form .form-error")).to_have_text("请先选择评分。")
        phone.get_by_role("radio", name="5 星").click()
        phone.get_by_label("评价留言（可选）").fill("讲解很清楚")
        phone.get_by_role("button", name="提交评价").click()
        expect(phone.locator("#thanks")).to_have_text("感谢您的评价！")

        world: World = host.extra
        sid = staff.url.rsplit("/", 1)[1]
        room = host.run(_room(host, sid))
        assert room.end_reason.value == "staff_ended"
        assert list(room.evaluations.values()) == [(5, "讲解很清楚")]
        assert world.ids["sp_A1"] == room.host_id
    finally:
        staff_context.close()
        customer_phone.close()


def test_a_customer_who_closes_the_tab_and_reopens_the_invite_is_still_one_customer(
    browser: Any, host: RunningHost
) -> None:
    staff_context = browser.new_context(viewport={"width": 1366, "height": 800})
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, user_agent=IPHONE_SAFARI
    )
    try:
        staff: Page = staff_context.new_page()
        log_in(staff, host, "sp-A1")
        staff.get_by_role("button", name="开始会话").click()
        expect(staff).to_have_url(re.compile(r"/sessions/[0-9a-f]{32}$"))
        sid = staff.url.rsplit("/", 1)[1]
        link = copy_invite(staff)

        phone: Page = phone_context.new_page()
        phone.goto(link)
        phone.get_by_label("您的称呼").fill("客户王女士")
        phone.get_by_label(re.compile("全程录音录像")).check()
        phone.get_by_role("button", name="进入会话").click()
        expect(phone.locator("#connection")).to_have_text("已连接")
        member = staff.locator('#members li[data-name="客户王女士"]')
        expect(member).not_to_have_class("away")
        world: World = host.extra
        world.clock.advance(60)  # the first stay: a minute

        # The customer closes the tab; the room sees them leave.
        phone.close()
        expect(member).to_have_class("away")
        first_stay = host.run(_room(host, sid)).participants
        customer_id = next(p for p in first_stay.values() if p.name == "客户王女士").id
        first_ms = first_stay[customer_id].duration_ms(0)
        assert first_ms == 60_000, first_stay

        # They open the invite again on the same phone: back in, as the same customer.
        again: Page = phone_context.new_page()
        again.goto(link)
        expect(again.locator("#in-session")).to_be_visible()
        expect(again.locator("#connection")).to_have_text("已连接")
        expect(member).not_to_have_class("away")
        expect(staff.locator("#members li")).to_have_count(2)
        world.clock.advance(30)  # the second stay: half a minute more
        staff.get_by_role("button", name="结束会话").click()
        staff.get_by_role("dialog").get_by_role("button", name="确定").click()
        expect(staff.locator("#connection")).to_have_text("会话已结束")

        record = host.run(_record(host, sid))
        counts = record["summary"]["participant_count"], record["summary"]["customer_count"]
        assert counts == (2, 1), record
        customers = [p for p in record["participants"] if p["role"] == "customer"]
        assert [p["participant_id"] for p in customers] == [customer_id], customers
        # The time in the room goes on from the first stay.
        assert customers[0]["duration_ms"] == 90_000, customers
    finally:
        staff_context.close()
        phone_context.close()


async def _record(host: RunningHost, session_id: str) -> dict[str, Any]:
    """The session's record as the salesperson reads it (GET /api/records/{id})."""
    async with aiohttp.ClientSession() as http:
        login = await (
            await http.post(f"{host.url}/api/login", json={"login": "sp-A1", "password": PASSWORD})
        ).json()
        auth = {"Authorization": f"Bearer {login['token']}"}
        response = await http.get(f"{host.url}/api/records/{session_id}", headers=auth)
        assert response.status == 200, await response.text()
        record: dict[str, Any] = await response.json()
        return record


async def _room(host: RunningHost, session_id: str) -> Any:
    rooms = host.app[DEPLOYMENT].rooms
    return await rooms.room(session_id)


def test_unfinished_session_is_offered_for_rejoin(page: Page, host: RunningHost) -> None:
    log_in(page, host, "sp-A2")
    page.get_by_role("button", name="开始会话").click()
    expect(page).to_have_url(re.compile(r"/sessions/"))
    first = page.url
    page.goto(f"{host.url}/workbench")
    page.get_by_role("button", name="开始会话").click()
    dialog = page.locator("#unfinished-dialog")
    expect(dialog).to_contain_text("您当前有未结束的会议，是否加入该会议？")
    dialog.get_by_role("button", name="加入会议").click()
    expect(page).to_have_url(first)
    expect(page.locator("#connection")).to_have_text("已连接")


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()
