"""The staff console as people see it in a real browser: times in the organization's
zone, refusals in the server's own words, hidden controls hidden, service hours as
they are applied, the sidebar's grouping, no access by address, empty lists that say
so, 删除 only where it is allowed, and share buttons off once a session has ended."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from zhanye_sdk.platform import PasswordHashing, PlatformConfig, ServiceHours, ServiceWindow
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .hall_pages import open_hall
from .platform_world import build_world
from .records_qa_world import build_qa_record
from .records_world import RecordsWorld, build_records
from .test_web_admin_pages import log_in
from .webhost import RunningHost

pytestmark = pytest.mark.e2e

CONFIG = PlatformConfig(passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1))


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    """The platform world with the records world's sessions, one with a QA report, and
    a link added by oa-A1 for 机构A1 (its salespeople see it but may not delete it)."""

    async def make() -> tuple[Any, tuple[RecordsWorld, str]]:
        world = await build_world(f"sqlite:///{tmp_path}/web.db", CONFIG)
        rw = await build_records(world)
        qa = await build_qa_record(world, rw.rooms)
        await world.platform.materials.add_link(
            world.p("oa_A1"), "安心保产品页", "http://127.0.0.1:9/product"
        )
        return world.platform, (rw, qa)

    running = RunningHost(
        make, signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5)
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def context(browser: Any) -> Iterator[BrowserContext]:
    # The computer's clock is in Los Angeles: the pages must not follow it.
    made = browser.new_context(
        viewport={"width": 1366, "height": 800}, timezone_id="America/Los_Angeles"
    )
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def switch_user(page: Page, host: RunningHost, login: str) -> None:
    """退出登录, then log in as someone else."""
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    log_in(page, host, login)
    expect(page).to_have_url(re.compile(r"/workbench$"))


def link_tab(page: Page) -> None:
    """资源管理 → 链接, once the page has loaded its first list."""
    page.get_by_role("link", name="资源管理").click()
    expect(page.locator("#materials tbody tr").first).to_be_visible()
    page.get_by_role("tab", name="链接").click()
    expect(page.get_by_role("tab", name="链接")).to_have_attribute("aria-selected", "true")


def world_of(host: RunningHost) -> RecordsWorld:
    rw: RecordsWorld = host.extra[0]
    return rw


def test_records_show_times_in_the_organizations_zone(page: Page, host: RunningHost) -> None:
    rw, qa_session = host.extra
    log_in(page, host, "oa-A1")
    page.get_by_role("link", name="会话记录").click()
    # S1 started at 09:30 UTC: 17:30 in Shanghai (the default zone), not 01:30 in LA.
    s1 = page.locator("#records tbody tr").filter(has_text=rw.id("S1"))
    expect(s1).to_contain_text("2026-01-05 17:30:00")
    s1.get_by_role("button", name="查看").click()
    facts = page.locator("#record-facts")
    expect(facts).to_contain_text("2026-01-05 17:30:00")
    expect(facts).to_contain_text("2026-01-05 17:31:30")  # ended 90 s later
    page.locator("#record-dialog").get_by_role("button", name="关闭").click()

    # The QA report's times count from the session's start, not from 1970.
    qa_row = page.locator("#records tbody tr").filter(has_text=qa_session)
    qa_row.get_by_role("button", name="查看").click()
    violations = page.locator("#record-qa-violations tbody tr")
    expect(violations.nth(0)).to_have_text(re.compile(r"^00:06"))
    expect(violations.nth(1)).to_have_text(re.compile(r"^00:15"))
    expect(page.locator("#record-qa-silences")).to_have_text("00:06–00:15（9 秒）")
    page.locator("#record-dialog").get_by_role("button", name="关闭").click()

    # The organization moves to Tokyo: its people see Tokyo time.
    world = rw.world
    host.run(
        world.platform.organizations.edit(
            world.p("ca_A"), world.ids["A1"], hours=ServiceHours(timezone="Asia/Tokyo")
        )
    )
    page.reload()
    expect(s1).to_contain_text("2026-01-05 18:30:00")
    # A day picked in the search panel is that day in the organization's zone: on
    # 6 January (Tokyo) nothing happened, and the list says so.
    page.locator('input[name="created_from"]').fill("2026-01-06")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#records tbody")).to_have_text("暂无会话记录")


def test_hidden_controls_stay_hidden(page: Page, host: RunningHost) -> None:
    log_in(page, host, "sp-A1")
    page.get_by_role("link", name="会话记录").click()
    expect(page.locator("#records tbody tr").first).to_be_visible()
    # No export has run: no empty progress bar. A salesperson has no 业务员 to pick.
    expect(page.locator("#export-panel")).to_be_hidden()
    expect(page.locator("#export-progress")).to_be_hidden()
    expect(page.locator("#host-filter")).to_be_hidden()
    expect(page.get_by_label("业务员")).to_be_hidden()
    expect(page.locator("#filter-org")).to_be_visible()

    page.get_by_role("link", name="资源管理").click()
    expect(page.get_by_role("tab", name="文件")).to_be_visible()
    # Only a company admin chooses the organizations that see an upload.
    expect(page.locator(".org-choice")).to_be_hidden()
    switch_user(page, host, "oa-A1")
    page.get_by_role("link", name="资源管理").click()
    expect(page.get_by_role("tab", name="文件")).to_be_visible()
    expect(page.locator(".org-choice")).to_be_hidden()
    switch_user(page, host, "ca-A")
    page.get_by_role("link", name="资源管理").click()
    expect(page.locator(".org-choice")).to_be_visible()
    expect(page.locator("#upload-orgs option")).to_have_count(2)
    page.get_by_role("link", name="会话记录").click()
    expect(page.locator("#host-filter")).to_be_visible()


def test_a_refused_request_shows_the_servers_reason(page: Page, host: RunningHost) -> None:
    world = world_of(host).world
    log_in(page, host, "oa-A1")
    page.get_by_role("link", name="账号设置").click()
    row = page.locator('tr[data-login="sp2-A1"]')
    expect(row).to_be_visible()
    # Someone else deletes the account while the list is open.
    host.run(world.platform.accounts.delete(world.p("ca_A"), world.ids["sp2_A1"]))
    row.get_by_role("button", name="禁用").click()
    notice = page.locator("#notice")
    expect(notice).to_have_text("找不到该账号，它可能已被删除，或不在您的权限范围内")
    expect(notice).not_to_contain_text("没有权限执行此操作")

    page.goto(f"{host.url}/admin/accounts?lang=en")
    row = page.locator('tr[data-login="sp-A1"]')
    expect(row).to_be_visible()
    host.run(world.platform.accounts.delete(world.p("ca_A"), world.ids["sp_A1"]))
    row.get_by_role("button", name="Disable").click()
    expect(notice).to_have_text(f"account '{world.ids['sp_A1']}' not found")


def test_service_hours_are_listed_as_applied_and_inverted_ones_refused(
    page: Page, host: RunningHost
) -> None:
    world = world_of(host).world
    host.run(
        world.platform.organizations.edit(
            world.p("ca_A"),
            world.ids["A2"],
            hours=ServiceHours(morning=ServiceWindow.parse("09:00", "12:00")),
        )
    )
    log_in(page, host, "ca-A")
    page.get_by_role("link", name="机构设置").click()
    # No window at all: open all day. Only a morning: the afternoon is closed.
    a1 = page.locator('tr[data-name="机构A1"] td')
    expect(a1.nth(1)).to_have_text("公司A")  # 所属公司
    expect(a1.nth(2)).to_have_text("全天")
    expect(a1.nth(3)).to_have_text("全天")
    expect(a1.nth(4)).to_have_text("Asia/Shanghai")
    a2 = page.locator('tr[data-name="机构A2"] td')
    expect(a2.nth(2)).to_have_text("09:00:00–12:00:00")
    expect(a2.nth(3)).to_have_text("未设置（休息）")

    page.locator('tr[data-name="机构A2"]').get_by_role("button", name="编辑").click()
    dialog = page.locator("#org-dialog")
    expect(dialog.get_by_label("时区")).to_have_value("Asia/Shanghai")
    dialog.locator('input[name="afternoon_start"]').fill("12:00:00")
    dialog.locator('input[name="afternoon_end"]').fill("09:00:00")
    dialog.get_by_role("button", name="保存").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("12:00:00–09:00:00 的结束时间须晚于开始时间")
    # Nothing typed is lost, nothing was saved.
    expect(dialog.locator('input[name="afternoon_start"]')).to_have_value("12:00:00")
    expect(a2.nth(3)).to_have_text("未设置（休息）")
    dialog.locator('input[name="afternoon_start"]').fill("13:30:00")
    dialog.locator('input[name="afternoon_end"]').fill("18:00:00")
    dialog.get_by_label("时区").fill("Asia/Tokyo")
    dialog.get_by_role("button", name="保存").click()
    expect(a2.nth(3)).to_have_text("13:30:00–18:00:00")
    expect(a2.nth(4)).to_have_text("Asia/Tokyo")


def test_the_sidebar_groups_work_apart_from_settings(page: Page, host: RunningHost) -> None:
    log_in(page, host, "ca-A")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    entries = page.locator(".sidebar > *")
    expect(entries).to_have_text(
        [
            "展业",
            "工作台",
            "会话记录",
            "资源管理",
            "SOP管理",
            "监控统计",
            "设置",
            "账号设置",
            "机构设置",
        ]
    )
    expect(page.locator(".sidebar .nav-group")).to_have_text(["展业", "设置"])


def test_a_page_the_role_may_not_use_says_so_with_a_way_back(page: Page, host: RunningHost) -> None:
    log_in(page, host, "oa-A1")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    # SOP管理 is for company admins: not in the sidebar, and by address a clear refusal.
    expect(page.locator(".sidebar")).not_to_contain_text("SOP管理")
    page.goto(f"{host.url}/admin/sop")
    refused = page.locator(".no-access")
    expect(refused.get_by_role("heading", name="无权访问")).to_be_visible()
    expect(refused).to_contain_text("您的账号（机构管理员）无权使用“SOP管理”页面")
    expect(page.locator("#notice")).to_have_count(0)
    refused.get_by_role("link", name="返回工作台").click()
    expect(page).to_have_url(re.compile(r"/workbench$"))
    page.goto(f"{host.url}/admin/sop?lang=en")
    expect(page.locator(".no-access h1")).to_have_text("No access")


def test_empty_lists_say_what_is_missing(page: Page, host: RunningHost) -> None:
    log_in(page, host, "sp-B1@bank-b")
    page.get_by_role("link", name="资源管理").click()
    expect(page.locator("#materials tbody")).to_have_text("暂无资源")
    switch_user(page, host, "oa-A1")
    page.get_by_role("link", name="账号设置").click()
    page.locator("#filters").get_by_label("姓名").fill("没有这个人")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#accounts tbody")).to_have_text("暂无账号")


def test_a_slow_first_load_does_not_undo_a_query(page: Page, host: RunningHost) -> None:
    # The page's first, unfiltered list answers only after the person's own query: the
    # query's answer stays on screen.
    held: list[Any] = []

    def hold_first(route: Any) -> None:
        if held or "name=" in route.request.url:
            route.continue_()
        else:
            held.append(route)

    log_in(page, host, "oa-A1")
    page.wait_for_url("**/workbench")
    page.route("**/api/accounts?*", hold_first)
    page.goto(f"{host.url}/admin/accounts")
    page.locator("#filters").get_by_label("姓名").fill("没有这个人")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#accounts tbody")).to_have_text("暂无账号")
    assert held, "the first load was not held"
    held[0].continue_()
    page.wait_for_timeout(500)
    expect(page.locator("#accounts tbody")).to_have_text("暂无账号")
    page.unroute("**/api/accounts?*")
    # 查询 pressed before the page's script was ready submits the form itself: the page
    # that comes back applies the query.
    page.goto(f"{host.url}/admin/accounts?name=没有这个人")
    expect(page.locator("#filters").get_by_label("姓名")).to_have_value("没有这个人")
    expect(page.locator("#accounts tbody")).to_have_text("暂无账号")


def test_delete_is_offered_only_where_the_sdk_allows_it(page: Page, host: RunningHost) -> None:
    log_in(page, host, "sp-A1")
    link_tab(page)
    row = page.locator('#materials tr[data-name="安心保产品页"]')
    expect(row).to_be_visible()
    expect(row.get_by_role("button", name="删除")).to_have_count(0)
    switch_user(page, host, "oa-A1")
    link_tab(page)
    row.get_by_role("button", name="删除").click()
    page.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(row).to_have_count(0)


def test_the_qa_badge_stays_on_one_line(browser: Any, host: RunningHost) -> None:
    _, qa_session = host.extra
    narrow = browser.new_context(viewport={"width": 1024, "height": 700})
    try:
        page = narrow.new_page()
        log_in(page, host, "oa-A1")
        page.get_by_role("link", name="会话记录").click()
        badge = page.locator("#records tbody tr").filter(has_text=qa_session).locator(".qa-badge")
        expect(badge).to_have_text("不合格")
        box = badge.bounding_box()
        font = badge.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert box is not None and box["height"] < 2 * font, box
        assert badge.evaluate("e => e.getClientRects().length") == 1
    finally:
        narrow.close()


def test_share_buttons_are_off_once_the_session_has_ended(
    context: BrowserContext, host: RunningHost
) -> None:
    staff = open_hall(context, host)
    menu = staff.locator("#share-menu")
    names = ("共享", "共享测评", "共享文件", "共享产品链接", "共享白板")
    buttons = [staff.locator("#share-toggle")] + [
        menu.get_by_role("button", name=n, include_hidden=True) for n in names[1:]
    ]
    for button in buttons:
        expect(button).to_be_enabled()
    staff.get_by_role("button", name="结束会话").click()
    staff.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(staff.locator("#connection")).to_have_text("会话已结束")
    for button in buttons:
        expect(button).to_be_disabled()
