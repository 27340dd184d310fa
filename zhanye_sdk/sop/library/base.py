"""What every part of the SOP library shares: the rows it reads, who sees which, and the
checks of its fields."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from zhanye_sdk.clock import from_ms
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.platform.context import ServiceContext
from zhanye_sdk.platform.permissions import NotAccessible
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.sop.models import (
    Flow,
    Script,
    StoredQaRule,
    flow_nodes_from,
    pages_from,
)
from zhanye_sdk.sop.qa import QaRule
from zhanye_sdk.store.schema import (
    sop_flows,
    sop_script_categories,
    sop_scripts,
    sop_template_flows,
    sop_template_orgs,
    sop_templates,
)

__all__ = [
    "MAX_CONTENT",
    "RULE_FIELDS",
    "LibraryBase",
    "company_of",
    "content_from",
    "flow_from_row",
    "keywords_from",
    "rule_json",
    "script_from_row",
    "stored_rule",
]


MAX_CONTENT = 4000


RULE_FIELDS = (
    "severity",
    "deduction",
    "max_deduction",
    "role",
    "expression",
    "node",
    "order",
    "min_cpm",
    "max_cpm",
    "max_silence_ms",
)


def company_of(actor: Principal) -> str:
    if actor.company_id is None:
        raise NotAccessible("company", "")
    return actor.company_id


def keywords_from(value: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.replace("，", ",").split(",")
    if not all(isinstance(v, str) for v in value):
        raise InvalidInput("keywords must be text or a list of text", zh="关键词须为文字或文字列表")
    cleaned = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(cleaned) > 20 or any(len(k) > 32 for k in cleaned):
        raise InvalidInput(
            "keywords: at most 20, each at most 32 characters",
            zh="关键词最多 20 个，每个最多 32 个字符",
        )
    return cleaned


def content_from(content: str) -> str:
    if not isinstance(content, str) or len(content) > MAX_CONTENT:
        raise InvalidInput(
            f"content must be text of at most {MAX_CONTENT} characters",
            zh=f"话术内容须为文字，最多 {MAX_CONTENT} 个字符",
        )
    return content.strip()


def script_from_row(row: Any) -> Script:
    return Script(
        id=row.id,
        category_id=row.category_id,
        name=row.name,
        keywords=tuple(k for k in row.keywords.split(",") if k),
        content=row.content,
        updated_at=from_ms(row.updated_ms),
    )


def flow_from_row(row: Any) -> Flow:
    return Flow(
        id=row.id,
        name=row.name,
        material_id=row.material_id,
        pages=pages_from(json.loads(row.pages)),
        nodes=flow_nodes_from(json.loads(row.nodes)),
        updated_at=from_ms(row.updated_ms),
    )


def rule_json(rule: QaRule) -> str:
    data = {f: getattr(rule, f) for f in RULE_FIELDS}
    data["order"] = list(rule.order)
    return json.dumps(data, ensure_ascii=False)


def stored_rule(row: Any) -> StoredQaRule:
    data = json.loads(row.definition)
    data["order"] = tuple(data.get("order") or ())
    rule = QaRule(id=row.id, name=row.name, kind=row.kind, **data)
    return StoredQaRule(rule=rule, enabled=bool(row.enabled), updated_at=from_ms(row.updated_ms))


class LibraryBase:
    """The SOP library's shared state and row look-ups (see ``SopService``).

    Args:
        ctx: the platform's shared context (database, clock, settings).
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def _category_row(self, conn: Any, company: str, category_id: str) -> Any:
        row = (
            await conn.execute(
                sa.select(sop_script_categories).where(
                    sop_script_categories.c.id == category_id,
                    sop_script_categories.c.company_id == company,
                )
            )
        ).first()
        if row is None:
            raise NotAccessible("script category", str(category_id))
        return row

    async def _script_row(self, conn: Any, company: str, script_id: str) -> Any:
        row = (
            await conn.execute(
                sa.select(sop_scripts).where(
                    sop_scripts.c.id == script_id, sop_scripts.c.company_id == company
                )
            )
        ).first()
        if row is None:
            raise NotAccessible("script", str(script_id))
        return row

    async def _flow_row(self, conn: Any, company: str, flow_id: str) -> Any:
        row = (
            await conn.execute(
                sa.select(sop_flows).where(
                    sop_flows.c.id == flow_id, sop_flows.c.company_id == company
                )
            )
        ).first()
        if row is None:
            raise NotAccessible("flow", str(flow_id))
        return row

    def _allowed_templates(self, actor: Principal, company: str) -> Any:
        where = sop_templates.c.company_id == company
        if actor.role in (Role.COMPANY_ADMIN, Role.SUPER_ADMIN):
            return where
        any_org = ~(
            sa.select(sop_template_orgs.c.template_id)
            .where(sop_template_orgs.c.template_id == sop_templates.c.id)
            .exists()
        )
        mine = (
            sa.select(sop_template_orgs.c.template_id)
            .where(
                sop_template_orgs.c.template_id == sop_templates.c.id,
                sop_template_orgs.c.org_id == actor.org_id,
            )
            .exists()
        )
        return sa.and_(where, sa.or_(any_org, mine))

    def _visible_flows(self, actor: Principal, company: str) -> Any:
        where = sop_flows.c.company_id == company
        if actor.role in (Role.COMPANY_ADMIN, Role.SUPER_ADMIN):
            return where
        used = (
            sa.select(sop_template_flows.c.flow_id)
            .join(sop_templates, sop_templates.c.id == sop_template_flows.c.template_id)
            .where(self._allowed_templates(actor, company))
        )
        return sa.and_(where, sop_flows.c.id.in_(used))
