"""SOP管理 in a real browser: script library with search, flow editor and copy, templates
with organizations, QA rules; only company admins see it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .platform_world import World
from .test_web_admin_pages import log_in
from .webhost import RunningHost, world_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHost]:
    monkeypatch.chdir(tmp_path)

    async def prepare(world: World) -> None:
        admin = world.p("ca_A")
        await world.platform.materials.add_link(admin, "资产配置介绍", "https://example.com/a")

    with world_host(tmp_path, prepare) as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def add_node(
    flow: Locator,
    level: int,
    title: str,
    phrases: str,
    *,
    required: bool = False,
    pages: str = "",
    scripts: tuple[str, ...] = (),
) -> None:
    """Add a row to the flow's node table and fill it in."""
    flow.get_by_role("button", name="添加节点").click()
    row = flow.locator("#flow-nodes tbody tr").last
    row.get_by_label("层级").select_option("一级节点" if level == 1 else "二级节点")
    row.get_by_label("节点标题").fill(title)
    row.get_by_label("触发关键词").fill(phrases)
    row.get_by_label("必选").set_checked(required)
    row.get_by_label("节点页码").fill(pages)
    if scripts:
        row.get_by_label("关联话术").select_option(label=list(scripts))


def test_company_admin_configures_scripts_flows_templates_and_rules(
    page: Page, host: RunningHost
) -> None:
    log_in(page, host, "ca-A")
    page.get_by_role("link", name="SOP管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("SOP管理")

    # 话术库: a category tree and scripts, found by keyword.
    categories = page.locator("#category-form")
    categories.get_by_label("分类名称").fill("财富管理行业话术")
    categories.get_by_role("button", name="新增分类").click()
    expect(page.get_by_role("treeitem", name="财富管理行业话术")).to_be_visible()
    categories.get_by_label("分类名称").fill("产品介绍")
    categories.get_by_label("上级分类").select_option(label="财富管理行业话术")
    categories.get_by_role("button", name="新增分类").click()
    expect(page.get_by_role("treeitem", name="产品介绍")).to_be_visible()
    form = page.locator("#script-form")
    for name, keywords, content in (
        ("资产配置介绍", "宏观市场,量化策略", "宏观市场介绍"),
        ("客户KYC引导", "服务", "引导KYC"),
    ):
        form.get_by_label("话术分类").select_option(label="— 产品介绍")
        form.get_by_label("话术名称").fill(name)
        form.get_by_label("语义关键字").fill(keywords)
        form.get_by_label("话术内容").fill(content)
        form.get_by_role("button", name="保存").click()
        expect(page.locator(f'#scripts tr[data-name="{name}"]')).to_be_visible()
    search = page.locator("#script-search")
    search.get_by_label("关键字").fill("量化")
    search.get_by_role("button", name="查询").click()
    expect(page.locator("#scripts tbody tr")).to_have_count(1)
    expect(page.locator("#scripts tbody tr").first).to_contain_text("宏观市场，量化策略")

    # 流程配置: nodes as table rows, a linked material, copy.
    page.get_by_role("tab", name="流程配置").click()
    flow = page.locator("#flow-form")
    flow.get_by_label("流程名称").fill("资产配置介绍")
    flow.get_by_label("关联素材").select_option(label="资产配置介绍")
    flow.get_by_label("页码范围").fill("1-5")
    add_node(flow, 1, "资产配置介绍", "资产配置", required=True)
    add_node(flow, 2, "宏观市场介绍", "宏观市场,量化策略")
    add_node(flow, 1, "客户KYC", "风险测评", required=True)
    flow.get_by_role("button", name="保存").click()
    row = page.locator('#flows tr[data-name="资产配置介绍"]')
    expect(row).to_contain_text("是 · 资产配置介绍")
    expect(row.locator("td").nth(2)).to_have_text("3")
    row.get_by_role("button", name="复制").click()
    expect(page.locator('#flows tr[data-name="资产配置介绍-副本"]')).to_be_visible()
    # A node without a title is refused with the field named.
    flow.get_by_label("流程名称").fill("坏流程")
    add_node(flow, 1, "", "关键词")
    flow.get_by_role("button", name="保存").click()
    expect(flow.get_by_role("alert")).to_contain_text("nodes[0].title")

    # SOP模板: ordered flows for one organization.
    page.get_by_role("tab", name="SOP模板").click()
    template = page.locator("#template-form")
    template.get_by_label("模板名称").fill("财富管理模板")
    template.get_by_label("流程（按顺序）").select_option(label="资产配置介绍")
    template.get_by_label("可用机构").select_option(label="机构A1")
    template.get_by_role("button", name="保存").click()
    expect(page.locator('#templates tr[data-name="财富管理模板"]')).to_contain_text("机构A1")

    # 质检规则.
    page.get_by_role("tab", name="质检规则").click()
    rule = page.locator("#rule-form")
    rule.get_by_label("规则名称").fill("承诺保本")
    rule.get_by_label("规则类型").select_option("forbidden")
    rule.get_by_label("表达式").fill("保本 and (保息 or /保证.{0,3}收益/)")
    rule.get_by_label("严重程度").select_option("critical")
    rule.get_by_label("扣分").fill("30")
    rule.get_by_role("button", name="保存").click()
    saved = page.locator('#rules tr[data-name="承诺保本"]')
    expect(saved).to_contain_text("禁用语")
    expect(saved).to_contain_text("严重")
    rule.get_by_label("规则名称").fill("坏规则")
    rule.get_by_label("规则类型").select_option("forbidden")
    rule.get_by_label("表达式").fill("保本 and")
    rule.get_by_role("button", name="保存").click()
    expect(rule.get_by_role("alert")).to_contain_text("质检规则“坏规则”有误：表达式“保本 and”")


def test_a_salesperson_has_no_sop_management(page: Page, host: RunningHost) -> None:
    log_in(page, host, "sp-A1")
    expect(page.get_by_role("link", name="会话记录")).to_be_visible()
    expect(page.get_by_role("link", name="SOP管理")).to_have_count(0)


def test_renaming_a_flow_keeps_its_page_ranges_and_script_links(
    page: Page, host: RunningHost
) -> None:
    log_in(page, host, "ca-A")
    page.get_by_role("link", name="SOP管理").click()
    categories = page.locator("#category-form")
    categories.get_by_label("分类名称").fill("产品介绍")
    categories.get_by_role("button", name="新增分类").click()
    expect(page.get_by_role("treeitem", name="产品介绍")).to_be_visible()
    form = page.locator("#script-form")
    for name in ("宏观市场话术", "量化策略话术"):
        form.get_by_label("话术分类").select_option(label="产品介绍")
        form.get_by_label("话术名称").fill(name)
        form.get_by_label("话术内容").fill(name)
        form.get_by_role("button", name="保存").click()
        expect(page.locator(f'#scripts tr[data-name="{name}"]')).to_be_visible()

    page.get_by_role("tab", name="流程配置").click()
    flow = page.locator("#flow-form")
    flow.get_by_label("流程名称").fill("资产配置")
    add_node(flow, 1, "资产配置介绍", "资产配置", required=True, pages="1-3")
    add_node(
        flow, 2, "宏观市场介绍", "宏观市场", pages="2,4-5", scripts=("宏观市场话术", "量化策略话术")
    )
    flow.get_by_role("button", name="保存").click()
    expect(page.locator('#flows tr[data-name="资产配置"]')).to_be_visible()

    # Open it, change only its name, save.
    page.locator('#flows tr[data-name="资产配置"]').get_by_role("button", name="编辑").click()
    expect(flow.locator("#flow-nodes tbody tr")).to_have_count(2)
    flow.get_by_label("流程名称").fill("资产配置（新版）")
    flow.get_by_role("button", name="保存").click()
    renamed = page.locator('#flows tr[data-name="资产配置（新版）"]')
    expect(renamed).to_be_visible()
    expect(flow.locator("#flow-nodes tbody tr")).to_have_count(0)

    # Reopen: every node's pages and linked scripts are still there.
    renamed.get_by_role("button", name="编辑").click()
    rows = flow.locator("#flow-nodes tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).get_by_label("节点页码")).to_have_value("1-3")
    expect(rows.nth(0).get_by_label("必选")).to_be_checked()
    expect(rows.nth(1).get_by_label("层级")).to_have_value("2")
    expect(rows.nth(1).get_by_label("节点页码")).to_have_value("2,4-5")
    chosen = rows.nth(1).get_by_label("关联话术").locator("option:checked")
    expect(chosen).to_have_count(2)
    assert sorted(chosen.all_inner_texts()) == ["宏观市场话术", "量化策略话术"]


def test_scripts_templates_and_rules_are_edited_and_a_rule_is_deleted_only_when_confirmed(
    page: Page, host: RunningHost
) -> None:
    world: World = host.extra
    platform = host.platform
    assert platform is not None
    admin = world.p("ca_A")
    category = host.run(platform.sop.create_category(admin, "财富管理行业话术"))
    host.run(platform.sop.create_script(admin, category.id, "断点", "断点", "断点"))
    log_in(page, host, "ca-A")
    page.get_by_role("link", name="SOP管理").click()

    # A second category of the same name beside the first is refused, in Chinese.
    categories = page.locator("#category-form")
    categories.get_by_label("分类名称").fill("财富管理行业话术")
    categories.get_by_role("button", name="新增分类").click()
    expect(page.locator("#notice")).to_contain_text("已有名为“财富管理行业话术”的话术分类")
    expect(page.get_by_role("treeitem", name="财富管理行业话术")).to_have_count(1)

    # 话术: 编辑 fills the form; saving changes the row, kept after a reload.
    page.locator('#scripts tr[data-name="断点"]').get_by_role("button", name="编辑").click()
    form = page.locator("#script-form")
    expect(form.get_by_role("heading")).to_have_text("编辑话术：断点")
    expect(form.get_by_label("话术内容")).to_have_value("断点")
    form.get_by_label("话术名称").fill("存续服务")
    form.get_by_label("语义关键字").fill("二级市场")
    form.get_by_label("话术内容").fill("存续说明")
    form.get_by_role("button", name="保存").click()
    expect(page.locator('#scripts tr[data-name="存续服务"]')).to_contain_text("存续说明")
    expect(form.get_by_role("heading")).to_have_text("新增话术")
    page.reload()
    expect(page.locator('#scripts tr[data-name="存续服务"]')).to_contain_text("二级市场")
    expect(page.locator('#scripts tr[data-name="断点"]')).to_have_count(0)

    # SOP模板: renamed and given an organization.
    nodes = [{"title": "产品推荐", "key_phrases": ["产品推荐"]}]
    flow = host.run(platform.sop.create_flow(admin, "产品推荐", nodes))
    host.run(platform.sop.save_template(admin, "旧模板", [flow.id], []))
    page.reload()
    # The page has chosen its first tab once the scripts are listed.
    expect(page.locator('#scripts tr[data-name="存续服务"]')).to_be_visible()
    page.get_by_role("tab", name="SOP模板").click()
    page.locator('#templates tr[data-name="旧模板"]').get_by_role("button", name="编辑").click()
    template = page.locator("#template-form")
    expect(template.get_by_label("模板名称")).to_have_value("旧模板")
    template.get_by_label("模板名称").fill("财富管理模板")
    template.get_by_label("可用机构").select_option(label="机构A1")
    template.get_by_role("button", name="保存").click()
    expect(page.locator('#templates tr[data-name="财富管理模板"]')).to_contain_text("机构A1")
    expect(page.locator('#templates tr[data-name="旧模板"]')).to_have_count(0)

    # 质检规则: edited, then deleted only after 确定.
    page.get_by_role("tab", name="质检规则").click()
    rule = page.locator("#rule-form")
    rule.get_by_label("规则名称").fill("承诺保本")
    rule.get_by_label("表达式").fill("保本")
    rule.get_by_role("button", name="保存").click()
    saved = page.locator('#rules tr[data-name="承诺保本"]')
    saved.get_by_role("button", name="编辑").click()
    expect(rule.get_by_label("表达式")).to_have_value("保本")
    rule.get_by_label("表达式").fill("保本 and 保息")
    rule.get_by_label("扣分").fill("40")
    rule.get_by_role("button", name="保存").click()
    expect(saved).to_contain_text("保本 and 保息")
    expect(saved).to_contain_text("40")
    page.reload()
    expect(page.locator('#scripts tr[data-name="存续服务"]')).to_be_visible()
    page.get_by_role("tab", name="质检规则").click()
    expect(saved).to_contain_text("保本 and 保息")
    saved.get_by_role("button", name="删除").click()
    confirm = page.get_by_role("dialog")
    expect(confirm).to_contain_text("确定删除“承诺保本”吗？")
    confirm.get_by_role("button", name="取消").click()
    expect(saved).to_have_count(1)
    saved.get_by_role("button", name="删除").click()
    page.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(saved).to_have_count(0)
    assert host.run(platform.sop.rules(admin)) == []
