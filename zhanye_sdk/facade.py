"""``Platform``: the directory services of one deployment, opened from a database URL.

It composes the platform layer (companies, organizations, accounts, logins) with the
material library and the SOP library built on it, so it sits above all three: the
platform package itself imports neither (``tests/test_architecture.py``).
"""

from __future__ import annotations

from types import TracebackType

from zhanye_sdk.clock import Clock, SystemClock
from zhanye_sdk.materials.service import MaterialService
from zhanye_sdk.materials.storage import MaterialStorage
from zhanye_sdk.platform.accounts import AccountService
from zhanye_sdk.platform.auth import AuthService
from zhanye_sdk.platform.companies import CompanyService
from zhanye_sdk.platform.config import PlatformConfig
from zhanye_sdk.platform.context import (
    LiveSessionCounter,
    LoginEndListener,
    OrgDisabledListener,
    RevocationListener,
    ServiceContext,
)
from zhanye_sdk.platform.login_end import LoginsEnded
from zhanye_sdk.platform.organizations import OrganizationService
from zhanye_sdk.ratelimit import Limiter
from zhanye_sdk.sop.service import SopService
from zhanye_sdk.store.database import Database, open_database

__all__ = ["Platform"]


class Platform:
    """Companies, organizations, accounts and logins over one database.

    Open with ``await Platform.open("sqlite:///zhanye.db")`` (or a ``postgresql://``
    URL); the schema is migrated on open. Every operation takes the acting
    ``Principal`` and enforces the manual's permission table itself.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: PlatformConfig,
        *,
        material_storage: MaterialStorage | None = None,
    ) -> None:
        self._ctx = ServiceContext(db=db, clock=clock, config=config)
        self.companies = CompanyService(self._ctx)
        self.organizations = OrganizationService(self._ctx)
        self.accounts = AccountService(self._ctx)
        self.auth = AuthService(self._ctx)
        self.materials = MaterialService(self._ctx, storage=material_storage)
        self.sop = SopService(self._ctx)

    @classmethod
    async def open(
        cls,
        url: str = "sqlite:///zhanye.db",
        *,
        config: PlatformConfig | None = None,
        clock: Clock | None = None,
        material_storage: MaterialStorage | None = None,
    ) -> Platform:
        """Open (creating and migrating as needed) the platform's database at ``url``.

        ``material_storage`` replaces the local material folder (e.g. an object store).
        """
        db = await open_database(url)
        return cls(
            db,
            clock or SystemClock(),
            config or PlatformConfig(),
            material_storage=material_storage,
        )

    @property
    def database(self) -> Database:
        """The open database (for services built on the platform)."""
        return self._ctx.db

    @property
    def clock(self) -> Clock:
        """The clock every service reads."""
        return self._ctx.clock

    def on_logins_revoked(self, listener: RevocationListener) -> None:
        """Call ``listener(account_id, reason)`` whenever an account's logins are revoked."""
        self._ctx.revocation_listeners.append(listener)

    def on_logins_ended(self, listener: LoginEndListener) -> None:
        """Call ``listener(LoginsEnded)`` whenever logins end, whatever the way (logout,
        password change, kick-out, disable, delete…); expiry is each holder's to watch."""
        self._ctx.login_end_listeners.append(listener)

    def share_limits(self, limiter: Limiter) -> None:
        """Keep per-client budgets (e.g. taken logins tried) in ``limiter``: Redis,
        shared by every process of a scale-out deployment."""
        self._ctx.limiter = limiter

    async def announce_logins_ended(self, ended: LoginsEnded) -> None:
        """Tell this process's listeners that logins ended (scale-out: another process
        ended them, and its announcement was relayed here)."""
        await self._ctx.announce_logins_ended(ended)

    def on_org_disabled(self, listener: OrgDisabledListener) -> None:
        """Call ``listener(org_id)`` when an organization is disabled."""
        self._ctx.org_disabled_listeners.append(listener)

    def count_live_sessions_with(self, counter: LiveSessionCounter) -> None:
        """Register how to count an organization's live sessions (used to refuse deletes)."""
        self._ctx.live_session_counters.append(counter)

    async def close(self) -> None:
        """Close the database."""
        await self._ctx.db.close()

    async def __aenter__(self) -> Platform:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
