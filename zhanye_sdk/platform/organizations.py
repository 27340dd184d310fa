"""Organizations (机构): service windows, create / edit / delete / disable."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.clock import from_ms
from zhanye_sdk.errors import ConflictError, InvalidInput
from zhanye_sdk.platform.context import ServiceContext, new_id
from zhanye_sdk.platform.hours import (
    ServiceHours,
    ServiceWindow,
    check_service_hours,
    parse_clock_time,
)
from zhanye_sdk.platform.models import Organization
from zhanye_sdk.platform.permissions import NotAccessible, Operation, in_org_scope, require
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.platform.validation import check_name
from zhanye_sdk.store.schema import accounts, companies, login_tokens, organizations

__all__ = ["OrganizationService"]


def _window(start: str | None, end: str | None) -> ServiceWindow | None:
    if start is None or end is None:
        return None
    # Stored windows are read as they were saved (an older one may run past midnight).
    return ServiceWindow(parse_clock_time(start), parse_clock_time(end))


def organization_from_row(row: Any) -> Organization:
    """Build an ``Organization`` from a stored row."""
    hours = ServiceHours(
        morning=_window(row.morning_start, row.morning_end),
        afternoon=_window(row.afternoon_start, row.afternoon_end),
        timezone=row.timezone,
    )
    return Organization(
        id=row.id,
        company_id=row.company_id,
        name=row.name,
        hours=hours,
        disabled=bool(row.disabled),
        created_at=from_ms(row.created_ms),
        created_by=getattr(row, "created_by_name", None),
        company_name=getattr(row, "company_name", None),
    )


def _hours_columns(hours: ServiceHours) -> dict[str, Any]:
    def text(window: ServiceWindow | None, end: bool) -> str | None:
        if window is None:
            return None
        return f"{window.end if end else window.start:%H:%M:%S}"

    return {
        "morning_start": text(hours.morning, False),
        "morning_end": text(hours.morning, True),
        "afternoon_start": text(hours.afternoon, False),
        "afternoon_end": text(hours.afternoon, True),
        "timezone": hours.timezone,
    }


class OrganizationService:
    """Organizations of a company, seen and managed through the actor's role."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def create(
        self,
        actor: Principal,
        name: str,
        *,
        hours: ServiceHours | None = None,
        company_id: str | None = None,
    ) -> Organization:
        """Create an organization in the actor's company (the super admin names the company).

        Raises:
            PermissionDenied: the actor may not manage organizations.
            ConflictError: the company has an organization of that name.
        """
        require(actor, Operation.ORG_CREATE)
        if actor.role is not Role.SUPER_ADMIN:
            company_id = actor.company_id
        if company_id is None:
            raise InvalidInput("company_id is required", zh="请先选择公司")
        name = check_name(name, what="organization name", limit=128)
        hours = (hours or ServiceHours(timezone=self._ctx.config.default_timezone)).checked()
        row = {
            "id": new_id(),
            "company_id": company_id,
            "name": name,
            "disabled": False,
            "created_ms": self._ctx.now_ms(),
            "created_by": actor.account_id,
            "created_by_name": actor.login or None,
            **_hours_columns(hours),
        }
        try:
            async with self._ctx.db.begin() as conn:
                await conn.execute(organizations.insert().values(**row))
        except IntegrityError as exc:
            raise ConflictError(
                f"an organization named {name!r} exists already",
                zh=f"已有名为“{name}”的机构，请换一个名称",
            ) from exc
        return organization_from_row(SimpleNamespace(**row))

    async def _load(self, conn: Any, actor: Principal, org_id: str) -> Organization:
        row = (
            await conn.execute(sa.select(organizations).where(organizations.c.id == org_id))
        ).first()
        if row is None or not in_org_scope(actor, row.company_id, row.id):
            raise NotAccessible("organization", org_id)
        return organization_from_row(row)

    async def get(self, actor: Principal, org_id: str) -> Organization:
        """One organization inside the actor's scope."""
        require(actor, Operation.ORG_VIEW)
        async with self._ctx.db.connect() as conn:
            return await self._load(conn, actor, org_id)

    async def list(self, actor: Principal) -> list[Organization]:
        """The organizations the actor can see, by name."""
        require(actor, Operation.ORG_VIEW)
        query = (
            sa.select(organizations, companies.c.name.label("company_name"))
            .join(companies, companies.c.id == organizations.c.company_id)
            .order_by(organizations.c.name)
        )
        if actor.role is not Role.SUPER_ADMIN:
            query = query.where(organizations.c.company_id == actor.company_id)
            if actor.role is not Role.COMPANY_ADMIN:
                query = query.where(organizations.c.id == actor.org_id)
        async with self._ctx.db.connect() as conn:
            return [organization_from_row(r) for r in await conn.execute(query)]

    async def edit(
        self,
        actor: Principal,
        org_id: str,
        *,
        name: str | None = None,
        hours: ServiceHours | None = None,
    ) -> Organization:
        """Rename an organization or change its service windows.

        Raises:
            InvalidInput: a window does not end after it starts, or the name is bad.
        """
        require(actor, Operation.ORG_EDIT)
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = check_name(name, what="organization name", limit=128)
        if hours is not None:
            values.update(_hours_columns(hours.checked()))
        try:
            async with self._ctx.db.begin() as conn:
                await self._load(conn, actor, org_id)
                if values:
                    await conn.execute(
                        organizations.update().where(organizations.c.id == org_id).values(**values)
                    )
                return await self._load(conn, actor, org_id)
        except IntegrityError as exc:
            raise ConflictError(
                f"an organization named {name!r} exists already",
                zh=f"已有名为“{name}”的机构，请换一个名称",
            ) from exc

    async def delete(self, actor: Principal, org_id: str) -> None:
        """Delete an organization that has no accounts and no live sessions.

        Raises:
            ConflictError: it still has accounts or live sessions (the message says which).
        """
        require(actor, Operation.ORG_DELETE)
        async with self._ctx.db.begin() as conn:
            org = await self._load(conn, actor, org_id)
            count = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(accounts)
                    .where(accounts.c.org_id == org_id)
                )
            ).scalar_one()
            if count:
                raise ConflictError(
                    f"organization {org.name!r} still has {count} account(s); "
                    "move or delete them first",
                    zh=f"机构“{org.name}”下还有 {count} 个账号，请先移走或删除这些账号",
                )
            live = 0
            for counter in self._ctx.live_session_counters:
                live += await counter(org_id)
            if live:
                raise ConflictError(
                    f"organization {org.name!r} has {live} live session(s); end them first",
                    zh=f"机构“{org.name}”还有 {live} 个进行中的会话，请先结束这些会话",
                )
            await conn.execute(organizations.delete().where(organizations.c.id == org_id))

    async def set_disabled(self, actor: Principal, org_id: str, disabled: bool) -> Organization:
        """Disable (or enable) an organization.

        Disabling revokes every login of its accounts (they cannot log in while it is
        disabled) and tells the session layer to end its live sessions (``org_disabled``).
        """
        require(actor, Operation.ORG_DISABLE)
        async with self._ctx.db.begin() as conn:
            await self._load(conn, actor, org_id)
            await conn.execute(
                organizations.update().where(organizations.c.id == org_id).values(disabled=disabled)
            )
            member_ids = [
                r.id
                for r in await conn.execute(
                    sa.select(accounts.c.id).where(accounts.c.org_id == org_id)
                )
            ]
            if disabled and member_ids:
                await conn.execute(
                    login_tokens.update()
                    .where(login_tokens.c.account_id.in_(member_ids))
                    .where(login_tokens.c.revoked_ms.is_(None))
                    .values(revoked_ms=self._ctx.now_ms())
                )
            org = await self._load(conn, actor, org_id)
        if disabled:
            for account_id in member_ids:
                await self._ctx.announce_revocation(account_id, "org_disabled")
            for listener in list(self._ctx.org_disabled_listeners):
                await listener(org_id)
        return org

    @property
    def default_timezone(self) -> str:
        """The zone of an organization created without one (and of actors without one)."""
        return self._ctx.config.default_timezone

    async def timezone_of(self, actor: Principal) -> str:
        """The time zone the actor's pages show times in: their organization's, else the
        platform's default (``PlatformConfig.default_timezone``, Asia/Shanghai)."""
        if actor.org_id is not None:
            async with self._ctx.db.connect() as conn:
                zone = (
                    await conn.execute(
                        sa.select(organizations.c.timezone).where(
                            organizations.c.id == actor.org_id
                        )
                    )
                ).scalar()
            if zone:
                return str(zone)
        return self._ctx.config.default_timezone

    async def check_open(self, org_id: str, moment: datetime | None = None) -> None:
        """Raise ``OutsideServiceHours`` unless the organization serves at ``moment`` (now)."""
        async with self._ctx.db.connect() as conn:
            row = (
                await conn.execute(sa.select(organizations).where(organizations.c.id == org_id))
            ).first()
        if row is None:
            raise NotAccessible("organization", org_id)
        org = organization_from_row(row)
        check_service_hours(org.name, org.hours, moment or self._ctx.clock.now())
