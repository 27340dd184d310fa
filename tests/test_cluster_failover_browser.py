"""The customer's page offers its media again when the room comes back on another
server process: headless Chromium on the join page (fake microphone, 700 Hz) and the
salesperson as the SDK's participant (500 Hz) in a call; the host process stops and a
new one starts on the same address and database (what a survivor taking the room
over is to the page: a socket that reconnects to a process that holds none of its
media). The page reconnects, sees another process in the welcome, and offers again:
the salesperson hears the browser's tone again within 10 s (1–2 s here), not once the
old connection is found dead (about 20 s here, after a clean stop; longer after a
``kill -9``, which sends no DTLS close). And when the page's socket stays put while the
room's media moves (``media.renegotiate``), the page offers again at once.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from zhanye_sdk import Platform
from zhanye_sdk.client import ToneTrack, join
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .media_world import LOOPBACK_MEDIA, MediaHost, start_session, tone_level
from .test_media_browser import BROWSER_HZ, SALES_HZ, enter_session, invite_path
from .test_media_browser import media_browser as media_browser  # noqa: F401 - fixture
from .webhost import DEPLOYMENT, FAST_HASHING, RunningHost, world_host

pytestmark = [pytest.mark.e2e, pytest.mark.alone]  # "soon": heard within 10 s

OPTIONS: dict[str, Any] = {
    "signaling_config": SignalingConfig(leave_grace_s=30, tick_interval_s=0.5),
    "media_config": LOOPBACK_MEDIA,
}


def hears_browser(heard: list[tuple[float, Any]], since: float) -> bool:
    now = time.monotonic()
    chunks = [samples for at, samples in heard if max(since, now - 0.5) <= at]
    if sum(c.size for c in chunks) < 9_600:
        return False
    import numpy as np

    return tone_level(np.concatenate(chunks), BROWSER_HZ) > 500


def _a_salesperson_hears_the_browser(
    host: RunningHost, server: MediaHost, path: str, context: Any, done: threading.Event
) -> tuple[Any, Any, threading.Thread]:
    """The salesperson (an SDK client playing a tone, in its own thread until ``done``)
    and the customer in the browser, joined through the invite; returns once the
    salesperson hears the browser."""
    joined = threading.Event()
    state: dict[str, Any] = {}

    async def salesperson() -> None:
        async with join(
            server.host_url, microphone=ToneTrack(SALES_HZ), slots=0, loopback_only=True
        ) as me:
            state["me"] = me
            joined.set()
            await anyio.to_thread.run_sync(done.wait, 120)

    thread = threading.Thread(target=anyio.run, args=(salesperson,), daemon=True)
    thread.start()
    assert joined.wait(30)
    me = state["me"]
    page = context.new_page()
    enter_session(page, f"{host.url}{path}")
    deadline = time.monotonic() + 40
    while not hears_browser(me.audio, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hears_browser(me.audio, 0), "the salesperson never heard the browser"
    return me, page, thread


def test_the_page_offers_its_media_again_to_the_process_that_took_the_room(
    media_browser: Any, tmp_path: Path
) -> None:
    done = threading.Event()
    context = media_browser.new_context(viewport={"width": 800, "height": 700})
    thread: threading.Thread | None = None
    second: RunningHost | None = None
    try:
        with world_host(tmp_path, **OPTIONS) as host:
            deployment = host.app[DEPLOYMENT]
            server = MediaHost(host.url, host.extra, deployment.rooms, deployment.media)
            host.run(start_session(server))
            path = host.run(invite_path(server))

            me, page, thread = _a_salesperson_hears_the_browser(host, server, path, context, done)
            port, extra = host.port, host.extra
        # The room's process went; another takes the room, at the same address.
        database = f"sqlite:///{tmp_path}/web.db"

        async def reopen() -> tuple[Platform, Any]:
            config = PlatformConfig(passwords=FAST_HASHING)
            # The same clock as the world's: its tokens stay as valid as they were.
            return await Platform.open(database, config=config, clock=extra.clock), extra

        second = RunningHost(reopen, **OPTIONS)
        second.port = port
        second.start()
        back = time.monotonic()
        deadline = back + 10  # ICE giving up on the old connection takes longer
        while not hears_browser(me.audio, back) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert hears_browser(me.audio, back), (
            "the browser is not heard on the new process",
            me.reconnections,
            me.negotiations,
            me._socket.closed,
            me._socket.close_code,
            page.evaluate("() => document.body.innerText.slice(0, 300)"),
        )
        assert me.negotiations == 2
    finally:
        done.set()
        context.close()
        if thread is not None:
            thread.join(timeout=20)
        if second is not None:
            second.stop()


def test_the_page_offers_again_when_the_room_says_its_media_moved(
    media_browser: Any, tmp_path: Path
) -> None:
    """The page's socket stays where it is (a surviving process) while the room's media
    moves to another process: the room says so (``media.renegotiate``, naming the new
    media process; here the same process under a new identity after dropping every peer,
    which is what a takeover leaves). The page offers again at once and the salesperson
    hears it again within 10 s; a page that ignored the message would be heard again
    only when its dead peer connection failed (about 20 s here)."""
    done = threading.Event()
    context = media_browser.new_context(viewport={"width": 800, "height": 700})
    thread: threading.Thread | None = None
    try:
        with world_host(tmp_path, **OPTIONS) as host:
            deployment = host.app[DEPLOYMENT]
            server = MediaHost(host.url, host.extra, deployment.rooms, deployment.media)
            host.run(start_session(server))
            path = host.run(invite_path(server))

            me, page, thread = _a_salesperson_hears_the_browser(host, server, path, context, done)

            # The room's media moves: every peer here is dropped, and the room names
            # the media process that now runs it.
            media = deployment.media
            media.instance = "a-new-media-process"
            host.run(media.recover_room(server.session_id))
            moved = time.monotonic()
            # Within 10 s (1–3 s here); a page that ignored the message would be heard
            # only once its dead connection failed (about 20 s here) and it offered anew.
            deadline = moved + 10
            while not hears_browser(me.audio, moved + 1) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert hears_browser(me.audio, moved + 1), (
                "the browser is not heard within 10 s of media.renegotiate",
                me.negotiations,
                page.evaluate("() => document.body.innerText.slice(0, 300)"),
            )
            assert me.negotiations == 2  # the salesperson (SDK) offered again too
    finally:
        done.set()
        context.close()
        if thread is not None:
            thread.join(timeout=20)
