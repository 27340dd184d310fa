"""A customer's first media on the join page does not queue behind the join.

The page builds its WebRTC offer (ICE candidates included) while the form shows, sends it
with the join and takes the devices while the join is on its way; the seat comes back
with the server's answer, so the media starts while the session's socket is still opening
(no offer goes over the socket). A join the server refuses releases the camera and
microphone at once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from typing import Any

from playwright.sync_api import Page, Route, expect

from .media_world import MediaHost, start_session
from .test_media_browser import (  # noqa: F401
    host,
    invite_path,
    media_browser,
    salesperson,
    salesperson_outcome,
)
from .webhost import RunningHost, wait_for

# What the page does with its devices and its peer connection, in order (set up before
# the page's own scripts run).
WATCH = """
window.__seen = [];
window.__streams = [];
const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await gum(constraints);
  window.__streams.push(stream);
  // A slow phone: the devices come after what the page did meanwhile.
  const late = window.__devicesLate;
  if (late) await new Promise((resolve) => setTimeout(resolve, late));
  return stream;
};
const setLocal = RTCPeerConnection.prototype.setLocalDescription;
RTCPeerConnection.prototype.setLocalDescription = async function (...args) {
  const done = await setLocal.apply(this, args);
  window.__seen.push("offer ready");
  return done;
};
"""

# [when media-session.js was requested, when the form showed] (ms from navigation
# start), once both happened.
SESSION_MODULES_FETCHED = """() => {
  const form = performance.getEntriesByName("join:form")[0];
  const media = performance.getEntriesByType("resource").find(
    (entry) => entry.name.endsWith("/static/media-session.js"));
  return form && media ? [media.startTime, form.startTime] : false;
}"""


def fill_form(page: Page) -> None:
    page.get_by_label("您的称呼").fill("客户赵先生")
    page.locator("input[name=ack]").check()


def test_the_offer_is_ready_while_the_join_is_on_its_way(
    media_browser: Any,  # noqa: F811
    host: RunningHost,  # noqa: F811
) -> None:
    server = MediaHost(host.url, host.extra, host.deployment.rooms, host.deployment.media)
    host.run(start_session(server))
    path = host.run(invite_path(server))
    joined, done = threading.Event(), threading.Event()
    result = asyncio.run_coroutine_threadsafe(salesperson(server, joined, done), host.loop)
    assert joined.wait(20)

    context = media_browser.new_context(viewport={"width": 375, "height": 812})
    held: list[Route] = []
    try:
        context.add_init_script(WATCH)
        page = context.new_page()
        # The join's reply is held back until the page has its offer: a page that only
        # starts on its media after the join would wait here for nothing.
        page.route("**/api/invites/*/join", lambda route: held.append(route))
        sent: list[str] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(str(frame))))
        page.goto(f"{host.url}{path}")
        fill_form(page)
        # The session's modules come while the person fills in the form, not before it
        # shows: the page's own mark of the form precedes their fetch.
        wait_for(page, SESSION_MODULES_FETCHED, timeout=15_000)
        fetched, form_shown = page.evaluate(SESSION_MODULES_FETCHED)
        assert fetched >= form_shown
        page.get_by_role("button", name="进入会话").click()
        wait_for(page, "() => window.__seen.includes('offer ready')", timeout=15_000)
        # The offer may be ready before the click (made while the form shows): the join
        # then leaves just after it, and Playwright reports its route a moment later.
        deadline = time.monotonic() + 15
        while not held and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert len(held) == 1
        assert "v=0" in json.loads(held[0].request.post_data or "{}")["offer"]
        held[0].continue_()
        # The salesperson's picture plays.
        sales_id = host.extra.ids["sp_A1"]
        tile_video = page.locator(f'.tile[data-participant="{sales_id}"] video')
        expect(tile_video).to_have_count(1, timeout=20_000)
        wait_for(
            page,
            "v => v.videoWidth > 0 && v.currentTime > 0.3",
            arg=tile_video.element_handle(),
            timeout=20_000,
        )
        # One offer for the session: the one sent with the join, not made again, and
        # nothing offered over the socket.
        assert page.evaluate("() => window.__seen.length") == 1
        assert sent and not [f for f in sent if '"media.offer"' in f], sent
    finally:
        salesperson_outcome(result, done)
        context.close()


def test_a_refused_join_releases_the_camera_and_microphone(
    media_browser: Any,  # noqa: F811
    host: RunningHost,  # noqa: F811
) -> None:
    server = MediaHost(host.url, host.extra, host.deployment.rooms, host.deployment.media)
    host.run(start_session(server))
    path = host.run(invite_path(server))
    context = media_browser.new_context(viewport={"width": 375, "height": 812})
    try:
        context.add_init_script(WATCH)
        page = context.new_page()
        page.goto(f"{host.url}{path}")
        fill_form(page)
        # The session ends while the form is open: joining is refused.
        request = urllib.request.Request(
            f"{host.url}/api/sessions/{server.session_id}/end",
            data=b"{}",
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {server.login_token}",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            json.loads(response.read())
        # The devices come after the refusal (as on a slow phone): they are still released.
        page.evaluate("() => { window.__devicesLate = 1500; }")
        page.get_by_role("button", name="进入会话").click()
        expect(page.get_by_role("heading", name="会话已结束")).to_be_visible(timeout=15_000)
        # The devices were taken for the session (the page prepares while joining) and
        # are all released: no camera light stays on.
        wait_for(
            page,
            """() => window.__streams.length >= 2 && window.__streams.every(
              (s) => s.getTracks().every((t) => t.readyState === "ended"))""",
            timeout=15_000,
        )
    finally:
        context.close()
