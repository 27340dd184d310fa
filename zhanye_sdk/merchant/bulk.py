"""Bulk SMS (群发短信) and customer care greetings (客户关怀).

Templates take ``{name}``, ``{level}`` and ``{date}``. A preview shows every message's
characters and SMS parts (GSM 7-bit or UCS2, as the modem will send them) and the
total. Sending honours the opt-out list, the registration's daily quota and the
gateway's rate limits; each recipient's outcome is in the report.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import sqlalchemy as sa

from zhanye_sdk.clock import to_ms
from zhanye_sdk.devices import pdu
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant.book import Customer, normalize_number
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.registration import Registration, require_active
from zhanye_sdk.merchant.schema import auto_sms_log, care_sent

__all__ = [
    "BulkReport",
    "CareCalendar",
    "CustomerCare",
    "MessagePreview",
    "BulkSms",
    "render",
]

PLACEHOLDERS = frozenset({"name", "level", "date"})
#: progress(recipients done, recipients in all)
SendProgress = Callable[[int, int], None]


def render(template: str, customer: Customer | None, today: date) -> str:
    """Fill a template for one customer.

    Raises:
        InvalidInput: the template names a placeholder other than name, level, date.
    """
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    unknown = fields - PLACEHOLDERS
    if unknown:
        braced = "、".join("{" + field + "}" for field in sorted(unknown))
        raise InvalidInput(
            f"unknown placeholders {sorted(unknown)}; use {{name}}, {{level}}, {{date}}",
            zh=f"内容中有无法识别的占位符 {braced}，只能使用 {{name}}、{{level}}、{{date}}",
        )
    name = customer.name if customer and customer.name else "顾客"
    level = customer.level.name if customer and customer.level else ""
    return template.format(name=name, level=level, date=f"{today:%m月%d日}")


@attrs.frozen
class MessagePreview:
    """One message as it will be sent: its text, length, encoding and SMS parts."""

    number: str
    text: str
    characters: int
    encoding: str
    parts: int


@attrs.frozen
class BulkReport:
    """Outcome per recipient: sent (queued in the outbox), failed, skipped (and why)."""

    sent: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str], ...]


class BulkSms:
    """Previews and sends bulk messages through an ``SmsGateway``."""

    def __init__(self, desk: MerchantDesk, gateway: Any, timezone: str = "Asia/Shanghai") -> None:
        self._desk = desk
        self._gateway = gateway
        self._zone = ZoneInfo(timezone)

    async def recipients(
        self,
        numbers: Sequence[str] = (),
        customer_ids: Sequence[int] = (),
        groups: Sequence[str] = (),
    ) -> list[tuple[str, Customer | None]]:
        """Everyone addressed, once each, in order: typed numbers, customers, group members."""
        chosen: dict[str, Customer | None] = {}
        for raw in numbers:
            number = normalize_number(raw)
            chosen.setdefault(number, await self._desk.customers.by_phone(number))
        for customer_id in customer_ids:
            customer = await self._desk.customers.get(customer_id)
            chosen.setdefault(customer.phone, customer)
        for group in groups:
            for customer in await self._desk.customers.group_members(group):
                chosen.setdefault(customer.phone, customer)
        return list(chosen.items())

    async def preview(
        self, template: str, recipients: list[tuple[str, Customer | None]]
    ) -> list[MessagePreview]:
        """Every message with its characters and parts (the UI shows the total too)."""
        today = self._desk.clock.now().astimezone(self._zone).date()
        previews = []
        for number, customer in recipients:
            text = render(template, customer, today)
            count = pdu.count_parts(text)
            previews.append(MessagePreview(number, text, len(text), count.encoding, count.parts))
        return previews

    async def sent_today(self) -> int:
        """Messages the desk sent itself since local midnight (quota accounting)."""
        now = self._desk.clock.now().astimezone(self._zone)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        async with self._desk.db.connect() as conn:
            count = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(auto_sms_log)
                    .where(auto_sms_log.c.sent_ms >= to_ms(midnight))
                )
            ).scalar_one()
        return int(count)

    async def send(
        self,
        template: str,
        recipients: list[tuple[str, Customer | None]],
        registration: Registration | None,
        progress: SendProgress | None = None,
        *,
        kind: str = "bulk",
    ) -> BulkReport:
        """Send one message per recipient (opted-out customers skipped).

        Raises:
            NotRegistered: SMS features are locked.
            InvalidInput: a bad template.
        """
        active = require_active(registration)
        previews = await self.preview(template, recipients)
        left = max(0, active.quota_per_day - await self.sent_today())
        sent: list[str] = []
        failed: list[tuple[str, str]] = []
        skipped: list[tuple[str, str]] = []
        for index, (preview, (_, customer)) in enumerate(zip(previews, recipients, strict=True), 1):
            if customer is not None and customer.opted_out:
                skipped.append((preview.number, "opted_out"))
            elif left <= 0:
                skipped.append((preview.number, "quota"))
            else:
                try:
                    results = await self._gateway.send([preview.number], preview.text)
                except InvalidInput as exc:
                    failed.append((preview.number, str(exc)))
                else:
                    status = results[0].status if results else "failed"
                    if status in ("queued", "sending", "sent"):
                        sent.append(preview.number)
                        left -= 1
                        async with self._desk.db.begin() as conn:
                            await conn.execute(
                                auto_sms_log.insert().values(
                                    phone=preview.number,
                                    kind=kind,
                                    sent_ms=to_ms(self._desk.clock.now()),
                                )
                            )
                    elif status == "duplicate":
                        skipped.append((preview.number, "duplicate"))
                    else:
                        failed.append((preview.number, results[0].error or status))
            if progress is not None:
                progress(index, len(previews))
        return BulkReport(tuple(sent), tuple(failed), tuple(skipped))


@attrs.frozen
class CareCalendar:
    """Greetings: a birthday template and holidays by date (``{"2027-02-06": ("春节", "…")}``)."""

    birthday: str | None = "{name}，祝您生日快乐！感谢一直以来的支持。"
    holidays: dict[str, tuple[str, str]] = attrs.field(factory=dict)


class CustomerCare:
    """Sends each greeting once per customer per occasion, even across restarts."""

    def __init__(
        self,
        desk: MerchantDesk,
        bulk: BulkSms,
        calendar: CareCalendar,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self._desk = desk
        self._bulk = bulk
        self.calendar = calendar
        self._zone = ZoneInfo(timezone)

    def occasions(self, today: date) -> list[tuple[str, str]]:
        """Today's holiday occasions as (key, template)."""
        holiday = self.calendar.holidays.get(today.isoformat())
        return [(f"{holiday[0]}:{today.year}", holiday[1])] if holiday else []

    async def run_once(self, now: datetime, registration: Registration | None) -> BulkReport:
        """Greet whoever is due now and has not been greeted for this occasion."""
        today = now.astimezone(self._zone).date()
        due: list[tuple[Customer, str, str]] = []
        for customer in await self._desk.customers.all():
            if (
                self.calendar.birthday
                and customer.birthday
                and customer.birthday[5:] == f"{today:%m-%d}"
            ):
                due.append((customer, f"birthday:{today.year}", self.calendar.birthday))
            for key, template in self.occasions(today):
                due.append((customer, key, template))
        sent: list[str] = []
        failed: list[tuple[str, str]] = []
        skipped: list[tuple[str, str]] = []
        async with self._desk.db.connect() as conn:
            done = {
                (r.customer_id, r.occasion)
                for r in await conn.execute(
                    sa.select(care_sent.c.customer_id, care_sent.c.occasion)
                )
            }
        for customer, key, template in due:
            if (customer.id, key) in done:
                continue
            report = await self._bulk.send(
                template, [(customer.phone, customer)], registration, kind="care"
            )
            # Retried next time unless it went out (or the customer opted out).
            if report.sent or any(why == "opted_out" for _, why in report.skipped):
                async with self._desk.db.begin() as conn:
                    await conn.execute(
                        care_sent.insert().values(
                            customer_id=customer.id, occasion=key, sent_ms=to_ms(now)
                        )
                    )
            sent += report.sent
            failed += report.failed
            skipped += report.skipped
        return BulkReport(tuple(sent), tuple(failed), tuple(skipped))
