"""Open pages learn at once when their login ends, and say why (issue #13.9)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from zhanye_sdk.signaling.endpoint import SignalingConfig

from .hall_pages import open_hall
from .platform_world import World
from .test_web_admin_pages import log_in
from .webhost import RunningHost, world_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    with world_host(
        tmp_path, signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5)
    ) as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_kicked_salesperson_in_the_hall_is_told_at_once(page: Page, host: RunningHost) -> None:
    staff = open_hall(page.context, host)
    world: World = host.extra
    host.run(world.platform.accounts.kick_out(world.p("oa_A1"), world.ids["sp_A1"]))
    notice = staff.get_by_role("alertdialog")
    expect(notice).to_contain_text("已被管理员踢出")
    notice.get_by_role("button", name="重新登录").click()
    expect(staff.get_by_role("alert")).to_contain_text("已被管理员踢出")


def test_a_request_refused_after_the_kick_out_does_not_hide_why(
    page: Page, host: RunningHost
) -> None:
    # The hall's requests keep going (scripts, boards…): one answered 401 after the
    # kick-out must not replace the reason on screen with a generic one.
    staff = open_hall(page.context, host)
    world: World = host.extra
    host.run(world.platform.accounts.kick_out(world.p("oa_A1"), world.ids["sp_A1"]))
    notice = staff.get_by_role("alertdialog")
    expect(notice).to_contain_text("已被管理员踢出")
    refused = staff.evaluate(
        """async () => {
          const { api } = await import("/static/api.js");
          try { await api("GET", "/api/me"); return "answered"; }
          catch (error) { return String(error.status); }
        }"""
    )
    assert refused == "401"
    staff.wait_for_timeout(2500)  # longer than the page waits for the socket's reason
    expect(notice).to_be_visible()
    notice.get_by_role("button", name="重新登录").click()
    expect(staff.get_by_role("alert")).to_contain_text("已被管理员踢出")


def test_a_disabled_account_on_the_workbench_is_told_and_cannot_log_in(
    page: Page, host: RunningHost
) -> None:
    log_in(page, host, "sp-A1")
    expect(page.get_by_role("button", name="开始会话")).to_be_visible()
    world: World = host.extra
    host.run(world.platform.accounts.set_disabled(world.p("oa_A1"), world.ids["sp_A1"], True))
    expect(page.get_by_role("alertdialog")).to_contain_text("账号已停用")
    log_in(page, host, "sp-A1")
    expect(page.locator("#login-error")).to_have_text("该账号已被停用，请联系管理员")
