"""Bulk SMS (群发短信) and customer care greetings (客户关怀).

Templates take ``{name}``, ``{level}`` and ``{date}``. A preview shows every message's
characters and SMS parts (GSM 7-bit or UCS2, as the modem will send them) and the
total. Sending honours the opt-out list, the registration's daily quota and the
gateway's rate limits; each recipient's outcome is in the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import attrs
import sqlalchemy as sa

from zhanye_sdk.clock import to_ms
from zhanye_sdk.devices import pdu
from zhanye_sdk.devices.sms import SmsGateway
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant import templates
from zhanye_sdk.merchant.book import Customer
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.numbers import sms_numbers
from zhanye_sdk.merchant.registration import Registration, require_active
from zhanye_sdk.merchant.schema import auto_sms_log, care_sent

__all__ = [
    "BulkReport",
    "CareCalendar",
    "CustomerCare",
    "MessagePreview",
    "BulkSms",
    "check_template",
    "render",
    "signed",
]

# Group names may hold spaces: a list of groups is split on commas, 、 and semicolons.
_GROUP_SEPARATORS = re.compile(r"[,，、;；\n]+")
PLACEHOLDERS = frozenset({"name", "level", "date"})
#: progress(recipients done, recipients in all)
SendProgress = Callable[[int, int], None]


def check_template(template: str) -> str:
    """A bulk or greeting template, checked: not empty, at most 1000 characters, only
    the known placeholders, no stray braces.

    Raises:
        InvalidInput: saying what is wrong (and where, for a brace).
    """
    if not template.strip():
        raise InvalidInput("the message text is empty", zh="短信内容不能为空，请先填写内容")
    if len(template) > 1000:
        raise InvalidInput(
            "a message template is at most 1000 characters", zh="短信内容最多 1000 个字"
        )
    templates.parse(template, PLACEHOLDERS)
    return template


def render(template: str, customer: Customer | None, today: date) -> str:
    """Fill a template for one customer.

    Raises:
        InvalidInput: an empty template, a stray brace, or a placeholder other than
            name, level, date.
    """
    check_template(template)
    name = customer.name if customer and customer.name else "顾客"
    level = customer.level.name if customer and customer.level else ""
    return templates.fill(template, {"name": name, "level": level, "date": f"{today:%m月%d日}"})


def signed(text: str, signature: str | None) -> str:
    """The text as the gateway sends it: with the 【signature】 appended (once)."""
    if not signature or not signature.strip("【】"):
        return text
    tag = f"【{signature.strip('【】')}】"
    return text if text.endswith(tag) or text.startswith(tag) else text + tag


@attrs.frozen
class MessagePreview:
    """One message as it will be sent, signature included: its text, length, encoding
    and SMS parts."""

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

    def __init__(
        self,
        desk: MerchantDesk,
        gateway: SmsGateway,
        timezone: str = "Asia/Shanghai",
        *,
        signature: str | None = None,
    ) -> None:
        self._desk = desk
        self._gateway = gateway
        self._zone = ZoneInfo(timezone)
        #: Appended by the gateway to every message; counted in the preview.
        self.signature = signature if signature is not None else gateway.signature

    async def recipients(
        self,
        numbers: Sequence[str] = (),
        customer_ids: Sequence[int] = (),
        groups: Sequence[str] = (),
    ) -> list[tuple[str, Customer | None]]:
        """Everyone addressed, once each, in order: typed numbers, customers, group members.

        Each typed entry may hold several numbers (separated by spaces, new lines,
        ``,`` ``，`` ``、`` ``;``); ``+86``/``0086`` numbers are the customers' own.

        Raises:
            InvalidInput: every typed entry that is not a mobile number, listed; or a
                group that does not exist; or nobody addressed at all.
        """
        chosen: dict[str, Customer | None] = {}
        for number in sms_numbers(list(numbers)):
            chosen.setdefault(number, await self._desk.customers.by_phone(number))
        for customer_id in customer_ids:
            customer = await self._desk.customers.get(customer_id)
            chosen.setdefault(customer.phone, customer)
        wanted = [
            g.strip() for entry in groups for g in _GROUP_SEPARATORS.split(entry) if g.strip()
        ]
        if wanted:
            known = set(await self._desk.customers.group_names())
            unknown = [g for g in wanted if g not in known]
            if unknown:
                raise InvalidInput(
                    f"no such customer groups: {', '.join(unknown)}",
                    zh=f"没有这些客户分组：{'、'.join(unknown)}。"
                    f"现有分组：{'、'.join(sorted(known)) or '（暂无分组）'}",
                )
        for group in wanted:
            for customer in await self._desk.customers.group_members(group):
                chosen.setdefault(customer.phone, customer)
        if not chosen:
            raise InvalidInput(
                "nobody to send to: type numbers or choose a group",
                zh="没有收件人：请填写手机号或选择客户分组",
            )
        return list(chosen.items())

    async def preview(
        self, template: str, recipients: list[tuple[str, Customer | None]]
    ) -> list[MessagePreview]:
        """Every message with its characters and parts (the UI shows the total too)."""
        today = self._desk.clock.now().astimezone(self._zone).date()
        previews = []
        check_template(template)
        for number, customer in recipients:
            text = signed(render(template, customer, today), self.signature)
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
