"""Calling out from the desk page in a real browser at 1366×768, the modem simulator on a
real pty: 拨打 on a customer's card dials the desk phone (ATD), the call shows on the
floating dial pad and lands in the call log as 去电; a number typed on the pad and one
clicked in the call log are dialled too; a busy line and a bad number are explained."""

from __future__ import annotations

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


def test_dialling_from_a_card_the_pad_and_the_call_log(page: Page, kiosk: RunningKiosk) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    page.locator("#search").fill("张三")
    page.locator("#results li", has_text="张三").click()
    page.locator("#card-form").get_by_role("button", name="拨打").click()
    pad = page.get_by_role("region", name="拨号盘")
    expect(pad.locator("#dialpad-state")).to_have_text("正在呼叫 张三 13800138000")
    assert kiosk.sim.call is not None and kiosk.sim.call.number == "13800138000"
    pad.get_by_role("button", name="挂断").click()
    expect(pad.locator("#dialpad-state")).to_contain_text("通话结束")
    # In the call log as 去电.
    page.get_by_role("tab", name="通信记录").click()
    row = page.locator("#calls tbody tr", has_text="张三").first
    expect(row).to_contain_text("张三")
    expect(row).to_contain_text("去电")

    # Typed on the pad: a busy line is explained; a bad number never reaches the phone.
    pad.get_by_label("号码").fill("")
    for key in "13900000000":
        pad.get_by_role("button", name=key, exact=True).click()
    pad.get_by_role("button", name="拨打", exact=True).click()
    expect(pad.locator("#dialpad-state")).to_contain_text("呼叫 13900000000 未接通：对方忙")
    pad.get_by_label("号码").fill("12ab")
    pad.get_by_role("button", name="拨打", exact=True).click()
    expect(pad.locator("#dialpad-state")).to_have_text(
        "输入有误：“12ab”不是有效的电话号码，请检查后重新输入"
    )
    assert kiosk.sim.call is None

    # Clicked in the call log (the pad folded away first: it floats over the page).
    page.get_by_role("button", name="拨号盘").click()
    expect(pad).to_be_hidden()
    row.get_by_role("button", name="拨打").click()
    expect(pad.locator("#dialpad-state")).to_have_text("正在呼叫 张三 13800138000")
    pad.get_by_role("button", name="挂断").click()
    expect(pad.locator("#dialpad-state")).to_contain_text("通话结束")
    expect(page.locator("#calls tbody tr", has_text="张三").filter(has_text="去电")).to_have_count(
        2
    )
