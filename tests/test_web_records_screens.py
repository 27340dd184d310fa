"""会话记录, 账号设置 and 机构设置 as the manual shows them, in a real browser: every
filter of the search panel, the table's columns, marking 是否投保 (kept after a
reload), material types in words in the details, and 创建时间 / 创建人 / 所属公司."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.store.schema import cobrowse_shares, session_media, whiteboard_ops

from . import material_files
from .platform_world import build_world
from .records_world import RecordsWorld, build_records
from .test_web_admin_pages import log_in
from .webhost import RunningHost

pytestmark = pytest.mark.e2e


@pytest.fixture
def host(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHost]:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )
    monkeypatch.chdir(tmp_path)

    async def make() -> tuple[Any, RecordsWorld]:
        world = await build_world(f"sqlite:///{tmp_path}/web.db", config)
        rw = await build_records(world)
        admin = world.p("oa_A1")
        link = await world.platform.materials.add_link(admin, "百万安心疗", "https://x.cn/p")
        brochure = await world.platform.materials.upload_file(
            admin, "产品手册.pdf", material_files.pdf(pages=2)
        )
        document = {
            "id": f"file-{brochure.id}",
            "kind": "file",
            "name": brochure.name,
            "pages": [[800, 1131], [800, 1131]],
            "source": brochure.id,
        }
        async with world.platform.database.begin() as conn:
            # S1 co-browsed the product and showed the brochure; S2 has a recording.
            await conn.execute(
                cobrowse_shares.insert().values(
                    id="share-s1",
                    session_id=rw.id("S1"),
                    material_id=link.id,
                    name=link.name,
                    url=link.url,
                    sharer_id="c",
                    started_ms=0,
                )
            )
            await conn.execute(
                whiteboard_ops.insert().values(
                    session_id=rw.id("S1"),
                    seq=1,
                    op_id="o1",
                    author="h",
                    type="share.open",
                    data=json.dumps({"op_id": "o1", "document": document}),
                    effects="[]",
                    at_ms=0,
                )
            )
            await conn.execute(
                session_media.insert().values(session_id=rw.id("S2"), recording_status="ready")
            )
        return world.platform, rw

    running = RunningHost(make).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def search(page: Page, **choices: str) -> None:
    page.get_by_role("button", name="重置").click()
    for selector, label in choices.items():
        field = page.locator(f"#filter-{selector}")
        field.select_option(label=label)
    page.get_by_role("button", name="查询").click()


def test_filters_columns_outcome_and_details(page: Page, host: RunningHost) -> None:
    rw: RecordsWorld = host.extra
    log_in(page, host, "oa-A1")
    page.get_by_role("link", name="会话记录").click()
    rows = page.locator("#records tbody tr")
    expect(rows).to_have_count(4)
    head = page.locator("#records thead")
    for title in ("会话ID", "会话编号", "所属机构", "项目", "员工姓名", "账号", "会话开始时间"):
        expect(head).to_contain_text(title)
    for title in ("会议时长", "质检得分", "评价", "是否投保"):
        expect(head).to_contain_text(title)
    s1 = page.locator(f'tr[data-meeting="{rw.number("S1")}"]')
    expect(s1).to_contain_text("00:01:30")
    expect(s1).to_contain_text("5 分（1 人）")
    expect(s1).to_contain_text("未标记")

    search(page, link="百万安心疗")
    expect(rows).to_have_count(1)
    expect(s1).to_be_visible()
    search(page, video="有视频")
    expect(rows).to_have_count(1)
    expect(page.locator(f'tr[data-meeting="{rw.number("S2")}"]')).to_be_visible()
    page.get_by_role("button", name="重置").click()
    page.get_by_label("客户姓名").fill("王五")
    page.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(1)
    expect(page.locator(f'tr[data-meeting="{rw.number("S2")}"]')).to_be_visible()

    # 是否投保: marked in the details, shown in the list, kept after a reload.
    page.get_by_role("button", name="重置").click()
    s1.get_by_role("button", name="查看").click()
    details = page.get_by_role("dialog", name="会议详情")
    details.get_by_label("标记结果").select_option(label="已投保")
    details.get_by_role("button", name="保存").click()
    expect(details.locator("#record-insured-by")).to_contain_text("oa-A1 于")
    # The shared materials in words: a link's address, a file's type and pages.
    materials = details.locator("#record-materials tbody tr")
    expect(materials).to_have_text(
        [
            re.compile(r"链接\s*百万安心疗\s*https://x\.cn/p"),
            re.compile(r"文件\s*产品手册\.pdf\s*PDF · 共 2 页"),
        ]
    )
    details.get_by_role("button", name="关闭").click()
    expect(s1).to_contain_text("已投保")
    page.reload()
    search(page, insured="已投保")
    expect(rows).to_have_count(1)
    expect(s1).to_contain_text("已投保")
    search(page, insured="未标记")
    expect(rows).to_have_count(3)


def test_a_query_sent_before_the_script_ran_is_applied_and_searching_leaves_details_shut(
    page: Page, host: RunningHost
) -> None:
    rw: RecordsWorld = host.extra
    log_in(page, host, "oa-A1")
    expect(page.get_by_role("link", name="会话记录")).to_be_visible()  # logged in
    # 查询 pressed before the page's script was ready: the form's own GET.
    page.goto(f"{host.url}/records?customer_name=王五")
    rows = page.locator("#records tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator(f'tr[data-meeting="{rw.number("S2")}"]')).to_be_visible()
    expect(page.get_by_label("客户姓名")).to_have_value("王五")
    # Opened from the workbench's 查看记录, closed, then a search: the details stay shut.
    page.goto(f"{host.url}/records?view={rw.id('S1')}")
    details = page.get_by_role("dialog", name="会议详情")
    expect(details).to_be_visible()
    details.get_by_role("button", name="关闭").click()
    with page.expect_response(lambda r: "/api/records?" in r.url):
        page.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(4)
    page.wait_for_timeout(1000)  # the record's details would have been fetched again by now
    expect(details).to_be_hidden()


def test_accounts_and_organizations_show_when_and_by_whom_they_were_made(
    page: Page, host: RunningHost
) -> None:
    log_in(page, host, "oa-A1")
    page.get_by_role("link", name="账号设置").click()
    head = page.locator("#accounts thead")
    expect(head).to_contain_text("创建时间")
    expect(head).to_contain_text("创建人")
    row = page.locator('tr[data-login="sp-A1"]')
    expect(row).to_contain_text("root")
    expect(row).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"))
    page.get_by_role("button", name="新建账号").click()
    dialog = page.locator("#account-dialog")
    dialog.get_by_label("账号").fill("szk150274")
    dialog.get_by_label("姓名").fill("杨伟")
    dialog.get_by_label("初始密码").fill("Kv8-secret-pass")
    dialog.get_by_role("button", name="保存").click()
    expect(page.locator('tr[data-login="szk150274"]')).to_contain_text("oa-A1")

    page.goto(f"{host.url}/login")
    log_in(page, host, "ca-A")
    page.get_by_role("link", name="机构设置").click()
    head = page.locator("#orgs thead")
    for title in ("所属公司", "创建时间", "创建人"):
        expect(head).to_contain_text(title)
    page.get_by_role("button", name="新建机构").click()
    page.locator("#org-dialog").get_by_label("机构名称").fill("招商展业网电组")
    page.locator("#org-dialog").get_by_role("button", name="保存").click()
    made = page.locator('tr[data-name="招商展业网电组"]')
    expect(made).to_contain_text("公司A")
    expect(made).to_contain_text("ca-A")
    expect(page.locator('tr[data-name="机构A1"]')).to_contain_text("root")
