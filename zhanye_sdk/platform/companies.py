"""Companies (公司): created, and their codes changed, by the platform's super admin."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.clock import from_ms
from zhanye_sdk.errors import ConflictError
from zhanye_sdk.platform.context import ServiceContext, new_id
from zhanye_sdk.platform.logins import check_company_code, new_company_code
from zhanye_sdk.platform.models import Company
from zhanye_sdk.platform.permissions import NotAccessible, Operation, require
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.platform.validation import check_name
from zhanye_sdk.store.schema import companies

__all__ = ["CompanyService"]


def _company(row: Any) -> Company:
    return Company(
        id=row.id, name=row.name, created_at=from_ms(row.created_ms), code=row.code or ""
    )


class CompanyService:
    """Create and read companies, and change their codes."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def create(self, actor: Principal, name: str, *, code: str | None = None) -> Company:
        """Create a company (super admin only).

        ``code`` (公司代码) is what its people add to their login at sign-in
        (``login@code``); a random one is chosen when it is not given. The first company
        created is the platform's home company: its people sign in with the bare login.

        Raises:
            PermissionDenied: the actor is not the super admin.
            ConflictError: a company with this name or code exists.
            InvalidInput: the name or the code is malformed.
        """
        require(actor, Operation.COMPANY_CREATE)
        name = check_name(name, what="company name", limit=128)
        chosen = check_company_code(code) if code is not None else None
        created_ms = self._ctx.now_ms()
        for _ in range(8):
            company_id, company_code = new_id(), chosen or new_company_code()
            async with self._ctx.db.begin() as conn:
                clash = await conn.execute(
                    sa.select(companies.c.name, companies.c.code).where(
                        sa.or_(companies.c.name == name, companies.c.code == company_code)
                    )
                )
                names = {row.name for row in clash}
                if name in names:
                    raise ConflictError(
                        f"a company named {name!r} exists already", zh=f"公司“{name}”已存在"
                    )
                if names and chosen is not None:
                    raise ConflictError(
                        f"the company code {chosen!r} is taken", zh=f"公司代码“{chosen}”已被使用"
                    )
                if names:
                    continue  # a random code that is taken: draw again
                first = (await conn.execute(sa.select(companies.c.id).limit(1))).first() is None
                try:
                    await conn.execute(
                        companies.insert().values(
                            id=company_id,
                            name=name,
                            created_ms=created_ms,
                            code=company_code,
                            home=first,
                        )
                    )
                except IntegrityError as exc:
                    raise ConflictError(
                        f"a company named {name!r} or coded {company_code!r} exists already",
                        zh="公司名称或公司代码已被使用",
                    ) from exc
            return Company(
                id=company_id, name=name, created_at=from_ms(created_ms), code=company_code
            )
        raise ConflictError("no free company code found; give one", zh="请指定公司代码")

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

    async def set_code(self, actor: Principal, company_id: str, code: str) -> Company:
        """Change a company's code (公司代码; super admin only): from now on its people sign
        in as ``login@<code>``, and the old code signs nobody in. Who is signed in stays so.

        Raises:
            PermissionDenied: the actor is not the super admin.
            NotAccessible: there is no such company.
            InvalidInput: the code is malformed.
            ConflictError: another company has this code.
        """
        require(actor, Operation.COMPANY_EDIT)
        code = check_company_code(code)
        taken = ConflictError(f"the company code {code!r} is taken", zh=f"公司代码“{code}”已被使用")
        async with self._ctx.db.begin() as conn:
            row = (
                await conn.execute(sa.select(companies).where(companies.c.id == company_id))
            ).first()
            if row is None:
                raise NotAccessible("company", company_id)
            if row.code == code:
                return _company(row)
            clash = await conn.execute(
                sa.select(companies.c.id).where(
                    companies.c.code == code, companies.c.id != company_id
                )
            )
            if clash.first() is not None:
                raise taken
            try:
                await conn.execute(
                    companies.update().where(companies.c.id == company_id).values(code=code)
                )
            except IntegrityError as exc:  # taken meanwhile
                raise taken from exc
        return Company(id=row.id, name=row.name, created_at=from_ms(row.created_ms), code=code)
