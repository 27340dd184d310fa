"""Co-browsing in real browsers: the salesperson mirrors the customer's product page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .hall_pages import push_link
from .platform_world import World
from .test_web_admin_pages import log_in
from .webhost import DEPLOYMENT, RunningHost, world_host

pytestmark = pytest.mark.e2e

ID_NUMBER = "110101199003077777"
PHONE = "13912345678"
BIRTH = "1990-03-07"  # masked by the material's own selector list


@pytest.fixture
def host(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHost]:
    monkeypatch.chdir(tmp_path)
    with world_host(tmp_path) as running:
        yield running


def test_customer_fills_the_product_page_and_the_salesperson_mirrors_and_operates(
    browser: Any, host: RunningHost
) -> None:
    world: World = host.extra
    assert host.platform is not None
    host.run(
        host.platform.materials.add_link(
            world.p("oa_A1"),
            "百万安心疗",
            f"{host.url}/demo/h5/product.html",
            title="百万安心疗",
            mask_selectors=["#birth"],
        )
    )
    staff_context = browser.new_context(viewport={"width": 1366, "height": 900})
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    frames: list[str] = []
    try:
        staff = staff_context.new_page()
        staff.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
        socket_urls: list[str] = []
        staff.on("websocket", lambda ws: socket_urls.append(ws.url))
        log_in(staff, host, "sp-A1")
        staff.get_by_role("button", name="开始会话").click()
        expect(staff.locator("#connection")).to_have_text("已连接")
        staff.get_by_role("button", name="邀请客户").click()
        expect(staff.locator("#invite-link")).to_have_value(re.compile("/join/"))
        link = staff.locator("#invite-link").input_value()
        staff.keyboard.press("Escape")

        phone = phone_context.new_page()
        phone.on("websocket", lambda ws: ws.on("framesent", lambda f: frames.append(str(f))))
        phone.on("websocket", lambda ws: socket_urls.append(ws.url))
        phone.goto(link)
        phone.get_by_label("您的称呼").fill("客户李先生")
        phone.get_by_label(re.compile("全程录音录像")).check()
        phone.get_by_role("button", name="进入会话").click()
        expect(phone.locator("#connection")).to_have_text("已连接")
        expect(staff.locator('#members li[data-name="客户李先生"]')).to_be_visible()

        # Push the product link (manual §5.3), confirming first.
        push_link(staff, "百万安心疗")
        product = phone.frame_locator("#cobrowse-page")
        expect(product.get_by_role("heading", name="百万安心疗")).to_be_visible()
        mirror = staff.frame_locator("#cobrowse-mirror")
        expect(mirror.get_by_role("heading", name="百万安心疗")).to_be_visible()
        expect(staff.locator("#cobrowse-panel [data-cobrowse=waiting]")).to_be_hidden()

        # The customer fills the form; the mirror follows, masked fields stay masked.
        product.locator("#name").fill("李四")
        product.locator("#id-number").fill(ID_NUMBER)
        product.locator("#phone").fill(PHONE)
        product.locator("#birth").fill(BIRTH)
        product.locator("#copies").select_option("2")
        product.get_by_role("radio", name="尊享版").check()
        product.get_by_role("radio", name="无社保").check()
        product.locator("#effective").fill("2026-12-01")
        expect(mirror.locator("#name")).to_have_value("李四", timeout=1000)
        expect(mirror.locator("#copies")).to_have_value("2", timeout=1000)
        expect(mirror.locator("input[value='premium']")).to_be_checked(timeout=1000)
        expect(mirror.locator("input[value='no']")).to_be_checked(timeout=1000)
        # The page's own script changed the end date and the premium: mirrored too.
        expect(mirror.locator("#end")).to_have_value("2027-11-30", timeout=1000)
        expect(mirror.locator("#premium")).to_have_text("¥ 1882", timeout=1000)
        expect(mirror.locator("#id-number")).to_have_value("•")
        assert ID_NUMBER not in staff.content() and PHONE not in staff.content()
        mirror_html = staff.frame(url=re.compile("about:")) or staff.main_frame
        assert ID_NUMBER not in mirror_html.content()

        # Without control the salesperson cannot type into the customer's page.
        expect(mirror.locator("#name")).to_have_attribute("readonly", "")
        staff.locator("#cobrowse-panel [data-cobrowse=control]").click()
        expect(staff.locator("#cobrowse-panel [data-cobrowse=status]")).to_have_text(
            "当前操作方：我"
        )
        expect(phone.locator(".cobrowse-toolbar")).to_contain_text("业务员正在协助操作")
        mirror.locator("#name").fill("李四（业务员代填）")
        expect(product.locator("#name")).to_have_value("李四（业务员代填）", timeout=2000)
        # The customer takes control back.
        phone.get_by_role("button", name="收回操作").click()
        expect(staff.locator("#cobrowse-panel [data-cobrowse=status]")).to_have_text(
            "当前操作方：客户"
        )

        # Neither side's credential is in a socket URL (it goes in the handshake header).
        login_token = staff.evaluate("sessionStorage.getItem('zhanye.token')")
        assert socket_urls and login_token
        assert not any(login_token in u or "seat=" in u or "token=" in u for u in socket_urls)
        # Nothing sensitive went over the wire or into the stored log.
        assert not any(ID_NUMBER in f or PHONE in f or BIRTH in f for f in frames)
        expect(mirror.locator("#birth")).not_to_have_value(BIRTH)
        sid = staff.url.rsplit("/", 1)[1]
        assert host.app[DEPLOYMENT].rooms is not None
        stored = host.run(_stored_log(host, sid))
        text = repr(stored)
        assert stored and "李四" in text
        assert ID_NUMBER not in text and PHONE not in text and BIRTH not in text
        # The session ends with the page still shared: the share ends with it (stored,
        # announced, and no longer held in memory).
        assert stored[-1]["ended_ms"] is None
        host.run(host.app[DEPLOYMENT].rooms.end(world.p("sp_A1"), sid))
        expect(phone.locator(".cobrowse-toolbar")).to_be_hidden()
        assert host.run(_stored_log(host, sid))[-1]["ended_ms"] is not None
        assert host.app[DEPLOYMENT].cobrowse.active(sid) is None
        # The session record lists the shared link (共享素材信息).
        staff.goto(f"{host.url}/records")
        staff.get_by_role("button", name="查看").first.click()
        expect(staff.locator("body")).to_contain_text("百万安心疗")
        # The replay shows the page as it was: at the last step, the filled form;
        # at the first, the empty page.
        staff.goto(f"{host.url}/records/{sid}/cobrowse")
        replay = staff.frame_locator("#replay")
        expect(replay.locator("#name")).to_have_value("李四（业务员代填）")
        expect(replay.locator("#id-number")).to_have_value("•")
        staff.locator("#timeline").fill("0")
        expect(replay.locator("#name")).to_have_value("")
    finally:
        staff_context.close()
        phone_context.close()


async def _stored_log(host: RunningHost, session_id: str) -> Any:
    return await host.app[DEPLOYMENT].cobrowse.stored_log(session_id)


def _share_with_customer(
    browser: Any,
    host: RunningHost,
    page: str = "product.html",
    *,
    add_link: bool = True,
    watch: Callable[[Page], None] | None = None,
    mirrored: bool = True,
) -> tuple[Any, Any, Page, Page]:
    """A salesperson in a session with a customer, the demo H5 ``page`` (or a URL) pushed
    and mirrored.

    With ``add_link=False`` the link material already exists; ``watch`` sees each page
    before it opens anything; with ``mirrored=False`` the page is not awaited in the mirror.
    """
    world: World = host.extra
    assert host.platform is not None
    if add_link:
        url = page if page.startswith("http") else f"{host.url}/demo/h5/{page}"
        host.run(host.platform.materials.add_link(world.p("oa_A1"), "百万安心疗", url))
    staff_context = browser.new_context(viewport={"width": 1366, "height": 900})
    phone_context = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    staff = staff_context.new_page()
    phone = phone_context.new_page()
    if watch is not None:
        watch(staff)
        watch(phone)
    log_in(staff, host, "sp-A1")
    staff.get_by_role("button", name="开始会话").click()
    expect(staff.locator("#connection")).to_have_text("已连接")
    staff.get_by_role("button", name="邀请客户").click()
    expect(staff.locator("#invite-link")).to_have_value(re.compile("/join/"))
    link = staff.locator("#invite-link").input_value()
    staff.keyboard.press("Escape")
    phone.goto(link)
    phone.get_by_label("您的称呼").fill("客户")
    phone.get_by_label(re.compile("全程录音录像")).check()
    phone.get_by_role("button", name="进入会话").click()
    expect(staff.locator('#members li[data-name="客户"]')).to_be_visible()
    push_link(staff)
    if mirrored:
        expect(staff.frame_locator("#cobrowse-mirror").locator("h1")).to_be_visible()
    return staff_context, phone_context, staff, phone


def test_the_customer_drops_and_returns_and_the_mirror_catches_up(
    browser: Any, host: RunningHost
) -> None:
    staff_context, phone_context, staff, phone = _share_with_customer(browser, host)
    try:
        product = phone.frame_locator("#cobrowse-page")
        mirror = staff.frame_locator("#cobrowse-mirror")
        product.locator("#name").fill("掉线前")
        expect(mirror.locator("#name")).to_have_value("掉线前")
        sid = staff.url.rsplit("/", 1)[1]
        seat = phone.evaluate(
            "JSON.parse(Object.entries(localStorage).find(([k]) => k.startsWith('zhanye.seat'))[1])"
        )
        signaling = host.app[DEPLOYMENT].signaling
        assert signaling.drop(sid, seat["participant_id"]) == 1
        # Typed while the connection is down: nothing can be sent yet.
        product.locator("#name").fill("掉线期间填写")
        product.locator("#copies").select_option("3")
        expect(phone.locator("#connection")).to_have_text("已连接", timeout=10_000)
        expect(mirror.locator("#name")).to_have_value("掉线期间填写", timeout=5_000)
        expect(mirror.locator("#copies")).to_have_value("3")
    finally:
        staff_context.close()
        phone_context.close()


def test_a_ten_thousand_node_page_and_a_burst_stay_consistent(
    browser: Any, host: RunningHost
) -> None:
    staff_context, phone_context, staff, phone = _share_with_customer(browser, host)
    try:
        frame = phone.frame(url=re.compile(r"/demo/h5/product\.html"))
        assert frame is not None
        frame.evaluate(
            """() => {
                const box = document.createElement('div');
                box.id = 'bulk';
                for (let i = 0; i < 10000; i++) {
                    const item = document.createElement('span');
                    item.textContent = 'n' + i;
                    box.append(item);
                }
                document.body.append(box);
            }"""
        )
        mirror = staff.frame_locator("#cobrowse-mirror")
        expect(mirror.locator("#bulk > span")).to_have_count(10_000, timeout=15_000)
        # A burst of 5,000 changes in one go: either streamed or replaced by a fresh snapshot.
        frame.evaluate(
            """() => {
                const spans = document.querySelectorAll('#bulk > span');
                for (let i = 0; i < 5000; i++) spans[i].textContent = 'changed' + i;
            }"""
        )
        expect(mirror.locator("#bulk > span").nth(4999)).to_have_text("changed4999", timeout=15_000)
        expect(mirror.locator("#bulk > span").nth(0)).to_have_text("changed0")
        expect(mirror.locator("#bulk > span").nth(5000)).to_have_text("n5000")
        expect(mirror.locator("#bulk > span")).to_have_count(10_000)
    finally:
        staff_context.close()
        phone_context.close()


def test_a_burst_on_a_big_table_streams_in_events_under_the_limit_without_a_resend(
    browser: Any, host: RunningHost
) -> None:
    """#13.15: 1,000 cell updates on a 1,000-row table reach the mirror as a few events
    each under the server's 64 KiB limit; the page is never re-sent; the first snapshot
    itself goes in chunks under the limit."""
    sent: list[str] = []
    staff_context, phone_context, staff, phone = _share_with_customer(
        browser,
        host,
        watch=lambda page: page.on(
            "websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f)))
        ),
    )
    try:
        frame = phone.frame(url=re.compile(r"/demo/h5/product\.html"))
        assert frame is not None
        mirror = staff.frame_locator("#cobrowse-mirror")
        frame.evaluate(
            """() => {
                const table = document.createElement('table');
                table.id = 'big';
                for (let i = 0; i < 1000; i++) {
                    const row = table.insertRow();
                    for (const text of ['保单' + i, '张三' + i, '¥ ' + (i * 7), '有效']) {
                        row.insertCell().textContent = text;
                    }
                }
                document.body.append(table);
            }"""
        )
        expect(mirror.locator("#big tr")).to_have_count(1000, timeout=15_000)
        expect(mirror.locator("#big tr").nth(999)).to_contain_text("有效")
        before = len(sent)
        frame.evaluate(
            """() => {
                const rows = document.querySelectorAll('#big tr');
                for (let i = 0; i < 1000; i++) rows[i].cells[3].textContent = '已续保 ' + i;
            }"""
        )
        expect(mirror.locator("#big tr").nth(999).locator("td").nth(3)).to_have_text(
            "已续保 999", timeout=15_000
        )
        texts = mirror.locator("#big td:nth-child(4)").all_inner_texts()
        assert texts == [f"已续保 {i}" for i in range(1000)]
        messages = [json.loads(f) for f in sent]
        burst = messages[before:]
        assert not [m for m in burst if m["type"].startswith("cobrowse.snapshot")], "re-sent"
        events = [m for m in burst if m["type"] == "cobrowse.event"]
        assert 2 <= len(events) <= 10
        limit = 64 * 1024
        assert all(len(json.dumps(m["data"]["data"]).encode()) < limit for m in events)
        # Back from a dropped connection the whole page goes again, in chunks across tasks
        # (none of them near the limit), put back together by the server.
        seat = phone.evaluate(
            "JSON.parse(Object.entries(localStorage).find(([k]) => k.startsWith('zhanye.seat'))[1])"
        )
        before = len(sent)
        assert (
            host.app[DEPLOYMENT].signaling.drop(staff.url.rsplit("/", 1)[1], seat["participant_id"])
            == 1
        )
        frame.evaluate("() => { document.querySelector('#big td').textContent = '断线后'; }")
        expect(mirror.locator("#big td").first).to_have_text("断线后", timeout=15_000)
        chunks = [json.loads(f) for f in sent[before:] if '"cobrowse.snapshot_chunk"' in f]
        assert len(chunks) > 5 and chunks[-1]["data"]["total"] == len(chunks)
        expect(mirror.locator("#big tr")).to_have_count(1000)
        assert all(len(f.encode()) < limit for f in sent)
    finally:
        staff_context.close()
        phone_context.close()


def test_the_record_says_when_the_page_never_loaded_and_when_nothing_was_shared(
    browser: Any, host: RunningHost
) -> None:
    """The screen replay's "waiting for the customer's page" and "nothing shared" states."""
    world: World = host.extra
    # A page without the agent: the customer's phone opens it, nothing is ever mirrored.
    staff_context, phone_context, staff, phone = _share_with_customer(
        browser, host, "README.md", mirrored=False
    )
    try:
        expect(staff.locator("#cobrowse-panel")).to_be_visible()
        # The hall says the customer's page is awaited rather than showing an empty mirror.
        waiting = staff.locator("#cobrowse-panel [data-cobrowse=waiting]")
        expect(waiting).to_have_text("正在等待客户页面加载…")
        expect(staff.locator("#cobrowse-mirror")).to_be_hidden()
        sid = staff.url.rsplit("/", 1)[1]
        host.run(host.app[DEPLOYMENT].rooms.end(world.p("sp_A1"), sid))
        staff.goto(f"{host.url}/records/{sid}/board")
        expect(staff.locator("#cobrowse-waiting")).to_have_text("正在等待客户页面加载…")
        expect(staff.locator("#cobrowse-waiting")).to_be_visible()
        expect(staff.locator("#cobrowse-frame")).to_be_hidden()
        expect(staff.locator("#nothing-shared")).to_be_hidden()
        # A session in which nothing was shared says so.
        other = host.run(host.app[DEPLOYMENT].rooms.start(world.p("sp_A1"))).id
        host.run(host.app[DEPLOYMENT].rooms.end(world.p("sp_A1"), other))
        staff.goto(f"{host.url}/records/{other}/board")
        expect(staff.locator("#nothing-shared")).to_have_text("本次会话没有共享文件、白板或链接。")
        expect(staff.locator("#cobrowse-view")).to_be_hidden()
    finally:
        staff_context.close()
        phone_context.close()
