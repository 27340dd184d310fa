"""Browser steps the session-page tests share: a salesperson's invite, a customer joining."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from .test_web_admin_pages import log_in
from .webhost import RunningHost


def device_check_done(staff: Page) -> None:
    """Wait for the hall's device check to have its result: on a phone the panel that says
    what is missing appears in the page's flow, and media errors follow it."""
    checked = staff.locator("#device-check li[data-device]")
    expect(checked).to_have_count(2, timeout=30_000)
    expect(staff.locator('#device-check li[data-status="checking"]')).to_have_count(
        0, timeout=30_000
    )


def copy_invite(staff: Page) -> str:
    """Open 邀请客户 in the hall, read the invite link and close the dialog."""
    device_check_done(staff)
    staff.get_by_role("button", name="邀请客户").click()
    link = staff.locator("#invite-link")
    expect(link).to_have_value(re.compile(r"/join/"))
    invite = link.input_value()
    staff.locator("#invite-dialog").get_by_role("button", name="取消").click()
    return invite


def join(context: BrowserContext, link: str, name: str) -> Page:
    """A customer opens the invite link, gives their name, accepts recording and joins."""
    page = context.new_page()
    page.goto(link)
    page.get_by_label("您的称呼").fill(name)
    page.get_by_label(re.compile("全程录音录像")).check()
    page.get_by_role("button", name="进入会话").click()
    expect(page.locator("#connection")).to_have_text("已连接")
    return page


def start_with_customer(
    staff_context: BrowserContext, phone_context: BrowserContext, host: RunningHost
) -> tuple[Page, Page]:
    """sp-A1 logs in and starts a session; 客户王女士 joins it on the phone context."""
    staff = open_hall(staff_context, host)
    phone = join(phone_context, copy_invite(staff), "客户王女士")
    return staff, phone


def open_hall(staff_context: BrowserContext, host: RunningHost) -> Page:
    """sp-A1 logs in and starts a session: the hall, connected."""
    staff = staff_context.new_page()
    log_in(staff, host, "sp-A1")
    staff.get_by_role("button", name="开始会话").click()
    expect(staff.locator("#connection")).to_have_text("已连接")
    device_check_done(staff)
    return staff


def open_share_menu(staff: Page, item: str) -> None:
    """共享 → ``item`` (共享测评, 共享文件, 共享产品链接 or 共享白板)."""
    staff.locator("#share-toggle").click()
    staff.locator("#share-menu").get_by_role("button", name=item).click()


def share_file(staff: Page, name: str) -> None:
    """共享 → 共享文件 → the material ``name`` → 共享."""
    open_share_menu(staff, "共享文件")
    staff.locator(f'#board-share-dialog li[data-name="{name}"]').get_by_role(
        "button", name="共享"
    ).click()


def push_link(staff: Page, name: str | None = None) -> None:
    """共享 → 共享产品链接 → the product ``name`` (the first when None) → 确定 in
    温馨提示 「确认推送【…】产品？」."""
    open_share_menu(staff, "共享产品链接")
    items = staff.locator("#share-dialog .link-item")
    item = items.first if name is None else items.filter(has_text=name)
    expect(item).to_have_count(1)
    chosen = item.get_attribute("data-name")
    item.click()
    confirm = staff.locator("dialog.confirm")
    expect(confirm).to_contain_text("温馨提示")
    expect(confirm).to_contain_text(f"确认推送【{chosen}】产品？")
    confirm.get_by_role("button", name="确定").click()
