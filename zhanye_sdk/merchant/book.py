"""The customer book (客户资料): every caller captured, edited, grouped, found."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.clock import Clock, from_ms, to_ms
from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound
from zhanye_sdk.merchant.initials import name_initials
from zhanye_sdk.merchant.money import parse_rate
from zhanye_sdk.merchant.numbers import normalize_number
from zhanye_sdk.merchant.schema import calls, customer_groups, customers, groups, levels
from zhanye_sdk.store.database import Database

__all__ = ["UNKNOWN_NAME", "CallRecord", "Customer", "CustomerBook", "Level", "normalize_number"]

#: How a captured number without a name is shown (未知客户).
UNKNOWN_NAME = "未知客户"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EDITABLE = ("name", "gender", "company", "customer_type", "birthday", "notes")
# The editable fields as the desk labels them.
_FIELD_ZH = {
    "name": "姓名",
    "gender": "性别",
    "company": "单位",
    "customer_type": "客户类型",
    "birthday": "生日",
    "notes": "备注",
}


@attrs.frozen
class Level:
    """A membership level with its discount rate (0.88 = 88 折)."""

    id: int
    name: str
    discount: Decimal


@attrs.frozen
class Customer:
    """A customer card."""

    id: int
    phone: str
    name: str | None
    gender: str | None
    company: str | None
    customer_type: str | None
    birthday: str | None
    notes: str | None
    level: Level | None
    groups: tuple[str, ...]
    opted_out: bool
    created_at: datetime

    @property
    def display_name(self) -> str:
        """The name, or 未知客户 for a captured number nobody has named yet."""
        return self.name or UNKNOWN_NAME


@attrs.frozen
class CallRecord:
    """One call in a customer's history, with the conversation notes."""

    id: int
    phone: str
    direction: str
    outcome: str
    started_at: datetime
    duration_s: int
    notes: str | None
    #: The desk phone's line: ``gsm`` (the SIM's) or ``pstn`` (the landline port).
    line: str = "gsm"


def _like(text: str) -> str:
    """``text`` for a LIKE pattern with ``\\`` as the escape: ``%`` and ``_`` are literal."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CustomerBook:
    """Customers, groups, levels and call history in the desk's database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def _now(self) -> int:
        return to_ms(self._clock.now())

    # ---- levels ---------------------------------------------------------------------

    async def add_level(self, name: str, discount: str) -> Level:
        """A membership level (e.g. 金卡, "0.88")."""
        name, rate = _level_fields(name, discount)
        try:
            async with self._db.begin() as conn:
                result = await conn.execute(levels.insert().values(name=name, discount=str(rate)))
        except IntegrityError as exc:
            raise ConflictError(
                f"a level named {name!r} exists already",
                zh=f"已有名为“{name}”的会员等级，请换一个名称",
            ) from exc
        return Level(int(result.inserted_primary_key[0]), name, rate)

    async def update_level(self, level_id: int, name: str, discount: str) -> Level:
        """Rename a level or change its discount rate (applies to later bills only).

        Raises:
            InvalidInput: a bad name or rate. NotFound: no such level.
            ConflictError: another level has that name.
        """
        name, rate = _level_fields(name, discount)
        try:
            async with self._db.begin() as conn:
                result = await conn.execute(
                    levels.update()
                    .where(levels.c.id == level_id)
                    .values(name=name, discount=str(rate))
                )
        except IntegrityError as exc:
            raise ConflictError(
                f"a level named {name!r} exists already",
                zh=f"已有名为“{name}”的会员等级，请换一个名称",
            ) from exc
        if not result.rowcount:
            raise NotFound(
                f"level {level_id} not found", zh="找不到该会员等级，它可能已被删除，请刷新后重试"
            )
        return Level(level_id, name, rate)

    async def levels(self) -> list[Level]:
        """Every level, by name."""
        async with self._db.connect() as conn:
            rows = await conn.execute(sa.select(levels).order_by(levels.c.name))
            return [Level(r.id, r.name, Decimal(r.discount)) for r in rows]

    # ---- customers ------------------------------------------------------------------

    async def _load(self, conn: Any, where: Any) -> Customer | None:
        row = (
            await conn.execute(
                sa.select(customers, levels.c.name.label("level_name"), levels.c.discount)
                .select_from(customers.outerjoin(levels))
                .where(where)
            )
        ).first()
        if row is None:
            return None
        names = await conn.execute(
            sa.select(groups.c.name)
            .select_from(customer_groups.join(groups))
            .where(customer_groups.c.customer_id == row.id)
            .order_by(groups.c.name)
        )
        level = Level(row.level_id, row.level_name, Decimal(row.discount)) if row.level_id else None
        return Customer(
            id=row.id,
            phone=row.phone,
            name=row.name,
            gender=row.gender,
            company=row.company,
            customer_type=row.customer_type,
            birthday=row.birthday,
            notes=row.notes,
            level=level,
            groups=tuple(r.name for r in names),
            opted_out=bool(row.opted_out),
            created_at=from_ms(row.created_ms),
        )

    async def capture(self, phone: str) -> tuple[Customer, bool]:
        """The customer with this number, created as 未知客户 if new; and whether it is new."""
        number = normalize_number(phone)
        now = self._now()
        async with self._db.begin() as conn:
            existing = await self._load(conn, customers.c.phone == number)
            if existing is not None:
                return existing, False
            try:
                await conn.execute(
                    customers.insert().values(
                        phone=number, initials="", opted_out=False, created_ms=now, updated_ms=now
                    )
                )
            except IntegrityError:
                pass  # captured by a concurrent call: load it below
            created = await self._load(conn, customers.c.phone == number)
        assert created is not None
        return created, True

    async def get(self, customer_id: int) -> Customer:
        """One customer by id."""
        async with self._db.connect() as conn:
            found = await self._load(conn, customers.c.id == customer_id)
        if found is None:
            raise NotFound(
                f"customer {customer_id} not found", zh="找不到该顾客，可能已被删除，请刷新后重试"
            )
        return found

    async def by_phone(self, phone: str) -> Customer | None:
        """The customer with this number, if known."""
        async with self._db.connect() as conn:
            return await self._load(conn, customers.c.phone == normalize_number(phone))

    @staticmethod
    def clean_fields(**fields: str | None) -> dict[str, Any]:
        """Check editable fields and return the values to store.

        Raises:
            InvalidInput: an unknown field, a bad birthday (not YYYY-MM-DD) or text too long.
        """
        unknown = set(fields) - set(_EDITABLE)
        if unknown:
            raise InvalidInput(
                f"unknown fields {sorted(unknown)}; editable: {list(_EDITABLE)}",
                zh="只能修改姓名、性别、单位、客户类型、生日和备注",
            )
        values: dict[str, Any] = {}
        for key, value in fields.items():
            text = value.strip() if isinstance(value, str) else None
            if key == "birthday" and text and not _DATE.match(text):
                raise InvalidInput(
                    "birthday must be YYYY-MM-DD", zh="生日须为“年-月-日”格式，如 1990-05-01"
                )
            if text and len(text) > (500 if key == "notes" else 64):
                raise InvalidInput(
                    f"{key} is too long",
                    zh=f"{_FIELD_ZH.get(key, key)}太长：备注最多 500 个字符，其他最多 64 个字符",
                )
            values[key] = text or None
        if "name" in values:
            values["initials"] = " ".join(sorted(name_initials(values["name"] or "")))
        return values

    async def update(self, customer_id: int, **fields: str | None) -> Customer:
        """Edit a card: name, gender, company, customer_type, birthday (YYYY-MM-DD), notes."""
        values = self.clean_fields(**fields)
        values["updated_ms"] = self._now()
        async with self._db.begin() as conn:
            result = await conn.execute(
                customers.update().where(customers.c.id == customer_id).values(**values)
            )
            if not result.rowcount:
                raise NotFound(
                    f"customer {customer_id} not found",
                    zh="找不到该顾客，可能已被删除，请刷新后重试",
                )
        return await self.get(customer_id)

    async def set_level(self, customer_id: int, level_id: int | None) -> Customer:
        """Give a customer a membership level (None: none).

        Raises:
            NotFound: no such customer or level.
        """
        async with self._db.begin() as conn:
            if level_id is not None:
                found = (
                    await conn.execute(sa.select(levels.c.id).where(levels.c.id == level_id))
                ).first()
                if found is None:
                    raise NotFound(
                        f"level {level_id} not found",
                        zh="找不到该会员等级，它可能已被删除，请刷新后重试",
                    )
            result = await conn.execute(
                customers.update().where(customers.c.id == customer_id).values(level_id=level_id)
            )
            if not result.rowcount:
                raise NotFound(
                    f"customer {customer_id} not found",
                    zh="找不到该顾客，可能已被删除，请刷新后重试",
                )
        return await self.get(customer_id)

    async def set_opted_out(self, customer_id: int, opted_out: bool) -> None:
        """Record that a customer wants no more marketing SMS (退订)."""
        async with self._db.begin() as conn:
            await conn.execute(
                customers.update().where(customers.c.id == customer_id).values(opted_out=opted_out)
            )

    async def all(self) -> list[Customer]:
        """Every customer, in the order they were captured."""
        async with self._db.connect() as conn:
            ids = [
                r.id for r in await conn.execute(sa.select(customers.c.id).order_by(customers.c.id))
            ]
            found = [await self._load(conn, customers.c.id == i) for i in ids]
        return [c for c in found if c is not None]

    async def search(self, query: str, *, limit: int = 50) -> list[Customer]:
        """Customers whose number or name contains ``query``, or whose pinyin initials
        start with it ("zs" finds 张三); an empty query lists the newest customers first
        (the book as the desk opens it)."""
        text = query.strip()
        if not text:
            select = sa.select(customers.c.id).order_by(customers.c.id.desc())
        else:
            like = f"%{_like(text)}%"
            conditions = [
                customers.c.phone.like(like, escape="\\"),
                customers.c.name.like(like, escape="\\"),
            ]
            if re.fullmatch(r"[A-Za-z]{1,16}", text):
                lowered = text.lower()
                conditions += [
                    customers.c.initials.like(f"{lowered}%"),
                    customers.c.initials.like(f"% {lowered}%"),
                ]
            # "+86 139-1234" finds the customer stored as "139…".
            digits = re.sub(r"^(\+|00)86|[\s\-().]", "", text)
            if digits != text and re.fullmatch(r"\d{3,20}", digits):
                conditions.append(customers.c.phone.like(f"%{digits}%"))
            select = sa.select(customers.c.id).where(sa.or_(*conditions)).order_by(customers.c.id)
        async with self._db.connect() as conn:
            ids = [r.id for r in await conn.execute(select.limit(limit))]
            found = [await self._load(conn, customers.c.id == i) for i in ids]
        return [c for c in found if c is not None]

    # ---- groups -----------------------------------------------------------------------

    async def add_to_group(self, customer_id: int, group: str) -> Customer:
        """Put a customer in a group (created on first use)."""
        name = group_name(group)
        async with self._db.begin() as conn:
            await _join_group(conn, customer_id, name)
        return await self.get(customer_id)

    async def import_row(
        self, phone: str, fields: dict[str, str], group_names: list[str]
    ) -> tuple[Customer, bool]:
        """Create or update one customer with its card and groups, all or nothing
        (an import row); and whether the customer is new.

        Raises:
            InvalidInput: a bad number, field or group name; nothing is written then.
        """
        number = normalize_number(phone)
        values = self.clean_fields(**fields)
        names = [group_name(g) for g in group_names]
        now = self._now()
        async with self._db.begin() as conn:
            existing = await self._load(conn, customers.c.phone == number)
            if existing is None:
                inserted = await conn.execute(
                    customers.insert().values(
                        phone=number, initials="", opted_out=False, created_ms=now, updated_ms=now
                    )
                )
                customer_id = int(inserted.inserted_primary_key[0])
            else:
                customer_id = existing.id
            if values:
                await conn.execute(
                    customers.update()
                    .where(customers.c.id == customer_id)
                    .values(**values, updated_ms=now)
                )
            for name in names:
                await _join_group(conn, customer_id, name)
        return await self.get(customer_id), existing is None

    async def group_names(self) -> list[str]:
        """Every group's name, sorted."""
        async with self._db.connect() as conn:
            return [
                r.name for r in await conn.execute(sa.select(groups.c.name).order_by(groups.c.name))
            ]

    async def group_members(self, group: str) -> list[Customer]:
        """Everyone in a group."""
        async with self._db.connect() as conn:
            ids = [
                r.customer_id
                for r in await conn.execute(
                    sa.select(customer_groups.c.customer_id)
                    .select_from(customer_groups.join(groups))
                    .where(groups.c.name == group)
                    .order_by(customer_groups.c.customer_id)
                )
            ]
            found = [await self._load(conn, customers.c.id == i) for i in ids]
        return [c for c in found if c is not None]

    # ---- calls ------------------------------------------------------------------------

    async def record_call(
        self,
        phone: str,
        *,
        direction: str,
        outcome: str,
        started_at: datetime,
        duration_s: int,
        notes: str | None = None,
        line: str = "gsm",
    ) -> CallRecord:
        """Add a call to the caller's history (capturing the number first); ``line`` is
        the desk phone's line it was on (``gsm`` or ``pstn``)."""
        if direction not in ("in", "out") or outcome not in ("answered", "missed", "rejected"):
            raise InvalidInput(
                "direction is in/out; outcome is answered/missed/rejected",
                zh="通话方向须为呼入或呼出，结果须为已接、未接或拒接",
            )
        check_line(line)
        customer, _ = await self.capture(phone)
        async with self._db.begin() as conn:
            result = await conn.execute(
                calls.insert().values(
                    customer_id=customer.id,
                    phone=customer.phone,
                    direction=direction,
                    outcome=outcome,
                    started_ms=to_ms(started_at),
                    duration_s=max(0, int(duration_s)),
                    notes=notes,
                    line=line,
                )
            )
        return CallRecord(
            int(result.inserted_primary_key[0]),
            customer.phone,
            direction,
            outcome,
            started_at,
            max(0, int(duration_s)),
            notes,
            line,
        )

    async def note_call(self, call_id: int, notes: str) -> None:
        """Write the conversation notes of a call (通话记录备注).

        Raises:
            InvalidInput: more than 2000 characters. NotFound: no such call.
        """
        if len(notes) > 2000:
            raise InvalidInput("notes are at most 2000 characters", zh="通话备注最多 2000 个字符")
        async with self._db.begin() as conn:
            result = await conn.execute(
                calls.update().where(calls.c.id == call_id).values(notes=notes.strip() or None)
            )
        if not result.rowcount:
            raise NotFound(f"call {call_id} not found", zh="找不到这条通话记录，请刷新后重试")

    async def history(self, customer_id: int, *, limit: int = 20) -> list[CallRecord]:
        """A customer's latest calls, newest first."""
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(calls)
                .where(calls.c.customer_id == customer_id)
                .order_by(calls.c.started_ms.desc(), calls.c.id.desc())
                .limit(limit)
            )
            return [
                CallRecord(
                    r.id,
                    r.phone,
                    r.direction,
                    r.outcome,
                    from_ms(r.started_ms),
                    r.duration_s,
                    r.notes,
                    r.line,
                )
                for r in rows
            ]


#: The desk phone's lines: the SIM's and the optional landline port's (一机双号).
LINES = ("gsm", "pstn")


def check_line(line: str) -> str:
    """A line of the desk phone (one of :data:`LINES`).

    Raises:
        InvalidInput: anything else.
    """
    if line not in LINES:
        raise InvalidInput(
            "line is gsm (the SIM) or pstn (the landline port)",
            zh="线路须为手机卡线路（gsm）或座机线路（pstn）",
        )
    return line


def group_name(group: str) -> str:
    """A group's name, trimmed and checked (1–32 characters)."""
    name = group.strip()
    if not 1 <= len(name) <= 32:
        raise InvalidInput(
            f"a group name is 1–32 characters, got {group!r}",
            zh=f"分组名称须为 1–32 个字符（“{name[:40]}”不符合）",
        )
    return name


async def _join_group(conn: Any, customer_id: int, name: str) -> None:
    row = (await conn.execute(sa.select(groups.c.id).where(groups.c.name == name))).first()
    group_id = (
        row.id
        if row
        else (await conn.execute(groups.insert().values(name=name))).inserted_primary_key[0]
    )
    exists = (
        await conn.execute(
            sa.select(customer_groups)
            .where(customer_groups.c.customer_id == customer_id)
            .where(customer_groups.c.group_id == group_id)
        )
    ).first()
    if exists is None:
        await conn.execute(
            customer_groups.insert().values(customer_id=customer_id, group_id=group_id)
        )


def _level_fields(name: str, discount: str) -> tuple[str, Decimal]:
    """A level's name (1–32 characters, trimmed) and discount rate, checked."""
    rate = parse_rate(discount)
    name = name.strip()
    if not 1 <= len(name) <= 32:
        raise InvalidInput("a level name is 1–32 characters", zh="会员等级名称须为 1–32 个字符")
    return name, rate
