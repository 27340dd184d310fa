"""资源管理 in a real browser: upload with progress, refused files, preview pages, links, delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from . import material_files
from .platform_world import World
from .test_web_admin_pages import log_in
from .webhost import RunningHost, world_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHost]:
    monkeypatch.chdir(tmp_path)  # material storage defaults below the working directory
    with world_host(tmp_path) as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 800}, accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_company_admin_manages_the_material_library(
    page: Page, host: RunningHost, tmp_path: Path
) -> None:
    brochure = tmp_path / "产品手册.pdf"
    brochure.write_bytes(material_files.pdf(pages=3))
    fake = tmp_path / "setup.pdf"
    fake.write_bytes(b"MZ\x90\x00" + b"\x00" * 2000)  # an executable renamed .pdf

    log_in(page, host, "ca-A")
    page.get_by_role("link", name="资源管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("资源管理")
    # The list filled in means the page's script is running (its upload handler is on).
    expect(page.locator("#materials tbody tr")).to_have_text(["暂无资源"])

    upload = page.locator("#upload-dialog")
    page.locator("#file-input").set_input_files(str(fake))
    # 上传素材 asks for the 文件名称 first (the file's name without its extension).
    expect(upload.get_by_label("文件名称")).to_have_value("setup")
    upload.get_by_role("button", name="确定").click()
    expect(page.locator("#notice")).to_contain_text("输入有误")
    expect(page.locator("#materials tbody tr")).to_have_text(["暂无资源"])

    page.locator("#file-input").set_input_files(str(brochure))
    expect(upload.get_by_label("文件名称")).to_have_value("产品手册")
    upload.get_by_label("文件名称").fill("")
    upload.get_by_role("button", name="确定").click()
    expect(upload.get_by_role("alert")).to_have_text("请填写文件名称")
    upload.get_by_label("文件名称").fill("产品手册（2024版）")
    upload.get_by_role("button", name="确定").click()
    expect(page.locator("#notice").get_by_role("status")).to_have_text(
        "已上传：产品手册（2024版）", timeout=30_000
    )
    expect(page.locator("#progress-label")).to_have_text("转换页面 3/3")
    bar = page.locator("#progress")
    assert bar.evaluate("p => p.value === p.max && p.max > 0")
    row = page.locator('tr[data-name="产品手册（2024版）"]')
    expect(row).to_contain_text("PDF")

    row.get_by_role("button", name="预览").click()
    expect(page.locator("#preview-count")).to_have_text("共 3 页")
    expect(page.locator("#preview-pages img")).to_have_count(3)
    natural = page.locator("#preview-pages img").first.evaluate("img => img.naturalWidth")
    assert natural > 100
    page.locator("#preview-dialog").get_by_role("button", name="取消").click()

    with page.expect_download() as download:
        row.get_by_role("button", name="下载").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")

    page.get_by_role("button", name="添加链接").click()
    dialog = page.locator("#link-dialog")
    dialog.get_by_label("素材名称").fill("会议同屏-demo链接")
    dialog.get_by_label("链接地址").fill("javascript:alert(1)")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.get_by_role("alert")).to_contain_text("输入有误")
    dialog.get_by_label("链接地址").fill("https://example.com/h5/product.html")
    dialog.get_by_role("button", name="保存").click()
    expect(page.locator('tr[data-name="会议同屏-demo链接"]')).to_contain_text(
        "https://example.com/h5/product.html"
    )

    page.get_by_role("tab", name="文件").click()
    row.get_by_role("button", name="删除").click()
    page.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(row).to_have_count(0)


def test_salesperson_sees_their_org_materials_but_not_others(page: Page, host: RunningHost) -> None:
    world: World = host.extra
    platform = host.platform
    assert platform is not None
    host.run(platform.materials.add_link(world.p("oa_A2"), "A2专属链接", "https://example.com/a2"))
    host.run(platform.materials.add_link(world.p("oa_A1"), "A1专属链接", "https://example.com/a1"))
    log_in(page, host, "sp-A1")
    page.get_by_role("link", name="资源管理").click()
    page.get_by_role("tab", name="链接").click()
    expect(page.locator("#materials tbody tr")).to_have_count(1)
    expect(page.locator("#materials tbody")).to_contain_text("A1专属链接")


def test_materials_are_edited_and_assessments_managed_like_links(
    page: Page, host: RunningHost, tmp_path: Path
) -> None:
    world: World = host.extra
    platform = host.platform
    assert platform is not None
    admin = world.p("ca_A")
    host.run(platform.materials.upload_file(admin, "旧名称手册", material_files.pdf(pages=1)))
    old = "https://example.com/old"
    host.run(platform.materials.add_link(admin, "产品链接", old, title="旧标题"))
    log_in(page, host, "ca-A")
    page.get_by_role("link", name="资源管理").click()
    row = page.locator('tr[data-name="旧名称手册"]')
    row.get_by_role("button", name="编辑").click()
    rename = page.locator("#rename-dialog")
    rename.get_by_label("素材名称").fill("  ")
    rename.get_by_role("button", name="保存").click()
    expect(rename.get_by_role("alert")).to_contain_text("输入有误")
    rename.get_by_label("素材名称").fill("新名称手册")
    rename.get_by_role("button", name="保存").click()
    expect(page.locator('tr[data-name="新名称手册"]')).to_have_count(1)

    # Link edit: URL, title and the has-audio flag, kept after a reload.
    page.get_by_role("tab", name="链接").click()
    page.locator('tr[data-name="产品链接"]').get_by_role("button", name="编辑").click()
    dialog = page.locator("#link-dialog")
    expect(dialog.get_by_label("链接标题")).to_have_value("旧标题")
    dialog.get_by_label("链接地址").fill("https://example.com/new")
    dialog.get_by_label("链接标题").fill("新标题")
    dialog.get_by_label("有音频").check()
    dialog.get_by_role("button", name="保存").click()
    expect(page.locator('tr[data-name="产品链接"]')).to_contain_text("https://example.com/new")
    page.reload()
    page.get_by_role("tab", name="链接").click()
    page.locator('tr[data-name="产品链接"]').get_by_role("button", name="编辑").click()
    expect(dialog.get_by_label("链接标题")).to_have_value("新标题")
    expect(dialog.get_by_label("有音频")).to_be_checked()
    dialog.get_by_role("button", name="取消").click()

    # 测评: added and listed in its own tab, not among the H5 products.
    page.get_by_role("button", name="添加测评").click()
    dialog.get_by_label("素材名称").fill("风险承受能力测评")
    dialog.get_by_label("链接地址").fill("https://example.com/risk.html")
    dialog.get_by_role("button", name="保存").click()
    assessment = page.locator('tr[data-name="风险承受能力测评"]')
    expect(assessment).to_contain_text("测评")
    expect(page.get_by_role("tab", name="测评")).to_have_attribute("aria-selected", "true")
    page.get_by_role("tab", name="链接").click()
    expect(page.locator("#materials tbody tr")).to_have_count(1)
    stored = host.run(platform.materials.list(admin, limit=50))
    kinds = {m.name: m.kind.value for m in stored.items}
    assert kinds["风险承受能力测评"] == "assessment" and kinds["新名称手册"] == "file"


def test_the_kind_tabs_work_while_the_organizations_still_load(
    page: Page, host: RunningHost
) -> None:
    world: World = host.extra
    platform = host.platform
    assert platform is not None
    host.run(platform.materials.add_link(world.p("ca_A"), "产品链接", "https://example.com/p"))
    log_in(page, host, "ca-A")
    held: list[Any] = []
    # The company's organizations answer late (a slow network): the tabs must not wait.
    page.route("**/api/organizations", lambda route: held.append(route))
    page.get_by_role("link", name="资源管理").click()
    page.get_by_role("tab", name="链接").click()
    expect(page.locator('tr[data-name="产品链接"]')).to_have_count(1)
    assert held, "the organizations were not asked for"
    for route in held:
        route.continue_()
    expect(page.locator(".org-choice")).to_be_visible()
