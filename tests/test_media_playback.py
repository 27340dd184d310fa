"""The playback page in Chromium: a real recording's segments play one after another, in the
manifest's order, under the verification result; a changed byte turns that result red."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from playwright.sync_api import expect, sync_playwright

from zhanye_sdk.client import FlatVideoTrack, ToneTrack, join
from zhanye_sdk.media.records import MediaRecord, RecordingStatus
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .media_world import MediaHost, launch_chromium, start_session
from .test_media_recording import W, recording_media
from .test_web_admin_pages import log_in
from .webhost import DEPLOYMENT, RunningHost, wait_for, world_host

pytestmark = pytest.mark.e2e

#: Which segment the page marks current each time its player starts playing.
WATCH_PLAYBACK = """
window.__played = [];
document.addEventListener("playing", () => {
  const items = [...document.querySelectorAll("#segments li")];
  const index = items.findIndex((li) => li.classList.contains("current"));
  if (window.__played.at(-1) !== index) window.__played.push(index);
}, true);
"""


@pytest.fixture
def host(tmp_path: Path) -> Iterator[RunningHost]:
    with world_host(
        tmp_path,
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
        media_config=recording_media(tmp_path),
    ) as running:
        yield running


async def record_a_session(server: MediaHost) -> MediaRecord:
    """Two aiortc peers talk for about three seconds; the host ends the session."""
    url = await server.customer_url("客户甲")
    async with (
        join(
            server.host_url,
            microphone=ToneTrack(500),
            camera=FlatVideoTrack(60),
            loopback_only=True,
        ) as me,
        join(url, microphone=ToneTrack(700), camera=FlatVideoTrack(200), loopback_only=True),
    ):
        await anyio.sleep(3.2)
        assert (await me.request("room.end"))["type"] == "ack"
    records = server.media.records
    assert records is not None
    with anyio.fail_after(15):
        while True:
            record = await records.get(server.session_id)
            assert record is not None
            if record.recording_status is RecordingStatus.READY:
                return record
            assert record.recording_status is not RecordingStatus.FAILED, record
            await anyio.sleep(0.1)


def test_playback_plays_the_segments_in_order_under_the_verification(
    host: RunningHost,
) -> None:
    server = MediaHost(host.url, host.extra, host.app[DEPLOYMENT].rooms, host.app[DEPLOYMENT].media)
    host.run(start_session(server))
    record = host.run(record_a_session(server))
    segments = record.manifest.entries
    assert len(segments) >= 3
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, fake_devices=False, fake_ui=False)
        try:
            page = browser.new_page()
            log_in(page, host, "sp-A1")
            page.wait_for_url("**/workbench")
            page.add_init_script(WATCH_PLAYBACK)
            page.goto(f"{host.url}/sessions/{server.session_id}/playback")
            expect(page.locator("#recording-status")).to_have_text("已完成")
            expect(page.locator("#recording-verified")).to_have_text("校验通过：录像未被改动")
            expect(page.locator("#problems")).to_be_hidden()
            items = page.locator("#segments li")
            expect(items).to_have_count(len(segments))
            expect(items.first).to_have_text("第 1 段（1 秒）")
            # Every segment plays, one after the other, and the picture is the recording's.
            wait_for(
                page,
                f"window.__played.length === {len(segments)} && "
                "document.querySelector('#player').ended",
                timeout=30_000,
            )
            assert page.evaluate("window.__played") == list(range(len(segments)))
            assert page.evaluate("document.querySelector('#player').videoWidth") == W
            played = page.evaluate(
                "performance.getEntriesByType('resource').map((e) => e.name)"
                ".filter((n) => n.includes('/recording/segment-'))"
            )
            assert [name.rsplit("/", 1)[1] for name in played] == [e.name for e in segments]

            # A record's evidence links to its moment (?at= on the session clock): the
            # page starts in the segment that holds it, at that second.
            assert record.recording_started_ms is not None
            into = segments[0].duration_ms + 400
            page.goto(
                f"{host.url}/sessions/{server.session_id}/playback"
                f"?at={record.recording_started_ms + into}"
            )
            expect(items.nth(1)).to_have_class("current")
            wait_for(page, "document.querySelector('#player').currentTime >= 0.35")
            assert wait_for(page, "window.__played.length && window.__played")[0] == 1

            # One changed byte in the second segment: the page says the recording does not
            # match its manifest, and which segment.
            folder = Path(record.recording_folder or "")
            data = bytearray((folder / segments[1].name).read_bytes())
            data[len(data) // 2] ^= 0x01
            (folder / segments[1].name).write_bytes(bytes(data))
            page.reload()
            verified = page.locator("#recording-verified")
            expect(verified).to_have_text("校验失败：录像与存证清单不符")
            expect(page.locator("#problems")).to_have_text(
                "第 2 段与存证清单不符（已被修改或缺失），不能作为证据使用"
            )
            expect(items.nth(1).locator(".badge")).to_have_text("与清单不符")
            expect(items.locator(".badge")).to_have_count(1)
            # English second.
            page.goto(f"{host.url}/sessions/{server.session_id}/playback?lang=en")
            expect(verified).to_have_text(
                "Verification failed: the recording does not match its manifest"
            )
            expect(page.locator("#problems")).to_have_text(
                "Changed or missing since recording, so not usable as evidence: segment 2"
            )
        finally:
            browser.close()
