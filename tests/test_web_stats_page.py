"""监控统计 in a real browser: Plotly charts served by the host under its CSP, tables of
the figures, the drill-down into an organization, and who sees the page."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .platform_world import World
from .stats_world import ZONE, Planned, expected, in_period, plan, store
from .test_web_admin_pages import log_in
from .webhost import RunningHost, world_host

pytestmark = pytest.mark.e2e

PERIOD = "from=2026-03-01&to=2026-03-03"  # the page's end day is included


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    async def prepare(world: World) -> tuple[World, list[Planned]]:
        planned = plan(count=120)
        await store(world, planned)
        return world, planned

    with world_host(tmp_path, prepare) as running:
        yield running


def day_rows(page: Page) -> list[list[str]]:
    rows = page.locator("#table-buckets tbody tr")
    return [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]


def test_company_admin_sees_charts_and_figures_and_drills_into_an_org(
    browser: Any, host: RunningHost
) -> None:
    world, planned = host.extra
    mine = [s for s in planned if s.company == "A" and in_period(s)]
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    try:
        page: Page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        # A CSP refusal (an inline script, eval, a style) is reported on the console.
        page.on(
            "console",
            lambda m: (
                errors.append(f"{m.text} {m.location}")
                if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
                else None
            ),
        )
        log_in(page, host, "ca-A")
        link = page.get_by_role("link", name="监控统计")
        expect(link).to_be_visible()
        page.goto(f"{host.url}/stats?{PERIOD}")
        expect(page.get_by_role("heading", name="监控统计")).to_be_visible()
        chart = page.locator("#chart-sessions")
        # Plotly drew the chart with its Chinese axis titles.
        expect(chart.locator(".xtitle")).to_have_text("日期")
        expect(chart.locator(".ytitle").first).to_have_text("会话数（场）")
        expect(chart.locator(".modebar")).to_have_count(1)
        expect(page.locator("#table-buckets tbody tr")).to_have_count(3)
        for row, day in zip(day_rows(page), (1, 2, 3), strict=True):
            want = expected(
                [s for s in mine if s.created.astimezone(ZONE).date() == date(2026, 3, day)]
            )
            assert row[0] == f"2026-03-0{day}"
            assert row[1] == f"{want['sessions']:,}"
            assert row[4] == f"{want['customers']:,}"
        total = expected(mine)
        expect(page.locator('[data-figure="stats.col.sessions"] .value')).to_have_text(
            str(total["sessions"])
        )
        # The chart's table as CSV: the same numbers, in Chinese.
        with page.expect_download() as download_info:
            page.locator("#chart-sessions-panel").get_by_role("button", name="导出 CSV").click()
        download = download_info.value
        assert download.suggested_filename.startswith("监控统计-按时间-")
        text = Path(download.path()).read_text(encoding="utf-8-sig")
        table = list(csv.reader(io.StringIO(text)))
        assert table[0][:2] == ["日期", "会话数"]
        assert [r[:2] for r in table[1:]] == [[r[0], r[1].replace(",", "")] for r in day_rows(page)]
        groups = page.locator("#table-groups tbody tr")
        expect(groups).to_have_count(2)
        expect(page.locator("#groups-title")).to_have_text("各机构会话")

        page.locator("#table-groups").get_by_role("button", name="机构A1").click()
        expect(page.locator("#groups-title")).to_have_text("各销售人员会话")
        a1 = [s for s in mine if s.org == "A1"]
        expect(page.locator("#stats-org-name")).to_have_text("机构A1")
        hosts = sorted({s.host for s in a1})
        expect(groups).to_have_count(len(hosts))
        expect(page.locator("#table-groups thead th").first).to_have_text("销售人员")
        expect(page.locator('[data-figure="stats.col.sessions"] .value')).to_have_text(str(len(a1)))
        assert sorted(groups.locator("td:first-child").all_inner_texts()) == hosts
        assert not errors, errors
    finally:
        context.close()


def test_an_org_admin_sees_only_their_organization(browser: Any, host: RunningHost) -> None:
    world, planned = host.extra
    mine = [s for s in planned if s.org == "A2" and in_period(s)]
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page: Page = context.new_page()
        log_in(page, host, "oa-A2")
        expect(page.get_by_role("link", name="监控统计")).to_be_visible()
        page.goto(f"{host.url}/stats?{PERIOD}")
        expect(page.locator("#chart-sessions .xtitle")).to_have_text("日期")
        expect(page.locator("#org-filter")).to_be_hidden()
        expect(page.locator('[data-figure="stats.col.sessions"] .value')).to_have_text(
            str(len(mine))
        )
        expect(page.locator("#table-groups tbody tr")).to_have_count(1)
        expect(page.locator("#table-groups tbody td").first).to_have_text("sp_A2")
        # English second: the charts' titles follow the page's language.
        page.goto(f"{host.url}/stats?{PERIOD}&lang=en")
        expect(page.locator("#chart-sessions .xtitle")).to_have_text("Date")
        expect(page.locator("#chart-sessions .ytitle").first).to_have_text("Sessions")
    finally:
        context.close()


def test_a_salesperson_has_no_statistics_page(browser: Any, host: RunningHost) -> None:
    context = browser.new_context()
    try:
        page: Page = context.new_page()
        log_in(page, host, "sp-A1")
        expect(page.get_by_role("link", name="会话记录")).to_be_visible()
        expect(page.get_by_role("link", name="监控统计")).to_have_count(0)
        page.goto(f"{host.url}/stats?{PERIOD}")
        expect(page.locator(".no-access")).to_be_visible()
    finally:
        context.close()
