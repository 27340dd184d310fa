"""The desk phone's second line (一机双号) at the desk page, in a real browser at
1366×768 with the modem simulator on a real pty: a call to the shop's old landline pops
up tagged 座机线路 and one to the SIM's number 手机卡线路; 接听 answers on the line that
rings; a mobile caller on the landline still gets the hang-up SMS (sent on the SIM),
a landline caller gets none and the desk is told why; the call log shows each call's
line and filters by it."""

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


def test_calls_on_the_landline_and_the_sim_pop_up_tagged_by_line(
    page: Page, kiosk: RunningKiosk
) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    popup = page.locator("#popup")
    tag = popup.locator("#popup-line")

    # 张三 rings the shop's old landline number: the pop-up is as for the SIM's, tagged 座机.
    kiosk.sim.landline_call("13800138000")
    expect(popup).to_contain_text("张三 · 老客户")
    expect(tag).to_have_text("座机线路（原固话）来电")
    popup.get_by_role("button", name="接听").click()
    expect(popup.locator("#popup-state")).to_have_text("已接听")
    assert "AT^PSTNANS" in kiosk.sim.commands and "ATA" not in kiosk.sim.commands
    kiosk.sim.landline_hangup()
    expect(popup.locator("#popup-state")).to_have_text("通话结束")
    # A mobile caller on the landline gets the hang-up SMS, sent on the SIM.
    kiosk.wait_for_sms(1)
    assert kiosk.sim.sent[0].recipient == "13800138000"
    popup.get_by_role("button", name="关闭").click()
    expect(popup).to_be_hidden()

    # A fixed-line caller on the landline who gives up: missed, and no SMS (told why).
    kiosk.sim.landline_call("02188886666", rings=2)
    expect(popup).to_contain_text("02188886666")
    expect(tag).to_have_text("座机线路（原固话）来电")
    expect(popup.locator("#popup-state")).to_have_text("未接来电")
    expect(page.locator("#toast")).to_contain_text("固定电话收不到短信")
    popup.get_by_role("button", name="关闭").click()

    # A call to the SIM's number: tagged 手机卡线路.
    kiosk.sim.incoming_call("13900139000")
    expect(popup).to_contain_text("13900139000")
    expect(tag).to_have_text("手机卡线路来电")
    popup.get_by_role("button", name="挂断").click()
    expect(popup.locator("#popup-state")).not_to_have_text("")
    assert kiosk.sim.commands.count("AT^PSTNHUP") == 0 and "ATH" in kiosk.sim.commands
    popup.get_by_role("button", name="关闭").click()
    assert len(kiosk.sim.sent) == 1

    # The call log names each call's line and filters by it.
    page.get_by_role("tab", name="通信记录").click()
    panel = page.locator('[data-panel="calls"]')
    rows = panel.locator("#calls tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="13900139000")).to_contain_text("手机卡线路")
    expect(rows.filter(has_text="02188886666")).to_contain_text("座机线路（原固话）")
    panel.get_by_label("线路").select_option(label="座机线路（原固话）")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="02188886666")).to_contain_text(
        re.compile("02188886666座机线路（原固话）未接来电")
    )
    expect(rows.filter(has_text="张三")).to_contain_text(
        re.compile("张三13800138000座机线路（原固话）已接来电")
    )
    panel.get_by_label("线路").select_option(label="手机卡线路")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("13900139000")

    # On 张三's card too: the call came in on the landline.
    page.get_by_role("tab", name="客户资料").click()
    page.get_by_text("张三 · 13800138000").click()
    expect(page.locator("#card-calls tbody tr")).to_contain_text("已接来电 · 座机线路（原固话）")
