"""What every platform service shares: the database, the clock, the settings, the hooks."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import attrs

from zhanye_sdk.clock import Clock, to_ms
from zhanye_sdk.platform.config import PlatformConfig
from zhanye_sdk.platform.login_end import LoginsEnded
from zhanye_sdk.ratelimit import Limiter, LocalLimiter
from zhanye_sdk.store.database import Database

__all__ = ["LoginEndListener", "RevocationListener", "ServiceContext", "new_id"]

#: Called with (account_id, reason) when every login of an account is revoked
#: (kick-out, disable, password reset, organization disabled).
RevocationListener = Callable[[str, str], Awaitable[None]]
#: Called whenever logins end, by any way (logout and expiry included).
LoginEndListener = Callable[[LoginsEnded], Awaitable[None]]
#: Called with (org_id) when an organization is disabled, to end its live sessions.
OrgDisabledListener = Callable[[str], Awaitable[None]]
#: Returns how many live sessions an organization has (the sessions service provides it).
LiveSessionCounter = Callable[[str], Awaitable[int]]


def new_id() -> str:
    """A random 128-bit id as 32 hex characters."""
    return secrets.token_hex(16)


@attrs.define
class ServiceContext:
    """Shared by the services of one ``Platform``."""

    db: Database
    clock: Clock
    config: PlatformConfig
    revocation_listeners: list[RevocationListener] = attrs.field(factory=list)
    org_disabled_listeners: list[OrgDisabledListener] = attrs.field(factory=list)
    live_session_counters: list[LiveSessionCounter] = attrs.field(factory=list)
    login_end_listeners: list[LoginEndListener] = attrs.field(factory=list)
    #: Per-client budgets (this process's; Redis's when several processes serve).
    limiter: Limiter = attrs.field(factory=LocalLimiter)

    def now_ms(self) -> int:
        """The clock's current time in stored form."""
        return to_ms(self.clock.now())

    async def announce_revocation(self, account_id: str, reason: str) -> None:
        """Tell every listener that an account's logins were revoked."""
        for listener in list(self.revocation_listeners):
            await listener(account_id, reason)
        await self.announce_logins_ended(LoginsEnded(account_id, reason))

    async def announce_logins_ended(self, ended: LoginsEnded) -> None:
        """Tell every listener that some logins ended (sockets close, pages are told)."""
        for listener in list(self.login_end_listeners):
            await listener(ended)
