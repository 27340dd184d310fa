"""The cashier (流水录入) in a real browser at 1366×768, the modem simulator on a real pty:
a bill for a member picked from the book shows the discount, what is payable and the exact
change before it is paid; a customer typed at the desk goes into the book; a voided bill
leaves the totals (合计); the report's chart has axes and values, drawn by the Plotly.js the
desk serves itself (nothing is fetched from elsewhere); the report exports as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from zhanye_sdk.merchant.ledger import Guest

from .kiosk_world import RunningKiosk, open_desk_page

pytestmark = pytest.mark.e2e

KIOSK_TRANSPORT = "pty"


@pytest.fixture
def page(browser: Any, kiosk: RunningKiosk) -> Iterator[Page]:
    yield from open_desk_page(browser, kiosk)


def test_a_bill_for_a_member_and_the_report_with_its_chart_and_export(
    page: Page, kiosk: RunningKiosk, tmp_path: Path
) -> None:
    elsewhere: list[str] = []

    def watch(request: Request) -> None:
        if not request.url.startswith(kiosk.url) and not request.url.startswith(("blob:", "data:")):
            elsewhere.append(request.url)

    page.on("request", watch)
    gold = kiosk.run(kiosk.desk.customers.add_level("金卡", "0.88"))
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三", gender="男"))
    kiosk.run(kiosk.desk.customers.set_level(zhang.id, gold.id))

    page.get_by_role("tab", name="收银记账").click()
    cashier = page.locator("#cashier-form")
    cashier.get_by_label("姓名").fill("张")
    cashier.get_by_role("button", name="张三 · 13800138000 · 金卡").click()
    expect(cashier.get_by_label("顾客电话")).to_have_value("13800138000")
    expect(cashier.get_by_label("性别")).to_have_value("男")
    cashier.get_by_label("消费明细（每行：名称 数量 单价）").fill("清蒸鲈鱼 1 88.00\n米饭 3 2.50")
    quote = page.locator("#cashier-quote")
    expect(quote).to_have_text("合计 95.50 元 · 会员 8.8 折 · 应收 84.04 元")
    cashier.get_by_label("实收金额").fill("80")
    expect(quote).to_have_text("合计 95.50 元 · 会员 8.8 折 · 应收 84.04 元 · 还差 4.04 元")
    cashier.get_by_label("实收金额").fill("100")
    expect(quote).to_have_text("合计 95.50 元 · 会员 8.8 折 · 应收 84.04 元 · 找零 15.96 元")
    cashier.get_by_role("button", name="结账").click()
    expect(page.locator("#bill-result")).to_have_text("应收 84.04 元（折扣 0.88），找零 15.96 元")
    bills = page.locator("#bills tbody tr")
    expect(bills.first).to_contain_text("张三 男 13800138000")
    assert kiosk.run(kiosk.desk.ledger.get(1)).guest == Guest("张三", "男", "13800138000")

    # A customer typed at the desk goes into the book; full price.
    cashier.get_by_label("顾客电话").fill("13900139000")
    cashier.get_by_label("姓名").fill("李四")
    cashier.get_by_label("性别").select_option("女")
    cashier.get_by_label("消费明细（每行：名称 数量 单价）").fill("套餐 10 30.00")
    cashier.get_by_label("实收金额").fill("300")
    cashier.get_by_role("button", name="结账").click()
    expect(page.locator("#bill-result")).to_have_text("应收 300.00 元（折扣 1），找零 0.00 元")
    li = kiosk.run(kiosk.desk.customers.by_phone("13900139000"))
    assert li is not None and (li.name, li.gender) == ("李四", "女")
    expect(bills).to_have_count(2)

    report = page.locator("#report-table")
    expect(report.locator("tfoot")).to_have_text("合计2395.50384.04")
    # Voided: out of the totals, counted apart.
    bills.first.get_by_role("button", name="冲红").click()
    void = page.locator("#void-dialog")
    void.get_by_label("冲红原因").fill("数量录错")
    void.get_by_role("button", name="确认冲红").click()
    expect(page.locator("#bill-result")).to_have_text("已冲红：套餐×10，不再计入报表合计")
    expect(report.locator("tfoot")).to_have_text("合计195.5084.041 单（300.00 元）")

    # The chart: axis titles, the value on the bar.
    chart = page.locator("#report-chart")
    expect(chart.locator(".bars .point")).to_have_count(1, timeout=30_000)
    expect(chart.locator(".xtitle")).to_have_text("日期")
    expect(chart.locator(".ytitle")).to_have_text("实收（元）")
    expect(chart.locator(".bars .point text")).to_have_text("84.04")
    expect(chart.locator(".xtick text")).to_have_text("2026-03-06")

    page.locator("#report-kind").select_option("month")
    expect(chart.locator(".xtitle")).to_have_text("月份")
    expect(chart.locator(".xtick text")).to_have_text("2026-03")
    page.locator(".report-bar").get_by_label("文件格式").select_option("csv")
    with page.expect_download() as download:
        page.get_by_role("button", name="导出报表").click()
    saved = tmp_path / "report.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[-1] == ["合计", "1", "95.50", "84.04", "1", "300.00"]
    expect(page.locator("#report-result")).to_have_text("已导出：ledger-month.csv")
    assert elsewhere == []


def test_the_desk_serves_the_installed_plotly(kiosk: RunningKiosk) -> None:
    import importlib.util
    import urllib.request

    spec = importlib.util.find_spec("plotly")
    assert spec is not None and spec.origin is not None
    shipped = (Path(spec.origin).parent / "package_data" / "plotly.min.js").read_bytes()
    request = urllib.request.Request(f"{kiosk.url}/vendor/plotly.min.js")
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.read() == shipped
