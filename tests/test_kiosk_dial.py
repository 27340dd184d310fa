"""Calling out from the desk page in a real browser at 1366×768, the modem simulator on a
real pty: 拨打 on a customer's card dials the desk phone (ATD), the call shows on the
floating dial pad and lands in the call log as 去电; a number typed on the pad and one
clicked in the call log are dialled too; a busy line and a bad number are explained."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .kiosk_world import RunningKiosk, open_desk_page

pytestmark = pytest.mark.e2e

KIOSK_TRANSPORT = "pty"


@pytest.fixture
def page(browser: Any, kiosk: RunningKiosk) -> Iterator[Page]:
    yield from open_desk_page(browser, kiosk)


def test_dialling_from_a_card_the_pad_and_the_call_log(page: Page, kiosk: RunningKiosk) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    page.locator("#search").fill("张三")
    page.locator("#results li", has_text="张三").click()
    page.locator("#card-form").get_by_role("button", name="拨打").click()
    pad = page.get_by_role("region", name="拨号盘")
    expect(pad.locator("#dialpad-state")).to_have_text("正在呼叫 张三 13800138000")
    assert kiosk.sim.call is not None and kiosk.sim.call.number == "13800138000"
    pad.get_by_role("button", name="挂断").click()
    expect(pad.locator("#dialpad-state")).to_contain_text("通话结束")
    # In the call log as 去电.
    page.get_by_role("tab", name="通信记录").click()
    row = page.locator("#calls tbody tr", has_text="张三").first
    expect(row).to_contain_text("张三")
    expect(row).to_contain_text("去电")

    # Typed on the pad: a busy line is explained; a bad number never reaches the phone.
    pad.get_by_label("号码").fill("")
    for key in "13900000000":
        pad.get_by_role("button", name=key, exact=True).click()
    pad.get_by_role("button", name="拨打", exact=True).click()
    expect(pad.locator("#dialpad-state")).to_contain_text("呼叫 13900000000 未接通：对方忙")
    pad.get_by_label("号码").fill("12ab")
    pad.get_by_role("button", name="拨打", exact=True).click()
    expect(pad.locator("#dialpad-state")).to_have_text(
        "输入有误：“12ab”不是有效的电话号码，请检查后重新输入"
    )
    assert kiosk.sim.call is None

    # Clicked in the call log (the pad folded away first: it floats over the page).
    page.get_by_role("button", name="拨号盘").click()
    expect(pad).to_be_hidden()
    row.get_by_role("button", name="拨打").click()
    expect(pad.locator("#dialpad-state")).to_have_text("正在呼叫 张三 13800138000")
    pad.get_by_role("button", name="挂断").click()
    expect(pad.locator("#dialpad-state")).to_contain_text("通话结束")
    expect(page.locator("#calls tbody tr", has_text="张三").filter(has_text="去电")).to_have_count(
        2
    )


def _pad_box(page: Page) -> dict[str, float]:
    box = page.locator("#dialpad").bounding_box()
    assert box is not None
    return box


def test_the_dial_pad_is_dragged_where_the_desk_wants_it_and_stays_there(
    page: Page, kiosk: RunningKiosk
) -> None:
    page.get_by_role("button", name="拨号盘").click()
    pad = page.get_by_role("region", name="拨号盘")
    expect(pad).to_be_visible()
    before = _pad_box(page)
    # Dragged by its title bar with the mouse: it follows, and nothing is dialled.
    title = page.locator("#dialpad-title").bounding_box()
    assert title is not None
    x, y = title["x"] + 10, title["y"] + 10
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 400, y + 150, steps=8)
    page.mouse.up()
    moved = _pad_box(page)
    assert abs(moved["x"] - (before["x"] - 400)) <= 2 and abs(moved["y"] - (before["y"] + 150)) <= 2
    # Past the screen's edge it stops at the edge: the pad stays wholly on the screen.
    page.mouse.move(moved["x"] + 30, moved["y"] + 20)
    page.mouse.down()
    page.mouse.move(-500, 2000, steps=8)
    page.mouse.up()
    edge = _pad_box(page)
    assert edge["x"] == 0 and abs(edge["y"] + edge["height"] - 768) <= 1
    # The arrow keys on the grip move it too.
    page.get_by_role("button", name="按住拖动，换个位置（也可用方向键）").press("ArrowUp")
    keyed = _pad_box(page)
    assert keyed["x"] == 0 and abs(keyed["y"] - (edge["y"] - 10)) <= 1
    # Remembered: after the page is opened again, the pad opens where it was left.
    page.reload()
    expect(page.locator("#status")).to_have_text("话机已连接")
    page.get_by_role("button", name="拨号盘").click()
    expect(pad).to_be_visible()
    again = _pad_box(page)
    assert (round(again["x"]), round(again["y"])) == (round(keyed["x"]), round(keyed["y"]))
    assert kiosk.sim.call is None


def test_the_dial_pad_is_dragged_with_a_finger_on_a_touch_screen(
    browser: Any, kiosk: RunningKiosk
) -> None:
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, timezone_id="Asia/Shanghai", has_touch=True
    )
    try:
        page = context.new_page()
        page.goto(kiosk.desk_url)
        expect(page.locator("#status")).to_have_text("话机已连接")
        page.get_by_role("button", name="拨号盘").tap()
        expect(page.get_by_role("region", name="拨号盘")).to_be_visible()
        before = _pad_box(page)
        title = page.locator("#dialpad-title").bounding_box()
        assert title is not None
        x, y = title["x"] + 10, title["y"] + 10
        # Real touch input through the browser's own touch emulation.
        cdp = context.new_cdp_session(page)

        def touch(kind: str, points: list[dict[str, float]]) -> None:
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        touch("touchStart", [{"x": x, "y": y}])
        for n in range(1, 9):
            touch("touchMove", [{"x": x - 50 * n, "y": y + 30 * n}])
        touch("touchEnd", [])
        moved = _pad_box(page)
        assert abs(moved["x"] - (before["x"] - 400)) <= 2
        assert abs(moved["y"] - (before["y"] + 240)) <= 2
    finally:
        context.close()
