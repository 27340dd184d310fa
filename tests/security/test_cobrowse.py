"""Attacks on co-browsing, from the attacker's side.

Covered:

* A secret typed into a field that the link material's mask selectors name (set through
  the materials page), and a masked value that the page copies into visible text and
  attributes, must appear nowhere: not in any WebSocket frame, any database table, the
  server's logs, the stored record or its replay (#14.3, #14.10).
* A masked value of one to three characters (a CVV, a short code) that the page copies
  into visible text and attributes is blanked there too, never sent (only the length of
  nothing: "••••").
* A page on another origin frames the H5 product page (served by the demo host with its
  frame-ancestors policy, or by a bank's own server without one) and sends the agent a
  start and operator clicks: it receives nothing and changes nothing (#14.4).
* A tampered agent sends a masked node's value as a DOM mutation (its text, an
  attribute, a child): refused, never relayed or stored (#14.10).
* An invited customer floods the share with big snapshots: sizes, rate and the total
  stored per share are bounded with clear errors; another room is not affected (#14.5).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from playwright.sync_api import Page, expect

from hosts.web.server import DEMO_H5
from zhanye_sdk.cobrowse.service import COBROWSE_STATIC

from ..live_session import Peer, open_live_session
from ..platform_world import World
from ..test_web_admin_pages import log_in
from ..test_web_cobrowse import _share_with_customer, _stored_log, host  # noqa: F401 (fixture)
from ..webhost import RunningHost, ThreadedLoop

CARD = "6222021234567890123"
MOBILE = "13987654321"


def _everywhere_but(text: str, secret: str) -> bool:
    spaced = re.sub(r"(.{4})(?=.)", r"\1 ", secret)
    return secret not in text and spaced not in text


def _dump_database(path: Path) -> str:
    """Every row of every table, and the raw bytes of the database files."""
    rows: list[str] = []
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            rows.extend(repr(row) for row in db.execute(f'SELECT * FROM "{table}"'))
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file()).decode(
        "utf-8", "replace"
    )
    assert len(tables) > 10 and rows
    return "\n".join(rows) + raw


def test_a_secret_typed_into_a_masked_field_is_nowhere(
    browser: Any,
    host: RunningHost,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The organization's admin adds the card page with its card field to mask.
    admin_context = browser.new_context()
    admin = admin_context.new_page()
    log_in(admin, host, "oa-A1")
    # The login page moves on by itself once signed in; go on from where it lands.
    expect(admin).not_to_have_url(re.compile(r"^[^/]*//[^/]+/(login)?$"))
    admin.wait_for_load_state("load")
    admin.goto(f"{host.url}/admin/materials")
    admin.get_by_role("button", name="添加链接").click()
    dialog = admin.locator("#link-dialog")
    dialog.get_by_label("素材名称").fill("绑卡页")
    dialog.get_by_label("链接地址").fill(f"{host.url}/demo/h5/card.html")
    dialog.get_by_label(re.compile("屏蔽的敏感字段")).fill("#card")
    dialog.get_by_role("button", name="保存").click()
    expect(admin.locator('tr[data-name="绑卡页"]')).to_be_visible()
    admin_context.close()

    frames: list[str] = []

    def watch(page: Page) -> None:
        page.on(
            "websocket",
            lambda ws: (
                ws.on("framereceived", lambda f: frames.append(str(f))),
                ws.on("framesent", lambda f: frames.append(str(f))),
            ),
        )

    staff_context, phone_context, staff, phone = _share_with_customer(
        browser, host, "card.html", add_link=False, watch=watch
    )
    try:
        product = phone.frame_locator("#cobrowse-page")
        mirror = staff.frame_locator("#cobrowse-mirror")
        expect(mirror.locator("h1")).to_have_text("绑定银行卡", timeout=10_000)
        product.locator("#holder").fill("王五")
        product.locator("#card").press_sequentially(CARD)
        product.locator("#mobile").press_sequentially(MOBILE)
        product.locator("#holder").fill("王五五")  # a last, harmless change after the secrets
        expect(mirror.locator("#holder")).to_have_value("王五五", timeout=5_000)
        expect(product.locator("#card-echo")).to_contain_text(CARD[:4])
        expect(mirror.locator("#card")).to_have_value("•")
        expect(mirror.locator("#card-echo")).to_contain_text("将绑定卡号")
        expect(mirror.locator("#mobile-echo")).to_contain_text("验证码将发送至")
        sid = staff.url.rsplit("/", 1)[1]
        staff.goto(f"{host.url}/records/{sid}/cobrowse")
        expect(staff.frame_locator("#replay").locator("#holder")).to_have_value("王五五")
        replay = staff.frame_locator("#replay").locator("html").inner_html()
        record = staff.evaluate(
            """async (sid) => {
                const token = sessionStorage.getItem('zhanye.token');
                const r = await fetch(`/api/records/${sid}/cobrowse`,
                    {headers: {Authorization: `Bearer ${token}`}});
                return await r.text();
            }""",
            sid,
        )
        assert "王五五" in record and "王五五" in "".join(frames)
        database = _dump_database(tmp_path / "web.db")
        assert "王五五" in database
        for where, text in {
            "frames": "\n".join(frames),
            "database": database,
            "logs": caplog.text,
            "record": record,
            "replay": replay,
        }.items():
            for secret in (CARD, MOBILE):
                assert _everywhere_but(text, secret), f"{secret} leaked into the {where}"
    finally:
        staff_context.close()
        phone_context.close()


@pytest.mark.parametrize(("card", "mobile"), [("5", "739"), ("X5", "7")])
def test_a_short_masked_value_copied_into_the_page_is_nowhere(
    browser: Any,
    host: RunningHost,  # noqa: F811
    card: str,
    mobile: str,
) -> None:
    world: World = host.extra
    assert host.platform is not None
    host.run(
        host.platform.materials.add_link(
            world.p("oa_A1"), "绑卡页", f"{host.url}/demo/h5/card.html", mask_selectors=["#card"]
        )
    )
    frames: list[str] = []

    def watch(page: Page) -> None:
        page.on(
            "websocket",
            lambda ws: (
                ws.on("framereceived", lambda f: frames.append(str(f))),
                ws.on("framesent", lambda f: frames.append(str(f))),
            ),
        )

    staff_context, phone_context, staff, phone = _share_with_customer(
        browser, host, "card.html", add_link=False, watch=watch
    )
    try:
        product = phone.frame_locator("#cobrowse-page")
        mirror = staff.frame_locator("#cobrowse-mirror")
        expect(mirror.locator("h1")).to_have_text("绑定银行卡", timeout=10_000)
        product.locator("#card").press_sequentially(card)
        product.locator("#mobile").press_sequentially(mobile)
        expect(product.locator("#mobile-echo")).to_have_text(f"验证码将发送至 {mobile}")
        product.locator("#holder").fill("王五五")  # a last, harmless change after the secrets
        expect(mirror.locator("#holder")).to_have_value("王五五", timeout=5_000)
        expect(mirror.locator("#card-echo")).to_have_text("将绑定卡号：••••")
        expect(mirror.locator("#mobile-echo")).to_have_text("验证码将发送至 ••••")
        assert mirror.locator("#confirm").get_attribute("title") == "绑定 ••••"
        assert mirror.locator("#confirm").get_attribute("data-card") == "••••"
        sid = staff.url.rsplit("/", 1)[1]
        record = json.dumps(host.run(_stored_log(host, sid)), ensure_ascii=False, default=str)
        sent = "\n".join(frames)
        assert "王五五" in sent and "王五五" in record
        for text in (sent, record):
            for leak in (f"发送至 {mobile}", f"卡号：{card}", f"绑定 {card}", f'"{card}"'):
                assert leak not in text, leak
    finally:
        staff_context.close()
        phone_context.close()


class _Site(ThreadedLoop):
    """Static pages on another loopback port: another origin."""

    def __init__(self, pages: dict[str, tuple[str, str]]) -> None:
        super().__init__()
        self.pages = pages
        self._runner: web.AppRunner | None = None

    async def _start(self) -> None:
        app = web.Application()

        async def serve(request: web.Request) -> web.Response:
            if request.path not in self.pages:
                raise web.HTTPNotFound()
            body, kind = self.pages[request.path]
            return web.Response(text=body, content_type=kind)

        app.router.add_get("/{tail:.*}", serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


ATTACK = """<!doctype html><meta charset="utf-8"><body><script>
window.received = [];
addEventListener("message", (event) => window.received.push(JSON.stringify(event.data)));
const frame = document.createElement("iframe");
frame.src = TARGET;
frame.width = 400; frame.height = 800;
document.body.append(frame);
window.attack = () => {
  const agent = frame.contentWindow;
  agent.postMessage({ zhanye: "cobrowse", type: "start", maskSelectors: [] }, "*");
  agent.postMessage({ zhanye: "cobrowse", type: "need-snapshot" }, "*");
  for (let node = 1; node < 400; node++) {
    agent.postMessage({ zhanye: "cobrowse", type: "operate", kind: "click", data: { node } }, "*");
  }
};
</script></body>"""


@pytest.fixture
def sites(host: RunningHost) -> Iterator[tuple[_Site, _Site]]:  # noqa: F811
    """A bank serving its own H5 page and agent (trusting the host's session pages), and
    an attacker's site; each on its own origin."""
    product = (DEMO_H5 / "product.html").read_text()
    meta = f'<meta name="zhanye-cobrowse-origins" content="{host.url}">'
    bank = _Site(
        {
            "/h5/product.html": (product.replace("<head>", f"<head>\n{meta}"), "text/html"),
            "/sdk/cobrowse/agent.js": (
                (COBROWSE_STATIC / "agent.js").read_text(),
                "text/javascript",
            ),
        }
    ).start()
    attacker = _Site({}).start()
    try:
        yield bank, attacker
    finally:
        attacker.stop()
        bank.stop()


def test_a_foreign_page_framing_the_h5_page_gets_nothing_and_changes_nothing(
    browser: Any,
    host: RunningHost,  # noqa: F811
    sites: tuple[_Site, _Site],
) -> None:
    bank, attacker = sites
    # The demo host's H5 pages may be framed by its own session pages only.
    with urllib.request.urlopen(f"{host.url}/demo/h5/product.html") as answer:
        assert "frame-ancestors 'self'" in (answer.headers["Content-Security-Policy"] or "")
        assert answer.headers["X-Frame-Options"] == "SAMEORIGIN"
    targets = {
        "demo": f"{host.url}/demo/h5/product.html",
        "bank": f"{bank.url}/h5/product.html",
    }
    for name, target in targets.items():
        attacker.pages[f"/{name}.html"] = (
            ATTACK.replace("TARGET", json.dumps(target)),
            "text/html",
        )
    context = browser.new_context()
    try:
        page = context.new_page()
        # The demo page refuses to be framed here: the browser shows no product page.
        page.goto(f"{attacker.url}/demo.html")
        page.wait_for_load_state("load")
        for _ in range(5):
            page.evaluate("window.attack()")
            page.wait_for_timeout(200)
        assert page.evaluate("window.received") == []
        framed = [f for f in page.frames if f != page.main_frame]
        assert framed and all(f.locator("#apply").count() == 0 for f in framed)
        # The bank's page (no framing policy) loads, but its agent ignores the stranger.
        page.goto(f"{attacker.url}/bank.html")
        bank_frame = None
        deadline = time.monotonic() + 10
        while bank_frame is None and time.monotonic() < deadline:
            bank_frame = next((f for f in page.frames if f.url == targets["bank"]), None)
            time.sleep(0.05)
        assert bank_frame is not None
        expect(bank_frame.locator("#apply")).to_be_visible()
        # The agent module has run once the page's module scripts have (load fires after).
        page.wait_for_load_state("load")
        bank_frame.wait_for_load_state("load")
        for _ in range(5):
            page.evaluate("window.attack()")
            page.wait_for_timeout(200)
        assert page.evaluate("window.received") == []
        assert not bank_frame.locator("input[name=agree]").is_checked()
        assert bank_frame.locator("input[name=plan][value=basic]").is_checked()
    finally:
        context.close()
    # Control: the same bank page, pushed in a session, answers the host's session page it
    # trusts, and the salesperson's mirror shows it.
    staff_context, phone_context, staff, _ = _share_with_customer(browser, host, targets["bank"])
    try:
        mirror = staff.frame_locator("#cobrowse-mirror")
        expect(mirror.get_by_role("heading", name="百万安心疗")).to_be_visible()
    finally:
        staff_context.close()
        phone_context.close()


def test_a_snapshot_flood_is_bounded_and_leaves_other_rooms_alone(
    host: RunningHost,  # noqa: F811
    tmp_path: Path,
) -> None:
    world: World = host.extra
    assert host.platform is not None
    for org_admin in ("oa_A1", "oa_A2"):
        host.run(
            host.platform.materials.add_link(
                world.p(org_admin), "百万安心疗", f"{host.url}/demo/h5/product.html"
            )
        )
    big = "x" * (1_900 * 1024)  # under the 2 MiB snapshot limit, like the 3.5 MB attack
    results = host.run(_flood(host.url, big))
    accepted, limited, too_large, other_room = results
    assert accepted and len(accepted) <= 5, accepted  # the big one took a token
    assert limited and all(e["code"] == "rate_limited" for e in limited)
    assert all(e["retry_after_s"] > 0 and e.get("message_zh") for e in limited)
    assert too_large["code"] == "invalid_input" and too_large.get("message_zh")
    assert other_room == ["ack", "ack"]
    # What the flood could store: the accepted snapshots, nothing more.
    with sqlite3.connect(tmp_path / "web.db") as db:
        stored = db.execute(
            "SELECT count(*), coalesce(sum(length(data)), 0) FROM cobrowse_events"
            " WHERE kind = 'snapshot'"
        ).fetchone()
    assert stored[0] == len(accepted) + 1  # the other room's one snapshot
    assert stored[1] <= 7 * 2 * 1024 * 1024


async def _flood(base: str, big: str) -> tuple[list[Any], list[Any], Any, list[str]]:
    async with aiohttp.ClientSession() as http:
        rooms = [await _shared_room(http, base, sp) for sp in ("sp-A1", "sp-A2")]
        (_, attacker), (_, neighbour) = rooms
        # Too big at all (the 3.5 MB of the attack).
        huge = {"root": {"id": 1, "text": "y" * (2 * 1024 * 1024 + 10)}}
        too_large = await attacker.reply_to(
            await attacker.send("cobrowse.snapshot", {"snapshot": huge})
        )
        accepted: list[Any] = []
        limited: list[Any] = []
        for _ in range(20):
            snapshot = {"root": {"id": 1, "tag": "html", "children": [{"id": 2, "text": big}]}}
            reply = await attacker.reply_to(
                await attacker.send("cobrowse.snapshot", {"snapshot": snapshot})
            )
            if reply["type"] == "ack":
                accepted.append(reply["data"])
            else:
                limited.append(reply["data"])
        # Meanwhile, another room's customer shares normally.
        answers = []
        small = {"root": {"id": 1, "tag": "html", "children": []}, "masked": []}
        for kind, data in (
            ("cobrowse.snapshot", {"snapshot": small}),
            ("cobrowse.event", {"kind": "scroll", "data": {"node": 0, "x": 0, "y": 10}}),
        ):
            answers.append((await neighbour.reply_to(await neighbour.send(kind, data)))["type"])
        return accepted, limited, too_large["data"], answers


async def _shared_room(
    http: aiohttp.ClientSession, base: str, salesperson: str
) -> tuple[Peer, Peer]:
    """A session with its host and customer connected and a link pushed to the customer."""
    live = await open_live_session(http, base, salesperson, "客户")
    staff = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
    await staff.next("session.welcome")
    customer = Peer(await http.ws_connect(f"{live.ws_url}?seat={live.seat['seat_token']}"))
    await customer.next("session.welcome")
    links = await (await http.get(f"{base}/api/materials?kind=link", headers=live.auth)).json()
    sent = await staff.send("cobrowse.share", {"material_id": links["items"][0]["id"]})
    assert (await staff.reply_to(sent))["type"] == "ack"
    return staff, customer


def test_a_tampered_agent_cannot_send_a_masked_nodes_value(
    host: RunningHost,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A customer's page whose agent was modified (or a page script that writes into a
    masked field's text or attributes) sends the card number as a mutation of the masked
    node: refused, not shown to the salesperson, not stored."""
    world: World = host.extra
    assert host.platform is not None
    host.run(
        host.platform.materials.add_link(
            world.p("oa_A1"), "百万安心疗", f"{host.url}/demo/h5/product.html"
        )
    )
    replies = host.run(_tamper(host.url))
    assert [r["type"] for r in replies[:1]] == ["ack"]
    assert [r["data"]["code"] for r in replies[1:]] == ["masked"] * (len(replies) - 1)
    with sqlite3.connect(tmp_path / "web.db") as db:
        stored = repr(db.execute("SELECT * FROM cobrowse_events").fetchall())
    assert "卡号" in stored and CARD not in stored


async def _tamper(base: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        staff, customer = await _shared_room(http, base, "sp-A1")
        snapshot = {
            "root": {
                "id": 1,
                "tag": "body",
                "children": [
                    {"id": 2, "text": "卡号"},
                    {"id": 3, "tag": "input", "attrs": {"id": "card"}, "masked": True},
                    {"id": 4, "tag": "span", "masked": True, "children": [{"id": 5, "text": "•"}]},
                ],
            },
            "masked": [3, 4, 5],
        }
        replies = [
            await customer.reply_to(
                await customer.send("cobrowse.snapshot", {"snapshot": snapshot})
            )
        ]
        for mutation in (
            {"attrs": [{"node": 3, "name": "value", "value": CARD}]},
            {"attrs": [{"node": 3, "name": "data-card", "value": CARD}]},
            {"texts": [{"node": 5, "text": CARD}]},
            {"adds": [{"parent": 4, "next": None, "node": {"id": 6, "text": CARD}}]},
        ):
            replies.append(
                await customer.reply_to(
                    await customer.send("cobrowse.event", {"kind": "mutation", "data": mutation})
                )
            )
        # Whatever reached the salesperson so far: never the card number.
        ping = await staff.send("session.ping")
        await staff.reply_to(ping)
        assert CARD not in json.dumps(staff.frames)
        return replies
