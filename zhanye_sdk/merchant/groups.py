"""Customer groups (客户分组): created, renamed, deleted, filled and browsed at the desk.

A group that still has customers is not deleted: the desk is told how many are in it
and takes them out first, so nobody silently drops out of a bulk SMS list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound
from zhanye_sdk.merchant.schema import customer_groups, customers, groups
from zhanye_sdk.store.database import Database

__all__ = ["CustomerGroups", "Group", "check_group_name"]

# The bulk SMS form splits a list of groups on these: a name may not hold them.
_SEPARATORS = re.compile(r"[,，、;；\n\r]")
_MAX_ASSIGN = 1000


@attrs.frozen
class Group:
    """A customer group and how many customers are in it."""

    id: int
    name: str
    members: int


def check_group_name(name: str) -> str:
    """A group's name, trimmed and checked: 1–32 characters, no list separators.

    Raises:
        InvalidInput: empty, too long, or holding a comma, 、 or semicolon.
    """
    text = name.strip()
    if not 1 <= len(text) <= 32:
        raise InvalidInput(
            f"a group name is 1–32 characters, got {name!r}",
            zh=f"分组名称须为 1–32 个字符（“{text[:40]}”不符合）",
        )
    if _SEPARATORS.search(text):
        raise InvalidInput(
            f"a group name may not hold commas, 、 or semicolons: {text!r}",
            zh=f"分组名称不能含逗号、顿号或分号（“{text}”）",
        )
    return text


def _missing_group(group_id: int) -> NotFound:
    return NotFound(
        f"group {group_id} not found", zh="找不到该客户分组，它可能已被删除，请刷新后重试"
    )


def _taken(name: str) -> ConflictError:
    return ConflictError(
        f"a group named {name!r} exists already", zh=f"已有名为“{name}”的客户分组，请换一个名称"
    )


class CustomerGroups:
    """The shop's customer groups and who is in them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[Group]:
        """Every group with its member count, by name."""
        count = sa.func.count(customer_groups.c.customer_id)
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(groups.c.id, groups.c.name, count.label("members"))
                .select_from(groups.outerjoin(customer_groups))
                .group_by(groups.c.id, groups.c.name)
                .order_by(groups.c.name)
            )
            return [Group(r.id, r.name, int(r.members)) for r in rows]

    async def get(self, group_id: int) -> Group:
        """One group by id.

        Raises:
            NotFound: no such group.
        """
        for group in await self.all():
            if group.id == group_id:
                return group
        raise _missing_group(group_id)

    async def create(self, name: str) -> Group:
        """A new, empty group.

        Raises:
            InvalidInput: a bad name. ConflictError: a group has that name already.
        """
        text = check_group_name(name)
        try:
            async with self._db.begin() as conn:
                result = await conn.execute(groups.insert().values(name=text))
        except IntegrityError as exc:
            raise _taken(text) from exc
        return Group(int(result.inserted_primary_key[0]), text, 0)

    async def rename(self, group_id: int, name: str) -> Group:
        """Give a group another name (its customers stay in it).

        Raises:
            InvalidInput: a bad name. NotFound: no such group.
            ConflictError: another group has that name.
        """
        text = check_group_name(name)
        try:
            async with self._db.begin() as conn:
                result = await conn.execute(
                    groups.update().where(groups.c.id == group_id).values(name=text)
                )
        except IntegrityError as exc:
            raise _taken(text) from exc
        if not result.rowcount:
            raise _missing_group(group_id)
        return await self.get(group_id)

    async def delete(self, group_id: int) -> None:
        """Delete an empty group.

        Raises:
            ConflictError: customers are still in it (they are never dropped silently).
            NotFound: no such group.
        """
        async with self._db.begin() as conn:
            row = (
                await conn.execute(sa.select(groups.c.name).where(groups.c.id == group_id))
            ).first()
            if row is None:
                raise _missing_group(group_id)
            members = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(customer_groups)
                    .where(customer_groups.c.group_id == group_id)
                )
            ).scalar_one()
            if members:
                raise ConflictError(
                    f"group {row.name!r} still has {members} customers; take them out first",
                    zh=f"分组“{row.name}”中还有 {members} 位客户，请先将他们移出该分组再删除",
                )
            await conn.execute(groups.delete().where(groups.c.id == group_id))

    async def assign(self, group_id: int, customer_ids: Sequence[int]) -> Group:
        """Put one or several customers in a group at once (those already in it stay).

        Raises:
            InvalidInput: no customers, or more than 1000 at once.
            NotFound: no such group, or one of the customers does not exist (then
                nobody is added).
        """
        wanted = list(dict.fromkeys(customer_ids))
        if not wanted or len(wanted) > _MAX_ASSIGN:
            raise InvalidInput(
                f"choose 1–{_MAX_ASSIGN} customers", zh=f"请选择 1–{_MAX_ASSIGN} 位客户再加入分组"
            )
        async with self._db.begin() as conn:
            await self._require(conn, group_id)
            known = {
                r.id
                for r in await conn.execute(
                    sa.select(customers.c.id).where(customers.c.id.in_(wanted))
                )
            }
            missing = [i for i in wanted if i not in known]
            if missing:
                raise NotFound(
                    f"customers not found: {missing}",
                    zh="有客户找不到了（可能已被删除），请刷新后重试",
                )
            present = {
                r.customer_id
                for r in await conn.execute(
                    sa.select(customer_groups.c.customer_id).where(
                        customer_groups.c.group_id == group_id
                    )
                )
            }
            new = [i for i in wanted if i not in present]
            if new:
                await conn.execute(
                    customer_groups.insert(),
                    [{"customer_id": i, "group_id": group_id} for i in new],
                )
        return await self.get(group_id)

    async def remove(self, group_id: int, customer_id: int) -> None:
        """Take a customer out of a group.

        Raises:
            NotFound: no such group.
        """
        async with self._db.begin() as conn:
            await self._require(conn, group_id)
            await conn.execute(
                customer_groups.delete()
                .where(customer_groups.c.group_id == group_id)
                .where(customer_groups.c.customer_id == customer_id)
            )

    async def set_for_customer(self, customer_id: int, group_ids: Sequence[int]) -> None:
        """The groups a customer is in, exactly these (the card's 所属客户分组).

        Raises:
            NotFound: no such customer, or a group that does not exist.
        """
        wanted = set(group_ids)
        async with self._db.begin() as conn:
            found = (
                await conn.execute(sa.select(customers.c.id).where(customers.c.id == customer_id))
            ).first()
            if found is None:
                raise NotFound(
                    f"customer {customer_id} not found",
                    zh="找不到该顾客，可能已被删除，请刷新后重试",
                )
            known = {
                r.id
                for r in await conn.execute(sa.select(groups.c.id).where(groups.c.id.in_(wanted)))
            }
            if known != wanted:
                raise _missing_group(min(wanted - known))
            await conn.execute(
                customer_groups.delete().where(customer_groups.c.customer_id == customer_id)
            )
            if wanted:
                await conn.execute(
                    customer_groups.insert(),
                    [{"customer_id": customer_id, "group_id": g} for g in sorted(wanted)],
                )

    async def of_customer(self, customer_id: int) -> list[Group]:
        """The groups a customer is in, by name."""
        async with self._db.connect() as conn:
            ids = {
                r.group_id
                for r in await conn.execute(
                    sa.select(customer_groups.c.group_id).where(
                        customer_groups.c.customer_id == customer_id
                    )
                )
            }
        return [g for g in await self.all() if g.id in ids]

    async def member_ids(self, group_id: int) -> list[int]:
        """The ids of a group's customers, in the order they were captured.

        Raises:
            NotFound: no such group.
        """
        async with self._db.connect() as conn:
            await self._require(conn, group_id)
            rows = await conn.execute(
                sa.select(customer_groups.c.customer_id)
                .where(customer_groups.c.group_id == group_id)
                .order_by(customer_groups.c.customer_id)
            )
            return [r.customer_id for r in rows]

    @staticmethod
    async def _require(conn: Any, group_id: int) -> None:
        found = (await conn.execute(sa.select(groups.c.id).where(groups.c.id == group_id))).first()
        if found is None:
            raise _missing_group(group_id)
