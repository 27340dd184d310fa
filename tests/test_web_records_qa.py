"""The record dialog's 质检报告 in a real browser: score, verdict, violations with their
evidence, missing disclosures, speech rate and silences — in Chinese, and in English;
the SOP execution table's statuses, stored as codes, shown in the page's language."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from zhanye_sdk.store.schema import sop_session_reports

from .platform_world import World
from .records_qa_world import build_qa_record
from .records_world import RecordsWorld, build_records
from .test_web_admin_pages import log_in
from .webhost import RunningHost, world_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    async def prepare(world: World) -> tuple[RecordsWorld, str]:
        rw = await build_records(world)
        sid = await build_qa_record(world, rw.rooms)
        await store_first_step_as_before_codes(world.platform.database, sid)
        return rw, sid

    with world_host(tmp_path, prepare) as running:
        yield running


async def store_first_step_as_before_codes(database: Any, session_id: str) -> None:
    """Records written before status codes kept the Chinese label: make row 1 one."""
    where = sop_session_reports.c.session_id == session_id
    async with database.begin() as conn:
        stored = (await conn.execute(sa.select(sop_session_reports.c.steps).where(where))).one()
        steps = json.loads(stored.steps)
        assert [step["status"] for step in steps] == ["executed", *["missed_required"] * 2]
        steps[0]["status"] = "已执行"
        await conn.execute(
            sop_session_reports.update().where(where).values(steps=json.dumps(steps))
        )


def open_record(page: Page, session_id: str) -> Any:
    row = page.locator("#records tbody tr").filter(has_text=session_id)
    row.get_by_role("button").first.click()
    dialog = page.locator("#record-dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_the_record_dialog_shows_the_qa_report(browser: Any, host: RunningHost) -> None:
    rw, sid = host.extra
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    try:
        page: Page = context.new_page()
        log_in(page, host, "oa-A1")
        page.get_by_role("link", name="会话记录").click()
        expect(page.locator("#records tbody tr")).to_have_count(5)

        # The list shows the score and verdict; a session without the assistant shows "-".
        listed = page.locator("#records tbody tr").filter(has_text=sid)
        expect(listed).to_contain_text("45 分")
        expect(listed.locator(".qa-badge")).to_have_text("不合格")

        dialog = open_record(page, sid)
        qa = dialog.locator("#record-qa")
        expect(qa.get_by_role("heading", name="质检报告")).to_be_visible()
        expect(qa.locator("#record-qa-score")).to_have_text("45 分")
        badge = qa.locator("#record-qa-badge")
        expect(badge).to_have_text("不合格")
        expect(badge).to_have_class(re.compile("qa-fail"))
        rows = qa.locator("#record-qa-violations tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_have_text(re.compile(r"00:06\s*业务员\s*冷场\s*放心，保本保息\s*-5"))
        expect(rows.nth(1)).to_have_text(
            re.compile(r"00:15\s*业务员\s*承诺保本\s*放心，保本保息\s*-30")
        )
        expect(qa.locator("#record-qa-missing")).to_have_text("风险揭示；犹豫期说明")
        expect(qa.locator("#record-qa-silences")).to_have_text("00:06–00:15（9 秒）")
        expect(qa.locator("#record-qa-rate")).to_have_text(
            re.compile(r"^业务员 \d+ 字/分钟；客户 \d+ 字/分钟$")
        )
        expect(qa.locator("#record-qa-none")).to_be_hidden()
        # The execution table says each node's status in words, an old record's too.
        steps = dialog.locator("#record-sop tbody tr")
        expect(steps).to_have_count(3)
        expect(steps.nth(0)).to_contain_text("已执行")
        expect(steps.nth(1)).to_contain_text("未执行（必选）")
        expect(steps.nth(2)).to_contain_text("未执行（必选）")
        dialog.get_by_role("button", name="关闭").click()

        # A session without the assistant says so instead of an empty report.
        dialog = open_record(page, rw.id("S1"))
        expect(dialog.locator("#record-qa-none")).to_be_visible()
        expect(dialog.locator("#record-qa-none")).to_contain_text("没有质检报告")
        expect(dialog.locator("#record-qa-report")).to_be_hidden()
        dialog.get_by_role("button", name="关闭").click()

        page.goto(f"{host.url}/records?lang=en")
        dialog = open_record(page, sid)
        qa = dialog.locator("#record-qa")
        expect(qa.get_by_role("heading", name="Quality inspection")).to_be_visible()
        expect(qa.locator("#record-qa-score")).to_have_text("45 points")
        expect(qa.locator("#record-qa-badge")).to_have_text("Failed")
        expect(qa.locator("#record-qa-violations thead")).to_contain_text("Evidence")
        expect(qa.locator("#record-qa-violations tbody tr").first).to_contain_text("Salesperson")
        expect(qa.locator("#record-qa-silences")).to_have_text("00:06–00:15 (9 s)")
        steps = dialog.locator("#record-sop tbody tr")
        expect(steps.nth(0)).to_contain_text("Executed")
        expect(steps.nth(1)).to_contain_text("Not executed (required)")
    finally:
        context.close()
