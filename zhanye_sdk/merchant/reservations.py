"""Reservations (预订): rooms and tables with capacity, time slots, no double booking."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.clock import Clock, from_ms, to_ms
from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound
from zhanye_sdk.merchant.schema import customers, reservations, resources
from zhanye_sdk.store.database import Database

__all__ = ["NOTES_LIMIT", "PAST_GRACE", "Reservation", "ReservationBook", "Resource"]

#: How far in the past a booking may start: a party walking in now is booked a few
#: minutes late; anything earlier is a typing slip (yesterday, last year) and refused.
PAST_GRACE = timedelta(minutes=15)
#: The longest note a booking keeps (靠窗, 带蛋糕 …).
NOTES_LIMIT = 500


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _resource_fields(name: str, kind: str, capacity: int) -> str:
    if kind not in ("room", "table") or not 1 <= capacity <= 500 or not name.strip():
        raise InvalidInput(
            "a resource has a name, kind room/table and capacity 1–500",
            zh="资源须有名称，类型为包间或餐桌，容纳人数为 1–500",
        )
    if len(name.strip()) > 32:
        raise InvalidInput(
            "a resource name is at most 32 characters", zh="包间/桌位名称最多 32 个字"
        )
    return name.strip()


def _notes(notes: str | None) -> str | None:
    text = (notes or "").strip()
    if len(text) > NOTES_LIMIT:
        raise InvalidInput(
            f"booking notes are at most {NOTES_LIMIT} characters",
            zh=f"预订备注最多 {NOTES_LIMIT} 个字",
        )
    return text or None


@attrs.frozen
class Resource:
    """A room or a table, and how many people it seats."""

    id: int
    name: str
    kind: str
    capacity: int


@attrs.frozen
class Reservation:
    """A booking of a resource for a party over [start, end)."""

    id: int
    resource_id: int
    customer_id: int
    party_size: int
    start: datetime
    end: datetime
    status: str  # booked | cancelled | checked_out
    notes: str | None


def _reservation(r: Any) -> Reservation:
    return Reservation(
        r.id,
        r.resource_id,
        r.customer_id,
        r.party_size,
        from_ms(r.start_ms),
        from_ms(r.end_ms),
        r.status,
        r.notes,
    )


class ReservationBook:
    """Resources and their bookings; overlapping bookings of one resource are refused."""

    def __init__(self, db: Database, clock: Clock, timezone: str = "Asia/Shanghai") -> None:
        self._db = db
        self._clock = clock
        self._zone = ZoneInfo(timezone)
        # One writer at a time in this process; the database re-checks inside the
        # transaction as well, so a second process cannot slip a double booking in.
        self._lock = anyio.Lock()

    async def add_resource(self, name: str, *, kind: str = "room", capacity: int = 4) -> Resource:
        """A bookable room (包间) or table (桌位). A name taken out of use before is
        brought back with the new kind and capacity (its old bookings stay its own).

        Raises:
            InvalidInput: no name, another kind, or a capacity outside 1–500.
            ConflictError: a resource in use has the name.
        """
        name = _resource_fields(name, kind, capacity)
        async with self._lock, self._db.begin() as conn:
            old = (await conn.execute(sa.select(resources).where(resources.c.name == name))).first()
            if old is not None and not old.retired:
                raise ConflictError(
                    f"a resource named {name!r} exists already",
                    zh=f"已有名为“{name}”的包间或桌位，请换一个名称",
                )
            if old is not None:
                await conn.execute(
                    resources.update()
                    .where(resources.c.id == old.id)
                    .values(kind=kind, capacity=capacity, retired=False)
                )
                return Resource(old.id, name, kind, capacity)
            try:
                result = await conn.execute(
                    resources.insert().values(name=name, kind=kind, capacity=capacity)
                )
            except IntegrityError as exc:
                raise ConflictError(
                    f"a resource named {name!r} exists already",
                    zh=f"已有名为“{name}”的包间或桌位，请换一个名称",
                ) from exc
        return Resource(int(result.inserted_primary_key[0]), name, kind, capacity)

    async def update_resource(
        self, resource_id: int, *, name: str, kind: str, capacity: int
    ) -> Resource:
        """Rename a room or table, or change its kind or capacity.

        Raises:
            InvalidInput: bad fields, or a capacity below a party booked there from now on.
            ConflictError: another resource has the name.
            NotFound: no such resource (or taken out of use).
        """
        name = _resource_fields(name, kind, capacity)
        async with self._lock, self._db.begin() as conn:
            await self._resource(conn, resource_id)
            largest = (
                await conn.execute(
                    sa.select(sa.func.max(reservations.c.party_size))
                    .where(reservations.c.resource_id == resource_id)
                    .where(reservations.c.status == "booked")
                    .where(reservations.c.end_ms > to_ms(self._clock.now()))
                )
            ).scalar()
            if largest is not None and largest > capacity:
                raise InvalidInput(
                    f"a party of {largest} is booked there; the capacity stays at least that",
                    zh=f"该处已有 {largest} 人的预订，容纳人数不能少于 {largest}，"
                    "请先为该预订换房或修改人数",
                )
            try:
                await conn.execute(
                    resources.update()
                    .where(resources.c.id == resource_id)
                    .values(name=name, kind=kind, capacity=capacity)
                )
            except IntegrityError as exc:
                raise ConflictError(
                    f"a resource named {name!r} exists already",
                    zh=f"已有名为“{name}”的包间或桌位，请换一个名称",
                ) from exc
        return Resource(resource_id, name, kind, capacity)

    async def remove_resource(self, resource_id: int) -> None:
        """Take a room or table out of use. Its past bookings keep its name.

        Raises:
            ConflictError: it is still booked from now on (move or cancel those first).
            NotFound: no such resource.
        """
        async with self._lock, self._db.begin() as conn:
            resource = await self._resource(conn, resource_id)
            upcoming = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(reservations)
                    .where(reservations.c.resource_id == resource_id)
                    .where(reservations.c.status == "booked")
                    .where(reservations.c.end_ms > to_ms(self._clock.now()))
                )
            ).scalar_one()
            if upcoming:
                raise ConflictError(
                    f"{resource.name} has {upcoming} booking(s) to come; move or cancel them first",
                    zh=f"{resource.name}还有 {upcoming} 个未到期的预订，请先换房或取消后再删除",
                )
            await conn.execute(
                resources.update().where(resources.c.id == resource_id).values(retired=True)
            )

    async def resources(self, *, retired: bool = False) -> list[Resource]:
        """The resources in use, by name (``retired=True``: those taken out of use too)."""
        select = sa.select(resources).order_by(resources.c.name)
        if not retired:
            select = select.where(resources.c.retired == sa.false())
        async with self._db.connect() as conn:
            rows = await conn.execute(select)
            return [Resource(r.id, r.name, r.kind, r.capacity) for r in rows]

    async def _resource(self, conn: Any, resource_id: int) -> Any:
        row = (
            await conn.execute(sa.select(resources).where(resources.c.id == resource_id))
        ).first()
        if row is None or row.retired:
            raise NotFound(
                f"resource {resource_id} not found",
                zh="找不到该包间或桌位，它可能已被删除，请刷新后重试",
            )
        return row

    def _not_past(self, start: datetime) -> None:
        now = self._clock.now()
        if start < now - PAST_GRACE:
            local = start.astimezone(self._zone)
            raise InvalidInput(
                f"{local:%Y-%m-%d %H:%M} has passed; a reservation starts in the future",
                zh=f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} 已经过去，"
                "不能预订过去的时间，请检查日期",
            )

    async def _check(
        self, conn: Any, resource_id: int, party: int, start: int, end: int, ignore: int | None
    ) -> None:
        resource = await self._resource(conn, resource_id)
        if party > resource.capacity:
            raise InvalidInput(
                f"{resource.name} seats {resource.capacity}; the party is {party}",
                zh=f"{resource.name}最多容纳 {resource.capacity} 人，本次预订 {party} 人，"
                "请换一个资源或减少人数",
            )
        overlap = (
            sa.select(reservations.c.id, reservations.c.start_ms, reservations.c.end_ms)
            .where(reservations.c.resource_id == resource_id)
            .where(reservations.c.status == "booked")
            .where(reservations.c.start_ms < end)
            .where(reservations.c.end_ms > start)
        )
        if ignore is not None:
            overlap = overlap.where(reservations.c.id != ignore)
        clash = (await conn.execute(overlap)).first()
        if clash is not None:
            begin = from_ms(clash.start_ms).astimezone(self._zone)
            finish = from_ms(clash.end_ms).astimezone(self._zone)
            raise ConflictError(
                f"{resource.name} is booked from {begin:%H:%M} to {finish:%H:%M} then",
                zh=f"{resource.name}在 {begin:%H:%M}–{finish:%H:%M} 已有预订，请换一个时间或资源",
            )

    async def reserve(
        self,
        resource_id: int,
        customer_id: int,
        party_size: int,
        start: datetime,
        end: datetime,
        notes: str | None = None,
    ) -> Reservation:
        """Book a resource; refused when it overlaps another booking, is too small, or
        starts in the past (more than :data:`PAST_GRACE` before the clock's now)."""
        begin_ms, end_ms = to_ms(start), to_ms(end)
        if end_ms <= begin_ms or party_size < 1:
            raise InvalidInput(
                "a reservation ends after it starts and is for at least one person",
                zh="预订的结束时间须晚于开始时间，且人数至少为 1",
            )
        self._not_past(start)
        notes = _notes(notes)
        async with self._lock, self._db.begin() as conn:
            await self._check(conn, resource_id, party_size, begin_ms, end_ms, None)
            result = await conn.execute(
                reservations.insert().values(
                    resource_id=resource_id,
                    customer_id=customer_id,
                    party_size=party_size,
                    start_ms=begin_ms,
                    end_ms=end_ms,
                    status="booked",
                    notes=notes,
                    created_ms=to_ms(self._clock.now()),
                )
            )
            new_id = int(result.inserted_primary_key[0])
            await self._check(conn, resource_id, party_size, begin_ms, end_ms, new_id)
        return await self.get(new_id)

    async def get(self, reservation_id: int) -> Reservation:
        """One reservation."""
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(reservations).where(reservations.c.id == reservation_id)
                )
            ).first()
        if row is None:
            raise NotFound(
                f"reservation {reservation_id} not found",
                zh="找不到该预订，它可能已被删除，请刷新后重试",
            )
        return _reservation(row)

    async def change(
        self,
        reservation_id: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        party_size: int | None = None,
        resource_id: int | None = None,
    ) -> Reservation:
        """Move a booking to another time or room (换房), or change the party, with the
        same checks as a new one; what is not given stays as it was."""
        current = await self.get(reservation_id)
        if current.status != "booked":
            raise ConflictError(
                "only a booked reservation can be changed", zh="只有“已预订”状态的预订可以修改"
            )
        party = party_size or current.party_size
        where = resource_id or current.resource_id
        begin, finish = start or current.start, end or current.end
        begin_ms, end_ms = to_ms(begin), to_ms(finish)
        if end_ms <= begin_ms or party < 1:
            raise InvalidInput(
                "a reservation ends after it starts and is for at least one person",
                zh="预订的结束时间须晚于开始时间，且人数至少为 1",
            )
        if start is not None:
            self._not_past(begin)
        async with self._lock, self._db.begin() as conn:
            await self._check(conn, where, party, begin_ms, end_ms, reservation_id)
            result = await conn.execute(
                reservations.update()
                .where(reservations.c.id == reservation_id)
                .where(reservations.c.status == "booked")
                .values(start_ms=begin_ms, end_ms=end_ms, party_size=party, resource_id=where)
            )
            if not result.rowcount:
                raise ConflictError(
                    "the reservation was cancelled or closed meanwhile",
                    zh="该预订刚被取消或已结账，不能再修改",
                )
        return await self.get(reservation_id)

    async def set_notes(self, reservation_id: int, notes: str | None) -> Reservation:
        """The booking's notes (备注: 靠窗, 带蛋糕 …); empty clears them."""
        text = _notes(notes)
        async with self._db.begin() as conn:
            result = await conn.execute(
                reservations.update().where(reservations.c.id == reservation_id).values(notes=text)
            )
        if not result.rowcount:
            raise NotFound(
                f"reservation {reservation_id} not found",
                zh="找不到该预订，它可能已被删除，请刷新后重试",
            )
        return await self.get(reservation_id)

    async def set_status(self, reservation_id: int, status: str) -> Reservation:
        """Cancel (``cancelled``) or close (``checked_out``) a booked reservation."""
        if status not in ("cancelled", "checked_out"):
            raise InvalidInput(
                "status is cancelled or checked_out", zh="状态只能改为已取消或已结账"
            )
        async with self._lock, self._db.begin() as conn:
            result = await conn.execute(
                reservations.update()
                .where(reservations.c.id == reservation_id)
                .where(reservations.c.status == "booked")
                .values(status=status)
            )
            if not result.rowcount:
                raise ConflictError(
                    "the reservation is not booked (cancelled or closed already)",
                    zh="该预订已取消或已结账，不能再更改",
                )
        return await self.get(reservation_id)

    async def on_day(self, day_start: datetime, day_end: datetime) -> list[Reservation]:
        """Booked and closed reservations overlapping a period (the reservations board)."""
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(reservations)
                .where(reservations.c.start_ms < to_ms(day_end))
                .where(reservations.c.end_ms > to_ms(day_start))
                .where(reservations.c.status != "cancelled")
                .order_by(reservations.c.start_ms)
            )
            return [_reservation(r) for r in rows]

    async def search(
        self, text: str = "", *, day: date | None = None, limit: int = 200
    ) -> list[Reservation]:
        """Bookings (any state) whose customer's name or number contains ``text``, on the
        shop's local ``day`` when given; the soonest first."""
        select = sa.select(reservations).join(
            customers, customers.c.id == reservations.c.customer_id
        )
        words = text.strip()
        if words:
            like = f"%{_like(words)}%"
            digits = re.sub(r"^(\+|00)86|[\s\-().]", "", words)
            conditions = [
                customers.c.name.like(like, escape="\\"),
                customers.c.phone.like(like, escape="\\"),
            ]
            if digits != words and re.fullmatch(r"\d{3,20}", digits):
                conditions.append(customers.c.phone.like(f"%{digits}%"))
            select = select.where(sa.or_(*conditions))
        if day is not None:
            begin = datetime.combine(day, time(0), self._zone)
            select = select.where(reservations.c.start_ms < to_ms(begin + timedelta(days=1)))
            select = select.where(reservations.c.end_ms > to_ms(begin))
        async with self._db.connect() as conn:
            rows = await conn.execute(
                select.order_by(reservations.c.start_ms, reservations.c.id).limit(limit)
            )
            return [_reservation(r) for r in rows]
