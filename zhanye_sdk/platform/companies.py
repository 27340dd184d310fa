"""Companies (公司): created by the platform's super admin."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.clock import from_ms
from zhanye_sdk.errors import ConflictError
from zhanye_sdk.platform.context import ServiceContext, new_id
from zhanye_sdk.platform.models import Company
from zhanye_sdk.platform.permissions import NotAccessible, Operation, require
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.platform.validation import check_name
from zhanye_sdk.store.schema import companies

__all__ = ["CompanyService"]


def _company(row: Any) -> Company:
    return Company(id=row.id, name=row.name, created_at=from_ms(row.created_ms))


class CompanyService:
    """Create and read companies."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def create(self, actor: Principal, name: str) -> Company:
        """Create a company (super admin only).

        Raises:
            PermissionDenied: the actor is not the super admin.
            ConflictError: a company with this name exists.
        """
        require(actor, Operation.COMPANY_CREATE)
        name = check_name(name, what="company name", limit=128)
        company_id, created_ms = new_id(), self._ctx.now_ms()
        try:
            async with self._ctx.db.begin() as conn:
                await conn.execute(
                    companies.insert().values(id=company_id, name=name, created_ms=created_ms)
                )
        except IntegrityError as exc:
            raise ConflictError(f"a company named {name!r} exists already") from exc
        return Company(id=company_id, name=name, created_at=from_ms(created_ms))

    async def get(self, actor: Principal, company_id: str) -> Company:
        """One company: the actor's own, or any for the super admin."""
        require(actor, Operation.COMPANY_VIEW)
        if actor.role is not Role.SUPER_ADMIN and company_id != actor.company_id:
            raise NotAccessible("company", company_id)
        async with self._ctx.db.connect() as conn:
            row = (
                await conn.execute(sa.select(companies).where(companies.c.id == company_id))
            ).first()
        if row is None:
            raise NotAccessible("company", company_id)
        return _company(row)

    async def list(self, actor: Principal) -> list[Company]:
        """Every company the actor can see, by name."""
        require(actor, Operation.COMPANY_VIEW)
        query = sa.select(companies).order_by(companies.c.name)
        if actor.role is not Role.SUPER_ADMIN:
            query = query.where(companies.c.id == actor.company_id)
        async with self._ctx.db.connect() as conn:
            return [_company(r) for r in await conn.execute(query)]
