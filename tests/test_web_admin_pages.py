"""The admin pages in a real browser: login, accounts, organizations, in Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from zhanye_sdk.platform import AuthenticationFailed

from .platform_world import PASSWORD, World
from .webhost import RunningHost, world_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    with world_host(tmp_path) as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in(page: Page, host: RunningHost, login: str, password: str = PASSWORD) -> None:
    page.goto(f"{host.url}/login")
    page.get_by_label("账号").fill(login)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_login_page_speaks_chinese_and_refuses_a_wrong_password(
    page: Page, host: RunningHost
) -> None:
    log_in(page, host, "oa-A1", "wrong-pass1")
    expect(page.get_by_role("heading")).to_have_text("后台账号登录")
    expect(page.get_by_role("alert")).to_have_text("登录失败或登录已失效，请重新登录。")
    expect(page.get_by_label("账号")).to_have_value("oa-A1")


def test_another_companys_admin_signs_in_with_the_company_code_and_reuses_a_login(
    page: Page, host: RunningHost
) -> None:
    # The login box says how people of other companies sign in.
    page.goto(f"{host.url}/login")
    hint = "账号（其他公司：账号@公司代码）"
    expect(page.get_by_label("账号")).to_have_attribute("placeholder", hint)
    # Company B is not the home company: its admin writes login@code.
    log_in(page, host, "ca-B")
    expect(page.get_by_role("alert")).to_have_text("登录失败或登录已失效，请重新登录。")
    log_in(page, host, "ca-B@bank-b")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    page.get_by_role("link", name="账号设置").click()
    # A login company A uses is free in company B, and the list shows how to sign in.
    page.get_by_role("button", name="新建账号").click()
    dialog = page.locator("#account-dialog")
    dialog.get_by_label("账号").fill("sp-A1")
    dialog.get_by_label("姓名").fill("王五")
    dialog.get_by_label("初始密码").fill("Zs-4711-start")
    dialog.get_by_role("button", name="保存").click()
    expect(page.locator('tr[data-login="sp-A1"]')).to_contain_text("sp-A1@bank-b")
    expect(page.locator('tr[data-login="sp-B1"]')).to_contain_text("sp-B1@bank-b")


def test_org_admin_creates_edits_and_kicks_out_a_salesperson(page: Page, host: RunningHost) -> None:
    world: World = host.extra
    log_in(page, host, "oa-A1")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    page.get_by_role("link", name="账号设置").click()
    rows = page.locator("#accounts tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator(".sidebar")).to_contain_text("账号设置")

    page.get_by_role("button", name="新建账号").click()
    dialog = page.locator("#account-dialog")
    dialog.get_by_label("账号").fill("wangwu")
    dialog.get_by_label("姓名").fill("王五")
    dialog.get_by_label("手机号").fill("13912345678")
    dialog.get_by_label("初始密码").fill("short")
    dialog.get_by_role("button", name="保存").click()
    # The refusal is explained and nothing typed is lost.
    expect(dialog.get_by_role("alert")).to_contain_text("输入有误")
    expect(dialog.get_by_label("姓名")).to_have_value("王五")
    dialog.get_by_label("初始密码").fill("Zs-4711-start")
    dialog.get_by_role("button", name="保存").click()
    expect(page.locator('tr[data-login="wangwu"]')).to_contain_text("业务员")
    expect(rows).to_have_count(4)

    # Kick out a colleague who is logged in elsewhere: that login ends at once.
    token = host.run(host.platform.auth.login("sp2-A1", PASSWORD)).token  # type: ignore[union-attr]
    page.locator('tr[data-login="sp2-A1"]').get_by_role("button", name="踢出").click()
    page.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(page.locator("#notice")).to_contain_text("已踢出")
    with pytest.raises(AuthenticationFailed):
        host.run(host.platform.auth.authenticate(token))  # type: ignore[union-attr]

    # Disable, then find it with the status filter.
    page.locator('tr[data-login="wangwu"]').get_by_role("button", name="禁用").click()
    page.locator("#filter-status").select_option("disabled")
    page.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("王五")
    assert world.ids["A1"]


def test_notices_stack_so_a_late_error_leaves_a_confirmation_readable(
    page: Page, host: RunningHost
) -> None:
    log_in(page, host, "ca-A")
    expect(page.get_by_role("link", name="机构设置")).to_be_visible()
    page.evaluate(
        """async () => {
          const { notify } = await import('/static/notice.js');
          notify('已保存', 'ok');
          notify('网络连接失败');
          notify('网络连接失败');  // the same error again: renewed, not repeated
        }"""
    )
    stack = page.locator("#notice")
    expect(stack.get_by_role("status")).to_have_text("已保存")
    expect(stack.get_by_role("alert")).to_have_text("网络连接失败")
    # The confirmation fades after 6 s; the error stays longer, until 10 s.
    expect(stack.get_by_role("status")).to_have_count(0, timeout=9_000)
    expect(stack.get_by_role("alert")).to_be_visible()
    expect(stack.get_by_role("alert")).to_have_count(0, timeout=9_000)


def test_company_admin_manages_organizations(page: Page, host: RunningHost) -> None:
    log_in(page, host, "ca-A")
    page.get_by_role("link", name="机构设置").click()
    expect(page.locator("#orgs tbody tr")).to_have_count(2)
    page.get_by_role("button", name="新建机构").click()
    dialog = page.locator("#org-dialog")
    dialog.get_by_label("机构名称").fill("远程展业测试机构")
    dialog.locator('input[name="morning_start"]').fill("09:00:00")
    dialog.locator('input[name="morning_end"]').fill("12:00:00")
    dialog.locator('input[name="afternoon_start"]').fill("13:30:00")
    dialog.locator('input[name="afternoon_end"]').fill("18:00:00")
    dialog.get_by_role("button", name="保存").click()
    row = page.locator('tr[data-name="远程展业测试机构"]')
    expect(row).to_contain_text("09:00:00–12:00:00")
    expect(row).to_contain_text("13:30:00–18:00:00")
    # An organization with accounts cannot be deleted; the reason is shown.
    page.locator('tr[data-name="机构A1"]').get_by_role("button", name="删除").click()
    page.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(page.locator("#notice")).to_contain_text("操作与当前状态冲突")
    # The new, empty one can be deleted.
    row.get_by_role("button", name="删除").click()
    page.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(row).to_have_count(0)


def test_english_is_one_click_away(page: Page, host: RunningHost) -> None:
    log_in(page, host, "ca-A")
    page.get_by_role("link", name="账号设置").click()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    expect(page.locator(".sidebar")).to_contain_text("Organizations")
    expect(page.get_by_role("button", name="New account")).to_be_visible()


def test_salesperson_gets_no_account_admin(page: Page, host: RunningHost) -> None:
    log_in(page, host, "sp-A1")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    expect(page.locator(".sidebar")).not_to_contain_text("账号设置")
    page.get_by_role("link", name="机构设置").click()
    expect(page.locator("#orgs tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name="新建机构")).to_be_hidden()
    # Typed into the address bar: a clear 无权访问 with the way back, not a broken page.
    page.goto(f"{host.url}/admin/accounts")
    refused = page.locator(".no-access")
    expect(refused.get_by_role("heading")).to_have_text("无权访问")
    expect(refused).to_contain_text("您的账号（业务员）无权使用“账号设置”页面")
    expect(page.locator("#accounts")).to_have_count(0)
    expect(page.locator("#notice")).to_have_count(0)
    refused.get_by_role("link", name="返回工作台").click()
    expect(page).to_have_url(re.compile(r"/workbench$"))


def _submit_short_password(page: Page) -> Any:
    page.locator("#new-account").click()
    dialog = page.locator("#account-dialog")
    dialog.locator('input[name="login"]').fill("zhaoliu")
    dialog.locator('input[name="name"]').fill("赵六")
    dialog.locator('input[name="password"]').fill("short")
    dialog.locator('button[type="submit"]').click()
    return dialog


def test_a_refused_account_form_is_explained_in_the_pages_language(
    page: Page, host: RunningHost
) -> None:
    log_in(page, host, "oa-A1")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    page.goto(f"{host.url}/admin/accounts")
    dialog = _submit_short_password(page)
    # Chinese by default: the frame and the server's reason are both Chinese.
    expect(dialog.get_by_role("alert")).to_have_text("输入有误：密码须为 8–128 位，请重新输入")
    expect(dialog.locator('input[name="name"]')).to_have_value("赵六")

    page.goto(f"{host.url}/admin/accounts?lang=en")
    dialog = _submit_short_password(page)
    expect(dialog.get_by_role("alert")).to_have_text(
        "Please check your input: password must be 8–128 characters"
    )
