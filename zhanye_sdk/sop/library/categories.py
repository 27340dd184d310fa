"""Script categories (话术分类): a company's tree of categories.

Part of ``SopService`` (``zhanye_sdk.sop.service``), which joins one class per entity.
"""

from __future__ import annotations

import builtins

import sqlalchemy as sa

from zhanye_sdk.errors import ConflictError, InvalidInput
from zhanye_sdk.platform.context import new_id
from zhanye_sdk.platform.permissions import Operation, require
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.platform.validation import check_name
from zhanye_sdk.sop.library.base import (
    LibraryBase,
    company_of,
)
from zhanye_sdk.sop.models import (
    ScriptCategory,
)
from zhanye_sdk.store.schema import (
    sop_script_categories,
    sop_scripts,
)

__all__ = ["CategoryLibrary"]


class CategoryLibrary(LibraryBase):
    """Script categories (话术分类) of the SOP library, seen through the acting principal."""

    async def create_category(
        self, actor: Principal, name: str, parent_id: str | None = None
    ) -> ScriptCategory:
        """Add a category at the end of ``parent_id``'s children (top level when None).

        Raises:
            PermissionDenied: not a company admin.
            NotAccessible: the parent is missing or another company's.
            InvalidInput: a bad name, or a third level (the tree has two).
            ConflictError: a category of that name exists at that level already (two
                categories side by side with one name could not be told apart).
        """
        require(actor, Operation.SOP_MANAGE)
        company = company_of(actor)
        name = check_name(name, what="category name")
        async with self._ctx.db.begin() as conn:
            if parent_id is not None:
                parent = await self._category_row(conn, company, parent_id)
                if parent.parent_id is not None:
                    raise InvalidInput(
                        "categories nest two levels deep at most",
                        zh="话术分类最多两级，请选择一级分类作为上级",
                    )
            siblings = sop_script_categories.c.parent_id
            same_level = siblings.is_(None) if parent_id is None else siblings == parent_id
            taken = (
                await conn.execute(
                    sa.select(sop_script_categories.c.id).where(
                        sop_script_categories.c.company_id == company,
                        same_level,
                        sa.func.lower(sop_script_categories.c.name) == name.lower(),
                    )
                )
            ).first()
            if taken is not None:
                raise ConflictError(
                    f"a category named {name!r} exists at this level already",
                    zh=f"已有名为“{name}”的话术分类，请换一个名称",
                )
            count = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(sop_script_categories)
                    .where(sop_script_categories.c.company_id == company, same_level)
                )
            ).scalar_one()
            category = ScriptCategory(new_id(), name, parent_id, int(count))
            await conn.execute(
                sop_script_categories.insert().values(
                    id=category.id,
                    company_id=company,
                    parent_id=parent_id,
                    name=name,
                    position=category.position,
                    created_ms=self._ctx.now_ms(),
                )
            )
        return category

    async def categories(self, actor: Principal) -> builtins.list[ScriptCategory]:
        """The company's categories, parents before their children, each level in order."""
        company = company_of(actor)
        async with self._ctx.db.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(sop_script_categories)
                    .where(sop_script_categories.c.company_id == company)
                    .order_by(sop_script_categories.c.position, sop_script_categories.c.id)
                )
            ).all()
        top = [r for r in rows if r.parent_id is None]
        out: list[ScriptCategory] = []
        for parent in top:
            out.append(ScriptCategory(parent.id, parent.name, None, parent.position))
            out.extend(
                ScriptCategory(r.id, r.name, r.parent_id, r.position)
                for r in rows
                if r.parent_id == parent.id
            )
        return out

    async def delete_category(self, actor: Principal, category_id: str) -> None:
        """Delete an empty category.

        Raises:
            ConflictError: it still has subcategories or scripts.
        """
        require(actor, Operation.SOP_MANAGE)
        company = company_of(actor)
        async with self._ctx.db.begin() as conn:
            await self._category_row(conn, company, category_id)
            for table, column in (
                (sop_script_categories, sop_script_categories.c.parent_id),
                (sop_scripts, sop_scripts.c.category_id),
            ):
                used = (
                    await conn.execute(
                        sa.select(sa.func.count()).select_from(table).where(column == category_id)
                    )
                ).scalar_one()
                if used:
                    raise ConflictError(
                        "the category is not empty: move or delete its content",
                        zh="该分类下还有内容，请先移走或删除其中的子分类和话术",
                    )
            await conn.execute(
                sop_script_categories.delete().where(sop_script_categories.c.id == category_id)
            )
