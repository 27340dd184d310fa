"""Phones are recorded as phones: the terminal (终端) is told from the browser's own words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.rooms.core import Terminal
from zhanye_sdk.rooms.terminals import terminal_of_browser

from .live_session import Peer
from .platform_world import PASSWORD, World, build_world
from .webhost import IPHONE_SAFARI, serving

# Real user agents, as these browsers send them.
IPHONE_CHROME = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
HUAWEI_BROWSER = (
    "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.13.0.302) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.5.302 "
    "Mobile Safari/537.36"
)
XIAOMI_UC = (
    "Mozilla/5.0 (Linux; U; Android 13; zh-CN; 2211133C Build/TKQ1.220905.001) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/100.0.4896.58 "
    "UCBrowser/16.3.5.1280 Mobile Safari/537.36"
)
IPAD_OLD = (
    "Mozilla/5.0 (iPad; CPU OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1"
)
IPADOS_DESKTOP_MODE = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
WECHAT_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI "
    "Language/zh_CN miniProgram/wx1234567890abcdef"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
WINDOWS_EDGE = WINDOWS_CHROME + " Edg/124.0.2478.51"
MAC_SAFARI = IPADOS_DESKTOP_MODE
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (IPHONE_SAFARI, Terminal.MOBILE_WEB),
        (IPHONE_CHROME, Terminal.MOBILE_WEB),
        (ANDROID_CHROME, Terminal.MOBILE_WEB),
        (HUAWEI_BROWSER, Terminal.MOBILE_WEB),
        (XIAOMI_UC, Terminal.MOBILE_WEB),
        (IPAD_OLD, Terminal.TABLET_WEB),
        (ANDROID_TABLET, Terminal.TABLET_WEB),
        (WECHAT_IPHONE, Terminal.MINI_PROGRAM),
        (WINDOWS_CHROME, Terminal.PC_WEB),
        (WINDOWS_EDGE, Terminal.PC_WEB),
        (MAC_SAFARI, Terminal.PC_WEB),
        (LINUX_FIREFOX, Terminal.PC_WEB),
        (None, Terminal.PC_WEB),
    ],
)
def test_real_user_agents(user_agent: str | None, expected: Terminal) -> None:
    assert terminal_of_browser(user_agent) is expected


def test_client_hints_and_touch_tell_what_the_user_agent_hides() -> None:
    # Chromium's reduced user agent on an Android tablet in desktop mode looks like Linux.
    reduced = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36"
    )
    assert terminal_of_browser(reduced, mobile_hint="?1") is Terminal.MOBILE_WEB
    assert terminal_of_browser(reduced, mobile_hint="?0", platform_hint='"Android"') is (
        Terminal.TABLET_WEB
    )
    assert terminal_of_browser(WINDOWS_CHROME, mobile_hint="?0", platform_hint='"Windows"') is (
        Terminal.PC_WEB
    )
    # iPadOS asks for desktop pages with a Mac's user agent; only the touch screen differs.
    assert terminal_of_browser(IPADOS_DESKTOP_MODE, touch_points=5) is Terminal.TABLET_WEB
    assert terminal_of_browser(MAC_SAFARI, touch_points=0) is Terminal.PC_WEB


@given(st.text(max_size=300), st.none() | st.text(max_size=5), st.integers(-5, 20))
def test_any_header_gives_a_terminal(ua: str, hint: str | None, touch: int) -> None:
    assert isinstance(terminal_of_browser(ua, mobile_hint=hint, touch_points=touch), Terminal)


@pytest.fixture
async def server(tmp_path: Any, fast_config: PlatformConfig) -> AsyncIterator[str]:
    world: World = await build_world(f"sqlite:///{tmp_path}/t.db", fast_config)
    async with serving(world.platform) as url:
        yield url


@pytest.mark.anyio
async def test_the_record_shows_each_customer_s_device(server: str) -> None:
    async with aiohttp.ClientSession() as http:
        login = await (
            await http.post(f"{server}/api/login", json={"login": "sp-A1", "password": PASSWORD})
        ).json()
        auth = {"Authorization": f"Bearer {login['token']}"}
        sid = (await (await http.post(f"{server}/api/sessions", json={}, headers=auth)).json())[
            "id"
        ]
        invite = await (
            await http.post(f"{server}/api/sessions/{sid}/invite-link", headers=auth)
        ).json()
        ws = server.replace("http", "ws") + f"/ws/sessions/{sid}"
        host = Peer(await http.ws_connect(f"{ws}?token={login['token']}"))
        await host.next("session.welcome")
        devices = {"苹果手机": IPHONE_SAFARI, "安卓手机": ANDROID_CHROME, "平板": IPAD_OLD}
        devices["电脑"] = WINDOWS_CHROME
        for name, user_agent in devices.items():
            joined = await http.post(
                f"{server}/api/invites/{invite['token']}/join",
                json={"name": name, "recording_acknowledged": True},
                headers={"User-Agent": user_agent},
            )
            assert joined.status == 201, await joined.text()
            seat = await joined.json()
            customer = Peer(await http.ws_connect(f"{ws}?seat={seat['seat_token']}"))
            await customer.next("session.welcome")
            await host.next("room.participant_joined")
        # The record follows the room's events: wait (bounded) until it lists everyone.
        for _ in range(100):
            record = await (await http.get(f"{server}/api/records/{sid}", headers=auth)).json()
            if len(record["participants"]) == len(devices) + 1:
                break
            await anyio.sleep(0.1)
    terminals = {p["name"]: p["terminal"] for p in record["participants"]}
    assert terminals == {
        "sp_A1": "pc-web",
        "苹果手机": "mobile-web",
        "安卓手机": "mobile-web",
        "平板": "tablet-web",
        "电脑": "pc-web",
    }, record["participants"]
