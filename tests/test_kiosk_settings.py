"""系统设置 → 挂机短信 at the desk page, in a real browser at 1366×768 with the modem
simulator over a real pty: the shop's new text reaches the caller after an answered
call; a bad placeholder is refused with the reason; a message skipped in the quiet
hours says why, in a notice and in the call log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from zhanye_sdk.merchant.registration import Registration

from .kiosk_world import RunningKiosk, open_desk_page

pytestmark = pytest.mark.e2e

KIOSK_TRANSPORT = "pty"


@pytest.fixture
def page(browser: Any, kiosk: RunningKiosk) -> Iterator[Page]:
    yield from open_desk_page(browser, kiosk)


def answer_and_hang_up(page: Page, kiosk: RunningKiosk) -> None:
    kiosk.sim.incoming_call("13800138000")
    popup = page.locator("#popup")
    expect(popup).to_contain_text("张三 · 老客户", timeout=5000)
    popup.get_by_role("button", name="接听").click()
    expect(popup.locator("#popup-state")).to_have_text("已接听")
    popup.get_by_role("button", name="挂断").click()
    expect(popup.locator("#popup-state")).to_have_text("通话结束", timeout=10000)
    popup.get_by_role("button", name="关闭").click()


def test_the_hang_up_sms_set_at_the_desk_reaches_the_caller(
    page: Page, kiosk: RunningKiosk
) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))

    page.get_by_role("tab", name="系统设置").click()
    form = page.get_by_role("form", name="挂机短信")
    expect(form.get_by_label("短信内容")).to_have_value(
        "{name}您好，感谢致电{shop}，期待您的光临！"
    )
    expect(form.get_by_label("免打扰开始")).to_have_value("21:00")
    # A placeholder the desk cannot fill is refused, with the place named.
    form.get_by_label("短信内容").fill("{phone}您好")
    form.get_by_role("button", name="保存").click()
    expect(form.locator(".result")).to_contain_text("无法识别的占位符 {phone}")
    form.get_by_label("短信内容").fill("{name}您好，{shop}新品上市，凭此短信9折")
    form.get_by_label("同一号码发送间隔（小时）").fill("0")
    form.get_by_role("button", name="保存").click()
    expect(form.locator(".result")).to_have_text("已保存：挂机短信")

    answer_and_hang_up(page, kiosk)
    kiosk.wait_for_sms(1)
    assert kiosk.sim.sent[0].recipient == "13800138000"
    assert (kiosk.sim.sent[0].text or "").startswith("张三您好，小馆新品上市，凭此短信9折")

    # In the quiet hours (it is noon at the shop) nothing is sent, and the desk says why.
    page.get_by_role("tab", name="系统设置").click()
    form.get_by_label("免打扰开始").fill("11:00")
    form.get_by_label("免打扰结束").fill("13:00")
    form.get_by_role("button", name="保存").click()
    expect(form.locator(".result")).to_have_text("已保存：挂机短信")
    answer_and_hang_up(page, kiosk)
    expect(page.locator("#toast")).to_have_text(
        "自动短信（13800138000）未发送：免打扰时段", timeout=15_000
    )
    page.get_by_role("tab", name="通信记录").click()
    rows = page.locator("#calls tbody tr")
    expect(rows).to_have_count(2)
    # (The shop's clock stands still in this test: both calls start at about noon.)
    expect(rows.filter(has_text="未发送：免打扰时段")).to_have_count(1)
    expect(rows.filter(has_text="已发送")).to_have_count(1)
    assert len(kiosk.sim.sent) == 1

    # Quiet hours off, but the SIM's subscription has lapsed: held back, and the desk
    # says so in the SDK's words.
    page.get_by_role("tab", name="系统设置").click()
    form.get_by_label("免打扰开始").fill("")
    form.get_by_label("免打扰结束").fill("")
    form.get_by_role("button", name="保存").click()
    expect(form.locator(".result")).to_have_text("已保存：挂机短信")
    kiosk.registration = Registration(False, message="subscription ended")
    answer_and_hang_up(page, kiosk)
    expect(page.locator("#toast")).to_contain_text(
        "自动短信（13800138000）未发送：短信功能被锁定（这张 SIM 卡没有有效的订阅"
    )
    assert len(kiosk.sim.sent) == 1


def test_typing_while_the_settings_load_loses_nothing(page: Page, kiosk: RunningKiosk) -> None:
    # The settings answer late (a busy shop PC): what the person typed meanwhile stays,
    # and saving the other form does not undo it either.
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/api/desk/auto-sms", hold)
    page.get_by_role("tab", name="系统设置").click()
    form = page.get_by_role("form", name="挂机短信")
    form.get_by_label("短信内容").fill("{name}您好，欢迎再来")
    form.get_by_label("免打扰开始").fill("")
    form.get_by_label("免打扰结束").fill("")
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()  # the settings arrive now
    page.unroute("**/api/desk/auto-sms")
    expect(form.get_by_label("免打扰结束")).to_have_value("")
    page.wait_for_timeout(300)
    expect(form.get_by_label("短信内容")).to_have_value("{name}您好，欢迎再来")
    expect(form.get_by_label("免打扰开始")).to_have_value("")
    missed = page.get_by_role("form", name="未接来电回复")
    expect(missed.get_by_label("短信内容")).not_to_have_value("")  # the late answer filled it
    missed.get_by_role("button", name="保存").click()
    expect(missed.locator(".result")).to_have_text("已保存：未接来电回复")
    expect(form.get_by_label("短信内容")).to_have_value("{name}您好，欢迎再来")
    form.get_by_role("button", name="保存").click()
    expect(form.locator(".result")).to_have_text("已保存：挂机短信")
    expect(form.get_by_label("免打扰开始")).to_have_value("")
