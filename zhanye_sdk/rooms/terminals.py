"""Which kind of terminal (终端) a participant joins from, told by their browser.

The records count sessions by terminal, so a phone must not pass for a PC. A browser
says what it is in its ``User-Agent`` and, in Chromium-based browsers, in the client
hints ``Sec-CH-UA-Mobile`` (``?1`` on a phone) and ``Sec-CH-UA-Platform``. Rules, first
match wins:

* WeChat (``MicroMessenger``): the mini-program (the product opens links there);
* ``iPad``, an Android browser without ``Mobile`` (or a hint of Android and not mobile),
  or a Mac that reports a touch screen (iPadOS asks for desktop pages by default): tablet;
* ``iPhone``/``iPod``, ``Mobi`` anywhere (Android phones, Windows/Harmony phones, Opera
  Mini) or the mobile hint: phone;
* anything else: PC.
"""

from __future__ import annotations

from zhanye_sdk.rooms.core import Terminal

__all__ = ["terminal_of_browser"]

MAX_USER_AGENT = 1024


def terminal_of_browser(
    user_agent: str | None,
    *,
    mobile_hint: str | None = None,
    platform_hint: str | None = None,
    touch_points: int = 0,
) -> Terminal:
    """The terminal a web browser runs on.

    Args:
        user_agent: the ``User-Agent`` header (None or empty: a PC).
        mobile_hint: the ``Sec-CH-UA-Mobile`` header (``?1`` or ``?0``), if sent.
        platform_hint: the ``Sec-CH-UA-Platform`` header (e.g. ``"Android"``), if sent.
        touch_points: the page's ``navigator.maxTouchPoints`` (tells an iPad from a Mac).
    """
    ua = (user_agent or "")[:MAX_USER_AGENT]
    mobile = (mobile_hint or "").strip() == "?1"
    platform = (platform_hint or "").strip().strip('"').lower()
    if "MicroMessenger" in ua:
        return Terminal.MINI_PROGRAM
    android = "Android" in ua or platform == "android"
    if (
        "iPad" in ua
        or (android and not mobile and "Mobi" not in ua)
        or ("Macintosh" in ua and touch_points > 1)
    ):
        return Terminal.TABLET_WEB
    if "iPhone" in ua or "iPod" in ua or "Mobi" in ua or mobile:
        return Terminal.MOBILE_WEB
    return Terminal.PC_WEB
