"""QA rules (质检规则): what quality inspection checks in a session.

Part of ``SopService`` (``zhanye_sdk.sop.service``), which joins one class per entity.
"""

from __future__ import annotations

import builtins

import attrs
import sqlalchemy as sa

from zhanye_sdk.platform.context import new_id
from zhanye_sdk.platform.permissions import NotAccessible, Operation, require
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.platform.validation import check_name
from zhanye_sdk.sop.library.base import (
    LibraryBase,
    company_of,
    rule_json,
    stored_rule,
)
from zhanye_sdk.sop.models import (
    StoredQaRule,
)
from zhanye_sdk.sop.qa import QaRule
from zhanye_sdk.store.schema import (
    sop_qa_rules,
)

__all__ = ["RuleLibrary"]


class RuleLibrary(LibraryBase):
    """QA rules (质检规则) of the SOP library, seen through the acting principal."""

    async def save_rule(
        self, actor: Principal, rule: QaRule, *, enabled: bool = True, create: bool = True
    ) -> StoredQaRule:
        """Store a QA rule: a new one (its ``id`` is replaced by a fresh id) or, with
        ``create=False``, over the rule of the same id."""
        require(actor, Operation.SOP_MANAGE)
        company = company_of(actor)
        if create:
            rule = attrs.evolve(rule, id=new_id())
        values = {
            "name": check_name(rule.name, what="rule name"),
            "kind": rule.kind,
            "definition": rule_json(rule),
            "enabled": enabled,
            "updated_ms": self._ctx.now_ms(),
        }
        async with self._ctx.db.begin() as conn:
            if create:
                await conn.execute(
                    sop_qa_rules.insert().values(id=rule.id, company_id=company, **values)
                )
            else:
                done = await conn.execute(
                    sop_qa_rules.update()
                    .where(sop_qa_rules.c.id == rule.id, sop_qa_rules.c.company_id == company)
                    .values(**values)
                )
                if done.rowcount != 1:
                    raise NotAccessible("QA rule", rule.id)
        return StoredQaRule(rule=rule, enabled=enabled, updated_at=self._ctx.clock.now())

    async def rules(
        self, actor: Principal, *, enabled_only: bool = False
    ) -> builtins.list[StoredQaRule]:
        """The company's QA rules, least recently updated first."""
        company = company_of(actor)
        where = [sop_qa_rules.c.company_id == company]
        if enabled_only:
            where.append(sop_qa_rules.c.enabled.is_(True))
        async with self._ctx.db.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(sop_qa_rules)
                    .where(*where)
                    .order_by(sop_qa_rules.c.updated_ms, sop_qa_rules.c.id)
                )
            ).all()
        return [stored_rule(r) for r in rows]

    async def delete_rule(self, actor: Principal, rule_id: str) -> None:
        """Delete a QA rule."""
        require(actor, Operation.SOP_MANAGE)
        company = company_of(actor)
        async with self._ctx.db.begin() as conn:
            done = await conn.execute(
                sop_qa_rules.delete().where(
                    sop_qa_rules.c.id == rule_id, sop_qa_rules.c.company_id == company
                )
            )
            if done.rowcount != 1:
                raise NotAccessible("QA rule", str(rule_id))
