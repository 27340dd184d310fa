"""Scale-out end to end with a real browser: three web host processes
(``python -m hosts.web --redis …``) on one PostgreSQL and one Redis behind HAProxy, the
salesperson in headless Chromium on the hall page, and a customer as the SDK's
participant client (the app host's customer) on another process; then ``kill -9`` of
the room's owner.

The salesperson logs in and starts the session through the proxy, which sends every
request to its first live process (``balance first``): the page, its socket and the
room are all on process a (the room goes to the least-loaded process, a on a fresh
cluster). The customer opens the salesperson's invite link on process c and connects
there: everything it does is relayed to the owner. Chromium's fake microphone plays
500 Hz, the customer's 700 Hz; by FFT each hears the other (what the page plays out,
tapped in the page; what the client received). The salesperson shares the brochure and
draws on it with the mouse; the customer gets the whiteboard events and finds the same
strokes when it syncs. The salesperson pushes a product page; the customer's page
snapshot and typing show in the salesperson's mirror. The SOP assistant ticks a node
from a line the salesperson said (sent as an integrator's recogniser would: the
processes run without the built-in one). The recording has finished segments.

``kill -9`` of a. Checked: within 10 s of the kill another process holds the room's lease
(with the next fence) and both hear each other again — the page's socket came back
through the proxy on a survivor and offered its media again, the customer's socket
stayed on c and offered again too; in between (1.5–2.5 s after the kill) neither hears
the other, so the audio heard afterwards came through the new owner. Then
every area goes on where it was: the page still shows the stroke and the co-browsed
page, a second stroke and more typing reach the other side, the SOP panel still has
its tick and ticks another node. The session ends from the page. The event log is
gapless, and the browser and the customer each received every event once, in order;
the stored strokes and page events are all there; the record lists both people, both
shared materials and both SOP steps; the recording's manifest verifies, with one gap
noted where the owner died.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import anyio
import pytest
import redis
import sqlalchemy as sa
from anyio.from_thread import BlockingPortal, start_blocking_portal
from playwright.sync_api import Page, expect, sync_playwright

from zhanye_sdk.client import SessionParticipant, ToneTrack, join, open_invite
from zhanye_sdk.media.ice import limit_host_addresses
from zhanye_sdk.media.manifest import verify
from zhanye_sdk.media.records import MediaRecord, MediaRecords, RecordingStatus
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.store.database import Database, open_database
from zhanye_sdk.store.schema import cobrowse_events, session_events, whiteboard_ops

from .cluster_hosts import Hosts
from .cluster_world import column, hears, owner_of, start_cluster
from .hall_pages import copy_invite, push_link, share_file
from .media_world import launch_chromium, tone_level, tone_wav
from .sop_world import BROCHURE
from .test_media_three_party import ABSENT, PRESENT, TONES, Hall, poll
from .test_web_admin_pages import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.alone]  # "within 10 s of the kill"

BROWSER_HZ, CUSTOMER_HZ = TONES["host"], TONES["a"]
#: Hall.levels names the tones as the three-party test does: the browser is its "host",
#: the customer its "a".
BROWSER, CUSTOMER = "host", "a"
PRODUCT = "百万安心疗"
#: The customer's product page as its co-browse agent would send it: a heading and a
#: name field (node 5).
SNAPSHOT = {
    "url": "http://127.0.0.1:9/demo/h5/product.html",
    "root": {
        "id": 1,
        "tag": "html",
        "children": [
            {
                "id": 2,
                "tag": "body",
                "children": [
                    {"id": 3, "tag": "h1", "children": [{"id": 4, "text": PRODUCT}]},
                    {"id": 5, "tag": "input", "attrs": {"id": "name"}, "value": ""},
                ],
            }
        ],
    },
    "masked": [],
}
NAME_FIELD = 5

#: Taps what the page plays out (the server's mix for the salesperson) into
#: ``window.__heard`` as the three-party test's capture does, and taps again whenever the
#: page's audio element gets a new track (its media offered again to another process).
TAP = """() => {
  if (window.__tap) return true;
  window.__heard = [];
  window.__tap = setInterval(() => {
    const element = [...document.querySelectorAll("audio")].find((a) => a.srcObject);
    const track = element?.srcObject?.getAudioTracks()[0];
    if (!track || track === window.__tapped) return;
    window.__tapped = track;
    const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const samples = new Float32Array(value.numberOfFrames);
        value.copyTo(samples, { planeIndex: 0, format: "f32-planar" });
        window.__heard.push([performance.now(), samples]);
        value.close();
      }
    })();
  }, 100);
  return true;
}"""


def strokes_of(page: Page) -> list[str]:
    """The stroke ids the page's board shows, in order."""
    shown = page.locator("#board-panel canvas").get_attribute("data-strokes") or ""
    return [s for s in shown.split(",") if s]


def draw(page: Page, height: float) -> None:
    """The salesperson drags the mouse across the shared page at ``height`` (0–1)."""
    canvas = page.locator("#board-panel canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] * height
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, y + 20, steps=8)
    page.mouse.up()


class Customer:
    """The SDK's participant client, running in the portal's event loop."""

    def __init__(self, portal: BlockingPortal, me: SessionParticipant) -> None:
        self.portal, self.me = portal, me

    def ask(self, kind: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        reply: dict[str, Any] = self.portal.call(
            partial(self.me.request, kind, data or {}, limit_s=30)
        )
        assert reply["type"] != "error", (kind, reply)
        return reply

    def seen(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in list(self.me.messages) if m["type"] == kind]


async def say(base: str, sid: str, token: str, text: str, utterance: str) -> None:
    """A line the salesperson said, as a recogniser sends it to the SOP assistant (over
    a staff socket of their own: the page keeps its own)."""
    url = base.replace("http", "ws") + f"/ws/sessions/{sid}?token={token}"
    line = {"start_ms": 0, "end_ms": 1000, "speaker": "sp", "role": "salesperson"}
    frame = {"utterance": utterance, "text": text, **line}
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as socket:
        with anyio.fail_after(30):
            while (await socket.receive_json())["type"] != "session.welcome":
                pass
            await socket.send_json({"v": 1, "type": "sop.segment", "id": "s1", "data": frame})
            while (reply := await socket.receive_json()).get("re") != "s1":
                pass
    assert reply["type"] == "ack", reply


async def finished(records: MediaRecords, sid: str) -> MediaRecord:
    """The recording once its post-processing is over."""
    with anyio.fail_after(90):
        while True:
            record = await records.get(sid)
            assert record is not None
            if record.recording_status in (RecordingStatus.READY, RecordingStatus.FAILED):
                return record
            await anyio.sleep(0.3)


def level(levels: dict[str, float] | None, name: str) -> float:
    return 0.0 if levels is None else levels[name]


def tone_of(samples: Any, hz: float) -> float:
    return tone_level(samples, hz) if samples.size >= 4800 else 0.0


def first_heard(level_between: Any, since: float) -> float | None:
    """The first 0.3 s window, by steps of 0.1 s from ``since`` to now, whose tone level
    (``level_between(start, end)``) is a tone present; its start (monotonic)."""
    at = since
    while at + 0.3 < time.monotonic():
        if level_between(at, at + 0.3) > PRESENT:
            return at
        at += 0.1
    return None


def received_seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [f["seq"] for f in frames if isinstance(f.get("seq"), int)]


@contextmanager
def loopback_media() -> Iterator[None]:
    limit_host_addresses(("127.0.0.1",))  # the only address the host processes offer
    try:
        yield
    finally:
        limit_host_addresses(None)


def test_a_browser_salesperson_and_an_app_customer_survive_a_kill_9_of_the_owner(
    hosts: Hosts, fast_config: PlatformConfig, tmp_path: Path
) -> None:
    wav = tone_wav(tmp_path / "salesperson.wav", BROWSER_HZ, seconds=180)
    with ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal())
        stack.enter_context(loopback_media())
        library, _link = portal.call(
            partial(start_cluster, hosts, fast_config, nodes=("a", "b", "c"), balance="first")
        )
        assert library is not None
        base = f"http://127.0.0.1:{hosts.proxy_port}"
        store = redis.Redis.from_url(hosts.redis_url, decode_responses=True)
        stack.callback(store.close)
        database: Database = portal.call(open_database, hosts.db_url)
        stack.callback(portal.call, database.close)
        records = MediaRecords(database)

        playwright = stack.enter_context(sync_playwright())
        browser = launch_chromium(playwright, microphone_wav=wav, camera_fps=10)
        stack.callback(browser.close)
        staff = browser.new_page(viewport={"width": 1366, "height": 900})
        # Every frame of the page's session sockets, and how many it opened.
        frames: list[dict[str, Any]] = []
        sockets: list[str] = []

        socket_log: list[Any] = []  # when each opened, was welcomed, closed (diagnosis)

        def watch(ws: Any) -> None:
            if "/ws/sessions/" in ws.url:
                sockets.append(ws.url)
                n = len(sockets)
                socket_log.append((time.monotonic(), n, "open"))

                def received(payload: str) -> None:
                    frame = json.loads(payload)
                    frames.append(frame)
                    if frame["type"] in ("session.welcome", "error", "media.renegotiate"):
                        data = frame["data"]
                        what = data.get("instance") or data.get("owner") or data.get("code")
                        socket_log.append((time.monotonic(), n, frame["type"], what))

                ws.on("framereceived", received)
                ws.on("close", lambda _: socket_log.append((time.monotonic(), n, "close")))
                ws.on("socketerror", lambda e: socket_log.append((time.monotonic(), n, e)))

        staff.on("websocket", watch)
        log_in(staff, SimpleNamespace(url=base), "sp-A1")
        staff.get_by_role("button", name="开始会话").click()
        # The first room after Redis started waits out one lease TTL (a fresh Redis
        # cannot know of leases from before it).
        expect(staff).to_have_url(re.compile(r"/sessions/[0-9a-f]{32}$"), timeout=30_000)
        expect(staff.locator("#connection")).to_have_text("已连接")
        sid = staff.url.rsplit("/", 1)[1]
        token = staff.evaluate("sessionStorage.getItem('zhanye.token')")
        # The room went to the least-loaded process, a (the tie goes to the first id),
        # where the proxy sends the page too: the kill will cut the page off.
        owner, fence = owner_of(store, sid)
        assert owner == "a", owner

        # The customer opens the invite link on c and stays there (relayed to a).
        invite = copy_invite(staff).replace(base, hosts.url("c"))
        grant = portal.call(partial(open_invite, invite, name="客户王女士"))
        assert grant.ws_url.startswith(hosts.url("c").replace("http", "ws"))
        joined = join(grant.ws_url, microphone=ToneTrack(CUSTOMER_HZ), slots=0, loopback_only=True)
        customer = Customer(portal, stack.enter_context(portal.wrap_async_context_manager(joined)))
        me = customer.me
        expect(staff.locator('#members li[data-name="客户王女士"]')).to_be_visible()

        # Both hear each other: the page plays the customer's tone (and not its own).
        poll(lambda: staff.evaluate(TAP))
        hall = Hall(staff)
        hall.sync_clock()

        def page_hears(since: float) -> dict[str, float] | None:
            now = time.monotonic()
            heard = hall.levels(max(since, now - 0.6), now)
            return heard if heard and heard[CUSTOMER] > PRESENT else None

        heard = poll(lambda: page_hears(0), limit_s=40, every_s=0.3)
        assert heard[BROWSER] < ABSENT, heard
        poll(lambda: hears(me, BROWSER_HZ, 0), limit_s=40)

        # The whiteboard: the salesperson shares the brochure and draws on it; the
        # customer gets the events and the same strokes.
        share_file(staff, BROCHURE)
        expect(staff.locator("#board-panel .board-title")).to_have_text(BROCHURE, timeout=20_000)
        draw(staff, 0.3)
        canvas = staff.locator("#board-panel canvas")
        expect(canvas).to_have_attribute("data-strokes", re.compile(r"^[^,]+$"))
        first = strokes_of(staff)
        board = customer.ask("whiteboard.sync")["data"]
        assert [s["id"] for s in board["strokes"]] == first, board
        poll(lambda: customer.seen("whiteboard.applied"))

        # The SOP assistant: the panel started with the template; a line ticks a node.
        panel = staff.locator("#sop-panel")
        expect(panel).to_have_attribute("data-state", "started")
        portal.call(say, base, sid, token, "今天给您介绍保险产品", "u1")
        intro = panel.locator('[data-node="intro"]')
        expect(intro).to_have_attribute("data-done", "true")

        # Co-browse: the salesperson pushes the product page; the customer's snapshot
        # and typing show in the salesperson's mirror.
        push_link(staff, PRODUCT)
        started = poll(lambda: customer.seen("cobrowse.started"))
        share = started[0]["data"]["share"]
        customer.ask("cobrowse.snapshot", {"share": share, "snapshot": SNAPSHOT})
        typed = {"node": NAME_FIELD, "value": "王芳"}
        customer.ask("cobrowse.event", {"share": share, "kind": "input", "data": typed})
        mirror = staff.frame_locator("#cobrowse-mirror")
        expect(mirror.get_by_role("heading", name=PRODUCT)).to_be_visible()
        expect(mirror.locator("#name")).to_have_value("王芳")

        # The recording has finished segments before the kill.
        poll(
            lambda: (
                (r := portal.call(records.get, sid)) is not None and len(r.manifest.entries) >= 2
            ),
            limit_s=30,
            every_s=0.3,
        )

        opened, instance = len(sockets), me.welcome["instance"]
        hosts.kill(owner)
        killed = time.monotonic()
        taken_at = None
        trace: list[Any] = []  # what each side did, for a failure's message
        # Until both hear each other again (or long past the target); when they began
        # to is read afterwards from what each received, stamped as it arrived.
        after = killed + 1.0  # what the old peers still played out is over by then
        while time.monotonic() < killed + 30:
            lease = store.get(f"zhanye:lease:{sid}")
            if taken_at is None and lease is not None and not str(lease).startswith(f"{owner}:"):
                taken_at = time.monotonic() - killed
            trace.append(
                (
                    round(time.monotonic() - killed, 1),
                    lease,
                    me.reconnections,
                    me.welcome.get("instance"),
                    me.negotiations,
                    me.media_owner,
                    len(sockets),
                )
            )
            if page_hears(after) and hears(me, BROWSER_HZ, after):
                break
            time.sleep(0.2)
        page_back = first_heard(lambda a, b: level(hall.levels(a, b), CUSTOMER), after)
        customer_back = first_heard(lambda a, b: tone_of(me.audio_between(a, b), BROWSER_HZ), after)
        back_s = max(page_back or 99, customer_back or 99) - killed
        print(
            f"after the kill: lease taken {taken_at and round(taken_at, 1)} s, audio {back_s:.1f} s"
        )
        if back_s > 10:  # say what each side did (pytest cuts long messages)
            marks = "performance.getEntriesByType('mark').map(m => m.toJSON())"
            print("customer:", *trace, sep="\n  ")
            print(
                "page sockets:", *[(round(t - killed, 1), *x) for t, *x in socket_log], sep="\n  "
            )
            print(
                "page:",
                [
                    (m["name"], round(m["startTime"] / 1000 + hall.offset_s - killed, 1))
                    for m in staff.evaluate(marks)
                ],
                "heard again:",
                page_back and page_back - killed,
                customer_back and customer_back - killed,
            )
        assert back_s <= 10, f"both hear each other again only {back_s:.1f} s after the kill"
        survivor, new_fence = owner_of(store, sid)
        assert survivor in ("b", "c") and new_fence == fence + 1
        # In between, nothing: what is heard now came through the new owner.
        gap = me.audio_between(killed + 1.5, killed + 2.5)
        assert gap.size < 4800 or tone_level(gap, BROWSER_HZ) < ABSENT
        silent = hall.levels(killed + 1.5, killed + 2.5)
        assert silent is None or silent[CUSTOMER] < ABSENT, silent
        # The page came back through the proxy (another socket), the customer stayed on c;
        # both offered their media again. The customer's socket on c is closed once c's
        # owner watch (every second) reads the new owner: its media may be back first,
        # renegotiated when the room said it moved, so its new welcome is waited for.
        assert len(sockets) > opened
        poll(lambda: me.welcome["instance"] != instance, limit_s=10, every_s=0.2)
        assert me.negotiations >= 2
        expect(staff.locator("#connection")).to_have_text("已连接")

        # The whiteboard goes on: the page still shows the stroke, a second one reaches
        # the customer, both see the same two.
        expect(staff.locator("#board-panel .board-title")).to_have_text(BROCHURE, timeout=20_000)
        expect(canvas).to_have_attribute("data-strokes", ",".join(first))
        draw(staff, 0.6)
        expect(canvas).to_have_attribute("data-strokes", re.compile(r"^[^,]+,[^,]+$"))
        both = strokes_of(staff)
        board = customer.ask("whiteboard.sync")["data"]
        assert [s["id"] for s in board["strokes"]] == both, board
        # Co-browse goes on: the mirror keeps the page and shows the next typing.
        expect(mirror.locator("#name")).to_have_value("王芳")
        typed = {"node": NAME_FIELD, "value": "王芳芳"}
        customer.ask("cobrowse.event", {"share": share, "kind": "input", "data": typed})
        expect(mirror.locator("#name")).to_have_value("王芳芳")
        # The SOP assistant goes on: the tick is still there, the next line ticks another.
        expect(intro).to_have_attribute("data-done", "true")
        portal.call(say, base, sid, token, "下面说明一下犹豫期", "u2")
        expect(panel.locator('[data-node="cool"]')).to_have_attribute("data-done", "true")

        staff.get_by_role("button", name="结束会话").click()
        staff.get_by_role("dialog").get_by_role("button", name="确定").click()
        expect(staff.locator("#connection")).to_have_text("会话已结束")
        poll(me.ended.is_set, limit_s=20)

        # The event log: gapless, and each side received every event once, in order.
        stored = portal.call(
            column,
            database,
            sa.select(session_events.c.seq)
            .where(session_events.c.session_id == sid)
            .order_by(session_events.c.seq),
        )
        assert stored == list(range(1, stored[-1] + 1))
        for name, seqs in (
            ("browser", received_seqs(frames)),
            ("customer", received_seqs(me.messages)),
        ):
            assert seqs == list(range(seqs[0], stored[-1] + 1)), (name, seqs)
        # The whiteboard's and the co-browse's own logs.
        strokes = portal.call(
            column,
            database,
            sa.select(whiteboard_ops.c.op_id)
            .where(whiteboard_ops.c.session_id == sid)
            .where(whiteboard_ops.c.type == "whiteboard.stroke")
            .order_by(whiteboard_ops.c.seq),
        )
        assert len(strokes) == 2, strokes
        inputs = portal.call(
            column,
            database,
            sa.select(cobrowse_events.c.data)
            .where(cobrowse_events.c.share_id == share)
            .where(cobrowse_events.c.kind == "input")
            .order_by(cobrowse_events.c.seq),
        )
        assert [json.loads(i)["value"] for i in inputs] == ["王芳", "王芳芳"], inputs

        # The recording: finished by a survivor, one chain, the gap noted.
        record = portal.call(finished, records, sid)
        assert record.recording_status is RecordingStatus.READY, record.recording_error
        assert record.recording_folder is not None
        checked = verify(record.manifest, Path(record.recording_folder))
        assert checked.ok, checked.problems
        assert len(checked.gaps) == 1, record.manifest
        [(index, gap_ms)] = checked.gaps
        assert 0 < index < len(record.manifest.entries) and gap_ms >= 1000

        # The session record (会议详情), read through the proxy as the salesperson.
        async def details() -> dict[str, Any]:
            auth = {"Authorization": f"Bearer {token}"}
            async with aiohttp.ClientSession() as http:
                response = await http.get(f"{base}/api/records/{sid}", headers=auth)
                assert response.status == 200, await response.text()
                found: dict[str, Any] = await response.json()
                return found

        detail = portal.call(details)
        assert detail["summary"]["state"] == "ended", detail["summary"]
        names = {p["name"] for p in detail["participants"]}
        assert "客户王女士" in names and len(names) == 2, detail["participants"]
        shared = {m["name"] for m in detail["shared_materials"]}
        assert {BROCHURE, PRODUCT} <= shared, detail["shared_materials"]
        steps = {s["level1"]: s["status"] for s in detail["sop_steps"]}
        executed = {title for title, status in steps.items() if status == "executed"}
        assert {"产品介绍", "犹豫期说明"} <= executed, detail["sop_steps"]
        assert detail["recording_status"] == "ready"
