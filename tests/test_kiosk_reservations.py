"""The reservations screen (预订管理) in a real browser at 1366×768, the modem simulator
on a real pty: rooms and tables added, edited and (when free) removed at the desk; a new
booking from the board for a number typed at the desk and one from a customer's card,
each texted; bookings found by name and number; a booking moved to another room (texted)
and given notes (not texted); a cancellation only after the desk confirms it, texted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from .kiosk_world import NOON, RunningKiosk, open_desk_page

pytestmark = pytest.mark.e2e

KIOSK_TRANSPORT = "pty"


@pytest.fixture
def page(browser: Any, kiosk: RunningKiosk) -> Iterator[Page]:
    yield from open_desk_page(browser, kiosk)


def test_rooms_and_tables_are_managed_on_the_reservations_screen(
    page: Page, kiosk: RunningKiosk
) -> None:
    page.get_by_role("tab", name="预订看板").click()
    rooms = page.locator("#resources tbody")
    expect(rooms).to_have_text("还没有包间或桌位，请先在下方“包间/桌位”中新增")
    form = page.locator("#resource-form")
    form.get_by_label("名称").fill("牡丹厅")
    form.get_by_label("类型").select_option(label="包间")
    form.get_by_label("容纳人数").fill("10")
    form.get_by_role("button", name="保存").click()
    expect(page.locator("#resource-result")).to_have_text("已保存：牡丹厅（10人）")
    form.get_by_label("名称").fill("1号桌")
    form.get_by_label("类型").select_option(label="桌位")
    form.get_by_label("容纳人数").fill("4")
    form.get_by_role("button", name="保存").click()
    expect(rooms.locator("tr")).to_have_count(2)
    expect(rooms.locator("tr").nth(1)).to_contain_text("牡丹厅包间10")

    # The same name twice is refused with the reason.
    form.get_by_label("名称").fill("牡丹厅")
    form.get_by_role("button", name="保存").click()
    expect(page.locator("#resource-result")).to_contain_text("已有名为“牡丹厅”的包间或桌位")
    form.get_by_role("button", name="取消").click()

    # Edited: a bigger room.
    rooms.locator("tr", has_text="牡丹厅").get_by_role("button", name="修改").click()
    expect(page.locator("#resource-form-title")).to_have_text("修改：牡丹厅")
    form.get_by_label("容纳人数").fill("12")
    form.get_by_role("button", name="保存").click()
    expect(rooms.locator("tr", has_text="牡丹厅")).to_contain_text("12")

    # Booked from now on: not removed, and the desk is told why.
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    room = next(r for r in kiosk.run(kiosk.desk.reservations.resources()) if r.name == "牡丹厅")
    start = NOON + timedelta(hours=6)
    booking = kiosk.run(
        kiosk.desk.reservations.reserve(room.id, zhang.id, 8, start, start + timedelta(hours=2))
    )
    page.once("dialog", lambda dialog: dialog.accept())
    rooms.locator("tr", has_text="牡丹厅").get_by_role("button", name="删除").click()
    expect(page.locator("#resource-result")).to_contain_text(
        "牡丹厅还有 1 个未到期的预订，请先换房或取消后再删除"
    )
    kiosk.run(kiosk.desk.reservations.set_status(booking.id, "cancelled"))
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    rooms.locator("tr", has_text="牡丹厅").get_by_role("button", name="删除").click()
    expect(page.locator("#resource-result")).to_have_text("已删除：牡丹厅")
    assert asked and "确定删除“牡丹厅”吗" in asked[0]
    expect(rooms.locator("tr")).to_have_count(1)
    assert [r.name for r in kiosk.run(kiosk.desk.reservations.resources())] == ["1号桌"]


def test_bookings_are_made_found_moved_noted_and_cancelled_with_texts(
    page: Page, kiosk: RunningKiosk
) -> None:
    kiosk.run(kiosk.desk.reservations.add_resource("牡丹厅", kind="room", capacity=10))
    kiosk.run(kiosk.desk.reservations.add_resource("芙蓉厅", kind="room", capacity=12))
    li, _ = kiosk.run(kiosk.desk.customers.capture("13912345678"))
    kiosk.run(kiosk.desk.customers.update(li.id, name="李四"))
    page.get_by_role("tab", name="预订看板").click()

    # A new booking from the board, for a caller not in the book yet: typed at the desk.
    page.get_by_role("button", name="新建预订").click()
    booking = page.locator("#booking-form")
    booking.get_by_label("顾客电话").fill("13800138000")
    booking.get_by_label("姓名").fill("张三")
    booking.get_by_label("包间/桌位").select_option(label="牡丹厅（10人）")
    booking.get_by_label("到店时间").fill("2026-03-07T18:00")
    booking.get_by_label("人数").fill("6")
    booking.get_by_label("备注").fill("要靠窗")
    booking.get_by_role("button", name="确认预订").click()
    expect(page.locator("#board-result")).to_contain_text(
        "预订成功，已发送确认短信：张三您好，已为您预订3月7日(周六) 18:00的牡丹厅（6位）"
    )
    kiosk.wait_for_sms(1)
    assert kiosk.sim.sent[0].recipient == "13800138000"
    expect(booking).to_be_hidden()
    board = page.locator("#board tbody")
    expect(page.locator("#board-day")).to_have_value("2026-03-07")
    expect(board.locator("tr")).to_have_count(1)
    expect(board.locator("tr").first).to_contain_text("18:00牡丹厅张三 138001380006已预订要靠窗")

    # From a customer's card (李四, found by the pinyin-free search of the book).
    page.get_by_role("tab", name="客户资料").click()
    page.locator("#search").fill("李四")
    page.locator("#results li", has_text="李四").click()
    page.locator("#card-form").get_by_role("button", name="预订").click()
    expect(page.locator("#board-new")).to_be_visible()
    expect(booking.get_by_label("顾客电话")).to_have_value("13912345678")
    expect(booking.get_by_label("姓名")).to_have_value("李四")
    booking.get_by_label("包间/桌位").select_option(label="牡丹厅（10人）")
    booking.get_by_label("到店时间").fill("2026-03-07T19:00")
    booking.get_by_label("人数").fill("4")
    booking.get_by_role("button", name="确认预订").click()
    # The room is taken then: refused with the reason, nothing texted.
    expect(page.locator("#booking-result")).to_contain_text("牡丹厅在 18:00–20:00 已有预订")
    booking.get_by_label("包间/桌位").select_option(label="芙蓉厅（12人）")
    booking.get_by_role("button", name="确认预订").click()
    expect(page.locator("#board-result")).to_contain_text(
        "李四您好，已为您预订3月7日(周六) 19:00的芙蓉厅"
    )
    kiosk.wait_for_sms(2)

    # Found by name and by number, with their dates.
    page.locator("#board-search").fill("张三")
    expect(page.locator("#board-caption")).to_have_text("查找“张三”：1 个预订")
    expect(board.locator("tr")).to_have_count(1)
    expect(board.locator("tr").first).to_contain_text("3月7日 18:00牡丹厅张三")
    page.locator("#board-search").fill("139 1234")
    expect(board.locator("tr").first).to_contain_text("李四")
    expect(board.locator("tr")).to_have_count(1)
    page.locator("#board-search").fill("王五")
    expect(board).to_have_text("没有找到预订")

    # Moved to another room and noted: the move is texted, the notes are not.
    page.locator("#board-search").fill("张三")
    expect(board.locator("tr").first).to_contain_text("张三")
    board.locator("tr").first.get_by_role("button", name="换房/备注").click()
    dialog = page.get_by_role("dialog", name="修改预订：张三 3月7日 18:00")
    dialog.get_by_label("包间/桌位（换房）").select_option(label="牡丹厅（10人）")
    dialog.get_by_label("备注").fill("要靠窗，带蛋糕")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#board-result")).to_have_text("备注已保存")
    expect(board.locator("tr").first).to_contain_text("要靠窗，带蛋糕")
    # 芙蓉厅 is taken at 19:00 by 李四: moving there is refused in the dialog.
    board.locator("tr").first.get_by_role("button", name="换房/备注").click()
    dialog.get_by_label("包间/桌位（换房）").select_option(label="芙蓉厅（12人）")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.locator("#booking-edit-result")).to_contain_text("芙蓉厅在 19:00–21:00 已有预订")
    dialog.get_by_role("button", name="取消").click()
    kiosk.run(
        kiosk.desk.reservations.change(
            kiosk.run(kiosk.desk.reservations.search("李四"))[0].id,
            start=datetime(2026, 3, 7, 13, 0, tzinfo=UTC),
            end=datetime(2026, 3, 7, 14, 0, tzinfo=UTC),
        )
    )
    board.locator("tr").first.get_by_role("button", name="换房/备注").click()
    dialog.get_by_label("包间/桌位（换房）").select_option(label="芙蓉厅（12人）")
    dialog.get_by_label("人数").fill("8")
    dialog.get_by_role("button", name="保存").click()
    expect(page.locator("#board-result")).to_contain_text(
        "已修改，已发送短信：张三您好，您的预订已改为3月7日(周六) 18:00的芙蓉厅（8位）"
    )
    kiosk.wait_for_sms(3)
    assert kiosk.sim.sent[2].recipient == "13800138000"
    assert len(kiosk.sim.sent) == 3  # the notes were not texted

    # Cancelled only once the desk confirms; then texted.
    row = board.locator("tr").first
    page.once("dialog", lambda d: d.dismiss())
    row.get_by_role("button", name="取消预订").click()
    expect(row).to_contain_text("已预订")
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="取消预订").click()
    expect(page.locator("#board-result")).to_contain_text(
        "已取消，已发送短信：张三您好，您3月7日(周六) 18:00在芙蓉厅的预订已取消"
    )
    kiosk.wait_for_sms(4)
    expect(row.locator("td").nth(4)).to_have_text("已取消")


def test_a_booking_s_customer_is_called_or_texted_from_the_board(
    page: Page, kiosk: RunningKiosk
) -> None:
    # 预定管理: "通过短信、电话将预定信息告知客户" — from the booking's row.
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    room = kiosk.run(kiosk.desk.reservations.add_resource("牡丹厅", kind="room", capacity=10))
    start = NOON + timedelta(hours=6)
    kiosk.run(
        kiosk.desk.reservations.reserve(room.id, zhang.id, 4, start, start + timedelta(hours=2))
    )
    page.get_by_role("tab", name="预订看板").click()
    row = page.locator("#board tbody tr", has_text="张三")
    row.get_by_role("button", name="拨打").click()
    pad = page.get_by_role("region", name="拨号盘")
    expect(pad.locator("#dialpad-state")).to_have_text("正在呼叫 张三 13800138000")
    assert kiosk.sim.call is not None and kiosk.sim.call.number == "13800138000"
    pad.get_by_role("button", name="挂断").click()
    expect(pad.locator("#dialpad-state")).to_contain_text("通话结束")
    page.get_by_role("button", name="拨号盘").click()

    row.get_by_role("button", name="短信").click()
    sms = page.locator('[data-panel="sms"]')
    expect(sms).to_be_visible()
    expect(sms.locator("#sms-numbers")).to_have_value("13800138000")
    expect(sms.locator("#sms-summary")).to_have_text("已填入张三的号码，请编辑短信内容后发送")

    # … and from the customer's card (点击客户直接发短信).
    sms.locator("#sms-numbers").fill("")
    page.get_by_role("tab", name="客户资料").click()
    page.locator("#results li", has_text="张三").click()
    expect(page.locator("#card-form").get_by_label("姓名")).to_have_value("张三")
    page.locator("#card-form").get_by_role("button", name="短信").click()
    expect(sms.locator("#sms-numbers")).to_have_value("13800138000")
