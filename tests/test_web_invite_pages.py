"""A customer's invite link on a 375 px phone: short SMS links, and links that no longer work."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.devices.pdu import count_parts

from .hall_pages import join, open_hall
from .platform_world import PASSWORD
from .webhost import DEPLOYMENT, RunningHost, world_host

pytestmark = pytest.mark.e2e

NEXT_STEP = "请联系为您服务的业务员，请他重新发送邀请链接。"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[RunningHost]:
    with world_host(tmp_path, sms_gateway=LoggingSmsGateway(signature="智慧展业")) as running:
        yield running


@pytest.fixture
def phone(browser: Any) -> Iterator[BrowserContext]:
    context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    try:
        yield context
    finally:
        context.close()


def call(host: RunningHost, method: str, path: str, token: str | None = None) -> Any:
    request = urllib.request.Request(
        host.url + path, data=b"{}" if method == "POST" else None, method=method
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def staff_session(host: RunningHost) -> tuple[str, str, str]:
    """sp-A1 starts a session over the API: (login token, session id, invite path)."""
    login = urllib.request.Request(
        host.url + "/api/login",
        data=json.dumps({"login": "sp-A1", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=30) as response:
        token = json.loads(response.read())["token"]
    session = call(host, "POST", "/api/sessions", token)
    invite = call(host, "POST", f"/api/sessions/{session['id']}/invite-link", token)
    return token, session["id"], invite["short_path"]


def expect_link_problem(page: Page, heading: str) -> None:
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_text(NEXT_STEP)).to_be_visible()
    expect(page.locator("#join-form")).to_be_hidden()
    expect(page.get_by_text("没有权限执行此操作")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


@pytest.mark.parametrize("path", ["/join/not-a-real-invite", "/j/AbCdEfGhJk", "/join/a.b"])
def test_a_broken_link_says_so_and_what_to_do(
    phone: BrowserContext, host: RunningHost, path: str
) -> None:
    page = phone.new_page()
    page.goto(host.url + path)
    expect_link_problem(page, "链接无效")
    expect(page.get_by_text("这个邀请链接无效或已过期")).to_be_visible()


def test_an_ended_sessions_link_says_the_session_has_ended(
    phone: BrowserContext, host: RunningHost
) -> None:
    token, session_id, link = staff_session(host)
    call(host, "POST", f"/api/sessions/{session_id}/end", token)
    page = phone.new_page()
    page.goto(host.url + link)
    expect_link_problem(page, "会话已结束")


def test_a_session_that_ends_while_the_form_is_open_says_so_on_joining(
    phone: BrowserContext, host: RunningHost
) -> None:
    token, session_id, link = staff_session(host)
    page = phone.new_page()
    page.goto(host.url + link)
    page.get_by_label("您的称呼").fill("客户王女士")
    page.get_by_label(re.compile("全程录音录像")).check()
    call(host, "POST", f"/api/sessions/{session_id}/end", token)
    page.get_by_role("button", name="进入会话").click()
    expect_link_problem(page, "会话已结束")
    # Not the advice meant for staff.
    expect(page.get_by_text("请发起新会话")).to_have_count(0)


def test_the_sms_invitation_is_one_part_and_its_short_link_joins(
    browser: Any, phone: BrowserContext, host: RunningHost
) -> None:
    staff_context = browser.new_context(viewport={"width": 1366, "height": 800})
    try:
        staff = open_hall(staff_context, host)
        staff.get_by_role("button", name="邀请客户").click()
        staff.locator("#sms-numbers").fill("13800138000")
        staff.get_by_role("button", name="发送短信").click()
        expect(staff.locator("#sms-result")).to_have_text("已向 1 个号码发送邀请短信")
        [(_, text)] = host.app[DEPLOYMENT].sms_gateway.sent
        assert text.endswith("【智慧展业】")
        assert count_parts(text).parts == 1, (len(text), text)
        link = re.search(r"http://\S+?/j/[A-Za-z0-9]+", text)
        assert link is not None, text
        assert link.group(0).startswith(f"{host.url}/j/")
        customer = join(phone, link.group(0), "客户王女士")
        expect(customer.locator("#in-session")).to_be_visible()
        expect(staff.locator('#members li[data-name="客户王女士"]')).to_be_visible()
    finally:
        staff_context.close()


@pytest.mark.parametrize("short", [False, True])
def test_the_invite_is_looked_up_before_the_pages_scripts_arrive(
    phone: BrowserContext, host: RunningHost, short: bool
) -> None:
    # A phone on a slow line waits one round trip less: the page's own answer names the
    # invite's look-up, so it starts even while every script of the page is held back.
    token, session_id, _ = staff_session(host)
    invite = call(host, "POST", f"/api/sessions/{session_id}/invite-link", token)
    link = invite["short_path" if short else "path"]
    page = phone.new_page()
    held: list[Route] = []
    released = False

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r"/static/pages/join(-early)?\.js$"), hold)
    with page.expect_request(lambda r: "/api/invites/" in r.url, timeout=15_000):
        page.goto(host.url + link, wait_until="commit")
    released = True
    for route in held:
        route.continue_()
    expect(page.locator("#join-info")).to_contain_text("会议号")
