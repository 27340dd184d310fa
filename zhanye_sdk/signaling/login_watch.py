"""Waiting for a login to end by time: its expiry, or a revocation made elsewhere.

Revocations made in this process are announced (``Platform.on_logins_ended``) and
close sockets at once; this watch covers what no announcement reaches: the login's
expiry, and a revocation by another host process (found by re-checking the store).
``RecentEnds`` covers the announcements a socket misses while it is being
authenticated (before it is listed among the sockets an announcement reaches).
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import anyio

from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.login_end import EndReason, LoginsEnded
from zhanye_sdk.platform.roles import Principal

__all__ = ["REVOKED", "RecentEnds", "watch_login"]

#: The reason given when a re-check finds the login gone (its cause is not known here).
REVOKED = "revoked"


async def watch_login(
    platform: Platform, principal: Principal, now_ms: Callable[[], int], recheck_s: float
) -> str:
    """Return, with the reason, once ``principal``'s login has expired or been revoked."""
    expires = principal.login_expires_ms
    while True:
        delay = recheck_s
        if expires is not None:
            left_s = (expires - now_ms()) / 1000
            if left_s <= 0:
                return EndReason.EXPIRED
            delay = min(delay, left_s)
        await anyio.sleep(delay)
        if expires is not None and expires <= now_ms():
            return EndReason.EXPIRED
        if principal.login_id is not None and not await platform.auth.login_is_live(
            principal.login_id
        ):
            return REVOKED


class RecentEnds:
    """The latest announcements of ended logins, for sockets authenticated meanwhile.

    A socket takes ``mark()`` before it authenticates and, once it is listed where
    announcements reach it, asks ``missed(mark, account_id, login_id)``: the reason of
    an announcement made in between that covers its login, if any.
    """

    def __init__(self, keep: int = 256) -> None:
        self._ended: collections.deque[LoginsEnded] = collections.deque(maxlen=keep)
        self._count = 0

    def record(self, ended: LoginsEnded) -> None:
        """Remember one announcement."""
        self._ended.append(ended)
        self._count += 1

    def mark(self) -> int:
        """How many announcements were made so far."""
        return self._count

    def missed(self, mark: int, account_id: str | None, login_id: str | None) -> str | None:
        """The reason of an announcement since ``mark`` that ends this login, or None."""
        since = min(self._count - mark, len(self._ended))
        for ended in list(self._ended)[len(self._ended) - since :]:
            if ended.covers(account_id, login_id):
                return ended.reason
        return None
