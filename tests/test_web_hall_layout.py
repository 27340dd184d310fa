"""The session hall on a laptop, document first (#18.5): the shared page's first screen at
1280×720, the floating video window, enlarging a tile, the script library, the notice after
the end; the staff pages' manifest and icons (#19.5)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from zhanye_sdk.signaling.endpoint import SignalingConfig

from . import material_files
from .hall_pages import open_hall, share_file
from .platform_world import World
from .test_web_admin_pages import log_in
from .webhost import RunningHost, wait_for, world_host

pytestmark = pytest.mark.e2e

MATERIAL = "保险合同.pdf"
LAPTOP = {"width": 1280, "height": 720}


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    async def prepare(world: World) -> None:
        platform = world.platform
        await platform.materials.upload_file(world.p("sp_A1"), MATERIAL, material_files.pdf(2))
        admin = world.p("ca_A")
        wealth = await platform.sop.create_category(admin, "财富管理行业话术")
        intro = await platform.sop.create_category(admin, "产品介绍", wealth.id)
        await platform.sop.create_script(
            admin, intro.id, "百万医疗开场", ["百万医疗"], "您好，今天给您介绍百万医疗保险。"
        )
        await platform.sop.create_script(
            admin, wealth.id, "风险测评引导", ["风险测评"], "请您先完成一份风险测评问卷。"
        )

    with world_host(
        tmp_path, prepare, signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5)
    ) as running:
        yield running


@pytest.fixture
def laptop(browser: Any, host: RunningHost) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP)
    try:
        yield open_hall(context, host)
    finally:
        context.close()


def bounds(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).bounding_box()
    assert found is not None, selector
    return found


def within(box: dict[str, float], width: float, height: float) -> bool:
    return (
        box["x"] >= -0.5
        and box["y"] >= -0.5
        and box["x"] + box["width"] <= width + 0.5
        and box["y"] + box["height"] <= height + 0.5
    )


def test_the_shared_page_is_the_stage_and_its_first_screen_fits_a_laptop(laptop: Page) -> None:
    staff = laptop
    dock = staff.locator("#video-dock")
    expect(dock).not_to_have_attribute("data-floating", "true")
    share_file(staff, MATERIAL)
    image = staff.locator("#board-panel .board-image")
    expect(image).to_have_attribute("data-shown", re.compile(r"/1$"))
    wait_for(staff, "() => document.querySelector('#board-panel .board-image').complete")
    # The first page shows whole without scrolling: the document, not the videos, is the stage.
    assert staff.evaluate("scrollY") == 0
    sheet = bounds(staff, "#board-panel .board-sheet")
    assert within(sheet, LAPTOP["width"], LAPTOP["height"]), sheet
    assert sheet["height"] > LAPTOP["height"] / 2, sheet
    # The videos float over it, collapse to their head and come back.
    expect(dock).to_have_attribute("data-floating", "true")
    assert dock.evaluate("e => getComputedStyle(e).position") == "fixed"
    dock.get_by_role("button", name="收起").click()
    expect(staff.locator("#stage")).to_be_hidden()
    assert bounds(staff, "#video-dock")["height"] < 60
    dock.get_by_role("button", name="展开").click()
    expect(staff.locator("#stage")).to_be_visible()
    # Dragged by its head anywhere, it stays whole on the screen.
    before = bounds(staff, "#video-dock")
    head = bounds(staff, "#video-dock .dock-head")
    staff.mouse.move(head["x"] + 20, head["y"] + head["height"] / 2)
    staff.mouse.down()
    staff.mouse.move(head["x"] - 300, head["y"] - 200, steps=5)
    staff.mouse.move(-500, -500, steps=5)
    staff.mouse.up()
    after = bounds(staff, "#video-dock")
    assert after["x"] < before["x"] - 100 and after["y"] < before["y"] - 100, (before, after)
    assert within(after, LAPTOP["width"], LAPTOP["height"]), after
    assert after["x"] == pytest.approx(0, abs=1) and after["y"] == pytest.approx(0, abs=1)


def test_a_video_tile_enlarges_and_its_shrink_control_puts_it_back(laptop: Page) -> None:
    staff = laptop
    tile = staff.locator("#stage .tile").first
    expect(tile).to_be_visible()
    small = bounds(staff, "#stage .tile >> nth=0")
    tile.click()
    expect(tile).to_have_class(re.compile(r"\benlarged\b"))
    large = bounds(staff, "#stage .tile.enlarged")
    assert large["width"] > small["width"] and large["width"] > 800, (small, large)
    assert within(large, LAPTOP["width"], LAPTOP["height"]), large
    shrink = tile.get_by_role("button", name="缩小画面")
    shrink_box = bounds(staff, "#stage .tile.enlarged .shrink")
    # In the bottom right corner (manual §5.6).
    assert shrink_box["x"] > large["x"] + large["width"] * 0.8
    assert shrink_box["y"] > large["y"] + large["height"] * 0.7
    shrink.click()
    expect(tile).not_to_have_class(re.compile(r"\benlarged\b"))
    assert bounds(staff, "#stage .tile >> nth=0")["width"] == pytest.approx(small["width"], abs=2)
    # A click on the shade around an enlarged tile puts it back too (and reaches nothing under it).
    tile.click()
    expect(tile).to_have_class(re.compile(r"\benlarged\b"))
    staff.mouse.click(LAPTOP["width"] - 20, 30)  # over 退出登录 in the top bar
    expect(tile).not_to_have_class(re.compile(r"\benlarged\b"))
    expect(staff.locator("#connection")).to_have_text("已连接")


def test_the_script_library_is_browsed_and_searched_beside_the_sop_card(laptop: Page) -> None:
    staff = laptop
    library = staff.locator("#script-library")
    expect(library.get_by_role("heading", name="话术库")).to_be_visible()
    items = library.locator(".library-item")
    expect(items).to_have_count(2)
    # Beside the SOP card, in the same column.
    sop, lib = bounds(staff, "#sop-panel"), bounds(staff, "#script-library")
    assert lib["x"] == pytest.approx(sop["x"], abs=1) and lib["y"] > sop["y"]
    library.get_by_role("searchbox", name="搜索话术").fill("风险")
    expect(items).to_have_count(1)
    expect(items).to_contain_text("风险测评引导")
    expect(library.get_by_role("status")).to_have_text("共 1 条话术")
    items.first.locator("summary").click()
    expect(items.first).to_contain_text("请您先完成一份风险测评问卷。")
    library.get_by_role("searchbox", name="搜索话术").fill("没有这种话术")
    expect(items).to_have_count(0)
    expect(library.get_by_role("status")).to_have_text("没有找到话术")
    # A category (and its subcategories) narrows the list.
    library.get_by_role("searchbox", name="搜索话术").fill("")
    library.get_by_label("话术分类").select_option(label="财富管理行业话术 › 产品介绍")
    expect(items).to_have_count(1)
    expect(items).to_contain_text("百万医疗开场")


def test_after_the_end_the_hall_says_so_and_links_the_record(laptop: Page) -> None:
    staff = laptop
    notice = staff.locator("#ended-notice")
    expect(notice).to_be_hidden()
    meeting = staff.locator("#meeting-number").inner_text()
    staff.get_by_role("button", name="结束会话").click()
    staff.get_by_role("dialog").get_by_role("button", name="确定").click()
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("本次会话已结束")
    for name in ("共享", "结束会话", "邀请客户"):
        expect(staff.get_by_role("button", name=name, exact=True)).to_be_disabled()
    notice.get_by_role("link", name="查看会话记录").click()
    expect(staff).to_have_url(re.compile(r"/records\?view=[0-9a-f]{32}$"))
    details = staff.locator("#record-dialog")
    expect(details).to_be_visible(timeout=15_000)
    expect(details).to_contain_text(meeting)


def test_staff_pages_can_be_added_to_the_home_screen(page: Page, host: RunningHost) -> None:
    page.goto(f"{host.url}/login")
    hrefs = [page.locator('link[rel="manifest"]').get_attribute("href")]
    log_in(page, host, "sp-A1")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    expect(page.locator("#nav-toggle")).to_be_attached()
    hrefs.append(page.locator('link[rel="manifest"]').get_attribute("href"))
    for href in hrefs:
        assert href and href.endswith("/static/manifest.webmanifest"), href
    response = page.request.get(f"{host.url}{href}")
    assert response.ok
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.body())
    assert manifest["display"] in ("fullscreen", "standalone")
    assert manifest["start_url"] == "/workbench"
    assert manifest["name"] == "智慧展业"
    sizes = set()
    for icon in manifest["icons"]:
        got = page.request.get(f"{host.url}{icon['src']}")
        assert got.ok and got.headers["content-type"] == "image/png", icon
        image = Image.open(io.BytesIO(got.body()))
        assert f"{image.width}x{image.height}" == icon["sizes"], icon
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP)
    try:
        yield context.new_page()
    finally:
        context.close()
