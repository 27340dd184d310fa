"""The desk page at 1366×768 on a computer set to another time zone than the shop's:
the pop-up's urgent buttons on screen, a pop-up that stays until the desk is done,
the call kept while texting, times in the shop's zone, confirmations before cancelling,
empty lists that say so, clear reasons for bad input, voided bills."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from .kiosk_world import NOON, RunningKiosk

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 1366, 768
# 20:30 on 5 March in Beijing: 12:30 UTC, 04:30 in Los Angeles.
EVENING_CALL = datetime(2026, 3, 5, 12, 30, tzinfo=UTC)


@pytest.fixture
def page(browser: Any, kiosk: RunningKiosk) -> Iterator[Page]:
    # The desk computer's clock is set to Los Angeles; the shop is in Shanghai.
    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, timezone_id="America/Los_Angeles"
    )
    try:
        opened: Page = context.new_page()
        opened.goto(kiosk.desk_url)
        expect(opened.locator("#status")).to_have_text("话机已连接")
        yield opened
    finally:
        context.close()


def on_screen(locator: Locator) -> bool:
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= WIDTH
        and box["y"] + box["height"] <= HEIGHT
    )


def test_the_pop_up_puts_the_call_first_and_stays_until_the_desk_is_done(
    page: Page, kiosk: RunningKiosk
) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    # A long card: five calls with notes and three coming visits.
    for days in range(4, 0, -1):
        kiosk.run(
            kiosk.desk.customers.record_call(
                "13800138000",
                direction="in",
                outcome="answered",
                started_at=EVENING_CALL - timedelta(days=days),
                duration_s=60,
                notes="问了包间价格，想订周末的大桌，要靠窗，带老人小孩，需要儿童椅" * 2,
            )
        )
    kiosk.run(
        kiosk.desk.customers.record_call(
            "13800138000",
            direction="in",
            outcome="answered",
            started_at=EVENING_CALL,
            duration_s=60,
            notes="订了周六",
        )
    )
    room = kiosk.run(kiosk.desk.reservations.add_resource("牡丹厅", kind="room", capacity=10))
    for day in (1, 2, 3):
        start = NOON + timedelta(days=day, hours=6)
        kiosk.run(
            kiosk.desk.reservations.reserve(room.id, zhang.id, 4, start, start + timedelta(hours=2))
        )

    kiosk.sim.incoming_call("13800138000")
    popup = page.locator("#popup")
    expect(popup).to_contain_text("张三 · 老客户", timeout=5000)
    # The evening call is shown at the shop's time, on its day.
    expect(popup.locator("#popup-calls li").first).to_have_text("3月5日 20:30 已接听 · 订了周六")
    expect(popup.locator("#popup-upcoming li").first).to_contain_text("3月7日 18:00 · 4位")
    answer = popup.get_by_role("button", name="接听")
    hangup = popup.get_by_role("button", name="挂断")
    assert on_screen(answer) and on_screen(hangup)

    # 短信 while it rings: the SMS screen opens for the caller, the call stays answerable.
    popup.get_by_role("button", name="短信").click()
    expect(page.get_by_role("tab", name="群发短信")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#sms-numbers")).to_have_value("13800138000")
    expect(popup).to_be_visible()
    assert on_screen(answer) and on_screen(hangup)
    answer.click()
    expect(popup.locator("#popup-state")).to_have_text("已接听", timeout=5000)
    popup.get_by_role("button", name="返回来电").click()
    expect(popup.locator("#popup-calls")).to_be_visible()

    # The call ends; the pop-up stays for the notes (it used to close after 1.5 s).
    kiosk.sim.remote_hangup()
    expect(popup.locator("#popup-state")).to_have_text("通话结束", timeout=5000)
    page.wait_for_timeout(2500)
    expect(popup).to_be_visible()
    popup.get_by_label("沟通内容").fill("改到周日")
    popup.get_by_role("button", name="保存").click()
    expect(popup).to_be_hidden()
    expect(page.locator("#toast")).to_have_text("已保存")
    history = kiosk.run(kiosk.desk.customers.history(zhang.id))
    assert history[0].notes == "改到周日"

    # A first-time caller's card says there is nothing yet.
    kiosk.sim.incoming_call("13912345678")
    expect(popup).to_contain_text("未知客户", timeout=5000)
    expect(popup.locator("#popup-calls")).to_have_text("暂无来电记录")
    expect(popup.locator("#popup-upcoming")).to_have_text("暂无预订")
    kiosk.sim.remote_hangup()
    expect(popup.locator("#popup-state")).to_have_text("未接来电", timeout=8000)


def test_the_board_is_in_shop_time_and_asks_before_cancelling(
    page: Page, kiosk: RunningKiosk
) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    room = kiosk.run(kiosk.desk.reservations.add_resource("牡丹厅", kind="room", capacity=10))
    start = NOON + timedelta(hours=6)  # 18:00 on 6 March in Shanghai
    booking = kiosk.run(
        kiosk.desk.reservations.reserve(room.id, zhang.id, 4, start, start + timedelta(hours=2))
    )
    page.get_by_role("tab", name="预订看板").click()
    row = page.locator("#board tbody tr:not(.empty)")
    expect(row).to_have_count(1)
    expect(row.locator("td").first).to_have_text("18:00")
    expect(page.locator("#board-day")).to_have_value("2026-03-06")

    # 改期 opens a dialog with date and time pickers, filled with the booking's time.
    row.get_by_role("button", name="改期").click()
    dialog = page.get_by_role("dialog", name="改期：张三 3月6日 18:00 牡丹厅")
    expect(dialog.get_by_label("新的到店日期")).to_have_value("2026-03-06")
    expect(dialog.get_by_label("到店时间")).to_have_value("18:00")
    expect(dialog.get_by_label("时长（小时）")).to_have_value("2")
    # What is missing or wrong is said in Chinese in the dialog; nothing changes.
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.locator("#reschedule-result")).to_have_text(
        "时间没有变化；如需改期，请选择新的日期或时间"
    )
    dialog.get_by_label("新的到店日期").fill("")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.locator("#reschedule-result")).to_have_text("请选择新的到店日期")
    expect(dialog.get_by_label("新的到店日期")).to_be_focused()
    dialog.get_by_label("新的到店日期").fill("2026-03-07")
    dialog.get_by_label("到店时间").fill("")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.locator("#reschedule-result")).to_have_text("请选择到店时间（时:分）")
    dialog.get_by_label("到店时间").fill("19:00")
    dialog.get_by_label("时长（小时）").fill("12")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.locator("#reschedule-result")).to_have_text("用餐时长须在 1 到 8 小时之间")
    dialog.get_by_label("时长（小时）").fill("2")
    # The SDK's refusal (a time already past) is shown in the dialog too.
    dialog.get_by_label("新的到店日期").fill("2026-03-05")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.locator("#reschedule-result")).to_have_text(
        "输入有误：2026年3月5日 19:00 已经过去，不能预订过去的时间，请检查日期"
    )
    assert kiosk.run(kiosk.desk.reservations.get(booking.id)).start == start
    # Cancelled: nothing changes.
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    assert kiosk.run(kiosk.desk.reservations.get(booking.id)).start == start
    # A time picked on the desk is the shop's local time.
    row.get_by_role("button", name="改期").click()
    dialog.get_by_label("新的到店日期").fill("2026-03-07")
    dialog.get_by_label("到店时间").fill("19:00")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#board-result")).to_contain_text("已改期")
    expect(page.locator("#board-result")).to_contain_text("3月7日(周六) 19:00")
    moved = kiosk.run(kiosk.desk.reservations.get(booking.id))
    assert moved.start == datetime(2026, 3, 7, 11, 0, tzinfo=UTC)
    expect(page.locator("#board tbody")).to_have_text("当天暂无预订")

    page.locator("#board-day").fill("2026-03-07")
    page.locator("#board-day").dispatch_event("change")
    expect(row.locator("td").first).to_have_text("19:00")
    asked: list[str] = []

    def decline(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    row.get_by_role("button", name="取消预订").click()
    expect(row).to_contain_text("已预订")
    assert asked and "确定取消 张三 3月7日 19:00 的牡丹厅预订吗" in asked[0]
    assert kiosk.run(kiosk.desk.reservations.get(booking.id)).status == "booked"
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="取消预订").click()
    expect(page.locator("#board-result")).to_contain_text("已取消")
    expect(page.locator("#board tbody")).to_have_text("当天暂无预订")


def test_a_wrong_bill_is_voided_with_a_reason_and_left_out_of_the_report(
    page: Page, kiosk: RunningKiosk
) -> None:
    page.get_by_role("tab", name="收银记账").click()
    ledger = page.locator('[data-panel="ledger"]')
    expect(page.locator("#bills tbody")).to_have_text("暂无账单")
    expect(page.locator("#report-table tbody")).to_have_text("暂无账单")
    for items, paid in [("套餐 1 30.00", "30"), ("套餐 10 30.00", "300")]:
        ledger.get_by_label(re.compile("消费明细")).fill(items)
        ledger.get_by_label("实收金额").fill(paid)
        ledger.get_by_role("button", name="结账").click()
        expect(page.locator("#bill-result")).to_contain_text(f"应收 {paid}.00 元")
    bills = page.locator("#bills tbody tr")
    expect(bills).to_have_count(2)
    # Newest first, at the shop's time (12:00 in Shanghai; 20:00 the day before in LA).
    expect(bills.first).to_contain_text("3月6日 12:00")
    expect(bills.first).to_contain_text("套餐×10")
    # 冲红 asks for the reason in a dialog; without one it says so and nothing changes.
    bills.first.get_by_role("button", name="冲红").click()
    void = page.get_by_role("dialog", name="冲红账单：套餐×10（300.00 元）")
    void.get_by_role("button", name="确认冲红").click()
    expect(void.locator("#void-result")).to_have_text("请填写冲红原因，如“数量录错”")
    expect(bills.first).not_to_contain_text("已冲红")
    void.get_by_label("冲红原因").fill("数量录错")
    void.get_by_role("button", name="确认冲红").click()
    expect(void).to_be_hidden()
    expect(page.locator("#bill-result")).to_have_text("已冲红：套餐×10，不再计入报表合计")
    expect(bills.first).to_contain_text("已冲红：数量录错")
    expect(bills.first.get_by_role("button", name="冲红")).to_have_count(0)
    report = page.locator("#report-table tbody tr")
    expect(report).to_have_count(1)
    expect(report).to_have_text(re.compile(r"^2026-03-06130\.0030\.001 单（300\.00 元）$"))
    # A typing slip of an amount is refused with the limit.
    ledger.get_by_label(re.compile("消费明细")).fill("套餐 1 99999999999999999.99")
    ledger.get_by_label("实收金额").fill("99999999999999999.99")
    ledger.get_by_role("button", name="结账").click()
    expect(page.locator("#bill-result")).to_contain_text("过大：最多 999999.99 元")


def test_bulk_sms_input_is_explained_and_the_preview_counts_the_signature(
    page: Page, kiosk: RunningKiosk
) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13700137000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    kiosk.run(kiosk.desk.customers.add_to_group(zhang.id, "会员"))
    page.get_by_role("tab", name="群发短信").click()
    numbers = page.get_by_label(re.compile("^手机号"))
    template = page.get_by_label(re.compile("短信模板"))
    groups = page.get_by_label(re.compile("客户分组"))
    toast = page.locator("#toast")

    numbers.fill("123，13800138000、abc")
    page.get_by_role("button", name="预览").click()
    expect(toast).to_contain_text("以下 2 个号码不是有效的手机号，请改正或删除后再试：123、abc")

    numbers.fill("+86 138 0013 8000，13900139000")
    template.fill("{name您好，周末会员日")
    page.get_by_role("button", name="预览").click()
    expect(toast).to_contain_text("第 1 个字符处的“{”没有配对的“}”")

    template.fill("{name}您好，周末会员日")
    groups.fill("会员，老客户")
    page.get_by_role("button", name="预览").click()
    expect(toast).to_contain_text("没有这些客户分组：老客户。现有分组：会员")

    template.fill("")
    groups.fill("会员")
    page.get_by_role("button", name="预览").click()
    expect(toast).to_contain_text("短信内容不能为空")

    template.fill("{name}您好，周末会员日")
    page.get_by_role("button", name="预览").click()
    expect(page.locator("#sms-summary")).to_contain_text("共 3 人")
    items = page.locator("#sms-list li")
    expect(items).to_have_count(3)
    expect(items.first).to_have_text(
        "13800138000：顾客您好，周末会员日【小馆】（14字 / 1条，含签名）"
    )
    expect(items.nth(2)).to_contain_text("张三您好，周末会员日【小馆】")
