"""The shop's SMS template library (短信模板: 新品通知, 降价优惠, 节日祝福 …), editable
at the desk and used for bulk SMS."""

from __future__ import annotations

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound
from zhanye_sdk.merchant import templates as fields
from zhanye_sdk.merchant.bulk import PLACEHOLDERS
from zhanye_sdk.merchant.schema import sms_templates
from zhanye_sdk.store.database import Database

__all__ = ["SmsTemplate", "SmsTemplates"]


@attrs.frozen
class SmsTemplate:
    """A named message text with bulk SMS placeholders ({name} {level} {date})."""

    id: int
    name: str
    text: str


def _clean(name: str, text: str) -> tuple[str, str]:
    name, text = name.strip(), text.strip()
    if not 1 <= len(name) <= 32:
        raise InvalidInput("a template name is 1–32 characters", zh="模板名称须为 1–32 个字")
    if not 1 <= len(text) <= 500:
        raise InvalidInput("a template text is 1–500 characters", zh="模板内容须为 1–500 个字")
    fields.parse(text, PLACEHOLDERS)
    return name, text


class SmsTemplates:
    """The template library (see the module doc)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[SmsTemplate]:
        """Every template, in the order they were made."""
        async with self._db.connect() as conn:
            rows = await conn.execute(sa.select(sms_templates).order_by(sms_templates.c.id))
            return [SmsTemplate(r.id, r.name, r.text) for r in rows]

    async def add(self, name: str, text: str) -> SmsTemplate:
        """A new template.

        Raises:
            InvalidInput: a bad name or text (unknown placeholder, stray brace).
            ConflictError: the name is taken.
        """
        name, text = _clean(name, text)
        try:
            async with self._db.begin() as conn:
                result = await conn.execute(sms_templates.insert().values(name=name, text=text))
        except IntegrityError as exc:
            raise ConflictError(
                f"a template named {name!r} exists", zh=f"已有名为“{name}”的短信模板"
            ) from exc
        return SmsTemplate(int(result.inserted_primary_key[0]), name, text)

    async def update(self, template_id: int, name: str, text: str) -> SmsTemplate:
        """Rename or rewrite a template (same checks as :meth:`add`; NotFound)."""
        name, text = _clean(name, text)
        try:
            async with self._db.begin() as conn:
                result = await conn.execute(
                    sms_templates.update()
                    .where(sms_templates.c.id == template_id)
                    .values(name=name, text=text)
                )
        except IntegrityError as exc:
            raise ConflictError(
                f"a template named {name!r} exists", zh=f"已有名为“{name}”的短信模板"
            ) from exc
        if not result.rowcount:
            raise NotFound("no such template", zh="找不到该短信模板，请刷新后重试")
        return SmsTemplate(template_id, name, text)

    async def delete(self, template_id: int) -> None:
        """Remove a template (NotFound when there is none)."""
        async with self._db.begin() as conn:
            result = await conn.execute(
                sms_templates.delete().where(sms_templates.c.id == template_id)
            )
        if not result.rowcount:
            raise NotFound("no such template", zh="找不到该短信模板，请刷新后重试")
