"""The record's shared-screen replay in a real browser: a document, then a co-browsed
product page, then the document again, all on the recording's timeline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from . import material_files
from .hall_pages import open_share_menu, push_link
from .platform_world import World
from .test_web_cobrowse import _share_with_customer
from .test_web_whiteboard import MATERIAL, open_hall_with_customer, record
from .webhost import DEPLOYMENT, RunningHost, wait_for, world_host

pytestmark = pytest.mark.e2e

LINK = "百万安心疗"


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHost]:
    monkeypatch.chdir(tmp_path)

    async def prepare(world: World) -> None:
        await world.platform.materials.upload_file(
            world.p("sp_A1"), MATERIAL, material_files.pdf(3)
        )

    with world_host(tmp_path, prepare) as running:
        yield running


def screen(page: Page) -> str:
    """Which shared screen the replay shows: ``board``, ``cobrowse`` or ``idle``, as a
    user sees it (which of the two panels is visible)."""
    board = page.locator("#board-panel").is_visible()
    cobrowse = page.locator("#cobrowse-view").is_visible()
    assert not (board and cobrowse), "the board and the co-browsed page are shown together"
    return "board" if board else "cobrowse" if cobrowse else "idle"


def expect_screen(page: Page, wanted: str) -> None:
    deadline = time.monotonic() + 5
    while (shown := screen(page)) != wanted:
        assert time.monotonic() < deadline, f"the replay shows {shown}, not {wanted}"
        time.sleep(0.05)


def test_replay_shows_the_document_the_cobrowsed_page_and_the_document_again(
    browser: Any, host: RunningHost, tmp_path: Path
) -> None:
    world: World = host.extra
    assert host.platform is not None
    host.run(
        host.platform.materials.add_link(
            world.p("oa_A1"), LINK, f"{host.url}/demo/h5/product.html", title=LINK
        )
    )
    staff_context = browser.new_context(viewport={"width": 1366, "height": 900})
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    try:
        # The salesperson shares the PDF with a customer on a phone in the session.
        staff, phone = open_hall_with_customer(staff_context, phone_context, host)
        sid = staff.url.rsplit("/", 1)[1]
        whiteboards = host.app[DEPLOYMENT].whiteboards
        seat = host.run(host.app[DEPLOYMENT].rooms.seat_for_staff(world.p("sp_A1"), sid))
        document = host.run(whiteboards.snapshot(sid)).current
        assert document is not None

        def draw(stroke_id: str, y: int) -> None:
            stroke = {
                "id": stroke_id,
                "document": document,
                "page": 1,
                "tool": "pen",
                "colour": "#e11d48",
                "width": 8,
                "points": [20, y, 500, 300, y, 500],
            }
            host.run(
                whiteboards.apply(seat, "whiteboard.stroke", {"op_id": stroke_id, "stroke": stroke})
            )

        # The recording starts 1 s after the share (moments below are into the recording).
        world.clock.advance(1)
        started = host.app[DEPLOYMENT].rooms.now_ms()
        # 0.5 s: stroke A on the document.
        world.clock.advance(0.5)
        draw("stroke-a", 100)
        # 1.0 s: the product link is pushed; the customer's page arrives (its snapshot).
        world.clock.advance(0.5)
        push_link(staff, LINK)
        product = phone.frame_locator("#cobrowse-page")
        mirror = staff.frame_locator("#cobrowse-mirror")
        expect(mirror.get_by_role("heading", name=LINK)).to_be_visible()
        # 1.5 s: the customer types their name.
        world.clock.advance(0.5)
        product.locator("#name").fill("李四")
        expect(mirror.locator("#name")).to_have_value("李四")
        # 2.5 s: the salesperson shares the document again, over the running link.
        world.clock.advance(1)
        open_share_menu(staff, "共享文件")
        staff.locator(f'#board-share-dialog li[data-name="{MATERIAL}"]').get_by_role(
            "button", name="共享"
        ).click()
        deadline = time.monotonic() + 10
        while not any(
            e.at_ms == started + 2500 and any(f["kind"] == "document_shared" for f in e.effects)
            for e in host.run(whiteboards.events(sid))
        ):
            assert time.monotonic() < deadline, "the document was not shared again"
            time.sleep(0.05)
        # 3.0 s: stroke B.
        world.clock.advance(0.5)
        draw("stroke-b", 300)
        world.clock.advance(1)
        record(host, sid, tmp_path / "rec" / sid, started)  # two 2 s segments
        host.run(host.app[DEPLOYMENT].rooms.end(world.p("sp_A1"), sid))

        # The record's dialog links both replays.
        staff.goto(f"{host.url}/records")
        number = host.run(host.app[DEPLOYMENT].rooms.room(sid)).meeting_number
        staff.locator(f'tr[data-meeting="{number}"]').get_by_role("button", name="查看").click()
        details = staff.get_by_role("dialog", name="会议详情")
        expect(details.get_by_role("link", name="共享屏幕回放")).to_have_attribute(
            "href", f"/records/{sid}/board"
        )
        expect(details.get_by_role("link", name="回放同屏页面")).to_have_attribute(
            "href", f"/records/{sid}/cobrowse"
        )

        staff.goto(f"{host.url}/records/{sid}/board")
        timeline = staff.locator("#timeline")
        player = staff.locator("#recording")
        canvas = staff.locator("#board-panel canvas")
        replay = staff.frame_locator("#cobrowse-replay")
        expect(timeline).to_have_attribute("max", "4000")
        expect(player).to_have_js_property("readyState", 4)
        # 0 s: the document as shared, nothing drawn yet.
        expect(staff.locator("#board-panel .board-title")).to_have_text(MATERIAL)
        expect(canvas).to_have_attribute("data-strokes", "")
        expect_screen(staff, "board")

        # Seeking the timeline to each period shows what was on the customer's screen.
        timeline.fill("700")
        expect(canvas).to_have_attribute("data-strokes", "stroke-a")
        expect_screen(staff, "board")
        timeline.fill("1200")
        expect_screen(staff, "cobrowse")
        expect(staff.locator("#cobrowse-name")).to_have_text(f"同屏页面：{LINK}")
        expect(replay.get_by_role("heading", name=LINK)).to_be_visible()
        expect(replay.locator("#name")).to_have_value("")
        timeline.fill("2000")
        expect(replay.locator("#name")).to_have_value("李四")
        expect_screen(staff, "cobrowse")
        timeline.fill("3500")
        expect(player).to_have_attribute("data-segment", "1")
        expect(canvas).to_have_attribute("data-strokes", "stroke-a,stroke-b")
        expect_screen(staff, "board")
        # Back into the link's time: the page is rebuilt as it was then.
        timeline.fill("1200")
        expect(player).to_have_attribute("data-segment", "0")
        expect_screen(staff, "cobrowse")
        expect(replay.locator("#name")).to_have_value("")
        wait_for(
            staff, "() => Math.abs(document.querySelector('#recording').currentTime - 1.2) < 0.15"
        )
        # Seeking the video moves the screen too.
        player.evaluate("v => { v.currentTime = 1.8; }")
        expect(timeline).to_have_js_property("value", "1800")
        expect(replay.locator("#name")).to_have_value("李四")

        # Playing from 0.5 s: the screen switches to the page at 1 s and back to the
        # document at 2.5 s (in the second segment), when the video is there.
        player.evaluate("v => { v.pause(); v.currentTime = 0.5; }")
        expect(timeline).to_have_js_property("value", "500")
        expect_screen(staff, "board")
        staff.evaluate(
            """() => {
              window.switches = [];
              const video = document.querySelector('#recording');
              const view = document.querySelector('#cobrowse-view');
              const shown = () => (view.hidden ? 'board' : 'cobrowse');
              let last = shown();
              new MutationObserver(() => {
                if (shown() === last) return;
                last = shown();
                const at = Number(video.dataset.segment) * 2000 + video.currentTime * 1000;
                window.switches.push([last, at]);
              }).observe(document.querySelector('.replay-screen'), {
                attributes: true, subtree: true, attributeFilter: ['hidden'],
              });
            }"""
        )
        player.evaluate("v => { v.muted = true; return v.play(); }")
        expect(canvas).to_have_attribute("data-strokes", "stroke-a,stroke-b", timeout=10_000)
        expect_screen(staff, "board")
        switches = staff.evaluate("window.switches")
        assert [view for view, _ in switches] == ["cobrowse", "board"], switches
        assert 1000 <= switches[0][1] < 1400, switches
        assert 2500 <= switches[1][1] < 2900, switches

        # The standalone co-browse replay still steps through the page.
        staff.goto(f"{host.url}/records/{sid}/cobrowse")
        standalone = staff.frame_locator("#replay")
        expect(standalone.locator("#name")).to_have_value("李四")
        staff.locator("#timeline").fill("0")
        expect(standalone.locator("#name")).to_have_value("")
    finally:
        staff_context.close()
        phone_context.close()


def test_a_link_only_session_without_a_recording_replays_on_the_page_events(
    browser: Any, host: RunningHost
) -> None:
    """No recording and no document: the timeline spans the co-browse log, and the
    page (in English here) shows the customer's page at each moment of it."""
    world: World = host.extra
    staff_context, phone_context, staff, phone = _share_with_customer(browser, host)
    try:
        product = phone.frame_locator("#cobrowse-page")
        mirror = staff.frame_locator("#cobrowse-mirror")
        world.clock.advance(2)
        product.locator("#name").fill("王五")
        expect(mirror.locator("#name")).to_have_value("王五")
        sid = staff.url.rsplit("/", 1)[1]
        host.run(host.app[DEPLOYMENT].rooms.end(world.p("sp_A1"), sid))

        staff.goto(f"{host.url}/records/{sid}/board?lang=en")
        expect(staff.get_by_role("heading", level=1)).to_have_text(
            "Shared screen replay (files, whiteboard and co-browsed pages)"
        )
        expect(staff.locator("#no-recording")).to_have_text(
            "This session has no recording; replaying by the time of the shared screen's events."
        )
        expect(staff.locator("#recording-panel")).to_be_hidden()
        timeline = staff.locator("#timeline")
        expect(timeline).to_have_attribute("max", "2000")
        replay = staff.frame_locator("#cobrowse-replay")
        # Without a recording the replay opens at the end: the filled form.
        expect(staff.locator("#cobrowse-name")).to_have_text(f"Co-browsed page: {LINK}")
        expect(replay.locator("#name")).to_have_value("王五")
        expect_screen(staff, "cobrowse")
        timeline.fill("0")
        expect(replay.locator("#name")).to_have_value("")
        expect(staff.locator("#position")).to_contain_text("Step 1/")
        expect_screen(staff, "cobrowse")
        expect(staff.locator("#nothing-shared")).to_be_hidden()
    finally:
        staff_context.close()
        phone_context.close()
