"""Reservation confirmation SMS (预订确认短信), from a template."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import attrs

from zhanye_sdk.clock import to_ms
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.reservations import Reservation
from zhanye_sdk.merchant.schema import auto_sms_log

__all__ = ["ConfirmationTemplates", "send_confirmation"]


@attrs.frozen
class ConfirmationTemplates:
    """Texts for a new, changed and cancelled reservation.

    Placeholders: ``{name}``, ``{time}`` (e.g. 3月7日 18:00), ``{resource}``, ``{party}``,
    ``{shop}``.
    """

    shop: str = "本店"
    booked: str = "{name}您好，已为您预订{time}的{resource}（{party}位），{shop}恭候光临。"
    changed: str = "{name}您好，您的预订已改为{time}的{resource}（{party}位）。"
    cancelled: str = "{name}您好，您{time}在{resource}的预订已取消，欢迎再次预订。"
    timezone: str = "Asia/Shanghai"


async def send_confirmation(
    desk: MerchantDesk,
    gateway: Any,
    reservation: Reservation,
    which: str,
    templates: ConfirmationTemplates | None = None,
) -> str:
    """Text the customer about their reservation; returns the text sent."""
    templates = templates or ConfirmationTemplates()
    customer = await desk.customers.get(reservation.customer_id)
    resource = next(
        r for r in await desk.reservations.resources() if r.id == reservation.resource_id
    )
    start = reservation.start.astimezone(ZoneInfo(templates.timezone))
    template: str = getattr(templates, which)
    text = template.format(
        name=customer.name or "",
        time=f"{start.month}月{start.day}日 {start:%H:%M}",
        resource=resource.name,
        party=reservation.party_size,
        shop=templates.shop,
    )
    async with desk.db.begin() as conn:
        await conn.execute(
            auto_sms_log.insert().values(
                phone=customer.phone, kind=f"reservation_{which}", sent_ms=to_ms(desk.clock.now())
            )
        )
    await gateway.send([customer.phone], text)
    return text
