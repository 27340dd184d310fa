"""The merchant desk page in a real browser, with the modem simulator ringing it over a
real pty (the driver opens the pty's slave path with pyserial, as it would a USB port)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from zhanye_sdk.merchant.registration import Registration

from .kiosk_world import NOON, RunningKiosk

pytestmark = pytest.mark.e2e


#: The desk phone is a serial device (a pty), not an in-process shortcut.
KIOSK_TRANSPORT = "pty"


def test_a_regular_calls_books_a_table_and_an_unknown_caller_gets_a_reply(
    browser: Any, kiosk: RunningKiosk
) -> None:
    # The desk phone is a serial device here, not an in-process shortcut.
    assert os.path.realpath(kiosk.modem_url).startswith("/dev/pts/")
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    kiosk.run(kiosk.desk.reservations.add_resource("牡丹厅", kind="room", capacity=10))
    # The desk computer is in China: the page shows and reads local Shanghai time.
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, timezone_id="Asia/Shanghai"
    )
    try:
        page: Page = context.new_page()
        page.goto(kiosk.desk_url)
        expect(page.get_by_role("heading", name="商户管家")).to_be_visible()
        # The token is kept for the tab and taken out of the address bar.
        assert "token" not in page.url
        expect(page.locator("#status")).to_have_text("话机已连接")

        kiosk.sim.incoming_call("13800138000")
        popup = page.get_by_role("dialog")
        expect(popup).to_contain_text("张三 · 老客户", timeout=5000)
        popup.get_by_role("button", name="接听").click()
        popup.get_by_role("button", name="预订").click()
        popup.get_by_label("包间/桌位").select_option(label="牡丹厅（10）")
        popup.get_by_label("到店时间").fill("2026-03-07T18:00")
        popup.get_by_label("人数").fill("6")
        popup.get_by_role("button", name="确认预订").click()
        expect(popup.locator("#reserve-result")).to_contain_text("预订成功")
        kiosk.wait_for_sms(1)
        assert "牡丹厅" in (kiosk.sim.sent[0].text or "") and "6位" in (
            kiosk.sim.sent[0].text or ""
        )
        # A second, overlapping booking of the same room is refused with the reason
        # (in the shop's local time), and nobody gets a confirmation for it.
        popup.get_by_label("到店时间").fill("2026-03-07T19:00")
        popup.get_by_role("button", name="确认预订").click()
        expect(popup.locator("#reserve-result")).to_contain_text(
            "与当前情况冲突：牡丹厅在 18:00–20:00 已有预订，请换一个时间或资源"
        )
        assert len(kiosk.run(kiosk.desk.reservations.on_day(NOON, NOON + timedelta(days=2)))) == 1
        # While talking, the desk completes the card and notes the conversation; the
        # notes go on this call once it has ended.
        popup.get_by_label("单位").fill("某某公司")
        popup.get_by_label("沟通内容").fill("订周六牡丹厅，6位，要靠窗")
        popup.get_by_role("button", name="保存").click()
        expect(popup.locator("#popup-saved")).to_contain_text("通话结束后")
        kiosk.sim.remote_hangup()
        expect(popup.locator("#popup-state")).to_have_text("通话结束", timeout=5000)
        expect(popup.locator("#popup-saved")).to_have_text("已保存")
        kiosk.wait_for_sms(2)  # the hang-up SMS
        assert kiosk.run(kiosk.desk.customers.get(zhang.id)).company == "某某公司"
        history = kiosk.run(kiosk.desk.customers.history(zhang.id))
        assert [(h.outcome, h.notes) for h in history] == [
            ("answered", "订周六牡丹厅，6位，要靠窗")
        ]
        # The pop-up's SMS action opens the SMS screen addressed to the caller.
        popup.get_by_role("button", name="短信").click()
        expect(popup).to_be_hidden()
        expect(page.get_by_role("tab", name="群发短信")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#sms-numbers")).to_have_value("13800138000")
        page.get_by_role("tab", name="客户资料").click()

        # An unknown number rings and gives up: captured, and texted back.
        kiosk.sim.incoming_call("13912345678", rings=2)
        expect(popup).to_contain_text("未知客户", timeout=5000)
        expect(popup.locator("#popup-state")).to_have_text("未接来电", timeout=8000)
        kiosk.wait_for_sms(3)
        assert "未能接听" in (kiosk.sim.sent[2].text or "")
        assert kiosk.sim.sent[2].recipient == "13912345678"
        captured = kiosk.run(kiosk.desk.customers.by_phone("13912345678"))
        assert captured is not None and captured.display_name == "未知客户"
        expect(page.locator("#toast")).to_contain_text("13912345678")

        # The customer book finds the regular by pinyin initials and saves a note.
        page.keyboard.press("Escape")
        page.get_by_placeholder(re.compile("拼音首字母")).fill("zs")
        page.get_by_text("张三 · 13800138000").click()
        page.locator("#card-form").get_by_label("备注").fill("爱吃辣")
        page.get_by_role("button", name="保存").click()
        expect(page.locator("#toast")).to_have_text("已保存")
        assert kiosk.run(kiosk.desk.customers.get(zhang.id)).notes == "爱吃辣"

        # The reservations board: the booking is there; cancelling it texts the customer.
        page.get_by_role("tab", name="预订看板").click()
        page.locator("#board-day").fill("2026-03-07")
        page.locator("#board-day").dispatch_event("change")
        row = page.locator("#board tbody tr:not(.empty)")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("张三")
        sent = len(kiosk.sim.sent)
        page.once("dialog", lambda dialog: dialog.accept())  # 确定取消…吗？
        row.get_by_role("button", name="取消预订").click()
        expect(page.locator("#board-result")).to_contain_text("已取消")
        expect(row).to_have_count(0)
        kiosk.wait_for_sms(sent + 1)
        assert "已取消" in (kiosk.sim.sent[sent].text or "")

        # Bulk SMS: preview the parts, then send; locked without a registered SIM.
        kiosk.registration = None
        kiosk.run(kiosk.desk.customers.add_to_group(zhang.id, "会员"))
        page.get_by_role("tab", name="群发短信").click()
        page.get_by_label(re.compile("客户分组")).fill("会员")
        page.get_by_role("button", name="预览").click()
        expect(page.locator("#sms-summary")).to_contain_text("共 1 人")
        expect(page.locator("#sms-list")).to_contain_text("张三您好")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="发送").click()
        expect(page.locator("#toast")).to_contain_text("暂时不能这样做：")
        expect(page.locator("#toast")).to_contain_text("SIM 卡尚未验证，请先连接设备")
        kiosk.registration = Registration(True, quota_per_day=100, signature="小馆")
        sent_before = len(kiosk.sim.sent)
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="发送").click()
        expect(page.locator("#sms-summary")).to_have_text(
            "已提交 1 条，失败 0 条，跳过 0 条（含退订 0）"
        )
        kiosk.wait_for_sms(sent_before + 1)

        # The ledger: a bill settled exactly, and the report with its chart.
        page.get_by_role("tab", name="收银记账").click()
        ledger = page.locator('[data-panel="ledger"]')
        ledger.get_by_label(re.compile("消费明细")).fill("清蒸鲈鱼 1 88.00\n米饭 3 2.50")
        ledger.get_by_label("实收金额").fill("100")
        ledger.get_by_role("button", name="结账").click()
        expect(page.locator("#bill-result")).to_have_text("应收 95.50 元（折扣 1），找零 4.50 元")
        expect(page.locator("#report-table tbody tr")).to_have_count(1)
        expect(page.locator("#report-chart .bars .point")).to_have_count(1, timeout=30_000)
    finally:
        context.close()
