"""Document sharing and the whiteboard in real browsers: the hall, a phone and a late joiner."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.media.manifest import Manifest
from zhanye_sdk.media.recorder import segment_name
from zhanye_sdk.media.records import MediaRecords, RecordingStatus
from zhanye_sdk.signaling.endpoint import SignalingConfig

from . import material_files
from .hall_pages import copy_invite, join, open_hall, share_file, start_with_customer
from .platform_world import World
from .webhost import DEPLOYMENT, RunningHost, wait_for, world_host

pytestmark = pytest.mark.e2e

MATERIAL = "保险合同.pdf"
VIDEO = "产品介绍.webm"


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:

    async def prepare(world: World) -> None:
        await world.platform.materials.upload_file(
            world.p("sp_A1"), MATERIAL, material_files.pdf(3)
        )

    with world_host(
        tmp_path,
        prepare,
        sms_gateway=LoggingSmsGateway(signature="智慧展业"),
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
    ) as running:
        yield running


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
        staff, phone = start_with_customer(staff_context, phone_context, host)

        # 共享 → pick the PDF: both sides show its first page.
        share_file(staff, MATERIAL)
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
        whiteboards = host.app[DEPLOYMENT].whiteboards
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
        late = join(late_context, copy_invite(staff), "客户李先生")
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
        staff, phone = start_with_customer(staff_context, phone_context, host)

        share_file(staff, VIDEO)
        staff_video = staff.locator("#board-panel video")
        phone_video = phone.locator("#board-panel video")
        expect(phone.locator("#board-panel .board-title")).to_have_text(VIDEO)
        expect(phone_video).to_be_visible()
        expect(staff_video).to_have_js_property("readyState", 4)

        # The salesperson plays: the customer's player plays too.
        staff_video.evaluate("v => { v.muted = true; return v.play(); }")
        expect(phone_video).to_have_attribute("data-playing", "true")
        wait_for(phone, "() => document.querySelector('#board-panel video').currentTime > 0.3")
        # Seek to 4.5 s and pause: the customer's player follows to the same place.
        staff_video.evaluate("v => { v.currentTime = 4.5; v.pause(); }")
        expect(phone_video).to_have_attribute("data-playing", "false")
        wait_for(
            phone,
            "() => { const v = document.querySelector('#board-panel video');"
            " return v.paused && Math.abs(v.currentTime - 4.5) < 0.4; }",
        )
        assert staff_video.evaluate("v => v.paused")
    finally:
        staff_context.close()
        phone_context.close()


async def _many_strokes(host: RunningHost, session_id: str, document: str, count: int) -> None:
    """Adds ``count`` strokes by the host through the service, stored and published in
    batches of 500 (as a client replaying a burst would)."""
    world: World = host.extra
    whiteboards = host.app[DEPLOYMENT].whiteboards
    seat = await host.app[DEPLOYMENT].rooms.seat_for_staff(world.p("sp_A1"), session_id)
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
        staff = open_hall(staff_context, host)
        share_file(staff, "空白白板")
        expect(staff.locator("#board-panel .page-label")).to_have_text("第 1 / 1 页")
        sid = staff.url.rsplit("/", 1)[1]
        document = staff.locator("#board-panel").get_attribute("data-document")
        assert document == "blank-1"
        host.run(_many_strokes(host, sid, document, 5000))
        count = "document.querySelector('#board-panel canvas')?.dataset.strokes.split(',').length"
        wait_for(staff, f"() => {count} === 5000")

        # A customer joining now gets all 5,000 in the snapshot, and drawing still syncs.
        invite = copy_invite(staff)
        phone = join(phone_context, invite, "客户王女士")
        wait_for(phone, f"() => {count} === 5000")
        draw_together(staff, phone)
        for page in (staff, phone):
            wait_for(page, f"() => {count} === 5002")
        assert strokes_of(staff) == strokes_of(phone)

        # The page with every stroke renders on the server.
        png = host.run(host.app[DEPLOYMENT].whiteboards.render_png(sid, document, 1))
        picture = Image.open(io.BytesIO(png)).convert("RGB")
        assert picture.size == (1280, 720)
        assert picture.getpixel((20 + 15, 20 + 5)) != (255, 255, 255)
    finally:
        staff_context.close()
        phone_context.close()


def open_hall_with_customer(
    staff_context: BrowserContext, phone_context: BrowserContext, host: RunningHost
) -> tuple[Page, Page]:
    """The salesperson's hall with the PDF shared and a customer on a phone in the session."""
    staff, phone = start_with_customer(staff_context, phone_context, host)
    share_file(staff, MATERIAL)
    for page in (staff, phone):
        expect(page.locator("#board-panel .page-label")).to_have_text("第 1 / 3 页")
    return staff, phone


def pinch(page: Page, spread: float, shift: float = 0.0) -> None:
    """Two fingers on the page's middle move apart by ``spread`` px each (and both by
    ``shift`` px down), then lift: a pinch through real touch events."""
    found = box(page, ".board-viewport")
    cx, cy = found["x"] + found["width"] / 2, found["y"] + found["height"] / 2
    cdp = page.context.new_cdp_session(page)

    def fingers(f: float) -> list[dict[str, float]]:
        gap = 30 + spread * f
        return [
            {"x": cx - gap, "y": cy + shift * f, "id": 1},
            {"x": cx + gap, "y": cy + shift * f, "id": 2},
        ]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(0)})
    for i in range(1, 9):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": fingers(i / 8)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_pinch_zoom_and_presenter_hand_over(browser: Any, host: RunningHost) -> None:
    staff_context = browser.new_context(viewport={"width": 1366, "height": 900})
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    try:
        staff, phone = open_hall_with_customer(staff_context, phone_context, host)
        phone_board, staff_board = phone.locator("#board-panel"), staff.locator("#board-panel")

        # Two fingers apart: the phone's own view zooms in about where they are; no
        # ink is left on the page, and the salesperson's view does not move.
        phone.locator("#board-panel canvas").scroll_into_view_if_needed()
        pinch(phone, spread=30)
        wait_for(phone, "() => Number(document.querySelector('#board-panel').dataset.zoom) > 1800")
        zoom = int(phone_board.get_attribute("data-zoom") or 0)
        assert 1800 < zoom < 2200, zoom  # finger gap 60 → 120 px: twice the zoom
        x, y = (int(v) for v in (phone_board.get_attribute("data-view") or "0,0").split(","))
        # The PDF's portrait page fills the phone's width at twice the zoom, so the view
        # moved down only: zoomed about the middle, not the top corner.
        assert x == 0 and 300 < y < 600, (x, y)
        # Both fingers sliding up move the zoomed page with them (pan).
        pinch(phone, spread=0, shift=-40)
        view_y = "Number(document.querySelector('#board-panel').dataset.view.split(',')[1])"
        wait_for(phone, f"() => {view_y} > {y + 100}")
        assert phone_board.get_attribute("data-zoom") == str(zoom)
        assert strokes_of(phone) == "" and strokes_of(staff) == ""
        assert staff_board.get_attribute("data-zoom") in (None, "1000")

        # The customer has no say over the presenter role; the salesperson hands it over.
        for control in ("移交主讲", "收回主讲"):
            expect(phone.get_by_role("button", name=control)).to_be_hidden()
        expect(phone_board.locator("[data-presenter]")).to_have_text(re.compile("主讲人："))
        expect(phone.get_by_role("button", name="下一页")).to_be_disabled()
        staff_board.get_by_label("交给").select_option(label="客户王女士")
        staff.get_by_role("button", name="移交主讲").click()
        expect(phone_board.locator("[data-presenter]")).to_have_text("您是主讲人")
        expect(staff_board.locator("[data-presenter]")).to_have_text("主讲人：客户王女士")
        # Now the customer turns pages, and the salesperson follows the customer's view.
        expect(staff.get_by_role("button", name="下一页")).to_be_disabled()
        phone.get_by_role("button", name="下一页").click()
        for page in (staff, phone):
            expect(page.locator("#board-panel .page-label")).to_have_text("第 2 / 3 页")
        expect(staff_board).to_have_attribute("data-zoom", str(zoom))
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375

        # The salesperson takes it back whenever they like.
        staff.get_by_role("button", name="收回主讲").click()
        expect(staff_board.locator("[data-presenter]")).to_have_text("您是主讲人")
        expect(phone.get_by_role("button", name="下一页")).to_be_disabled()
        expect(phone_board.locator("[data-follow]")).to_be_checked()
        staff.get_by_role("button", name="下一页").click()
        expect(phone.locator("#board-panel .page-label")).to_have_text("第 3 / 3 页")
    finally:
        staff_context.close()
        phone_context.close()


def h264_segment(path: Path, seconds: int, shade: int) -> None:
    """An MP4 (H.264, 64×64, 10 frames/s) of ``seconds`` seconds, as the recorder writes."""
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for n in range(seconds * 10):
            picture = np.full((64, 64, 3), (shade + 5 * n) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = n
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)


def record(host: RunningHost, session_id: str, folder: Path, started_ms: int) -> None:
    """The session's recording: two 2 s segments from ``started_ms`` (hash-chained)."""
    folder.mkdir(parents=True)
    manifest = Manifest()
    for index, shade in enumerate((40, 160)):
        path = folder / segment_name(index)
        h264_segment(path, 2, shade)
        manifest = manifest.append_file(path, 2000)
    world: World = host.extra
    host.run(
        MediaRecords(world.platform.database).update(
            session_id,
            recording_status=RecordingStatus.READY,
            recording_folder=str(folder),
            manifest=manifest,
            recording_started_ms=started_ms,
            recording_ended_ms=started_ms + 4000,
        )
    )


def test_replay_follows_the_recording_and_seeks_it(
    browser: Any, host: RunningHost, tmp_path: Path
) -> None:
    """The record's replay: the board shows each moment of the recording as the video
    plays, seeking the video moves the board, moving the timeline seeks the video."""
    world: World = host.extra
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        staff = open_hall(context, host)
        share_file(staff, "空白白板")
        expect(staff.locator("#board-panel .page-label")).to_have_text("第 1 / 1 页")
        sid = staff.url.rsplit("/", 1)[1]
        whiteboards = host.app[DEPLOYMENT].whiteboards
        seat = host.run(host.app[DEPLOYMENT].rooms.seat_for_staff(world.p("sp_A1"), sid))

        def draw(stroke_id: str, y: int) -> None:
            stroke = {
                "id": stroke_id,
                "document": "blank-1",
                "page": 1,
                "tool": "pen",
                "colour": "#e11d48",
                "width": 8,
                "points": [100, y, 500, 1100, y, 500],
            }
            body = {"op_id": stroke_id, "stroke": stroke}
            host.run(whiteboards.apply(seat, "whiteboard.stroke", body))

        # The recording starts 1 s after the share; stroke A is drawn 1 s into the
        # recording, stroke B 3 s in (in its second segment).
        world.clock.advance(1)
        started = host.app[DEPLOYMENT].rooms.now_ms()
        world.clock.advance(1)
        draw("stroke-a", 200)
        world.clock.advance(2)
        draw("stroke-b", 500)
        record(host, sid, tmp_path / "rec" / sid, started)
        # The session ends: its record keeps the annotated page as it was left.
        host.run(host.app[DEPLOYMENT].rooms.end(world.p("sp_A1"), sid))
        expect(staff.locator("#connection")).not_to_have_text("已连接")
        deadline = time.monotonic() + 10
        while not host.run(whiteboards.annotated_pages(sid)):  # rendered after the end
            assert time.monotonic() < deadline, "the annotated pages were not rendered"
            time.sleep(0.05)

        staff.goto(f"{host.url}/records/{sid}/board")
        annotated = staff.locator("#annotated li")
        expect(annotated).to_have_count(1)
        thumbnail = annotated.get_by_role("img", name="白板 第 1 页（2 笔）")
        expect(thumbnail).to_have_js_property("complete", True)
        assert thumbnail.evaluate("img => img.naturalWidth") == 1280
        # Fetched with the login in a header: no token in any URL.
        assert thumbnail.get_attribute("src").startswith("blob:")
        player = staff.locator("#recording")
        expect(player).to_be_visible()
        expect(staff.locator("#timeline")).to_have_attribute("max", "4000")
        expect(player).to_have_js_property("readyState", 4)
        # At 0 s: the board as shared, nothing drawn yet.
        expect(staff.locator("#board-panel .board-title")).to_have_text("白板")
        expect(staff.locator("#board-panel canvas")).to_have_attribute("data-strokes", "")

        # Seeking the video moves the board and the timeline.
        player.evaluate("v => { v.currentTime = 1.5; }")
        expect(staff.locator("#board-panel canvas")).to_have_attribute("data-strokes", "stroke-a")
        expect(staff.locator("#timeline")).to_have_js_property("value", "1500")
        # Moving the timeline seeks the video, into the second segment and back.
        staff.locator("#timeline").fill("3500")
        expect(player).to_have_attribute("data-segment", "1")
        wait_for(
            staff, "() => Math.abs(document.querySelector('#recording').currentTime - 1.5) < 0.15"
        )
        expect(staff.locator("#board-panel canvas")).to_have_attribute(
            "data-strokes", "stroke-a,stroke-b"
        )
        staff.locator("#timeline").fill("500")
        expect(player).to_have_attribute("data-segment", "0")
        wait_for(
            staff, "() => Math.abs(document.querySelector('#recording').currentTime - 0.5) < 0.15"
        )
        expect(staff.locator("#board-panel canvas")).to_have_attribute("data-strokes", "")

        # Playing: the board follows the video's clock, on into the next segment. Each
        # time the board changes, it matches where the video is.
        staff.evaluate(
            """() => {
              window.seen = [];
              const canvas = document.querySelector('#board-panel canvas');
              new MutationObserver(() => {
                const v = document.querySelector('#recording');
                const at = Number(v.dataset.segment) * 2000 + v.currentTime * 1000;
                window.seen.push([canvas.dataset.strokes, at]);
              }).observe(canvas, { attributes: true, attributeFilter: ['data-strokes'] });
            }"""
        )
        player.evaluate("v => { v.muted = true; return v.play(); }")
        expect(staff.locator("#board-panel canvas")).to_have_attribute(
            "data-strokes", "stroke-a,stroke-b", timeout=10_000
        )
        expect(player).to_have_attribute("data-segment", "1")
        seen = staff.evaluate("window.seen")
        # (The first time each picture appears: redraws of the same picture repeat it.)
        changes = [
            (strokes, at)
            for i, (strokes, at) in enumerate(seen)
            if strokes and strokes not in [earlier for earlier, _ in seen[:i]]
        ]
        assert [s for s, _ in changes] == ["stroke-a", "stroke-a,stroke-b"], changes
        assert 1000 <= changes[0][1] < 1400, changes
        assert 3000 <= changes[1][1] < 3400, changes

        # The record's details show the same annotated page.
        staff.goto(f"{host.url}/records")
        number = host.run(host.app[DEPLOYMENT].rooms.room(sid)).meeting_number
        staff.locator(f'tr[data-meeting="{number}"]').get_by_role("button", name="查看").click()
        details = staff.get_by_role("dialog", name="会议详情")
        shown = details.locator("#record-annotated").get_by_role("img", name="白板 第 1 页（2 笔）")
        expect(shown).to_have_js_property("complete", True)
        assert shown.evaluate("img => img.naturalWidth") == 1280
    finally:
        context.close()


def test_a_pen_pressed_harder_draws_wider_on_the_canvas_and_in_the_png(
    browser: Any, host: RunningHost
) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        staff = open_hall(context, host)
        share_file(staff, "空白白板")
        expect(staff.locator("#board-panel .page-label")).to_have_text("第 1 / 1 页")
        staff.locator("#board-panel").get_by_label("粗细").select_option("16")
        staff.locator("#board-panel canvas").scroll_into_view_if_needed()
        canvas = box(staff, "canvas")
        y = canvas["y"] + canvas["height"] / 2
        cdp = staff.context.new_cdp_session(staff)

        def pen(kind: str, f: float, force: float) -> None:
            x = canvas["x"] + canvas["width"] * (0.1 + 0.8 * f)
            buttons = 0 if kind == "mouseReleased" else 1
            event = {"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons}
            cdp.send("Input.dispatchMouseEvent", event | {"pointerType": "pen", "force": force})

        # A stylus stroke left to right, pressed lightly at first and hard at the end.
        pen("mousePressed", 0, 0.05)
        for i in range(1, 21):
            pen("mouseMoved", i / 20, 0.05 + 0.95 * i / 20)
        pen("mouseReleased", 1, 1.0)
        cdp.detach()
        expect(staff.locator("#board-panel canvas")).to_have_attribute(
            "data-strokes", re.compile(r"^[^,]+$")
        )
        sid = staff.url.rsplit("/", 1)[1]
        whiteboards = host.app[DEPLOYMENT].whiteboards
        (drawn,) = host.run(whiteboards.snapshot(sid)).page_strokes("blank-1", 1)
        pressures = drawn.points[2::3]
        assert pressures[0] < 200 and pressures[-1] > 900, pressures

        # The canvas and the server's PNG both draw it thin where light, wide where hard.
        inked = """(fx) => {
          const c = document.querySelector('#board-panel canvas');
          const x = Math.round(c.width * fx);
          const column = c.getContext('2d').getImageData(x, 0, 1, c.height).data;
          let n = 0;
          for (let i = 3; i < column.length; i += 4) if (column[i] > 127) n += 1;
          return n * 720 / c.height;
        }"""
        light, hard = staff.evaluate(inked, 0.15), staff.evaluate(inked, 0.85)
        assert 0 < light < hard * 0.75, (light, hard)
        png = host.run(whiteboards.render_png(sid, "blank-1", 1))
        picture = np.array(Image.open(io.BytesIO(png)).convert("RGB"))

        def thickness(fx: float) -> int:
            return int((picture[:, int(1280 * fx)] != 255).any(axis=1).sum())

        assert 0 < thickness(0.15) < thickness(0.85) * 0.75
        assert abs(thickness(0.15) - light) <= 3 and abs(thickness(0.85) - hard) <= 3
    finally:
        context.close()
