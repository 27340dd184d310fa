"""The issue's three-party session, all real peers over the web host on loopback.

The salesperson is the hall page in headless Chromium, whose fake microphone plays 500 Hz;
two customers are app-host processes (``python -m hosts.app join``) sending 700 Hz and
1100 Hz and flat-coloured cameras. By frequency analysis of what each one received:
everyone hears the other two and not themselves; the host muting a customer from the hall
removes that tone from the others within 0.5 s; killing that customer's process leaves
the others' audio uninterrupted. The host makes a customer the main view: the hall's main
tile shows that customer's video and the recording's composite follows (speaker layout).
The recording lasts as long as the session (±10 %), holds all three tones, shows one tile
per participant, and its manifest verifies.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from zhanye_sdk import layout_cells
from zhanye_sdk.media.manifest import verify
from zhanye_sdk.media.recorder import RecordingConfig
from zhanye_sdk.media.records import MediaRecord, RecordingStatus
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .media_world import LOOPBACK_MEDIA, launch_chromium, tone_level, tone_wav
from .test_media_recording import decode
from .test_web_admin_pages import log_in
from .webhost import DEPLOYMENT, RunningHost, wait_for, world_host

# The 0.5 s mute deadline is measured in a browser whose playout buffer grows under load.
pytestmark = [pytest.mark.e2e, pytest.mark.alone]

ROOT = Path(__file__).resolve().parents[1]
TONES = {"host": 500.0, "a": 700.0, "b": 1100.0}
LUMA = {"a": 220, "b": 90}
PRESENT, ABSENT = 1500.0, 250.0
W, H = 480, 360

#: Taps the hall's received audio (the server's mix for the host) into ``window.__heard``:
#: decoded 10 ms chunks as they are played out, stamped with ``performance.now()``.
CAPTURE = """() => {
  const element = [...document.querySelectorAll("audio")].find((a) => a.srcObject);
  const track = element?.srcObject?.getAudioTracks()[0];
  if (!track) return false;
  window.__heard = [];
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
  document.addEventListener("click", (e) => {
    const control = e.target.closest("button[data-control]");
    if (control) window.__clicked = { ...window.__clicked, [control.dataset.control]: e.timeStamp };
  }, true);
  return true;
}"""
#: ``tone_level`` of the audio heard between two ``performance.now()`` instants, computed in
#: the page (Hann window, DFT at the tone's bin ± 2) so that no samples cross over.
LEVELS = """([a, b, tones]) => {
  const chunks = window.__heard.filter(([t]) => t >= a && t < b);
  const n = chunks.reduce((k, [, s]) => k + s.length, 0);
  if (n < 4800) return null;
  const x = new Float64Array(n);
  let at = 0;
  for (const [, s] of chunks) {
    for (let i = 0; i < s.length; i += 1) {
      x[at + i] = s[i] * 32767 * (0.5 - 0.5 * Math.cos((2 * Math.PI * (at + i)) / (n - 1)));
    }
    at += s.length;
  }
  const windowSum = (n - 1) / 2;
  return tones.map((hz) => {
    const k = Math.round((hz * n) / 48000);
    let best = 0;
    for (let bin = Math.max(k - 2, 0); bin <= k + 2; bin += 1) {
      let re = 0;
      let im = 0;
      const step = (-2 * Math.PI * bin) / n;
      for (let i = 0; i < n; i += 1) {
        re += x[i] * Math.cos(step * i);
        im += x[i] * Math.sin(step * i);
      }
      best = Math.max(best, Math.hypot(re, im));
    }
    return (2 * best) / windowSum;
  });
}"""


@attrs.define
class Hall:
    """The host's hall page and its clock (``performance.now()``) mapped to ``monotonic``."""

    page: Page
    offset_s: float = 0.0

    def sync_clock(self) -> None:
        before = time.monotonic()
        now_ms = self.page.evaluate("performance.now()")
        self.offset_s = (before + time.monotonic()) / 2 - now_ms / 1000

    def levels(self, start: float, end: float) -> dict[str, float] | None:
        """Tone levels of what the page received between two monotonic instants."""
        window = [(start - self.offset_s) * 1000, (end - self.offset_s) * 1000]
        found = self.page.evaluate(LEVELS, [*window, list(TONES.values())])
        return None if found is None else dict(zip(TONES, found, strict=True))

    def levels_at_least(self, start: float, end: float) -> dict[str, float]:
        found = self.levels(start, end)
        assert found is not None, f"nothing heard between {start} and {end}"
        return found

    def clicked(self, control: str) -> float:
        """When the host last clicked a member control, on the monotonic clock."""
        return float(self.page.evaluate(f"window.__clicked.{control}")) / 1000 + self.offset_s


@attrs.define
class AppCustomer:
    """A customer as an app-host process, with what it heard written when it leaves."""

    name: str
    process: subprocess.Popen[bytes]
    folder: Path
    participant_id: str = ""

    @classmethod
    def start(cls, name: str, url: str, folder: Path) -> AppCustomer:
        command = [sys.executable, "-m", "hosts.app", "join", url, "--name", f"客户{name}"]
        command += ["--tone", str(TONES[name]), "--luma", str(LUMA[name]), "--loopback"]
        command += ["--record", str(folder / f"{name}.wav")]
        command += ["--timeline", str(folder / f"{name}.json"), "--seconds", "120"]
        # No video to receive: it would only cost a busy machine two more encoders.
        command += ["--slots", "0"]
        with (folder / f"{name}.log").open("wb") as log:  # a pipe nobody reads could fill
            process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log)
        return cls(name, process, folder)

    def log(self) -> str:
        return (self.folder / f"{self.name}.log").read_text(errors="replace")

    def seated(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, self.log()
        self.participant_id = json.loads(line)["joined"]
        return self.participant_id

    def heard(self) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.float64]]:
        """The WAV it wrote and, per sample, when its frame arrived (monotonic)."""
        with wave.open(str(self.folder / f"{self.name}.wav")) as f:
            assert f.getframerate() == 48_000 and f.getnchannels() == 1
            audio = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
        timeline = np.array(json.loads((self.folder / f"{self.name}.json").read_text()))
        at = np.interp(np.arange(audio.size), timeline[:, 1], timeline[:, 0])
        return audio, at


def levels_between(
    audio: npt.NDArray[np.int16], at: npt.NDArray[np.float64], start: float, end: float
) -> dict[str, float]:
    chunk = audio[(at >= start) & (at < end)]
    return {name: tone_level(chunk, hz) for name, hz in TONES.items()}


def poll(check: Any, limit_s: float = 30, every_s: float = 0.1) -> Any:
    deadline = time.monotonic() + limit_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(every_s)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[RunningHost]:
    recording = RecordingConfig(tmp_path / "rec", segment_s=2.0, width=W, height=H)
    with world_host(
        tmp_path,
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
        media_config=attrs.evolve(LOOPBACK_MEDIA, recording=recording),
    ) as running:
        yield running


def tile(y: npt.NDArray[np.uint8], rect: tuple[int, int, int, int]) -> tuple[float, float]:
    """Mean and spread of a tile's luma, inside a margin."""
    x, top, w, h = rect
    inner = y[top + 6 : top + h - 6, x + 6 : x + w - 6].astype(np.float64)
    return float(inner.mean()), float(inner.std())


def is_flat(seen: tuple[float, float], luma: int) -> bool:
    return abs(seen[0] - luma) < 14 and seen[1] < 12


def test_browser_host_and_two_app_customers(tmp_path: Path, host: RunningHost) -> None:
    wav = tone_wav(tmp_path / "host.wav", TONES["host"])
    customers: list[AppCustomer] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, microphone_wav=wav, camera_fps=10)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            log_in(page, host, "sp-A1")
            page.get_by_role("button", name="开始会话").click()
            expect(page).to_have_url(re.compile(r"/sessions/[0-9a-f]{32}$"))
            session_id = page.url.rsplit("/", 1)[1]
            hall = Hall(page)

            def record() -> MediaRecord | None:
                records = host.app[DEPLOYMENT].media.records
                assert records is not None
                return host.run(records.get(session_id))

            poll(lambda: (r := record()) and r.recording_status is RecordingStatus.RECORDING)
            started = time.monotonic()  # the host's media arrived: the recording began

            links = []
            for _ in range(2):
                page.get_by_role("button", name="邀请客户").click()
                expect(page.locator("#invite-link")).to_have_value(re.compile(r"/join/"))
                links.append(page.locator("#invite-link").input_value())
                page.locator("#invite-dialog").get_by_role("button", name="取消").click()
            customers += [
                AppCustomer.start("a", links[0], tmp_path),
                AppCustomer.start("b", links[1], tmp_path),
            ]
            a, b = customers
            ids = {"a": a.seated(), "b": b.seated()}

            poll(lambda: page.evaluate(CAPTURE))
            hall.sync_clock()

            # Everyone is heard by the host, and not the host itself.
            def host_hears_both() -> dict[str, float] | None:
                now = time.monotonic()
                heard = hall.levels(now - 0.6, now)
                return heard if heard and heard["a"] > PRESENT and heard["b"] > PRESENT else None

            heard = poll(host_hears_both, limit_s=40, every_s=0.3)
            all_heard = time.monotonic()
            assert heard["host"] < ABSENT, heard
            room = host.run(host.app[DEPLOYMENT].rooms.room(session_id))
            # The app processes raced to join: the room's order is the composite's order.
            order = [next(n for n, i in ids.items() if i == p.id) for p in room.present[1:]]

            # Main view: the host shows customer a large.
            member_a = page.locator(f'#members li[data-participant="{ids["a"]}"]')
            member_a.locator('button[data-control="main"]').click()
            main_video = f'.tile.main[data-participant="{ids["a"]}"] video'
            expect(page.locator(main_video)).to_have_count(1)
            wait_for(
                page,
                "s => { const v = document.querySelector(s);"
                " return v && v.videoWidth === 160 && v.readyState >= 2 && !v.paused; }",
                arg=main_video,
            )
            main_at = hall.clicked("main")

            # Mute a from the hall: within 0.5 s nobody hears 700 Hz any more.
            time.sleep(1.0)  # a while with a large in the recording
            member_a.locator('button[data-control="audio"]').click()
            expect(member_a.locator('button[data-control="audio"]')).to_have_attribute(
                "aria-pressed", "false"
            )
            time.sleep(1.2)
            muted_at = hall.clicked("audio")
            # From 0.5 s after the click no window of 150 ms has a's tone; b's voice goes on
            # (a busy machine may drop a moment of it, not all of it).
            after_mute = [
                hall.levels_at_least(at, at + 0.15) for at in muted_at + np.arange(0.5, 1.1, 0.15)
            ]
            assert all(w["a"] < ABSENT for w in after_mute), after_mute
            assert sum(w["b"] > PRESENT for w in after_mute) >= 2, after_mute

            # a's process dies: the host keeps hearing b without a break.
            a.process.kill()
            killed = time.monotonic()
            time.sleep(2.2)
            for start in np.arange(killed + 0.1, killed + 1.8, 0.25):
                window = hall.levels_at_least(start, start + 0.5)
                assert window["b"] > PRESENT, (start - killed, window)
            assert a.process.wait(timeout=10) != 0

            def a_gone() -> bool:
                room = host.run(host.app[DEPLOYMENT].rooms.room(session_id))
                return ids["a"] not in {p.id for p in room.present}

            poll(a_gone)
            a_gone_at = time.monotonic()
            time.sleep(0.5)  # a few composite frames without a

            # b is asked to leave (SIGTERM): it says goodbye and writes what it heard.
            two_left = time.monotonic()
            b.process.terminate()
            assert b.process.wait(timeout=20) == 0, b.log()
            time.sleep(1.5)

            page.get_by_role("button", name="结束会话").click()
            page.get_by_role("dialog").get_by_role("button", name="确定").click()
            ended = time.monotonic()
            expect(page.locator("#connection")).to_have_text("会话已结束")
            final = poll(
                lambda: (
                    (r := record())
                    and r.recording_status
                    not in (RecordingStatus.RECORDING, RecordingStatus.PROCESSING)
                    and r
                )
            )
        finally:
            for customer in customers:
                if customer.process.poll() is None:
                    customer.process.kill()
                customer.process.wait(timeout=10)
            browser.close()

    # What customer b heard: the host and a, never itself; a gone 0.5 s after the mute;
    # the host's voice without a break when a's process died.
    audio, at = b.heard()
    before = levels_between(audio, at, all_heard, muted_at)
    assert before["host"] > PRESENT and before["a"] > PRESENT and before["b"] < ABSENT, before
    muted = levels_between(audio, at, muted_at + 0.5, muted_at + 1.1)
    assert muted["a"] < ABSENT and muted["host"] > PRESENT, muted
    arrivals = np.array([t for t, _ in json.loads((tmp_path / "b.json").read_text())])
    arrivals = arrivals[(arrivals >= killed) & (arrivals < killed + 2.0)]
    assert len(arrivals) >= 75 and np.diff(arrivals).max() < 0.5, (len(arrivals),)
    assert levels_between(audio, at, killed + 0.5, killed + 2.0)["host"] > PRESENT

    # The recording: as long as the session, all three voices, one tile per participant.
    assert final.recording_status is RecordingStatus.READY, final.recording_error
    folder = Path(final.recording_folder or "")
    manifest = final.manifest
    assert verify(manifest, folder, expected_head=final.manifest_head).ok
    wall = ended - started
    assert abs(manifest.duration_ms / 1000 - wall) < 0.1 * wall, (manifest.duration_ms, wall)
    recorded, frames = decode(manifest, folder)
    both = recorded[int((all_heard - started) * 48_000) : int((muted_at - started - 0.2) * 48_000)]
    for name, hz in TONES.items():
        assert tone_level(both, hz) > 500, (name, tone_level(both, hz))

    sizes = [(640, 480), (160, 120), (160, 120)]
    three = {
        main: dict(
            zip(["host", *order], layout_cells(sizes, "speaker", W, H, main=main), strict=True)
        )
        for main in (0, 1 + order.index("a"))
    }
    # Before the switch the host is large, a and b are the two thumbnails. (A picture
    # can reach the recorder a moment after its voice is heard: this looks at the frames
    # from when both were heard until the switch.)
    cells = three[0]
    before_switch = [y for t, y in frames if all_heard - started - 0.3 <= t < main_at - started]
    thumbnails = [
        y
        for y in before_switch
        if all(is_flat(tile(y, cells[name]), LUMA[name]) for name in ("a", "b"))
    ]
    assert thumbnails, [(tile(y, cells["a"]), tile(y, cells["b"])) for y in before_switch]
    y = thumbnails[-1]
    assert not is_flat(tile(y, cells["host"]), LUMA["a"]), tile(y, cells["host"])
    # After it, a is large and the host and b are the thumbnails (within a second and a
    # half, whatever drift there is between the recording's clock and the wall clock).
    cells = three[1 + order.index("a")]
    after = [y for t, y in frames if main_at - started <= t <= main_at - started + 1.5]
    switched = [y for y in after if is_flat(tile(y, cells["a"]), LUMA["a"])]
    assert switched, [tile(y, cells["a"]) for y in after]
    y = switched[-1]
    assert is_flat(tile(y, cells["b"]), LUMA["b"]), tile(y, cells["b"])
    assert not is_flat(tile(y, cells["host"]), LUMA["b"]), tile(y, cells["host"])
    # Once a is gone: two tiles, the host large again and b the only thumbnail. (The
    # recording's clock and the wall clock can drift apart by a few ticks under load, so
    # this looks at the frames of the whole time between a leaving and b leaving.)
    two = layout_cells(sizes[:2], "speaker", W, H, main=0)
    between = [y for t, y in frames if a_gone_at - started <= t <= two_left - started + 0.5]
    with_b = [y for y in between if is_flat(tile(y, two[1]), LUMA["b"])]
    assert with_b, [tile(y, two[1]) for y in between]
    y = with_b[len(with_b) // 2]
    x, top, w, h = two[1]
    strip = y[top + 6 : top + h - 6]
    assert float(strip[:, 6 : x - 6].mean()) < 24 and float(strip[:, x + w + 6 : -6].mean()) < 24
    # The left margin beside the large tile is the composite's background (Y 16) ...
    margin = (slice(40, 280), slice(4, two[0][0] - 4))
    assert abs(float(y[margin].mean()) - 16) < 4, float(y[margin].mean())
    # ... until the host is alone: one tile, the whole frame, where the fake camera's
    # picture is black (Y 0) and b's thumbnail is gone.
    assert layout_cells(sizes[:1], "speaker", W, H) == [(0, 0, W, H)]
    y = frames[-3][1]
    assert float(y[margin].mean()) < 8, float(y[margin].mean())
    assert not is_flat(tile(y, two[1]), LUMA["b"]), tile(y, two[1])
