"""The records page in a real browser: filter, details with the customer's rating, export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .records_world import RecordsWorld, build_records
from .test_web_admin_pages import log_in
from .webhost import RunningHost, world_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    with world_host(tmp_path, build_records) as running:
        yield running


def test_org_admin_filters_views_a_rating_and_exports(
    browser: Any, host: RunningHost, tmp_path: Path
) -> None:
    rw: RecordsWorld = host.extra
    context = browser.new_context(viewport={"width": 1366, "height": 800}, accept_downloads=True)
    try:
        page: Page = context.new_page()
        log_in(page, host, "oa-A1")
        page.get_by_role("link", name="会话记录").click()
        expect(page).to_have_url(re.compile(r"/records$"))
        expect(page.get_by_role("heading", name="会话记录")).to_be_visible()
        rows = page.locator("#records tbody tr")
        # The org admin sees their organization's four sessions, not A2's or B's.
        expect(rows).to_have_count(4)
        expect(page.locator("#total")).to_have_text("共 4 条")

        page.locator("#filter-host").select_option(label="sp_A1")
        page.locator("#filter-evaluation").select_option(label="5 分")
        page.get_by_role("button", name="查询").click()
        expect(rows).to_have_count(1)
        row = page.locator(f'tr[data-meeting="{rw.number("S1")}"]')
        expect(row).to_contain_text("机构A1")
        expect(row).to_contain_text("sp-A1")
        expect(row).to_contain_text("养老险")

        row.get_by_role("button", name="查看").click()
        dialog = page.get_by_role("dialog", name="会议详情")
        expect(dialog).to_be_visible()
        facts = dialog.locator("#record-facts")
        expect(facts).to_contain_text(rw.number("S1"))
        expect(facts).to_contain_text("已结束")
        expect(facts).to_contain_text("员工结束")
        expect(facts).to_contain_text("00:01:30")
        expect(facts).to_contain_text("sp_A1（sp-A1）")
        participants = dialog.locator("#record-participants")
        expect(participants).to_contain_text("张三")
        expect(participants).to_contain_text("客户")
        ratings = dialog.locator("#record-evaluations tbody tr")
        expect(ratings).to_have_count(1)
        expect(ratings.first).to_have_text(re.compile("张三\\s*5 分\\s*讲解清楚"))
        dialog.get_by_role("button", name="关闭").click()
        expect(dialog).to_be_hidden()

        with page.expect_download() as arrival:
            page.get_by_role("button", name="导出").click()
        download = arrival.value
        assert re.fullmatch(r"会话记录-\d{8}-\d{6}\.csv", download.suggested_filename)
        saved = tmp_path / "export.csv"
        download.save_as(saved)
        data = saved.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert table[0][:2] == ["会话ID", "会话编号"]
        assert [r[1] for r in table[1:]] == [rw.number("S1")]  # the filtered list only
        progress = page.locator("#export-progress")
        expect(progress).to_be_visible()
        assert progress.evaluate("bar => [bar.value, bar.max]") == [1, 1]
        expect(page.locator("#export-count")).to_have_text("1 / 1 条")
        expect(page.locator("#notice")).to_contain_text("导出完成")

        page.goto(f"{host.url}/records?lang=en")
        expect(page.get_by_role("heading", name="Session records")).to_be_visible()
        expect(page.locator("#records thead")).to_contain_text("Meeting no.")
    finally:
        context.close()
