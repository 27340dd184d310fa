"""Customer-care settings (客户关怀) the shop edits: the birthday greeting on or off, and
holidays (节日问候, e.g. 春节 on its date) with their templates and sending time.

:meth:`CareBook.calendar` turns them into the :class:`CareCalendar` that
:class:`~zhanye_sdk.merchant.bulk.CustomerCare` sends from: an occasion is due once
its day has come and the local time has reached its sending time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound
from zhanye_sdk.merchant.bulk import CareCalendar, check_template
from zhanye_sdk.merchant.schema import care_settings, holidays
from zhanye_sdk.store.database import Database

__all__ = ["CareBook", "CareSettings", "Holiday"]

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DEFAULT_BIRTHDAY = "{name}，祝您生日快乐！感谢一直以来的支持。"


@attrs.frozen
class CareSettings:
    """The birthday greeting: on or off, its template and its local sending time."""

    birthday_enabled: bool = True
    birthday_template: str = DEFAULT_BIRTHDAY
    send_at: str = "09:00"


@attrs.frozen
class Holiday:
    """A holiday greeting: its name (春节), its date, template and local sending time."""

    id: int
    name: str
    day: str
    template: str
    send_at: str


def _check_template(template: str) -> str:
    text = template.strip()
    if not 1 <= len(text) <= 500:
        raise InvalidInput("a greeting is 1–500 characters", zh="祝福语须为 1–500 个字符")
    check_template(text)  # known placeholders, no stray braces, or raises
    return text


def _check_time(send_at: str) -> str:
    if not _HH_MM.match(send_at.strip()):
        raise InvalidInput(
            "the sending time is HH:MM (24-hour), e.g. 09:00",
            zh="发送时间须为 24 小时制的“时:分”，如 09:00",
        )
    return send_at.strip()


def _check_day(day: str) -> str:
    try:
        return date.fromisoformat(day.strip()).isoformat()
    except ValueError as exc:
        raise InvalidInput(
            "a holiday's date is YYYY-MM-DD, e.g. 2027-02-06",
            zh="节日日期须为“年-月-日”格式，如 2027-02-06",
        ) from exc


def _holiday(row: sa.Row[tuple[int, str, str, str, str]]) -> Holiday:
    return Holiday(row.id, row.name, row.day, row.template, row.send_at)


class CareBook:
    """The shop's customer-care settings in the desk's database."""

    def __init__(self, db: Database, timezone: str = "Asia/Shanghai") -> None:
        self._db = db
        self._zone = ZoneInfo(timezone)

    async def settings(self) -> CareSettings:
        """The birthday settings (the defaults until the shop saves its own)."""
        async with self._db.connect() as conn:
            row = (await conn.execute(sa.select(care_settings))).first()
        if row is None:
            return CareSettings()
        return CareSettings(bool(row.birthday_enabled), row.birthday_template, row.send_at)

    async def save_settings(
        self, *, birthday_enabled: bool, birthday_template: str, send_at: str
    ) -> CareSettings:
        """Save the birthday settings.

        Raises:
            InvalidInput: an empty or unknown-placeholder template, or a time not HH:MM.
        """
        values = {
            "birthday_enabled": bool(birthday_enabled),
            "birthday_template": _check_template(birthday_template),
            "send_at": _check_time(send_at),
        }
        async with self._db.begin() as conn:
            updated = await conn.execute(
                care_settings.update().where(care_settings.c.id == 1).values(**values)
            )
            if not updated.rowcount:
                await conn.execute(care_settings.insert().values(id=1, **values))
        return await self.settings()

    async def holidays(self) -> list[Holiday]:
        """Every holiday, by date."""
        async with self._db.connect() as conn:
            rows = await conn.execute(sa.select(holidays).order_by(holidays.c.day))
            return [_holiday(r) for r in rows]

    async def add_holiday(
        self, name: str, day: str, template: str, send_at: str = "09:00"
    ) -> Holiday:
        """Add a holiday greeting (新增节日问候).

        Raises:
            InvalidInput: a bad name, date, template or time.
            ConflictError: that date has a greeting already.
        """
        values = self._values(name, day, template, send_at)
        try:
            async with self._db.begin() as conn:
                result = await conn.execute(holidays.insert().values(**values))
        except IntegrityError as exc:
            raise ConflictError(
                f"{values['day']} has a holiday greeting already",
                zh=f"{values['day']} 已有节日祝福，请修改原有的那条",
            ) from exc
        return Holiday(int(result.inserted_primary_key[0]), **values)

    async def update_holiday(
        self, holiday_id: int, name: str, day: str, template: str, send_at: str
    ) -> Holiday:
        """Edit a holiday greeting (same checks as :meth:`add_holiday`)."""
        values = self._values(name, day, template, send_at)
        try:
            async with self._db.begin() as conn:
                result = await conn.execute(
                    holidays.update().where(holidays.c.id == holiday_id).values(**values)
                )
        except IntegrityError as exc:
            raise ConflictError(
                f"{values['day']} has a holiday greeting already",
                zh=f"{values['day']} 已有节日祝福，请修改原有的那条",
            ) from exc
        if not result.rowcount:
            raise NotFound(
                f"holiday {holiday_id} not found",
                zh="找不到该节日祝福，它可能已被删除，请刷新后重试",
            )
        return Holiday(holiday_id, **values)

    async def delete_holiday(self, holiday_id: int) -> None:
        """Remove a holiday greeting."""
        async with self._db.begin() as conn:
            result = await conn.execute(holidays.delete().where(holidays.c.id == holiday_id))
        if not result.rowcount:
            raise NotFound(
                f"holiday {holiday_id} not found",
                zh="找不到该节日祝福，它可能已被删除，请刷新后重试",
            )

    @staticmethod
    def _values(name: str, day: str, template: str, send_at: str) -> dict[str, str]:
        clean = name.strip()
        if not 1 <= len(clean) <= 32:
            raise InvalidInput("a holiday's name is 1–32 characters", zh="节日名称须为 1–32 个字符")
        return {
            "name": clean,
            "day": _check_day(day),
            "template": _check_template(template),
            "send_at": _check_time(send_at),
        }

    async def calendar(self, now: datetime) -> CareCalendar:
        """The greetings due at ``now``: those whose sending time has come today."""
        local = now.astimezone(self._zone)
        settings = await self.settings()
        birthday = (
            settings.birthday_template
            if settings.birthday_enabled and local.time() >= time.fromisoformat(settings.send_at)
            else None
        )
        due = {
            h.day: (h.name, h.template)
            for h in await self.holidays()
            if h.day == local.date().isoformat() and local.time() >= time.fromisoformat(h.send_at)
        }
        return CareCalendar(birthday=birthday, holidays=due)
