"""The salesperson's pages on a 375×812 phone (#19.1–#19.3, manual §5.2–§5.6): the ☰ drawer
and the login page, the hall with nothing outside the screen (upright or sideways), the
invitation card, member control, enlarging a video (the customer's phone too), the 共享 menu,
a shared PDF drawn on with a finger, the product push with its confirmation, and the video
window and pen toolbar collapsed and dragged."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig

from . import material_files
from .hall_pages import join, open_share_menu
from .platform_world import World, build_world
from .test_web_admin_pages import log_in
from .webhost import PHONE_VIEWPORT, RunningHost, phone_context, wait_for

pytestmark = pytest.mark.e2e

MATERIAL = "保险合同.pdf"
PRODUCT = "百万安心疗"

# Every visible control of the page whose box leaves the screen (none expected).
OUTSIDE = """() => {
  const out = [];
  const controls = "button, a, input, select, textarea, [role=toolbar], video, .tile";
  for (const el of document.querySelectorAll(controls)) {
    if (el.closest("dialog:not([open])")) continue;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === "hidden") continue;
    const [w, h] = [innerWidth + 0.5, innerHeight + 0.5];
    if (r.left < -0.5 || r.top < -0.5 || r.right > w || r.bottom > h) {
      const where = [r.left, r.top, r.right, r.bottom].map(Math.round);
      out.push(`${el.tagName}#${el.id}.${el.className} ${el.textContent.slice(0, 20)} ${where}`);
    }
  }
  return out;
}"""


@pytest.fixture
def host(tmp_path: Any) -> Iterator[RunningHost]:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )

    async def make() -> tuple[Any, World]:
        world = await build_world(f"sqlite:///{tmp_path}/web.db", config)
        await world.platform.materials.upload_file(
            world.p("sp_A1"), MATERIAL, material_files.pdf(2)
        )
        return world.platform, world

    running = RunningHost(
        make, signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5)
    ).start()
    world: World = running.extra
    assert running.platform is not None
    running.run(
        running.platform.materials.add_link(
            world.p("oa_A1"), PRODUCT, f"{running.url}/demo/h5/product.html", title=PRODUCT
        )
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def phones(browser: Any) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    """The salesperson's phone (allowed the clipboard) and the customer's."""
    staff = phone_context(browser, permissions=["clipboard-read", "clipboard-write"])
    customer = phone_context(browser)
    try:
        yield staff, customer
    finally:
        staff.close()
        customer.close()


def assert_on_screen(page: Page) -> None:
    assert page.evaluate(OUTSIDE) == []
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).bounding_box()
    assert found is not None, selector
    return found


def swipe(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """One finger from ``start`` to ``end`` at a finger's pace, resting before it lifts
    (real touch events, as a phone sends them)."""
    cdp = page.context.new_cdp_session(page)
    (x0, y0), (x1, y1) = start, end
    at = time.time()

    def touch(kind: str, points: list[dict[str, float]], dt: float) -> None:
        nonlocal at
        at += dt
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points, "timestamp": at})

    touch("touchStart", [{"x": x0, "y": y0}], 0)
    for i in range(1, 13):
        f = i / 12
        touch("touchMove", [{"x": x0 + (x1 - x0) * f, "y": y0 + (y1 - y0) * f}], 0.02)
    touch("touchMove", [{"x": x1, "y": y1}], 0.3)  # still: no fling when it lifts
    touch("touchEnd", [], 0.02)
    cdp.detach()


def start_on_phone(context: BrowserContext, host: RunningHost) -> Page:
    staff = context.new_page()
    log_in(staff, host, "sp-A1")
    expect(staff).to_have_url(re.compile(r"/workbench$"))
    staff.get_by_role("button", name="开始会话").click()
    expect(staff.locator("#connection")).to_have_text("已连接")
    return staff


def members_sheet(staff: Page) -> Any:
    staff.locator(".hall-actions").get_by_role("button", name=re.compile("成员")).click()
    sheet = staff.locator(".members")
    expect(sheet).to_be_visible()
    return sheet


def invite_by_copied_link(staff: Page) -> str:
    """成员 → 邀请客户 → the card → 复制链接: the short link, read back from the clipboard."""
    sheet = members_sheet(staff)
    sheet.get_by_role("button", name="邀请客户").click()
    card = staff.locator("#invite-card")
    expect(card).to_be_visible()
    short = card.locator("#invite-short")
    expect(short).to_have_text(re.compile(r"/j/\w+$"))
    link = short.inner_text()
    expect(card).to_contain_text("业务员：sp_A1")
    expect(card).to_contain_text(f"会议号：{staff.locator('#meeting-number').inner_text()}")
    assert_on_screen(staff)
    # A camera error that comes late (no camera on this phone) stacks beside the
    # confirmation rather than replacing it.
    staff.get_by_role("button", name="复制链接").click()
    expect(staff.locator("#notice").get_by_role("status")).to_have_text("链接已复制")
    copied = staff.evaluate("navigator.clipboard.readText()")
    assert link in copied, copied
    staff.locator("#invite-dialog").get_by_role("button", name="取消").click()
    sheet.get_by_role("button", name="关闭").click()
    expect(sheet).to_be_hidden()
    return link


def test_the_login_page_and_the_navigation_fit_a_phone(
    phones: tuple[BrowserContext, BrowserContext], host: RunningHost
) -> None:
    page = phones[0].new_page()
    page.goto(f"{host.url}/login")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    assert_on_screen(page)
    log_in(page, host, "sp-A1")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    # The 190 px sidebar is a drawer: off screen until ☰ opens it.
    nav = page.locator("nav.sidebar")
    link = nav.get_by_role("link", name="会话记录")
    expect(link).to_be_hidden()
    expect(page.get_by_role("button", name="开始会话")).to_be_visible()
    assert_on_screen(page)
    menu = page.get_by_role("button", name="菜单")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(link).to_be_visible()
    wait_for(page, "() => document.querySelector('nav.sidebar').getBoundingClientRect().left >= 0")
    assert_on_screen(page)
    link.click()
    expect(page).to_have_url(re.compile(r"/records$"))
    expect(page.locator("nav.sidebar").get_by_role("link", name="会话记录")).to_be_hidden()


def test_the_salesperson_invites_controls_members_and_enlarges_a_video_on_a_phone(
    phones: tuple[BrowserContext, BrowserContext], host: RunningHost
) -> None:
    staff_context, customer_context = phones
    staff = start_on_phone(staff_context, host)
    assert_on_screen(staff)
    link = invite_by_copied_link(staff)
    customer = join(customer_context, link, "客户王女士")
    expect(staff.locator("[data-member-count]").first).to_have_text("(2)")

    # 成员: mute the customer, turn one's own camera off, show the customer large.
    sheet = members_sheet(staff)
    assert_on_screen(staff)
    row = sheet.locator('li[data-name="客户王女士"]')
    row.get_by_role("button", name="麦克风").click()
    expect(customer.locator("#my-audio")).to_have_attribute("aria-pressed", "false")
    mine = sheet.locator('li[data-name="sp_A1"]')
    mine.get_by_role("button", name="摄像头").click()
    expect(mine.get_by_role("button", name="摄像头")).to_have_attribute("aria-pressed", "false")
    row.get_by_role("button", name="设为主画面").click()
    expect(sheet).to_be_hidden()
    customer_tile = staff.locator("#stage .tile").filter(has_text="客户王女士")
    expect(customer_tile).to_have_class(re.compile(r"\bmain\b"))
    own_tile = staff.locator("#stage .tile").filter(has_text="sp_A1")
    expect(own_tile).to_contain_text("摄像头已关")

    # Tap the small video: it fills the screen; the customer's change redraws the stage and
    # it stays large; the shrink icon in its corner puts it back.
    small = own_tile.bounding_box()
    assert small is not None
    own_tile.tap()
    expect(own_tile).to_have_class(re.compile(r"\benlarged\b"))
    large = box(staff, "#stage .tile.enlarged")
    assert large["width"] > PHONE_VIEWPORT["width"] * 0.9 > small["width"], (small, large)
    assert_on_screen(staff)
    customer.locator("#my-video").click()
    expect(customer_tile).to_contain_text("摄像头已关")
    expect(own_tile).to_have_class(re.compile(r"\benlarged\b"))
    own_tile.get_by_role("button", name="缩小画面").tap()
    expect(own_tile).not_to_have_class(re.compile(r"\benlarged\b"))
    assert_on_screen(staff)

    # The customer's phone does the same with the salesperson's video.
    host_tile = customer.locator("#stage .tile").filter(has_text="sp_A1")
    host_tile.tap()
    expect(host_tile).to_have_class(re.compile(r"\benlarged\b"))
    assert box(customer, "#stage .tile.enlarged")["width"] > PHONE_VIEWPORT["width"] * 0.9
    host_tile.get_by_role("button", name="缩小画面").tap()
    expect(host_tile).not_to_have_class(re.compile(r"\benlarged\b"))


def test_the_salesperson_shares_draws_and_pushes_a_product_on_a_phone(
    phones: tuple[BrowserContext, BrowserContext], host: RunningHost
) -> None:
    staff_context, customer_context = phones
    staff = start_on_phone(staff_context, host)
    customer = join(customer_context, invite_by_copied_link(staff), "客户王女士")

    # 共享: the four ways of the manual, above the bottom bar.
    staff.get_by_role("button", name="共享", exact=True).click()
    menu = staff.locator("#share-menu")
    for name in ("共享测评", "共享文件", "共享产品链接", "共享白板"):
        expect(menu.get_by_role("button", name=name)).to_be_visible()
    assert_on_screen(staff)
    menu.get_by_role("button", name="共享测评").click()
    dialog = staff.locator("#share-dialog")
    expect(dialog.get_by_role("heading")).to_have_text("请选择共享测评")
    expect(dialog.locator(".link-item")).to_have_count(0)
    expect(dialog).to_contain_text("还没有测评")
    dialog.get_by_role("button", name="取消").click()

    # 共享文件: the PDF fills the screen, the pen tools wait behind their 画笔 button.
    open_share_menu(staff, "共享文件")
    staff.locator(f'#board-share-dialog li[data-name="{MATERIAL}"]').get_by_role(
        "button", name="共享"
    ).tap()
    board = staff.locator("#board-panel")
    expect(board.locator(".board-image")).to_have_attribute("data-shown", re.compile(r"/1$"))
    expect(customer.locator("#board-panel")).to_be_visible()
    toolbar = board.locator(".board-toolbar")
    expect(toolbar.get_by_role("button", name="清除")).to_be_hidden()
    assert_on_screen(staff)
    toolbar.get_by_role("button", name="画笔").tap()
    for name in ("画笔", "清除", "缩放移动"):
        expect(toolbar.get_by_role("button", name=name)).to_be_visible()
    expect(toolbar.get_by_label("粗细")).to_be_visible()
    assert_on_screen(staff)

    # A finger draws on the page; the customer sees the stroke.
    canvas = box(staff, "#board-panel canvas")
    swipe(
        staff,
        (canvas["x"] + canvas["width"] * 0.3, canvas["y"] + canvas["height"] * 0.4),
        (canvas["x"] + canvas["width"] * 0.7, canvas["y"] + canvas["height"] * 0.5),
    )
    strokes = board.locator("canvas")
    expect(strokes).to_have_attribute("data-strokes", re.compile(r".+"))
    stroke = strokes.get_attribute("data-strokes")
    expect(customer.locator("#board-panel canvas")).to_have_attribute("data-strokes", stroke or "")

    # The pen toolbar collapses to its button and is dragged to the bottom edge; the video
    # window collapses and is dragged; neither leaves the screen nor stays over the page.
    toolbar.get_by_role("button", name="收起").tap()
    expect(toolbar.get_by_role("button", name="清除")).to_be_hidden()
    handle = box(staff, "#board-panel .board-toolbar .handle")
    viewport = box(staff, "#board-panel .board-viewport")
    swipe(
        staff,
        (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2),
        (viewport["x"] + viewport["width"] / 2, viewport["y"] + viewport["height"] - 4),
    )
    expect(board.locator(".board")).to_have_attribute("data-dock", "bottom")
    bar, page_area = (
        box(staff, "#board-panel .board-toolbar"),
        box(staff, "#board-panel .board-viewport"),
    )
    assert bar["y"] >= page_area["y"] + page_area["height"] - 0.5, (bar, page_area)

    dock = staff.locator("#video-dock")
    expect(dock).to_have_attribute("data-floating", "true")
    dock.get_by_role("button", name="收起").tap()
    expect(staff.locator("#stage")).to_be_hidden()
    before = box(staff, "#video-dock")
    head = box(staff, "#video-dock .dock-head")
    swipe(
        staff,
        (head["x"] + 12, head["y"] + head["height"] / 2),
        (20, PHONE_VIEWPORT["height"] * 0.6),
    )
    after = box(staff, "#video-dock")
    assert after["x"] < before["x"] - 100 and after["y"] > before["y"] + 200, (before, after)
    dock.get_by_role("button", name="展开").tap()
    expect(staff.locator("#stage")).to_be_visible()
    assert_on_screen(staff)

    # 共享产品链接 → the product → 温馨提示 确认推送【百万安心疗】产品？ → 确定.
    open_share_menu(staff, "共享产品链接")
    dialog = staff.locator("#share-dialog")
    expect(dialog.get_by_role("heading")).to_have_text("请选择共享产品")
    dialog.locator(".link-item").filter(has_text=PRODUCT).tap()
    confirm = staff.locator("dialog.confirm")
    expect(confirm).to_contain_text("温馨提示")
    expect(confirm.locator("p")).to_have_text(f"确认推送【{PRODUCT}】产品？")
    assert_on_screen(staff)
    confirm.get_by_role("button", name="确定").tap()
    expect(
        customer.frame_locator("#cobrowse-page").get_by_role("heading", name=PRODUCT)
    ).to_be_visible()
    mirror = staff.frame_locator("#cobrowse-mirror")
    expect(mirror.get_by_role("heading", name=PRODUCT)).to_be_visible()
    wait_for(staff, "() => document.querySelector('#hall').dataset.sharing === 'true'")
    assert_on_screen(staff)


def test_a_phone_turned_sideways_keeps_the_phone_hall(browser: Any, host: RunningHost) -> None:
    context = browser.new_context(
        viewport={"width": 812, "height": 375}, is_mobile=True, has_touch=True
    )
    try:
        staff = start_on_phone(context, host)
        # The drawer and the bottom bar, not the desktop's sidebar and side column.
        expect(staff.locator("nav.sidebar").get_by_role("link", name="会话记录")).to_be_hidden()
        expect(
            staff.locator(".hall-actions").get_by_role("button", name="成员 (1)")
        ).to_be_visible()
        assert_on_screen(staff)
        open_share_menu(staff, "共享文件")
        staff.locator(f'#board-share-dialog li[data-name="{MATERIAL}"]').get_by_role(
            "button", name="共享"
        ).tap()
        expect(staff.locator("#board-panel .board-image")).to_have_attribute(
            "data-shown", re.compile(r"/1$")
        )
        assert_on_screen(staff)
    finally:
        context.close()


def test_the_salesperson_shares_an_assessment_from_a_phone_rejoins_and_finds_the_answers(
    phones: tuple[BrowserContext, BrowserContext], host: RunningHost
) -> None:
    """§4.5 and §5.3 from the salesperson's phone: 共享测评, the customer's answers followed
    in the mirror, the tab closed abruptly and the meeting rejoined through the §5.7
    prompt, then the answers found in the record."""
    world: World = host.extra
    assert host.platform is not None
    host.run(
        host.platform.materials.add_link(
            world.p("oa_A1"),
            "风险承受能力测评",
            f"{host.url}/demo/h5/risk-assessment.html",
            title="客户风险承受能力评估问卷",
            assessment=True,
        )
    )
    staff_context, customer_context = phones
    staff = start_on_phone(staff_context, host)
    hall = staff.url
    session_id = hall.rsplit("/", 1)[1]
    customer = join(customer_context, invite_by_copied_link(staff), "客户王女士")

    open_share_menu(staff, "共享测评")
    items = staff.locator("#share-dialog .link-item")
    expect(items).to_have_count(1)
    items.first.tap()
    confirm = staff.locator("dialog.confirm")
    expect(confirm).to_contain_text("确认推送【风险承受能力测评】测评？")
    confirm.get_by_role("button", name="确定").tap()
    page = customer.frame_locator("#cobrowse-page")
    expect(page.get_by_role("heading", name="客户风险承受能力评估问卷")).to_be_visible()
    page.locator("#name").fill("王芳")
    page.get_by_role("radio", name="30–45 岁").check()
    mirror = staff.frame_locator("#cobrowse-mirror")
    expect(mirror.locator("#name")).to_have_value("王芳")  # the customer's input, on the phone
    assert_on_screen(staff)
    page.get_by_role("button", name="提交问卷").click()
    expect(page.locator("#result")).to_contain_text("提交成功")
    expect(staff.locator("#notice")).to_contain_text("客户已提交测评")

    # The tab goes away mid-meeting; 开始会话 asks as §5.7 does and 加入会议 returns.
    staff.close()
    again = staff_context.new_page()
    log_in(again, host, "sp-A1")
    expect(again).to_have_url(re.compile(r"/workbench$"))
    again.get_by_role("button", name="开始会话").click()
    prompt = again.locator("#unfinished-dialog")
    expect(prompt.locator("#unfinished-text")).to_have_text(
        "您当前有未结束的会议，是否加入该会议？"
    )
    prompt.get_by_role("button", name="加入会议").tap()
    expect(again).to_have_url(hall)
    expect(again.locator("#connection")).to_have_text("已连接")
    assert_on_screen(again)

    again.goto(f"{host.url}/records?view={session_id}")
    details = again.get_by_role("dialog", name="会议详情")
    expect(details.locator("#record-assessments tbody tr").first).to_contain_text("王芳")
