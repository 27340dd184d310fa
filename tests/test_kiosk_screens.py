"""The desk page's back-office screens in a real browser: membership levels, customer
care, import/export of the customer book, and check-out of a reservation."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from zhanye_sdk.merchant.care import CareBook

from .kiosk_world import NOON, RunningKiosk

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser: Any, kiosk: RunningKiosk) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="Asia/Shanghai", accept_downloads=True
    )
    try:
        opened: Page = context.new_page()
        opened.goto(kiosk.desk_url)
        expect(opened.locator("#status")).to_have_text("话机已连接")
        yield opened
    finally:
        context.close()


def test_levels_are_kept_and_the_member_discount_applies_at_check_out(
    page: Page, kiosk: RunningKiosk
) -> None:
    page.get_by_role("tab", name="会员等级").click()
    panel = page.locator('[data-panel="levels"]')
    panel.get_by_label("等级名称").fill("金卡")
    panel.get_by_label(re.compile("折扣率")).fill("0.88")
    panel.get_by_role("button", name="保存").click()
    expect(panel.locator("#level-result")).to_have_text("已保存：金卡，折扣率 0.88")
    expect(panel.locator("#levels tbody tr")).to_have_text(re.compile("金卡0.88（8.8折）"))
    # A rate outside (0, 1] is refused with the reason; nothing is stored.
    panel.get_by_label("等级名称").fill("白金卡")
    panel.get_by_label(re.compile("折扣率")).fill("1.5")
    panel.get_by_role("button", name="保存").click()
    # The reason is in Chinese, with the value typed.
    expect(panel.locator("#level-result")).to_contain_text(
        "输入有误：折扣“1.5”无效：须大于 0 且不超过 1"
    )
    expect(panel.locator("#level-result")).not_to_contain_text("discount rate")
    panel.get_by_role("button", name="取消").click()
    # Edit: 金卡 becomes 85 折.
    panel.locator("#levels tbody tr").get_by_role("button", name="修改").click()
    expect(panel.locator("#level-form-title")).to_have_text("修改会员等级：金卡")
    panel.get_by_label(re.compile("折扣率")).fill("0.85")
    panel.get_by_role("button", name="保存").click()
    expect(panel.locator("#levels tbody tr")).to_have_count(1)
    expect(panel.locator("#levels tbody tr")).to_contain_text("0.85（8.5折）")
    levels = kiosk.run(kiosk.desk.customers.levels())
    assert [(v.name, v.discount) for v in levels] == [("金卡", Decimal("0.85"))]

    # The customer card gives 张三 the level.
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    page.get_by_role("tab", name="客户资料").click()
    page.get_by_placeholder(re.compile("拼音首字母")).fill("zs")
    page.get_by_text("张三 · 13800138000").click()
    page.locator("#card-form").get_by_label("会员等级").select_option(label="金卡（8.5折）")
    page.locator("#card-form").get_by_role("button", name="保存").click()
    expect(page.locator("#toast")).to_have_text("已保存")
    card = kiosk.run(kiosk.desk.customers.get(zhang.id))
    assert card.level is not None and card.level.name == "金卡"

    # Check-out from the reservations board: the bill goes into the ledger at 85 折.
    room = kiosk.run(kiosk.desk.reservations.add_resource("牡丹厅", kind="room", capacity=10))
    start = NOON + timedelta(hours=6)  # 18:00 in Shanghai
    booking = kiosk.run(
        kiosk.desk.reservations.reserve(room.id, zhang.id, 4, start, start + timedelta(hours=2))
    )
    page.get_by_role("tab", name="预订看板").click()
    page.locator("#board-day").fill("2026-03-06")
    page.locator("#board-day").dispatch_event("change")
    row = page.locator("#board tbody tr")
    expect(row).to_contain_text("已预订")
    row.get_by_role("button", name="结账").click()
    checkout = page.locator("#checkout-form")
    expect(checkout.locator("#checkout-title")).to_have_text("结账：张三 · 牡丹厅")
    checkout.get_by_label(re.compile("消费明细")).fill("清蒸鲈鱼 1 88.00\n米饭 4 2.00")
    checkout.get_by_label("实收金额").fill("50")  # less than payable: refused, nothing kept
    checkout.get_by_role("button", name="结账").click()
    expect(page.locator("#board-result")).to_have_text(
        "输入有误：实收 50.00 元少于应付 81.60 元，请核对金额"
    )
    assert kiosk.run(kiosk.desk.reservations.get(booking.id)).status == "booked"
    checkout.get_by_label("实收金额").fill("100")
    checkout.get_by_role("button", name="结账").click()
    # 96.00 × 0.85 = 81.60
    expect(page.locator("#board-result")).to_have_text("应收 81.60 元（折扣 0.85），找零 18.40 元")
    expect(row).to_contain_text("已结账")
    expect(row.get_by_role("button", name="结账")).to_have_count(0)
    assert kiosk.run(kiosk.desk.reservations.get(booking.id)).status == "checked_out"
    days = kiosk.run(
        kiosk.desk.ledger.report("day", NOON - timedelta(days=1), NOON + timedelta(days=1))
    )
    assert [(d.bills, d.amount, d.payable) for d in days] == [
        (1, Decimal("96.00"), Decimal("81.60"))
    ]


def test_customer_care_settings_drive_the_greetings(page: Page, kiosk: RunningKiosk) -> None:
    page.get_by_role("tab", name="客户关怀").click()
    birthday = page.locator("#birthday-form")
    expect(birthday.get_by_label("在客户生日当天自动发送祝福短信")).to_be_checked()
    birthday.get_by_label("在客户生日当天自动发送祝福短信").uncheck()
    birthday.get_by_label("发送时间").fill("10:30")
    birthday.get_by_role("button", name="保存").click()
    expect(page.locator("#birthday-result")).to_have_text("已保存")

    holiday = page.locator("#holiday-form")
    holiday.get_by_label("节日", exact=True).fill("春节")
    holiday.get_by_label("日期").fill("2027-02-06")
    holiday.get_by_label("发送时间").fill("08:00")
    # The label lists the template's placeholders as they are typed.
    expect(holiday.get_by_text("祝福内容（可用 {name} {level} {date}）")).to_be_visible()
    holiday.get_by_role("button", name="短信模板").click()
    expect(holiday.get_by_label(re.compile("祝福内容"))).to_have_value(
        re.compile(r"^\{name\}您好，春节快乐！")
    )
    holiday.get_by_role("button", name="保存").click()
    expect(page.locator("#holiday-result")).to_have_text("已保存：春节（2027-02-06 08:00）")
    rows = page.locator("#holidays tbody tr:not(.empty)")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("春节2027-02-0608:00")
    # An unknown placeholder is refused with the reason.
    holiday.get_by_label("节日", exact=True).fill("元宵节")
    holiday.get_by_label("日期").fill("2027-02-20")
    holiday.get_by_label(re.compile("祝福内容")).fill("{phone}元宵快乐")
    holiday.get_by_role("button", name="保存").click()
    expect(page.locator("#holiday-result")).to_contain_text("无法识别的占位符 {phone}")
    expect(rows).to_have_count(1)

    # What the desk will send follows these settings: on 春节 after 08:00 the holiday
    # greeting is due, the birthday one is off.
    care = CareBook(kiosk.desk.db)
    settings = kiosk.run(care.settings())
    assert (settings.birthday_enabled, settings.send_at) == (False, "10:30")
    early = kiosk.run(care.calendar(datetime(2027, 2, 5, 23, 30, tzinfo=UTC)))  # 07:30 local
    due = kiosk.run(care.calendar(datetime(2027, 2, 6, 1, 0, tzinfo=UTC)))  # 09:00 local
    assert early.holidays == {} and due.birthday is None
    assert due.holidays["2027-02-06"][0] == "春节"

    # Edit, then delete.
    rows.get_by_role("button", name="修改").click()
    holiday.get_by_label("发送时间").fill("09:15")
    holiday.get_by_role("button", name="保存").click()
    expect(rows).to_contain_text("09:15")
    rows.get_by_role("button", name="删除").click()
    expect(rows).to_have_count(0)
    assert kiosk.run(care.holidays()) == []

    # English is the second language of the same screen.
    page.goto(f"{kiosk.url}/?lang=en")
    page.get_by_role("tab", name="Customer care").click()
    expect(page.get_by_label("Text customers a greeting on their birthday")).not_to_be_checked()


def test_import_and_export_of_the_customer_book(
    page: Page, kiosk: RunningKiosk, tmp_path: Path
) -> None:
    transfer = page.locator("#transfer")
    with page.expect_download() as template_download:
        transfer.get_by_role("button", name="下载导入模板").click()
    assert template_download.value.suggested_filename == "客户资料导入模板.xlsx"
    data = Path(template_download.value.path()).read_bytes()
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert next(sheet.iter_rows(values_only=True))[:2] == ("手机号", "姓名")
    expect(transfer.locator("#transfer-result")).to_contain_text("已下载")

    upload = tmp_path / "客户.csv"
    upload.write_text(
        "手机号,姓名,分组,生日\n"
        "13800138000,张三,老客户,1990-03-07\n"
        "not-a-phone,李四,,\n"
        "13900139000,王五,老客户,1991/02/03\n"
        "13700137000,赵六,新客户,\n",
        encoding="utf-8",
    )
    transfer.get_by_label(re.compile("选择要导入的文件")).set_input_files(upload)
    transfer.get_by_role("button", name="导入", exact=True).click()
    expect(transfer.locator("#transfer-result")).to_have_text(
        "导入完成：新增 2 位，更新 0 位，2 行有误未导入"
    )
    errors = transfer.locator("#import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.first).to_contain_text("第 3 行")
    expect(errors.nth(1)).to_contain_text("第 4 行")
    expect(errors.nth(1)).to_contain_text("生日须为“年-月-日”格式")
    progress = transfer.locator("#transfer-progress")
    expect(progress).to_be_visible()
    assert progress.evaluate("p => p.value === p.max")
    assert [c.name for c in kiosk.run(kiosk.desk.customers.group_members("老客户"))] == ["张三"]
    # The book lists them, newest first, before anything is searched.
    page.get_by_role("tab", name="客户资料").click()
    expect(page.locator("#results li")).to_have_text(["赵六 · 13700137000", "张三 · 13800138000"])

    transfer.get_by_label("文件格式").select_option("csv")
    with page.expect_download() as export_download:
        transfer.get_by_role("button", name="导出客户资料").click()
    assert export_download.value.suggested_filename == "客户资料.csv"
    text = Path(export_download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["手机号", "姓名"]
    assert sorted(r[1] for r in rows[1:]) == ["张三", "赵六"]


def test_a_refused_level_is_explained_in_english_on_the_english_desk(
    browser: Any, kiosk: RunningKiosk
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{kiosk.url}/?lang=en#token={kiosk.token}")
        expect(page.locator("#status")).to_have_text("Phone connected")
        panel = page.locator('[data-panel="levels"]')
        page.locator('[role="tab"][data-tab="levels"]').click()
        panel.get_by_label("Level", exact=True).fill("Platinum")
        panel.get_by_label(re.compile("Discount rate")).fill("1.5")
        panel.locator('button[type="submit"]').click()
        expect(panel.locator("#level-result")).to_contain_text(
            "a discount rate is in (0, 1] with at most 4 decimals, got '1.5'"
        )
        expect(panel.locator("#level-result")).not_to_contain_text("折扣")
    finally:
        context.close()
