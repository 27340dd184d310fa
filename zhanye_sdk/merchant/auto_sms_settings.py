"""The shop's own settings of its two automatic messages (系统设置 → 挂机短信 and
未接来电回复): text with ``{name}`` and ``{shop}``, on/off, quiet hours, cooldown.

Until the shop saves a setting, the call desk's built-in rule applies.
"""

from __future__ import annotations

import re
from datetime import time

import sqlalchemy as sa

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant.auto_sms import AutoSmsRule
from zhanye_sdk.merchant.schema import auto_sms_settings
from zhanye_sdk.merchant.templates import parse
from zhanye_sdk.store.database import Database

__all__ = ["AUTO_SMS_KINDS", "AUTO_SMS_PLACEHOLDERS", "AutoSmsSettings", "check_rule"]

#: ``hang_up`` (挂机短信, after an answered call), ``missed`` (未接来电回复).
AUTO_SMS_KINDS = ("hang_up", "missed")
#: What the shop may write in these messages: the caller's name and the shop's.
AUTO_SMS_PLACEHOLDERS = frozenset({"name", "shop"})
_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(:00)?$")
_MAX_TEMPLATE = 300
_MAX_COOLDOWN_S = 30 * 24 * 3600
_KIND_ZH = {"hang_up": "挂机短信", "missed": "未接来电回复"}


def _kind(kind: str) -> str:
    if kind not in AUTO_SMS_KINDS:
        raise InvalidInput(
            f"kind is one of {', '.join(AUTO_SMS_KINDS)}", zh="只能设置挂机短信或未接来电回复"
        )
    return kind


def _clock(text: str | None, label_zh: str) -> time | None:
    if text is None or not text.strip():
        return None
    found = _HH_MM.match(text.strip())
    if found is None:
        raise InvalidInput(
            f"{text!r} is no HH:MM time", zh=f"{label_zh}须为“时:分”，如 21:00（“{text}”不符合）"
        )
    return time(int(found.group(1)), int(found.group(2)))


def check_rule(
    kind: str,
    *,
    template: str,
    enabled: bool,
    quiet_start: str | None,
    quiet_end: str | None,
    cooldown_s: int,
) -> AutoSmsRule:
    """A rule as the desk typed it, checked.

    Raises:
        InvalidInput: an unknown kind; an empty or too long text, or one with a stray
            brace or a placeholder other than ``{name}``/``{shop}`` (the place named);
            quiet hours with only one end, equal ends or no HH:MM; a cooldown outside
            0–30 days.
    """
    what = _KIND_ZH[_kind(kind)]
    text = template.strip()
    if not 1 <= len(text) <= _MAX_TEMPLATE:
        raise InvalidInput(
            f"the message is 1–{_MAX_TEMPLATE} characters",
            zh=f"{what}内容须为 1–{_MAX_TEMPLATE} 个字符",
        )
    parse(text, AUTO_SMS_PLACEHOLDERS)
    start = _clock(quiet_start, "免打扰开始时间")
    end = _clock(quiet_end, "免打扰结束时间")
    if (start is None) != (end is None) or (start is not None and start == end):
        raise InvalidInput(
            "quiet hours need a start and a different end, or neither",
            zh="免打扰时段须同时填写开始和结束时间（且两者不同），或都不填",
        )
    if not 0 <= cooldown_s <= _MAX_COOLDOWN_S:
        raise InvalidInput(
            "the cooldown is 0 to 30 days", zh="同一号码的发送间隔须在 0 到 30 天（720 小时）之间"
        )
    return AutoSmsRule(
        template=text, enabled=enabled, quiet_start=start, quiet_end=end, cooldown_s=cooldown_s
    )


def _hh_mm(moment: time | None) -> str | None:
    return moment.strftime("%H:%M") if moment is not None else None


class AutoSmsSettings:
    """The automatic messages' settings in the desk's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def rule(self, kind: str, default: AutoSmsRule) -> AutoSmsRule:
        """The shop's rule for ``kind``, or ``default`` until it has saved one."""
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(auto_sms_settings).where(auto_sms_settings.c.kind == _kind(kind))
                )
            ).first()
        if row is None:
            return default
        return AutoSmsRule(
            template=row.template,
            enabled=bool(row.enabled),
            quiet_start=_clock(row.quiet_start, ""),
            quiet_end=_clock(row.quiet_end, ""),
            cooldown_s=int(row.cooldown_s),
        )

    async def save(
        self,
        kind: str,
        *,
        template: str,
        enabled: bool,
        quiet_start: str | None,
        quiet_end: str | None,
        cooldown_s: int,
    ) -> AutoSmsRule:
        """Keep the shop's rule for ``kind`` (checked as :func:`check_rule`)."""
        rule = check_rule(
            kind,
            template=template,
            enabled=enabled,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            cooldown_s=cooldown_s,
        )
        values = {
            "enabled": rule.enabled,
            "template": rule.template,
            "quiet_start": _hh_mm(rule.quiet_start),
            "quiet_end": _hh_mm(rule.quiet_end),
            "cooldown_s": rule.cooldown_s,
        }
        async with self._db.begin() as conn:
            updated = await conn.execute(
                auto_sms_settings.update().where(auto_sms_settings.c.kind == kind).values(**values)
            )
            if not updated.rowcount:
                await conn.execute(auto_sms_settings.insert().values(kind=kind, **values))
        return rule
