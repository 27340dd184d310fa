"""Document sharing and the whiteboard in real browsers: the hall, a phone and a late joiner."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from hosts.web.server import ROOMS, WHITEBOARDS
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig

from . import material_files
from .platform_world import World, build_world
from .test_web_admin_pages import log_in
from .webhost import RunningHost

pytestmark = pytest.mark.e2e

MATERIAL = "保险合同.pdf"
VIDEO = "产品介绍.webm"


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )

    async def make() -> tuple[Any, World]:
        world = await build_world(f"sqlite:///{tmp_path}/web.db", config)
        await world.platform.materials.upload_file(
            world.p("sp_A1"), MATERIAL, material_files.pdf(3)
        )
        return world.platform, world

    running = RunningHost(
        make,
        sms_gateway=LoggingSmsGateway(signature="智慧展业"),
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
    ).start()
    try:
        yield running
    finally:
        running.stop()


def join(context: BrowserContext, link: str, name: str) -> Page:
    page = context.new_page()
    page.goto(link)
    page.get_by_label("您的称呼").fill(name)
    page.get_by_label(re.compile("全程录音录像")).check()
    page.get_by_role("button", name="进入会话").click()
    expect(page.locator("#connection")).to_have_text("已连接")
    return page


def strokes_of(page: Page) -> str:
    return page.locator("#board-panel canvas").get_attribute("data-strokes") or ""


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(f"#board-panel {selector}").bounding_box()
    assert found is not None, selector
    return {"x": found["x"], "y": found["y"], "width": found["width"], "height": found["height"]}


def assert_apart(page: Page) -> None:
    """The toolbar and the page area do not overlap."""
    a, b = box(page, ".board-toolbar"), box(page, ".board-viewport")
    apart = (
        a["x"] + a["width"] <= b["x"] + 0.5
        or b["x"] + b["width"] <= a["x"] + 0.5
        or a["y"] + a["height"] <= b["y"] + 0.5
        or b["y"] + b["height"] <= a["y"] + 0.5
    )
    assert apart, (a, b)


def draw_together(staff: Page, phone: Page) -> None:
    """The salesperson drags the mouse across while the customer's finger goes down,
    one move each in turn, so both strokes are in flight at the same time."""
    for page in (staff, phone):
        page.locator("#board-panel canvas").scroll_into_view_if_needed()
    mouse_box, touch_box = box(staff, "canvas"), box(phone, "canvas")
    cdp = phone.context.new_cdp_session(phone)

    def mouse_at(f: float) -> tuple[float, float]:
        return (
            mouse_box["x"] + mouse_box["width"] * (0.2 + 0.4 * f),
            mouse_box["y"] + mouse_box["height"] * 0.3,
        )

    def touch_at(f: float) -> list[dict[str, float]]:
        x = touch_box["x"] + touch_box["width"] * 0.7
        return [{"x": x, "y": touch_box["y"] + touch_box["height"] * (0.2 + 0.5 * f)}]

    staff.mouse.move(*mouse_at(0))
    staff.mouse.down()
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": touch_at(0)})
    for i in range(1, 11):
        staff.mouse.move(*mouse_at(i / 10))
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": touch_at(i / 10)})
    staff.mouse.up()
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_shared_file_with_two_drawers_undo_late_joiner_and_page_turns(
    browser: Any, host: RunningHost
) -> None:
    staff_context = browser.new_context(viewport={"width": 1366, "height": 900})
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    late_context = browser.new_context(viewport={"width": 1024, "height": 768})
    try:
        staff: Page = staff_context.new_page()
        log_in(staff, host, "sp-A1")
        staff.get_by_role("button", name="开始会话").click()
        expect(staff.locator("#connection")).to_have_text("已连接")
        staff.get_by_role("button", name="邀请客户").click()
        link = staff.locator("#invite-link")
        expect(link).to_have_value(re.compile(r"/join/"))
        invite = link.input_value()
        staff.locator("#invite-dialog").get_by_role("button", name="取消").click()
        phone = join(phone_context, invite, "客户王女士")

        # 共享 → pick the PDF: both sides show its first page.
        staff.get_by_role("button", name="共享文件").click()
        staff.locator(f'#board-share-dialog li[data-name="{MATERIAL}"]').get_by_role(
            "button", name="共享"
        ).click()
        for page in (staff, phone):
            expect(page.locator("#board-panel .page-label")).to_have_text("第 1 / 3 页")
            expect(page.locator("#board-panel .board-title")).to_have_text(MATERIAL)
            expect(page.locator("#board-panel .board-image")).to_have_js_property("complete", True)
            assert_apart(page)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        # Only the presenter turns pages.
        expect(phone.get_by_role("button", name="下一页")).to_be_disabled()

        world: World = host.extra
        world.clock.advance(5)  # the replay's timeline: drawing starts 5 s after sharing
        # Both draw: the salesperson with the mouse in red, the customer by touch in blue.
        phone.get_by_role("button", name="颜色 #2563eb").click()
        draw_together(staff, phone)
        for page in (staff, phone):
            expect(page.locator("#board-panel canvas")).to_have_attribute(
                "data-strokes", re.compile(r"^[^,]+,[^,]+$")
            )
        assert strokes_of(staff) == strokes_of(phone)

        # The server's picture (the native rasterizer) has both strokes in their colours.
        whiteboards = host.app[WHITEBOARDS]
        sid = staff.url.rsplit("/", 1)[1]
        view = host.run(whiteboards.snapshot(sid))
        doc = view.current
        assert doc is not None
        drawn = view.page_strokes(doc, 1)
        assert [s.id for s in drawn] == strokes_of(staff).split(",")
        png = host.run(whiteboards.render_png(sid, doc, 1))
        picture = Image.open(io.BytesIO(png)).convert("RGB")
        colours = {s.colour: s for s in drawn}
        assert set(colours) == {"#e11d48", "#2563eb"}
        for colour, stroke in colours.items():
            middle = len(stroke.points) // 3 // 2 * 3
            x, y = stroke.points[middle], stroke.points[middle + 1]
            expected = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
            assert picture.getpixel((x, y)) == expected, (colour, x, y)

        # The customer's undo removes the customer's stroke only, on both sides.
        staff_stroke = colours["#e11d48"].id
        phone.get_by_role("button", name="撤销").click()
        for page in (staff, phone):
            expect(page.locator("#board-panel canvas")).to_have_attribute(
                "data-strokes", staff_stroke
            )
        # Nothing of the customer's is left to undo; the salesperson's stroke stays.
        phone.get_by_role("button", name="撤销").click()
        expect(phone.locator("#notice")).to_have_text("没有可撤销的笔迹。")
        expect(staff.locator("#board-panel canvas")).to_have_attribute("data-strokes", staff_stroke)

        # A late joiner sees every stroke as it stands.
        late = join(late_context, invite, "客户李先生")
        expect(late.locator("#board-panel canvas")).to_have_attribute("data-strokes", staff_stroke)
        expect(late.locator("#board-panel .page-label")).to_have_text("第 1 / 3 页")

        # Page turning is synced, and page 2 starts clean.
        staff.get_by_role("button", name="下一页").click()
        for page in (staff, phone, late):
            expect(page.locator("#board-panel .page-label")).to_have_text("第 2 / 3 页")
            expect(page.locator("#board-panel canvas")).to_have_attribute("data-strokes", "")
        staff.get_by_role("button", name="上一页").click()
        for page in (staff, phone, late):
            expect(page.locator("#board-panel canvas")).to_have_attribute(
                "data-strokes", staff_stroke
            )

        # The toolbar collapses and docks at another edge; it never covers the page.
        handle = staff.locator("#board-panel .board-toolbar .handle")
        board_box = box(staff, ".board")
        handle.hover()
        staff.mouse.down()
        staff.mouse.move(board_box["x"] + 5, board_box["y"] + board_box["height"] / 2, steps=5)
        staff.mouse.up()
        expect(staff.locator("#board-panel .board")).to_have_attribute("data-dock", "left")
        assert_apart(staff)
        phone.get_by_role("button", name="收起").click()
        expect(phone.get_by_role("button", name="橡皮擦")).to_be_hidden()
        assert_apart(phone)
        # Zoom is per user: the customer zooms without changing the salesperson's view.
        phone.get_by_role("button", name="画笔").click()
        phone.get_by_role("button", name="放大").click()
        expect(phone.locator("#board-panel")).to_have_attribute("data-zoom", "1250")
        assert staff.locator("#board-panel").get_attribute("data-zoom") in (None, "1000")

        # The record replays the shared screen: at the end the page as left, at the
        # first moment the document just shared and not yet drawn on.
        replay = staff  # the login lives in this tab's session storage
        replay.goto(f"{host.url}/records/{sid}/board")
        expect(replay.locator("#board-panel .board-title")).to_have_text(MATERIAL)
        expect(replay.locator("#board-panel canvas")).to_have_attribute(
            "data-strokes", staff_stroke
        )
        replay.locator("#timeline").fill("0")
        expect(replay.locator("#board-panel canvas")).to_have_attribute("data-strokes", "")
        expect(replay.locator("#position")).to_contain_text("第 1 / ")
    finally:
        for context in (staff_context, phone_context, late_context):
            context.close()


def test_shared_video_play_seek_and_pause_stay_in_sync(browser: Any, host: RunningHost) -> None:
    from .test_whiteboard_service import long_webm

    world: World = host.extra
    host.run(world.platform.materials.upload_video(world.p("sp_A1"), VIDEO, long_webm(6)))
    staff_context = browser.new_context(viewport={"width": 1366, "height": 900})
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    try:
        staff: Page = staff_context.new_page()
        log_in(staff, host, "sp-A1")
        staff.get_by_role("button", name="开始会话").click()
        expect(staff.locator("#connection")).to_have_text("已连接")
        staff.get_by_role("button", name="邀请客户").click()
        link = staff.locator("#invite-link")
        expect(link).to_have_value(re.compile(r"/join/"))
        invite = link.input_value()
        staff.locator("#invite-dialog").get_by_role("button", name="取消").click()
        phone = join(phone_context, invite, "客户王女士")

        staff.get_by_role("button", name="共享文件").click()
        staff.locator(f'#board-share-dialog li[data-name="{VIDEO}"]').get_by_role(
            "button", name="共享"
        ).click()
        staff_video = staff.locator("#board-panel video")
        phone_video = phone.locator("#board-panel video")
        expect(phone.locator("#board-panel .board-title")).to_have_text(VIDEO)
        expect(phone_video).to_be_visible()
        expect(staff_video).to_have_js_property("readyState", 4)

        # The salesperson plays: the customer's player plays too.
        staff_video.evaluate("v => { v.muted = true; return v.play(); }")
        expect(phone_video).to_have_attribute("data-playing", "true")
        phone.wait_for_function(
            "() => document.querySelector('#board-panel video').currentTime > 0.3"
        )
        # Seek to 4.5 s and pause: the customer's player follows to the same place.
        staff_video.evaluate("v => { v.currentTime = 4.5; v.pause(); }")
        expect(phone_video).to_have_attribute("data-playing", "false")
        phone.wait_for_function(
            "() => { const v = document.querySelector('#board-panel video');"
            " return v.paused && Math.abs(v.currentTime - 4.5) < 0.4; }"
        )
        assert staff_video.evaluate("v => v.paused")
    finally:
        staff_context.close()
        phone_context.close()


async def _many_strokes(host: RunningHost, session_id: str, document: str, count: int) -> None:
    """Adds ``count`` strokes by the host through the service, stored and published in
    batches of 500 (as a client replaying a burst would)."""
    world: World = host.extra
    whiteboards = host.app[WHITEBOARDS]
    seat = await host.app[ROOMS].seat_for_staff(world.p("sp_A1"), session_id)
    batch: list[tuple[str, dict[str, Any]]] = []
    for n in range(count):
        x, y = 20 + (n * 37) % 1240, 20 + (n * 53) % 680
        stroke = {
            "id": f"bulk-{n}",
            "document": document,
            "page": 1,
            "tool": "highlighter" if n % 10 == 0 else "pen",
            "colour": "#16a34a",
            "width": 2,
            "points": [x, y, 500, x + 15, y + 5, 500, x + 25, y + 15, 500],
        }
        batch.append(("whiteboard.stroke", {"op_id": f"bulk-{n}", "stroke": stroke}))
        if len(batch) == 500:
            await whiteboards.apply_batch(seat, batch)
            batch = []


def test_five_thousand_strokes_render_and_sync(browser: Any, host: RunningHost) -> None:
    staff_context = browser.new_context(viewport={"width": 1366, "height": 900})
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    try:
        staff: Page = staff_context.new_page()
        log_in(staff, host, "sp-A1")
        staff.get_by_role("button", name="开始会话").click()
        expect(staff.locator("#connection")).to_have_text("已连接")
        staff.get_by_role("button", name="共享文件").click()
        staff.locator('#board-share-dialog li[data-name="空白白板"]').get_by_role(
            "button", name="共享"
        ).click()
        expect(staff.locator("#board-panel .page-label")).to_have_text("第 1 / 1 页")
        sid = staff.url.rsplit("/", 1)[1]
        document = staff.locator("#board-panel").get_attribute("data-document")
        assert document == "blank-1"
        host.run(_many_strokes(host, sid, document, 5000))
        count = "document.querySelector('#board-panel canvas').dataset.strokes.split(',').length"
        staff.wait_for_function(f"() => {count} === 5000")

        # A customer joining now gets all 5,000 in the snapshot, and drawing still syncs.
        staff.get_by_role("button", name="邀请客户").click()
        link = staff.locator("#invite-link")
        expect(link).to_have_value(re.compile(r"/join/"))
        invite = link.input_value()
        staff.locator("#invite-dialog").get_by_role("button", name="取消").click()
        phone = join(phone_context, invite, "客户王女士")
        phone.wait_for_function(f"() => {count} === 5000")
        draw_together(staff, phone)
        for page in (staff, phone):
            page.wait_for_function(f"() => {count} === 5002")
        assert strokes_of(staff) == strokes_of(phone)

        # The page with every stroke renders on the server.
        png = host.run(host.app[WHITEBOARDS].render_png(sid, document, 1))
        picture = Image.open(io.BytesIO(png)).convert("RGB")
        assert picture.size == (1280, 720)
        assert picture.getpixel((20 + 15, 20 + 5)) != (255, 255, 255)
    finally:
        staff_context.close()
        phone_context.close()
