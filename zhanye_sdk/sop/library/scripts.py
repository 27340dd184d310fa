"""Scripts (话术): what a salesperson says, with the keywords that find it.

Part of ``SopService`` (``zhanye_sdk.sop.service``), which joins one class per entity.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

import attrs
import sqlalchemy as sa

from zhanye_sdk.platform.context import new_id
from zhanye_sdk.platform.permissions import Operation, require
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.platform.validation import check_name
from zhanye_sdk.sop.library.base import (
    LibraryBase,
    company_of,
    content_from,
    keywords_from,
    script_from_row,
)
from zhanye_sdk.sop.models import (
    Script,
)
from zhanye_sdk.store.schema import (
    sop_script_categories,
    sop_scripts,
)

__all__ = ["ScriptLibrary"]


class ScriptLibrary(LibraryBase):
    """Scripts (话术) of the SOP library, seen through the acting principal."""

    async def create_script(
        self,
        actor: Principal,
        category_id: str,
        name: str,
        keywords: Sequence[str] | str,
        content: str,
    ) -> Script:
        """Add a script (话术) to a category.

        Raises:
            PermissionDenied, NotAccessible, InvalidInput: as for categories.
        """
        require(actor, Operation.SOP_MANAGE)
        company = company_of(actor)
        script = Script(
            id=new_id(),
            category_id=category_id,
            name=check_name(name, what="script name"),
            keywords=keywords_from(keywords),
            content=content_from(content),
            updated_at=self._ctx.clock.now(),
        )
        async with self._ctx.db.begin() as conn:
            await self._category_row(conn, company, category_id)
            await conn.execute(
                sop_scripts.insert().values(
                    id=script.id,
                    company_id=company,
                    category_id=category_id,
                    name=script.name,
                    keywords=",".join(script.keywords),
                    content=script.content,
                    updated_ms=self._ctx.now_ms(),
                )
            )
        return script

    async def update_script(
        self,
        actor: Principal,
        script_id: str,
        *,
        name: str | None = None,
        keywords: Sequence[str] | str | None = None,
        content: str | None = None,
        category_id: str | None = None,
    ) -> Script:
        """Change a script's fields (those given)."""
        require(actor, Operation.SOP_MANAGE)
        company = company_of(actor)
        async with self._ctx.db.begin() as conn:
            current = script_from_row(await self._script_row(conn, company, script_id))
            if category_id is not None:
                await self._category_row(conn, company, category_id)
            updated = attrs.evolve(
                current,
                name=check_name(name, what="script name") if name is not None else current.name,
                keywords=keywords_from(keywords) if keywords is not None else current.keywords,
                content=content_from(content) if content is not None else current.content,
                category_id=category_id or current.category_id,
                updated_at=self._ctx.clock.now(),
            )
            await conn.execute(
                sop_scripts.update()
                .where(sop_scripts.c.id == script_id)
                .values(
                    name=updated.name,
                    keywords=",".join(updated.keywords),
                    content=updated.content,
                    category_id=updated.category_id,
                    updated_ms=self._ctx.now_ms(),
                )
            )
        return updated

    async def delete_script(self, actor: Principal, script_id: str) -> None:
        """Delete a script."""
        require(actor, Operation.SOP_MANAGE)
        company = company_of(actor)
        async with self._ctx.db.begin() as conn:
            await self._script_row(conn, company, script_id)
            await conn.execute(sop_scripts.delete().where(sop_scripts.c.id == script_id))

    async def scripts(
        self, actor: Principal, *, category_id: str | None = None, keyword: str | None = None
    ) -> builtins.list[Script]:
        """Scripts of the company, newest update first: in a category (and its
        subcategories) and/or whose name, keywords or content contain ``keyword``."""
        company = company_of(actor)
        where = [sop_scripts.c.company_id == company]
        async with self._ctx.db.connect() as conn:
            if category_id is not None:
                await self._category_row(conn, company, category_id)
                children = sa.select(sop_script_categories.c.id).where(
                    sop_script_categories.c.parent_id == category_id
                )
                where.append(
                    sa.or_(
                        sop_scripts.c.category_id == category_id,
                        sop_scripts.c.category_id.in_(children),
                    )
                )
            if keyword and keyword.strip():
                like = (
                    "%"
                    + keyword.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                    + "%"
                )
                where.append(
                    sa.or_(
                        sop_scripts.c.name.like(like, escape="\\"),
                        sop_scripts.c.keywords.like(like, escape="\\"),
                        sop_scripts.c.content.like(like, escape="\\"),
                    )
                )
            rows = (
                await conn.execute(
                    sa.select(sop_scripts)
                    .where(*where)
                    .order_by(sop_scripts.c.updated_ms.desc(), sop_scripts.c.id)
                )
            ).all()
        return [script_from_row(r) for r in rows]
