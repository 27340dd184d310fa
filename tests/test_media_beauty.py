"""美颜 on real video: the SDK's frame filter, the app host's camera, and the browser pages.

A camera shows noisy skin on its left and sharp grey stripes on its right. With 美颜 on,
the frames the server receives have much less fine detail (noise) on the skin, while the
stripes keep their edges (the app host's camera, the hall and the customer's join page). The
browser's toggle and strength are remembered on the device.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import anyio
import attrs
import av
import numpy as np
import numpy.typing as npt
import pytest
from aiortc import MediaStreamTrack
from playwright.sync_api import Page, expect, sync_playwright

from zhanye_sdk.client import join
from zhanye_sdk.media.beauty import BeautyFilter, BeautyTrack, beautify
from zhanye_sdk.media.frames import i420_to_video_frame, video_frame_to_i420
from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .hall_pages import open_hall
from .media_world import LOOPBACK_MEDIA, MediaHost, launch_chromium, start_session
from .platform_world import World, build_world
from .test_media_browser import enter_session, host_present, invite_path
from .webhost import DEPLOYMENT, RunningHost

SKIN_U, SKIN_V = 110, 150
CAMERA = (320, 240)
FAST = PlatformConfig(passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1))


def portrait_planes(
    width: int, height: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.uint8], ...]:
    """Noisy skin on the left half (2×2 blotches, so that a video encoder keeps them), sharp
    grey stripes (16 px) on the right half."""
    y = np.empty((height, width), dtype=np.uint8)
    half = width // 2
    blotches = rng.normal(0, 9, ((height + 1) // 2, (half + 1) // 2)).repeat(2, 0).repeat(2, 1)
    y[:, :half] = np.clip(165 + blotches[:height, :half], 0, 255).astype(np.uint8)
    y[:, half:] = np.where((np.arange(width - half) // 16) % 2 == 0, 50, 210).astype(np.uint8)
    u = np.full(((height + 1) // 2, (width + 1) // 2), 128, dtype=np.uint8)
    v = u.copy()
    u[:, : half // 2] = SKIN_U
    v[:, : half // 2] = SKIN_V
    return y, u, v


def normalised(y: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.float64]:
    """The frame scaled down (block means) to ``width``: senders scale video down under load."""
    h, w = y.shape
    k = w // width
    return y[: h // k * k, : width * k].reshape(h // k, k, width, k).mean(axis=(1, 3))


def skin_detail(y: npt.NDArray[Any]) -> float:
    """Mean squared Laplacian inside the skin half: the energy of noise and fine detail."""
    h, w = y.shape
    p = y[h // 10 : h - h // 10, w // 20 : w * 9 // 20].astype(np.float64)
    lap = 4 * p[1:-1, 1:-1] - p[:-2, 1:-1] - p[2:, 1:-1] - p[1:-1, :-2] - p[1:-1, 2:]
    return float(np.mean(lap**2))


def edge_gradient(y: npt.NDArray[Any]) -> float:
    """Mean of the strongest 10 % horizontal gradients in the stripes: how sharp edges are."""
    h, w = y.shape
    p = y[h // 10 : h - h // 10, w * 11 // 20 : w * 19 // 20].astype(np.float64)
    grad = np.abs(np.diff(p, axis=1)).ravel()
    return float(np.mean(np.sort(grad)[-grad.size // 10 :]))


def test_beautify_smooths_skin_keeps_stripes_and_timestamps() -> None:
    y, u, v = portrait_planes(200, 120, np.random.default_rng(1))
    frame = av.VideoFrame(200, 120, "yuv420p")  # rows padded to the line size
    for index, plane in enumerate((y, u, v)):
        view = np.frombuffer(memoryview(frame.planes[index]), dtype=np.uint8)
        rows = view.reshape(frame.planes[index].height, frame.planes[index].line_size)
        rows[:, : plane.shape[1]] = plane
    frame.pts, frame.time_base = 4500, Fraction(1, 90_000)
    out = beautify(frame, 1.0)
    assert (out.pts, out.time_base) == (4500, Fraction(1, 90_000))
    oy, ou, ov = (np.ascontiguousarray(p) for p in video_frame_to_i420(out))
    assert skin_detail(oy) < 0.3 * skin_detail(y)
    np.testing.assert_array_equal(oy[:, 110:], y[:, 110:])
    np.testing.assert_array_equal(ou, u)
    np.testing.assert_array_equal(ov, v)
    with pytest.raises(ValueError, match="strength must be between 0 and 1"):
        BeautyFilter(1.5)


class PortraitTrack(MediaStreamTrack):
    """A camera showing ``portrait_planes`` with fresh noise in every frame."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        self._size, self._fps, self._index = (width, height), fps, 0
        self._rng = np.random.default_rng(5)

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(1 / self._fps)
        frame = i420_to_video_frame(*portrait_planes(*self._size, self._rng))
        frame.pts, frame.time_base = self._index * 6000, Fraction(1, 90_000)
        self._index += 1
        return frame


@attrs.define
class Received:
    """The luma of every frame the server receives, per participant (the video-filter hook)."""

    frames: dict[str, list[npt.NDArray[np.uint8]]] = attrs.field(factory=dict)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def __call__(self, participant: str, frame: av.VideoFrame) -> av.VideoFrame:
        y = np.ascontiguousarray(video_frame_to_i420(frame)[0]).copy()
        with self.lock:
            self.frames.setdefault(participant, []).append(y)
        return frame

    def count(self, participant: str) -> int:
        with self.lock:
            return len(self.frames.get(participant, []))

    def since(self, participant: str, start: int) -> list[npt.NDArray[np.uint8]]:
        with self.lock:
            return list(self.frames.get(participant, [])[start:])


def measure(
    *sets: list[npt.NDArray[np.uint8]],
) -> list[tuple[float, float]]:
    """Median skin detail and edge gradient of each set of frames, all at one size."""
    width = min(f.shape[1] for frames in sets for f in frames)
    found = []
    for frames in sets:
        small = [normalised(f, width) for f in frames]
        detail = float(np.median([skin_detail(f) for f in small]))
        found.append((detail, float(np.median([edge_gradient(f) for f in small]))))
    return found


def start_host(tmp_path: Path, received: Received) -> RunningHost:
    async def make() -> tuple[Any, World]:
        world = await build_world(f"sqlite:///{tmp_path}/web.db", FAST)
        return world.platform, world

    return RunningHost(
        make,
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
        media_config=attrs.evolve(LOOPBACK_MEDIA, video_filter=received),
    ).start()


def wait_frames(
    received: Received, participant: str, start: int, n: int, limit_s: float, width: int = 0
) -> list[npt.NDArray[np.uint8]]:
    """The first ``n`` frames from index ``start`` on (only those ``width`` wide if given:
    a loaded sender scales some frames down, and detail is compared at the camera's size)."""
    deadline = time.monotonic() + limit_s
    while True:
        frames = [f for f in received.since(participant, start) if not width or f.shape[1] == width]
        if len(frames) >= n:
            return frames[:n]
        assert time.monotonic() < deadline, f"only {len(frames)} frames"
        time.sleep(0.1)


@pytest.mark.e2e
def test_the_app_hosts_beauty_camera_reaches_the_server_smoothed(tmp_path: Path) -> None:
    received = Received()
    host = start_host(tmp_path, received)
    try:
        server = MediaHost(
            host.url, host.extra, host.app[DEPLOYMENT].rooms, host.app[DEPLOYMENT].media
        )
        host.run(start_session(server))
        done = threading.Event()
        ids: dict[str, str] = {}
        starts: dict[str, int] = {}

        async def participant(name: str, camera: MediaStreamTrack, joined: threading.Event) -> None:
            async with join(server.host_url, camera=camera, slots=0, loopback_only=True) as me:
                # The same salesperson joins twice: count only this visit's frames.
                ids[name] = me.participant_id
                starts[name] = received.count(me.participant_id)
                joined.set()
                await anyio.to_thread.run_sync(done.wait, 60)

        joined = threading.Event()
        beauty = BeautyTrack(PortraitTrack(), BeautyFilter(1.0))
        future = asyncio.run_coroutine_threadsafe(participant("on", beauty, joined), host.loop)
        assert joined.wait(20)
        smoothed = wait_frames(received, ids["on"], starts["on"] + 5, 15, 40)
        done.set()
        future.result(timeout=20)

        done.clear()
        joined = threading.Event()
        future = asyncio.run_coroutine_threadsafe(
            participant("off", PortraitTrack(), joined), host.loop
        )
        assert joined.wait(20)
        plain = wait_frames(received, ids["off"], starts["off"] + 5, 15, 40)
        done.set()
        future.result(timeout=20)
    finally:
        host.stop()
    (detail_on, edges_on), (detail_off, edges_off) = measure(smoothed, plain)
    assert detail_on < 0.5 * detail_off, (detail_on, detail_off)
    assert edges_on > 0.8 * edges_off, (edges_on, edges_off)


def write_y4m(path: Path, width: int = 320, height: int = 240, frames: int = 8) -> Path:
    """A Y4M clip for Chromium's fake camera: ``portrait_planes`` with fresh noise per frame."""
    rng = np.random.default_rng(3)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n")
            for plane in portrait_planes(width, height, rng):
                f.write(plane.tobytes())
    return path


@pytest.fixture(scope="module")
def portrait_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    clip = write_y4m(tmp_path_factory.mktemp("camera") / "portrait.y4m", *CAMERA)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, camera_y4m=clip)
        try:
            yield browser
        finally:
            browser.close()


def toggle_and_measure(page: Page, received: Received) -> None:
    """With the page's camera reaching the server, turn 美颜 on at full strength: the skin
    the server receives loses most of its fine detail, the stripes keep their edges."""
    toggle = page.get_by_role("button", name="美颜", exact=True)
    expect(toggle).to_have_attribute("aria-pressed", "false", timeout=20_000)
    expect(page.get_by_label("美颜强度")).to_be_disabled()
    deadline = time.monotonic() + 30
    while not received.frames:
        assert time.monotonic() < deadline, "no video from the browser"
        time.sleep(0.2)
    source = next(iter(received.frames))
    # The first seconds are the encoder's ramp-up (flat, low-rate frames): skip them.
    wait_frames(received, source, received.count(source), 45, 40)
    plain = wait_frames(received, source, received.count(source), 15, 60, CAMERA[0])
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.get_by_label("美颜强度").press("End")
    # Frames already in flight are unfiltered: skip them.
    wait_frames(received, source, received.count(source), 30, 40)
    smoothed = wait_frames(received, source, received.count(source), 15, 60, CAMERA[0])
    (detail_off, edges_off), (detail_on, edges_on) = measure(plain, smoothed)
    assert detail_on < 0.5 * detail_off, (detail_on, detail_off)
    assert edges_on > 0.8 * edges_off, (edges_on, edges_off)


@pytest.mark.e2e
def test_beauty_in_the_hall_smooths_the_salespersons_skin_the_server_receives(
    portrait_browser: Any, tmp_path: Path
) -> None:
    received = Received()
    host = start_host(tmp_path, received)
    context = portrait_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = open_hall(context, host)
        toggle_and_measure(page, received)
    finally:
        context.close()
        host.stop()


@pytest.mark.e2e
def test_beauty_in_the_join_page_smooths_skin_the_server_receives_and_is_remembered(
    portrait_browser: Any, tmp_path: Path
) -> None:
    received = Received()
    host = start_host(tmp_path, received)
    context = portrait_browser.new_context(viewport={"width": 900, "height": 700})
    done, present = threading.Event(), None
    try:
        server = MediaHost(
            host.url, host.extra, host.app[DEPLOYMENT].rooms, host.app[DEPLOYMENT].media
        )
        host.run(start_session(server))
        path = host.run(invite_path(server))
        joined = threading.Event()
        present = asyncio.run_coroutine_threadsafe(host_present(server, joined, done), host.loop)
        assert joined.wait(20)
        page = context.new_page()
        enter_session(page, f"{host.url}{path}")
        toggle_and_measure(page, received)

        # The choice stays on this device: a reload (the seat goes back in) keeps it.
        page.reload()
        toggle = page.get_by_role("button", name="美颜", exact=True)
        expect(toggle).to_have_attribute("aria-pressed", "true", timeout=20_000)
        expect(page.get_by_label("美颜强度")).to_have_value("100")
    finally:
        done.set()
        if present is not None:
            present.result(timeout=30)
        context.close()
        host.stop()
