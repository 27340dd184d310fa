"""The SOP library of a company (SOP 管理, manual §4.6): scripts, flows, templates, QA rules.

Permissions: a company admin manages their company's library (``Operation.SOP_MANAGE``).
Org admins and salespeople read: the script library and QA rules of their company, the
templates their organization is allowed (a template with no organizations is allowed to
all), and the flows of those templates. Anything outside the actor's view is reported
as ``NotAccessible``, exactly like a missing id.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from zhanye_sdk.clock import from_ms
from zhanye_sdk.errors import ConflictError, InvalidInput
from zhanye_sdk.materials.visibility import visible_to
from zhanye_sdk.platform.context import ServiceContext, new_id
from zhanye_sdk.platform.permissions import NotAccessible, Operation, require
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.platform.validation import check_name
from zhanye_sdk.sop.models import (
    Flow,
    Script,
    ScriptCategory,
    SopTemplate,
    StoredQaRule,
    flow_nodes_from,
    nodes_to_json,
    pages_from,
)
from zhanye_sdk.sop.qa import QaRule
from zhanye_sdk.store.schema import (
    materials,
    organizations,
    sop_flows,
    sop_qa_rules,
    sop_script_categories,
    sop_scripts,
    sop_template_flows,
    sop_template_orgs,
    sop_templates,
)

__all__ = ["SopService"]

_MAX_CONTENT = 4000
_RULE_FIELDS = (
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


def _company(actor: Principal) -> str:
    if actor.company_id is None:
        raise NotAccessible("company", "")
    return actor.company_id


def _keywords(value: Sequence[str] | str) -> tuple[str, ...]:
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


def _content(content: str) -> str:
    if not isinstance(content, str) or len(content) > _MAX_CONTENT:
        raise InvalidInput(
            f"content must be text of at most {_MAX_CONTENT} characters",
            zh=f"话术内容须为文字，最多 {_MAX_CONTENT} 个字符",
        )
    return content.strip()


def _script(row: Any) -> Script:
    return Script(
        id=row.id,
        category_id=row.category_id,
        name=row.name,
        keywords=tuple(k for k in row.keywords.split(",") if k),
        content=row.content,
        updated_at=from_ms(row.updated_ms),
    )


def _flow(row: Any) -> Flow:
    return Flow(
        id=row.id,
        name=row.name,
        material_id=row.material_id,
        pages=pages_from(json.loads(row.pages)),
        nodes=flow_nodes_from(json.loads(row.nodes)),
        updated_at=from_ms(row.updated_ms),
    )


def _rule_json(rule: QaRule) -> str:
    data = {f: getattr(rule, f) for f in _RULE_FIELDS}
    data["order"] = list(rule.order)
    return json.dumps(data, ensure_ascii=False)


def _stored_rule(row: Any) -> StoredQaRule:
    data = json.loads(row.definition)
    data["order"] = tuple(data.get("order") or ())
    rule = QaRule(id=row.id, name=row.name, kind=row.kind, **data)
    return StoredQaRule(rule=rule, enabled=bool(row.enabled), updated_at=from_ms(row.updated_ms))


class SopService:
    """The SOP library, seen through the acting principal.

    Args:
        ctx: the platform's shared context (database, clock, settings).
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    # ---- script categories ------------------------------------------------------------

    async def create_category(
        self, actor: Principal, name: str, parent_id: str | None = None
    ) -> ScriptCategory:
        """Add a category at the end of ``parent_id``'s children (top level when None).

        Raises:
            PermissionDenied: not a company admin.
            NotAccessible: the parent is missing or another company's.
            InvalidInput: a bad name, or a third level (the tree has two).
        """
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        name = check_name(name, what="category name")
        async with self._ctx.db.begin() as conn:
            if parent_id is not None:
                parent = await self._category_row(conn, company, parent_id)
                if parent.parent_id is not None:
                    raise InvalidInput(
                        "categories nest two levels deep at most",
                        zh="话术分类最多两级，请选择一级分类作为上级",
                    )
            siblings = sop_script_categories.c.parent_id
            same_level = siblings.is_(None) if parent_id is None else siblings == parent_id
            count = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(sop_script_categories)
                    .where(sop_script_categories.c.company_id == company, same_level)
                )
            ).scalar_one()
            category = ScriptCategory(new_id(), name, parent_id, int(count))
            await conn.execute(
                sop_script_categories.insert().values(
                    id=category.id,
                    company_id=company,
                    parent_id=parent_id,
                    name=name,
                    position=category.position,
                    created_ms=self._ctx.now_ms(),
                )
            )
        return category

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

    async def categories(self, actor: Principal) -> builtins.list[ScriptCategory]:
        """The company's categories, parents before their children, each level in order."""
        company = _company(actor)
        async with self._ctx.db.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(sop_script_categories)
                    .where(sop_script_categories.c.company_id == company)
                    .order_by(sop_script_categories.c.position, sop_script_categories.c.id)
                )
            ).all()
        top = [r for r in rows if r.parent_id is None]
        out: list[ScriptCategory] = []
        for parent in top:
            out.append(ScriptCategory(parent.id, parent.name, None, parent.position))
            out.extend(
                ScriptCategory(r.id, r.name, r.parent_id, r.position)
                for r in rows
                if r.parent_id == parent.id
            )
        return out

    async def delete_category(self, actor: Principal, category_id: str) -> None:
        """Delete an empty category.

        Raises:
            ConflictError: it still has subcategories or scripts.
        """
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        async with self._ctx.db.begin() as conn:
            await self._category_row(conn, company, category_id)
            for table, column in (
                (sop_script_categories, sop_script_categories.c.parent_id),
                (sop_scripts, sop_scripts.c.category_id),
            ):
                used = (
                    await conn.execute(
                        sa.select(sa.func.count()).select_from(table).where(column == category_id)
                    )
                ).scalar_one()
                if used:
                    raise ConflictError(
                        "the category is not empty: move or delete its content",
                        zh="该分类下还有内容，请先移走或删除其中的子分类和话术",
                    )
            await conn.execute(
                sop_script_categories.delete().where(sop_script_categories.c.id == category_id)
            )

    # ---- scripts ------------------------------------------------------------------------

    async def create_script(
        self,
        actor: Principal,
        category_id: str,
        name: str,
        keywords: Sequence[str] | str,
        content: str,
    ) -> Script:
        """Add a script (话术) to a category.

        Raises:
            PermissionDenied, NotAccessible, InvalidInput: as for categories.
        """
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        script = Script(
            id=new_id(),
            category_id=category_id,
            name=check_name(name, what="script name"),
            keywords=_keywords(keywords),
            content=_content(content),
            updated_at=self._ctx.clock.now(),
        )
        async with self._ctx.db.begin() as conn:
            await self._category_row(conn, company, category_id)
            await conn.execute(
                sop_scripts.insert().values(
                    id=script.id,
                    company_id=company,
                    category_id=category_id,
                    name=script.name,
                    keywords=",".join(script.keywords),
                    content=script.content,
                    updated_ms=self._ctx.now_ms(),
                )
            )
        return script

    async def update_script(
        self,
        actor: Principal,
        script_id: str,
        *,
        name: str | None = None,
        keywords: Sequence[str] | str | None = None,
        content: str | None = None,
        category_id: str | None = None,
    ) -> Script:
        """Change a script's fields (those given)."""
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        async with self._ctx.db.begin() as conn:
            current = _script(await self._script_row(conn, company, script_id))
            if category_id is not None:
                await self._category_row(conn, company, category_id)
            updated = attrs.evolve(
                current,
                name=check_name(name, what="script name") if name is not None else current.name,
                keywords=_keywords(keywords) if keywords is not None else current.keywords,
                content=_content(content) if content is not None else current.content,
                category_id=category_id or current.category_id,
                updated_at=self._ctx.clock.now(),
            )
            await conn.execute(
                sop_scripts.update()
                .where(sop_scripts.c.id == script_id)
                .values(
                    name=updated.name,
                    keywords=",".join(updated.keywords),
                    content=updated.content,
                    category_id=updated.category_id,
                    updated_ms=self._ctx.now_ms(),
                )
            )
        return updated

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

    async def delete_script(self, actor: Principal, script_id: str) -> None:
        """Delete a script."""
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        async with self._ctx.db.begin() as conn:
            await self._script_row(conn, company, script_id)
            await conn.execute(sop_scripts.delete().where(sop_scripts.c.id == script_id))

    async def scripts(
        self, actor: Principal, *, category_id: str | None = None, keyword: str | None = None
    ) -> builtins.list[Script]:
        """Scripts of the company, newest update first: in a category (and its
        subcategories) and/or whose name, keywords or content contain ``keyword``."""
        company = _company(actor)
        where = [sop_scripts.c.company_id == company]
        async with self._ctx.db.connect() as conn:
            if category_id is not None:
                await self._category_row(conn, company, category_id)
                children = sa.select(sop_script_categories.c.id).where(
                    sop_script_categories.c.parent_id == category_id
                )
                where.append(
                    sa.or_(
                        sop_scripts.c.category_id == category_id,
                        sop_scripts.c.category_id.in_(children),
                    )
                )
            if keyword and keyword.strip():
                like = (
                    "%"
                    + keyword.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                    + "%"
                )
                where.append(
                    sa.or_(
                        sop_scripts.c.name.like(like, escape="\\"),
                        sop_scripts.c.keywords.like(like, escape="\\"),
                        sop_scripts.c.content.like(like, escape="\\"),
                    )
                )
            rows = (
                await conn.execute(
                    sa.select(sop_scripts)
                    .where(*where)
                    .order_by(sop_scripts.c.updated_ms.desc(), sop_scripts.c.id)
                )
            ).all()
        return [_script(r) for r in rows]

    # ---- flows ---------------------------------------------------------------------------

    async def create_flow(
        self,
        actor: Principal,
        name: str,
        nodes: Any,
        *,
        material_id: str | None = None,
        pages: Any = None,
    ) -> Flow:
        """Add a flow (流程). ``nodes`` is the JSON form (see ``flow_nodes_from``).

        Raises:
            InvalidInput: listing every bad field of the nodes.
            NotAccessible: the material or a linked script is not the company's.
        """
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        flow = Flow(
            id=new_id(),
            name=check_name(name, what="flow name"),
            material_id=material_id,
            pages=pages_from(pages),
            nodes=flow_nodes_from(nodes),
            updated_at=self._ctx.clock.now(),
        )
        async with self._ctx.db.begin() as conn:
            await self._check_links(conn, actor, company, flow)
            await conn.execute(sop_flows.insert().values(**self._flow_values(flow, company)))
        return flow

    def _flow_values(self, flow: Flow, company: str) -> dict[str, Any]:
        return {
            "id": flow.id,
            "company_id": company,
            "name": flow.name,
            "material_id": flow.material_id,
            "pages": json.dumps([[p.first, p.last] for p in flow.pages]),
            "nodes": json.dumps(nodes_to_json(flow.nodes), ensure_ascii=False),
            "updated_ms": self._ctx.now_ms(),
        }

    async def _check_links(self, conn: Any, actor: Principal, company: str, flow: Flow) -> None:
        if flow.material_id is not None:
            found = (
                await conn.execute(
                    sa.select(materials.c.id).where(
                        materials.c.id == flow.material_id, visible_to(actor)
                    )
                )
            ).first()
            if found is None:
                raise NotAccessible("material", str(flow.material_id))
        wanted = {s for top in flow.nodes for _, n in top.walk() for s in n.script_ids}
        if wanted:
            have = set(
                (
                    await conn.execute(
                        sa.select(sop_scripts.c.id).where(
                            sop_scripts.c.company_id == company, sop_scripts.c.id.in_(wanted)
                        )
                    )
                ).scalars()
            )
            for missing in sorted(wanted - have):
                raise NotAccessible("script", missing)

    async def update_flow(
        self,
        actor: Principal,
        flow_id: str,
        *,
        name: str | None = None,
        nodes: Any = None,
        material_id: str | None = None,
        pages: Any = None,
    ) -> Flow:
        """Change a flow's fields (those given; ``material_id=""`` unlinks the material)."""
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        async with self._ctx.db.begin() as conn:
            current = _flow(await self._flow_row(conn, company, flow_id))
            updated = attrs.evolve(
                current,
                name=check_name(name, what="flow name") if name is not None else current.name,
                nodes=flow_nodes_from(nodes) if nodes is not None else current.nodes,
                material_id=(material_id or None)
                if material_id is not None
                else current.material_id,
                pages=pages_from(pages) if pages is not None else current.pages,
                updated_at=self._ctx.clock.now(),
            )
            await self._check_links(conn, actor, company, updated)
            values = self._flow_values(updated, company)
            del values["id"], values["company_id"]
            await conn.execute(sop_flows.update().where(sop_flows.c.id == flow_id).values(**values))
        return updated

    async def copy_flow(self, actor: Principal, flow_id: str, name: str | None = None) -> Flow:
        """A copy of a flow (复制) under ``name`` (default: the name with ``-副本``)."""
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        async with self._ctx.db.begin() as conn:
            source = _flow(await self._flow_row(conn, company, flow_id))
            copy = attrs.evolve(
                source,
                id=new_id(),
                name=check_name(
                    name if name is not None else f"{source.name}-副本", what="flow name"
                ),
                updated_at=self._ctx.clock.now(),
            )
            await conn.execute(sop_flows.insert().values(**self._flow_values(copy, company)))
        return copy

    async def delete_flow(self, actor: Principal, flow_id: str) -> None:
        """Delete a flow (and its place in templates)."""
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        async with self._ctx.db.begin() as conn:
            await self._flow_row(conn, company, flow_id)
            await conn.execute(
                sop_template_flows.delete().where(sop_template_flows.c.flow_id == flow_id)
            )
            await conn.execute(sop_flows.delete().where(sop_flows.c.id == flow_id))

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

    async def get_flow(self, actor: Principal, flow_id: str) -> Flow:
        """One flow the actor may use."""
        company = _company(actor)
        async with self._ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(sop_flows).where(
                        sop_flows.c.id == flow_id, self._visible_flows(actor, company)
                    )
                )
            ).first()
        if row is None:
            raise NotAccessible("flow", str(flow_id))
        return _flow(row)

    async def flows(self, actor: Principal, *, name: str | None = None) -> builtins.list[Flow]:
        """Flows the actor may use, newest update first, optionally by name."""
        company = _company(actor)
        where = [self._visible_flows(actor, company)]
        if name and name.strip():
            where.append(sop_flows.c.name.contains(name.strip(), autoescape=True))
        async with self._ctx.db.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(sop_flows)
                    .where(*where)
                    .order_by(sop_flows.c.updated_ms.desc(), sop_flows.c.id)
                )
            ).all()
        return [_flow(r) for r in rows]

    # ---- templates -------------------------------------------------------------------------

    async def save_template(
        self,
        actor: Principal,
        name: str,
        flow_ids: Sequence[str],
        org_ids: Sequence[str] = (),
        *,
        template_id: str | None = None,
    ) -> SopTemplate:
        """Create a template, or replace ``template_id``'s name, flows and organizations.

        Raises:
            InvalidInput: no flows, or a flow listed twice.
            NotAccessible: a flow, an organization or the template is not the company's.
        """
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        name = check_name(name, what="template name")
        if isinstance(flow_ids, str) or isinstance(org_ids, str):
            raise InvalidInput(
                "flow_ids and org_ids must be lists of ids", zh="流程和机构须以列表形式选择"
            )
        if not flow_ids or len(set(flow_ids)) != len(flow_ids):
            raise InvalidInput(
                "a template needs one or more flows, each listed once",
                zh="模板至少需要一个流程，且同一流程只能选一次",
            )
        orgs = tuple(sorted(set(org_ids)))
        template = SopTemplate(
            id=template_id or new_id(),
            name=name,
            flow_ids=tuple(flow_ids),
            org_ids=orgs,
            updated_at=self._ctx.clock.now(),
        )
        async with self._ctx.db.begin() as conn:
            for flow_id in flow_ids:
                await self._flow_row(conn, company, flow_id)
            if orgs:
                have = set(
                    (
                        await conn.execute(
                            sa.select(organizations.c.id).where(
                                organizations.c.company_id == company,
                                organizations.c.id.in_(orgs),
                            )
                        )
                    ).scalars()
                )
                for missing in sorted(set(orgs) - have):
                    raise NotAccessible("organization", missing)
            if template_id is None:
                await conn.execute(
                    sop_templates.insert().values(
                        id=template.id, company_id=company, name=name, updated_ms=self._ctx.now_ms()
                    )
                )
            else:
                done = await conn.execute(
                    sop_templates.update()
                    .where(sop_templates.c.id == template_id, sop_templates.c.company_id == company)
                    .values(name=name, updated_ms=self._ctx.now_ms())
                )
                if done.rowcount != 1:
                    raise NotAccessible("template", str(template_id))
                for table in (sop_template_flows, sop_template_orgs):
                    await conn.execute(table.delete().where(table.c.template_id == template_id))
            if flow_ids:
                await conn.execute(
                    sop_template_flows.insert(),
                    [
                        {"template_id": template.id, "position": i, "flow_id": f}
                        for i, f in enumerate(flow_ids)
                    ],
                )
            if orgs:
                await conn.execute(
                    sop_template_orgs.insert(),
                    [{"template_id": template.id, "org_id": o} for o in orgs],
                )
        return template

    async def templates(self, actor: Principal) -> builtins.list[SopTemplate]:
        """Templates the actor's organization may use (all of the company's for its admin)."""
        company = _company(actor)
        async with self._ctx.db.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(sop_templates)
                    .where(self._allowed_templates(actor, company))
                    .order_by(sop_templates.c.updated_ms.desc(), sop_templates.c.id)
                )
            ).all()
            ids = [r.id for r in rows]
            flows: dict[str, list[str]] = {i: [] for i in ids}
            orgs: dict[str, list[str]] = {i: [] for i in ids}
            if ids:
                for r in await conn.execute(
                    sa.select(sop_template_flows)
                    .where(sop_template_flows.c.template_id.in_(ids))
                    .order_by(sop_template_flows.c.position)
                ):
                    flows[r.template_id].append(r.flow_id)
                for r in await conn.execute(
                    sa.select(sop_template_orgs).where(sop_template_orgs.c.template_id.in_(ids))
                ):
                    orgs[r.template_id].append(r.org_id)
        return [
            SopTemplate(
                id=r.id,
                name=r.name,
                flow_ids=tuple(flows[r.id]),
                org_ids=tuple(sorted(orgs[r.id])),
                updated_at=from_ms(r.updated_ms),
            )
            for r in rows
        ]

    async def delete_template(self, actor: Principal, template_id: str) -> None:
        """Delete a template (its flows stay)."""
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        async with self._ctx.db.begin() as conn:
            done = await conn.execute(
                sop_templates.delete().where(
                    sop_templates.c.id == template_id, sop_templates.c.company_id == company
                )
            )
            if done.rowcount != 1:
                raise NotAccessible("template", str(template_id))

    # ---- QA rules --------------------------------------------------------------------------

    async def save_rule(
        self, actor: Principal, rule: QaRule, *, enabled: bool = True, create: bool = True
    ) -> StoredQaRule:
        """Store a QA rule: a new one (its ``id`` is replaced by a fresh id) or, with
        ``create=False``, over the rule of the same id."""
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        if create:
            rule = attrs.evolve(rule, id=new_id())
        values = {
            "name": check_name(rule.name, what="rule name"),
            "kind": rule.kind,
            "definition": _rule_json(rule),
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
        company = _company(actor)
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
        return [_stored_rule(r) for r in rows]

    async def delete_rule(self, actor: Principal, rule_id: str) -> None:
        """Delete a QA rule."""
        require(actor, Operation.SOP_MANAGE)
        company = _company(actor)
        async with self._ctx.db.begin() as conn:
            done = await conn.execute(
                sop_qa_rules.delete().where(
                    sop_qa_rules.c.id == rule_id, sop_qa_rules.c.company_id == company
                )
            )
            if done.rowcount != 1:
                raise NotAccessible("QA rule", str(rule_id))
