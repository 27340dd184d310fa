"""Waiting for a login to end by time: its expiry, or a revocation made elsewhere.

Revocations made in this process are announced (``Platform.on_logins_ended``) and
close sockets at once; this watch covers what no announcement reaches: the login's
expiry, and a revocation by another host process (found by re-checking the store).
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.login_end import EndReason
from zhanye_sdk.platform.roles import Principal

__all__ = ["REVOKED", "watch_login"]

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
