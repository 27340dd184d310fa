"""Reservation confirmation SMS (预订确认短信), from a template."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import attrs

from zhanye_sdk.clock import to_ms
from zhanye_sdk.devices.sms import SmsGateway
from zhanye_sdk.merchant.desk import MerchantDesk, check_zone
from zhanye_sdk.merchant.reservations import Reservation
from zhanye_sdk.merchant.schema import auto_sms_log
from zhanye_sdk.merchant.templates import fill, parse

__all__ = ["ConfirmationTemplates", "send_confirmation", "when"]


PLACEHOLDERS = frozenset({"name", "time", "resource", "party", "shop"})


@attrs.frozen
class ConfirmationTemplates:
    """Texts for a new, changed and cancelled reservation.

    Placeholders: ``{name}``, ``{time}`` (e.g. 3月7日(周六) 18:00; the year is added
    when it is not this year), ``{resource}``, ``{party}``, ``{shop}``.
    """

    shop: str = "本店"
    booked: str = "{name}您好，已为您预订{time}的{resource}（{party}位），{shop}恭候光临。"
    changed: str = "{name}您好，您的预订已改为{time}的{resource}（{party}位）。"
    cancelled: str = "{name}您好，您{time}在{resource}的预订已取消，欢迎再次预订。"
    #: The time zone of the texts; None: the desk's (:attr:`MerchantDesk.timezone`).
    timezone: str | None = attrs.field(default=None)

    @timezone.validator
    def _zone_exists(self, _: object, value: str | None) -> None:
        if value is not None:
            check_zone(value)

    def __attrs_post_init__(self) -> None:
        for which in ("booked", "changed", "cancelled"):
            parse(getattr(self, which), PLACEHOLDERS)


_WEEKDAYS = "一二三四五六日"


def when(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    """A time as a text message gives it, in the shop's zone, never ambiguous:
    ``12月24日(周四) 18:30``, with the year when it is not this year."""
    local = moment.astimezone(zone)
    year = f"{local.year}年" if local.year != now.astimezone(zone).year else ""
    return f"{year}{local.month}月{local.day}日(周{_WEEKDAYS[local.weekday()]}) {local:%H:%M}"


async def send_confirmation(
    desk: MerchantDesk,
    gateway: SmsGateway,
    reservation: Reservation,
    which: str,
    templates: ConfirmationTemplates | None = None,
) -> str:
    """Text the customer about their reservation; returns the text sent."""
    templates = templates or ConfirmationTemplates()
    customer = await desk.customers.get(reservation.customer_id)
    every = await desk.reservations.resources(retired=True)
    resource = next(r for r in every if r.id == reservation.resource_id)
    zone = ZoneInfo(templates.timezone or desk.timezone)
    template: str = getattr(templates, which)
    text = fill(
        template,
        {
            "name": customer.name or "",
            "time": when(reservation.start, desk.clock.now(), zone),
            "resource": resource.name,
            "party": reservation.party_size,
            "shop": templates.shop,
        },
    )
    async with desk.db.begin() as conn:
        await conn.execute(
            auto_sms_log.insert().values(
                phone=customer.phone, kind=f"rsv_{which}", sent_ms=to_ms(desk.clock.now())
            )
        )
    await gateway.send([customer.phone], text)
    return text
