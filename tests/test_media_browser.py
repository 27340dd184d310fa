"""Headless Chromium as a real WebRTC peer: a customer on the join page with a fake
microphone playing a 700 Hz tone and a fake camera; the salesperson an aiortc participant.

The salesperson hears the browser's tone through the server's mix; the browser shows the
salesperson's video in their tile and its own network grade.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import wave
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from playwright.sync_api import expect, sync_playwright

from zhanye_sdk.client import FlatVideoTrack, ReceivedVideo, ToneTrack, join, tone
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .media_world import LOOPBACK_MEDIA, MediaHost, start_session, tone_level
from .webhost import CHROMIUM_ARGS, DEPLOYMENT, RunningHost, wait_for, world_host

pytestmark = pytest.mark.e2e

BROWSER_HZ, SALES_HZ = 700.0, 500.0


@pytest.fixture(scope="module")
def media_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium with fake devices: the microphone plays a known tone (FACTS.md flags)."""
    wav = tmp_path_factory.mktemp("tone") / "tone700.wav"
    with wave.open(str(wav), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(48_000)
        f.writeframes(tone(BROWSER_HZ, 20.0, amplitude=12_000))
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
        f"--use-file-for-fake-audio-capture={wav}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=args
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[RunningHost]:
    with world_host(
        tmp_path,
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
        media_config=LOOPBACK_MEDIA,
    ) as running:
        yield running


def enter_session(page: Any, url: str) -> None:
    """The customer opens the invite at ``url``, gives a name, acknowledges the
    recording and enters."""
    page.goto(url)
    page.get_by_label("您的称呼").fill("客户赵先生")
    page.locator("input[name=ack]").check()
    page.get_by_role("button", name="进入会话").click()


async def invite_path(server: MediaHost) -> str:
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {server.login_token}"}
        url = f"{server.base}/api/sessions/{server.session_id}/invite-link"
        link = await (await http.post(url, headers=auth)).json()
    return str(link["path"])


async def salesperson(
    server: MediaHost, joined: threading.Event, done: threading.Event
) -> dict[str, Any]:
    """Joins with a 500 Hz tone; returns what it heard and saw of the customer, who must
    be heard and seen within 40 s of joining the room (the browser may take its time to
    get there on a loaded machine: up to 120 s)."""
    async with join(
        server.host_url,
        microphone=ToneTrack(SALES_HZ),
        camera=FlatVideoTrack(90, width=320, height=240),
        slots=2,
        loopback_only=True,
    ) as me:
        joined.set()
        heard: dict[str, float] = {}
        video: ReceivedVideo | None = None
        customer: str | None = None
        deadline = time.monotonic() + 120
        arrived = False
        while True:
            await anyio.sleep(0.2)
            now = time.monotonic()
            if not arrived and any(
                m["type"] == "room.participant_joined"
                and m["data"]["participant"]["id"] != me.participant_id
                for m in me.messages
            ):
                arrived, deadline = True, now + 40
            audio = me.audio_between(now - 1.0, now)
            customer = next((s for s in me.slots.values() if s), None)
            video = me.video_of(customer) if customer else None
            if audio.size >= 24_000 and video is not None and video.frames > 10:
                heard = {
                    "browser": tone_level(audio, BROWSER_HZ),
                    "self": tone_level(audio, SALES_HZ),
                }
                if heard["browser"] > 500:
                    break
            if now > deadline:
                # What the salesperson had: which half of the customer's media is missing,
                # and what the server had of everyone's media.
                connection = me.connection
                room = await server.rooms.room(server.session_id)
                peers = {
                    p.id: (
                        (peer.state, peer.audio_frames)
                        if (peer := server.media.peer(server.session_id, p.id))
                        else None
                    )
                    for p in room.present
                }
                raise AssertionError(
                    f"server peers (state, audio frames in) by participant present: {peers}; "
                    f"no customer media in 40 s (joined: {arrived}): audio {audio.size} samples, "
                    f"browser tone {tone_level(audio, BROWSER_HZ) if audio.size else 0:.0f}, "
                    f"slots {me.slots}, video {me.video}, "
                    f"negotiations {me.negotiations}, reconnections {me.reconnections}, "
                    f"connection {connection.connectionState if connection else None}, "
                    f"messages {[m['type'] for m in me.messages][-12:]}"
                )
        # Outside the 40 s for hearing: the page's own checks take their time after it.
        await anyio.to_thread.run_sync(done.wait, 30)
        return {"heard": heard, "video": video, "customer": customer}


def salesperson_outcome(result: Future[dict[str, Any]], done: threading.Event) -> Any:
    """What the salesperson (``salesperson``) heard and saw, once the page's side is over
    (call it in a ``finally``). If that side failed, the salesperson is stopped instead:
    waiting for it would put its own complaint in place of the page's failure."""
    done.set()
    if sys.exc_info()[1] is not None:
        result.cancel()
        return None
    return result.result(timeout=60)


def test_chromium_customer_is_heard_and_sees_the_salesperson(
    media_browser: Any, host: RunningHost
) -> None:
    server = MediaHost(host.url, host.extra, host.app[DEPLOYMENT].rooms, host.app[DEPLOYMENT].media)
    host.run(start_session(server))
    path = host.run(invite_path(server))
    joined, done = threading.Event(), threading.Event()
    result = asyncio.run_coroutine_threadsafe(salesperson(server, joined, done), host.loop)
    assert joined.wait(20)

    context = media_browser.new_context(viewport={"width": 800, "height": 700})
    try:
        page = context.new_page()
        enter_session(page, f"{host.url}{path}")
        sales_id = host.extra.ids["sp_A1"]
        tile_video = page.locator(f'.tile[data-participant="{sales_id}"] video')
        expect(tile_video).to_have_count(1, timeout=20_000)
        wait_for(
            page,
            "v => v.videoWidth === 320 && v.currentTime > 0.3",
            arg=tile_video.element_handle(),
            timeout=20_000,
        )
        expect(page.locator("#network")).to_have_text("网络良好", timeout=20_000)
        own = page.locator(".tile video").count()
        assert own == 2  # their own camera preview and the salesperson
        # Chromium offers RED for Opus: the server answers with it first, so that both
        # sides send it (the salesperson hearing the browser's tone proves it decodes).
        room = host.run(server.rooms.room(server.session_id))
        customer = next(p.id for p in room.present if p.id != sales_id)
        peer = server.media.peer(server.session_id, customer)
        assert peer is not None
        audio = next(t for t in peer.connection.getTransceivers() if t.kind == "audio")
        red_type = audio._codecs[0].payloadType
        assert audio._codecs[0].mimeType == "audio/red", audio._codecs
        # Counted as packets arrive (50 a second): waited for, not sampled once.
        received = peer.playouts[0].payload_types
        deadline = time.monotonic() + 10
        while received[red_type] <= 25 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert received[red_type] > 25, received
    finally:
        outcome = salesperson_outcome(result, done)
        context.close()
    assert outcome["heard"]["browser"] > 500, outcome
    assert outcome["heard"]["self"] < 250, outcome
    assert outcome["video"].size == (640, 480) and outcome["video"].frames > 10


async def video_packets_from(server: MediaHost, participant: str) -> int:
    """RTP video packets the server has received from a participant's camera."""
    peer = server.media.peer(server.session_id, participant)
    if peer is None:
        return -1
    report = await peer.connection.getStats()
    return sum(
        int(s.packetsReceived)
        for s in report.values()
        if s.type == "inbound-rtp" and s.kind == "video"
    )


async def host_present(server: MediaHost, joined: threading.Event, done: threading.Event) -> None:
    async with join(server.host_url, slots=2, loopback_only=True):
        joined.set()
        await anyio.to_thread.run_sync(done.wait, 60)


def test_a_customer_turning_the_camera_off_stops_sending_it(
    media_browser: Any, host: RunningHost
) -> None:
    server = MediaHost(host.url, host.extra, host.app[DEPLOYMENT].rooms, host.app[DEPLOYMENT].media)
    host.run(start_session(server))
    path = host.run(invite_path(server))
    joined, done = threading.Event(), threading.Event()
    result = asyncio.run_coroutine_threadsafe(host_present(server, joined, done), host.loop)
    assert joined.wait(20)

    context = media_browser.new_context(viewport={"width": 800, "height": 700})
    try:
        page = context.new_page()
        enter_session(page, f"{host.url}{path}")
        expect(page.locator("#connection")).to_have_text("已连接", timeout=20_000)

        def customer_id() -> str | None:
            room = host.run(host.app[DEPLOYMENT].rooms.room(server.session_id))
            return next((p.id for p in room.present if p.id != room.host_id), None)

        deadline = time.monotonic() + 20
        while (found := customer_id()) is None:
            assert time.monotonic() < deadline, "the customer never joined"
            time.sleep(0.1)
        customer = found
        own_tile = page.locator(f'.tile[data-participant="{customer}"] video')
        expect(own_tile).to_have_count(1, timeout=20_000)

        def packets() -> int:
            return host.run(video_packets_from(server, customer))

        def grows(limit_s: float = 20) -> None:
            first = packets()
            deadline = time.monotonic() + limit_s
            while packets() < first + 20:
                assert time.monotonic() < deadline, "no video arrives from the browser"
                time.sleep(0.2)

        grows()
        page.locator("#my-video").click()
        expect(page.locator("#my-video")).to_have_attribute("aria-pressed", "false")
        # Nothing of the camera leaves the browser any more, and its own tile shows no
        # picture (the label says 摄像头已关).
        expect(own_tile).to_have_count(0)
        time.sleep(0.5)
        before = packets()
        time.sleep(1.5)
        assert packets() == before, "the browser still sends its camera"
        # On again: it sends again.
        page.locator("#my-video").click()
        expect(page.locator("#my-video")).to_have_attribute("aria-pressed", "true")
        grows()
        expect(own_tile).to_have_count(1)
    finally:
        salesperson_outcome(result, done)
        context.close()
