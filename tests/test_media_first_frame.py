"""The first picture comes quickly: the server's part of a customer's first load.

The browser offers with the DTLS role left open (``actpass``); the server answers as the
DTLS *server* (``a=setup:passive``), so the browser starts the handshake the moment its
own ICE check succeeds and the server sends media after one and a half round trips,
instead of starting the handshake itself once ICE has completed (the browser's
nomination, half a round trip later) and needing two round trips more.

Checked without timing (the answer's role, the server's transport, the picture arriving)
and, by itself on an idle machine (``alone``), on a line slowed by DevTools: the customer's
page sees the salesperson within three and a half round trips of the answer.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from zhanye_sdk.client import FlatVideoTrack, join
from zhanye_sdk.platform import PlatformConfig

from .media_world import MediaHost, media_host, start_session
from .test_media_browser import (  # noqa: F401
    enter_session,
    host,
    invite_path,
    media_browser,
    salesperson,
    salesperson_outcome,
)
from .webhost import RunningHost, wait_for


def setup_lines(sdp: str) -> set[str]:
    return {line.strip() for line in sdp.splitlines() if line.startswith("a=setup:")}


@pytest.mark.anyio
async def test_the_server_answers_as_dtls_server_and_the_picture_still_arrives(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        async with join(
            server.host_url,
            camera=FlatVideoTrack(90, width=320, height=240),
            slots=1,
            loopback_only=True,
        ) as host:
            # An offer that leaves the role open (aiortc offers actpass, as browsers do).
            assert setup_lines(host.answer_sdp) == {"a=setup:passive"}, host.answer_sdp
            url = await server.customer_url("客户王女士")
            async with join(url, slots=1, loopback_only=True) as customer:
                assert setup_lines(customer.answer_sdp) == {"a=setup:passive"}
                with anyio.fail_after(20):
                    while True:
                        source = next((s for s in customer.slots.values() if s), None)
                        video = customer.video_of(source) if source else None
                        if video is not None and video.frames >= 3:
                            break
                        await anyio.sleep(0.05)
                peer = server.media.peer(server.session_id, customer.participant_id)
                assert peer is not None
                dtls = peer.connection.getTransceivers()[0].sender.transport
                # The customer's side began the handshake; the server answered it.
                assert dtls._role == "server"


# The page's marks (pages/join.js, media-session.js): ms from navigation start.
MARKS = """() => Object.fromEntries(
  performance.getEntriesByType("mark").map((m) => [m.name, m.startTime]))"""
LATENCY_MS = 500  # DevTools adds it to each direction of WebRTC's UDP: 1 s round trips


@pytest.mark.alone
@pytest.mark.e2e
def test_on_a_slow_line_the_picture_follows_the_answer_within_three_round_trips_and_a_half(
    media_browser: Any,  # noqa: F811
    host: RunningHost,  # noqa: F811
) -> None:
    # Answer → picture: the browser's ICE check (one round trip), then DTLS with the
    # browser as client (two), then the first frame. With the server as the DTLS client
    # the handshake waits for the browser's nomination and takes a round trip more:
    # about four round trips, over the bound.
    server = MediaHost(host.url, host.extra, host.deployment.rooms, host.deployment.media)
    host.run(start_session(server))
    path = host.run(invite_path(server))
    joined, done = threading.Event(), threading.Event()
    result = asyncio.run_coroutine_threadsafe(salesperson(server, joined, done), host.loop)
    assert joined.wait(20)
    context = media_browser.new_context(viewport={"width": 375, "height": 812})
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": LATENCY_MS,
                "downloadThroughput": -1,
                "uploadThroughput": -1,
            },
        )
        enter_session(page, f"{host.url}{path}")
        marks = wait_for(page, f"() => ({MARKS})()['media:video'] && ({MARKS})()", timeout=30_000)
        rtt_s = 2 * LATENCY_MS / 1000
        taken = (marks["media:video"] - marks["media:answer"]) / 1000
        assert taken <= 3.5 * rtt_s, (taken, marks)
    finally:
        salesperson_outcome(result, done)
        context.close()
