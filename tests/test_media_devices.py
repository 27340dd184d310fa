"""The device check before joining, in real Chromium: with fake devices, with none, and with
the camera not allowed (then allowed, and checked again).

The customer's join page and the salesperson's hall both show it; joining is never blocked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .media_world import LOOPBACK_MEDIA, MediaHost, launch_chromium, start_session
from .platform_world import World, build_world
from .test_media_browser import invite_path
from .test_web_admin_pages import log_in
from .webhost import DEPLOYMENT, RunningHost, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[RunningHost, MediaHost]]:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )

    async def make() -> tuple[Any, World]:
        world = await build_world(f"sqlite:///{tmp_path}/web.db", config)
        return world.platform, world

    running = RunningHost(
        make,
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
        media_config=LOOPBACK_MEDIA,
    ).start()
    try:
        media = MediaHost(
            running.url, running.extra, running.app[DEPLOYMENT].rooms, running.app[DEPLOYMENT].media
        )
        running.run(start_session(media))
        yield running, media
    finally:
        running.stop()


def poll(condition: Callable[[], bool], limit_s: float = 20) -> None:
    """Wait for state the host's thread changes."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)


def device(page: Page, kind: str) -> Any:
    return page.locator(f'#device-check li[data-device="{kind}"]')


def open_join_page(page: Page, host: RunningHost, media: MediaHost, query: str = "") -> None:
    page.goto(f"{host.url}{host.run(invite_path(media))}{query}")
    expect(page.locator("#device-check")).not_to_have_attribute("data-state", "checking")


def join(page: Page) -> None:
    page.get_by_label("您的称呼").fill("客户钱女士")
    page.locator("input[name=ack]").check()
    page.get_by_role("button", name="进入会话").click()
    expect(page.locator("#in-session")).to_be_visible()
    expect(page.locator("#connection")).to_have_text("已连接")


def test_with_fake_devices_the_check_passes_quietly(
    playwright: Any, server: tuple[RunningHost, MediaHost]
) -> None:
    host, media = server
    browser = launch_chromium(playwright)
    try:
        page = browser.new_page()
        open_join_page(page, host, media)
        expect(page.locator("#device-check h2")).to_have_text("设备检测")
        expect(device(page, "microphone")).to_have_text("麦克风：正常")
        expect(device(page, "camera")).to_have_text("摄像头：正常")
        expect(page.locator("#device-check .device-advice")).to_be_hidden()
        expect(page.get_by_role("button", name="重新检测")).to_be_hidden()
        # English is the second language of the same catalogue.
        open_join_page(page, host, media, "?lang=en")
        expect(device(page, "microphone")).to_have_text("Microphone: ready")
        expect(device(page, "camera")).to_have_text("Camera: ready")

        hall = browser.new_page()
        log_in(hall, host, "sp-A1")
        hall.wait_for_url("**/workbench")
        hall.goto(f"{host.url}/sessions/{media.session_id}?lang=zh-CN")
        expect(hall.locator("#device-check")).to_have_attribute("data-state", "ok")
        expect(hall.locator("#device-check")).to_be_hidden()
    finally:
        browser.close()


def test_without_devices_the_pages_say_so_and_joining_still_works(
    playwright: Any, server: tuple[RunningHost, MediaHost]
) -> None:
    host, media = server
    browser = launch_chromium(playwright, fake_devices=False)
    try:
        page = browser.new_page()
        open_join_page(page, host, media)
        expect(device(page, "microphone")).to_have_text("麦克风：未找到")
        expect(device(page, "camera")).to_have_text("摄像头：未找到")
        advice = page.locator("#device-check .device-advice")
        expect(advice).to_contain_text("未检测到可用的麦克风，对方将听不到您的声音")
        expect(advice).to_contain_text("未检测到可用的摄像头：您仍可进入会话")
        retry = page.get_by_role("button", name="重新检测")
        expect(retry).to_be_visible()
        retry.click()  # nothing was connected meanwhile: the same answer again
        expect(page.locator("#device-check")).to_have_attribute("data-state", "problem")
        join(page)

        hall = browser.new_page()
        log_in(hall, host, "sp-A1")
        hall.wait_for_url("**/workbench")
        hall.goto(f"{host.url}/sessions/{media.session_id}")
        expect(hall.locator("#device-check")).to_be_visible()
        expect(device(hall, "microphone")).to_have_text("麦克风：未找到")
        expect(hall.get_by_role("button", name="重新检测")).to_be_visible()
        expect(hall.locator("#connection")).to_have_text("已连接")
        # The panel comes (and goes) without moving a button the salesperson may be
        # pressing at that moment: a click meant for 邀请客户 would land elsewhere.
        invite = hall.get_by_role("button", name="邀请客户")
        shown = invite.bounding_box()
        # It floats over the main column, clear of the navigation beside it.
        panel, sidebar = hall.locator("#device-check").bounding_box(), hall.locator(".sidebar")
        assert panel is not None and shown is not None
        nav = sidebar.bounding_box()
        assert nav is not None and panel["x"] >= nav["x"] + nav["width"], (panel, nav)
        assert panel["x"] + panel["width"] <= hall.viewport_size["width"], panel  # type: ignore[index]
        hall.locator("#device-check").get_by_role("button", name="关闭").click()
        expect(hall.locator("#device-check")).to_be_hidden()
        assert invite.bounding_box() == shown
    finally:
        browser.close()


def test_a_camera_not_allowed_warns_and_a_retry_after_allowing_it_clears(
    playwright: Any, server: tuple[RunningHost, MediaHost]
) -> None:
    host, media = server
    browser = launch_chromium(playwright, fake_ui=False)
    try:
        context = browser.new_context()
        context.grant_permissions(["microphone"], origin=host.url)
        page = context.new_page()
        open_join_page(page, host, media)
        expect(device(page, "microphone")).to_have_text("麦克风：正常")
        expect(device(page, "camera")).to_have_text("摄像头：未授权")
        advice = page.locator("#device-check .device-advice")
        expect(advice).to_have_text(
            "摄像头未获授权：您仍可进入会话，对方只能听到您的声音。"
            "如需视频，请允许使用摄像头后点击“重新检测”。"
        )
        context.grant_permissions(["microphone", "camera"], origin=host.url)
        page.get_by_role("button", name="重新检测").click()
        expect(device(page, "camera")).to_have_text("摄像头：正常")
        expect(advice).to_be_hidden()

        # In the hall the salesperson starts with the microphone only; allowing the camera
        # and checking again brings it into the running session.
        staff = browser.new_context()
        staff.grant_permissions(["microphone"], origin=host.url)
        hall = staff.new_page()
        log_in(hall, host, "sp-A1")
        hall.wait_for_url("**/workbench")
        hall.goto(f"{host.url}/sessions/{media.session_id}")
        expect(device(hall, "camera")).to_have_text("摄像头：未授权")
        expect(hall.locator("#connection")).to_have_text("已连接")
        own = f'.tile[data-participant="{host.extra.ids["sp_A1"]}"]'
        expect(hall.locator(own)).to_be_visible()
        expect(hall.locator(f"{own} video")).to_have_count(0)  # nothing to show yet

        def sent_kinds() -> list[str]:
            peer = media.media.peer(media.session_id, host.extra.ids["sp_A1"])
            return sorted(t.kind for t in peer.inbound) if peer is not None else []

        poll(lambda: sent_kinds() == ["audio"])  # its media arrived, without a camera
        staff.grant_permissions(["microphone", "camera"], origin=host.url)
        hall.get_by_role("button", name="重新检测").click()
        expect(hall.locator("#device-check")).to_be_hidden()
        wait_for(hall, f"document.querySelector('{own} video')?.videoWidth === 640", timeout=20_000)
        poll(lambda: sent_kinds() == ["audio", "video"])
    finally:
        browser.close()
