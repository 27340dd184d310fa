"""The call log (通信记录) at the desk page, in a real browser at 1366×768 with the
modem simulator over a real pty: a missed and an answered call appear under the right
filter, the missed one scrolls by in the reminder, and a note added after the pop-up
closed is found on the customer's card."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .kiosk_world import RunningKiosk, open_desk_page

pytestmark = pytest.mark.e2e

KIOSK_TRANSPORT = "pty"


@pytest.fixture
def page(browser: Any, kiosk: RunningKiosk) -> Iterator[Page]:
    yield from open_desk_page(browser, kiosk)


def test_missed_and_answered_calls_are_filtered_and_noted_afterwards(
    page: Page, kiosk: RunningKiosk
) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    popup = page.locator("#popup")
    reminder = page.locator("#missed-reminder")
    expect(reminder).to_be_hidden()  # nothing missed: no empty strip

    # A caller who gives up: a missed call, and the reminder scrolls it by.
    kiosk.sim.incoming_call("13900139000", rings=2)
    expect(popup).to_contain_text("13900139000", timeout=5000)
    expect(popup.locator("#popup-state")).to_have_text("未接来电", timeout=10000)
    popup.get_by_role("button", name="关闭").click()
    expect(reminder).to_be_visible()
    expect(reminder).to_contain_text("未知客户 13900139000")

    # 张三 is answered, then hangs up; the pop-up is closed without notes.
    kiosk.sim.incoming_call("13800138000")
    expect(popup).to_contain_text("张三 · 老客户", timeout=5000)
    popup.get_by_role("button", name="接听").click()
    expect(popup.locator("#popup-state")).to_have_text("已接听")
    kiosk.sim.remote_hangup()
    expect(popup.locator("#popup-state")).to_have_text("通话结束", timeout=10000)
    popup.get_by_role("button", name="关闭").click()
    expect(popup).to_be_hidden()

    page.get_by_role("tab", name="通信记录").click()
    panel = page.locator('[data-panel="calls"]')
    rows = panel.locator("#calls tbody tr")
    expect(rows).to_have_count(2)
    panel.get_by_label("通话类型").select_option(label="未接来电")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("13900139000")
    expect(rows).to_contain_text("未接来电")
    panel.get_by_label("通话类型").select_option(label="已接来电")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(re.compile("张三13800138000手机卡线路已接来电"))
    expect(rows).to_contain_text("已发送")  # the hang-up SMS
    # The shop's day and the customer narrow it; another day has nothing.
    panel.get_by_label("日期").fill("2026-03-06")
    expect(rows).to_have_count(1)
    panel.get_by_label("日期").fill("2026-03-05")
    expect(rows).to_have_text("没有符合条件的通话")
    panel.get_by_label("日期").fill("")
    panel.get_by_label(re.compile("^客户")).fill("张三")
    expect(rows).to_have_count(1)

    # Notes after the call, from the log.
    rows.get_by_role("button", name="记录沟通").click()
    dialog = page.locator("#note-dialog")
    expect(dialog).to_contain_text("沟通内容：张三")
    dialog.get_by_label("沟通内容").fill("订周六 6 位，要靠窗")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(rows).to_contain_text("订周六 6 位，要靠窗")

    # … and they are on 张三's card, where they can be changed again.
    page.get_by_role("tab", name="客户资料").click()
    page.get_by_text("张三 · 13800138000").click()
    card_calls = page.locator("#card-calls tbody tr")
    expect(card_calls).to_have_count(1)
    expect(card_calls).to_contain_text("订周六 6 位，要靠窗")
    card_calls.get_by_role("button", name="记录沟通").click()
    dialog.get_by_label("沟通内容").fill("改订周日 6 位")
    dialog.get_by_role("button", name="保存").click()
    expect(card_calls).to_contain_text("改订周日 6 位")
    (entry,) = kiosk.run(kiosk.desk.calls.search(customer_id=zhang.id))
    assert entry.notes == "改订周日 6 位"
