"""The registration screen's facts (注册): the SIM in the desk phone, whether the
management platform has it registered, the SMS signature and what is left of today's
quota; until it is registered every SMS feature is locked, and the reason is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import attrs
import sqlalchemy as sa

from zhanye_sdk.clock import to_ms
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.registration import NotRegistered, Registration, require_active
from zhanye_sdk.merchant.schema import auto_sms_log

__all__ = ["RegistrationStatus", "quota_used_today", "registration_status"]


@attrs.frozen
class RegistrationStatus:
    """What the registration screen shows."""

    iccid: str | None
    imsi: str | None
    #: The platform has answered for this SIM on this connection.
    verified: bool
    active: bool
    signature: str | None
    quota_per_day: int
    quota_left: int | None
    #: Why SMS features are locked (None: unlocked), in English and Chinese.
    locked: str | None
    locked_zh: str | None


async def quota_used_today(desk: MerchantDesk, now: datetime, zone: ZoneInfo) -> int:
    """Messages counted against the SIM's daily quota since local midnight."""
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    async with desk.db.connect() as conn:
        sent = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(auto_sms_log)
                .where(auto_sms_log.c.sent_ms >= to_ms(midnight))
            )
        ).scalar_one()
    return int(sent)


async def registration_status(
    desk: MerchantDesk,
    registration: Callable[[], Registration | None],
    sim: tuple[str, str | None] | None,
) -> RegistrationStatus:
    """The screen's facts now (see the module doc)."""
    current = registration()
    locked = locked_zh = None
    try:
        require_active(current)
    except NotRegistered as exc:
        locked, locked_zh = str(exc), exc.zh
    quota = current.quota_per_day if current is not None else 0
    left = None
    if current is not None and current.active:
        used = await quota_used_today(desk, desk.clock.now(), ZoneInfo(desk.timezone))
        left = max(0, quota - used)
    return RegistrationStatus(
        iccid=sim[0] if sim else None,
        imsi=sim[1] if sim else None,
        verified=current is not None,
        active=bool(current and current.active),
        signature=current.signature if current else None,
        quota_per_day=quota,
        quota_left=left,
        locked=locked,
        locked_zh=locked_zh,
    )
