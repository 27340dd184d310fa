"""SOP templates (SOP 模板): flows chosen for the organizations allowed to use them.

Part of ``SopService`` (``zhanye_sdk.sop.service``), which joins one class per entity.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

import sqlalchemy as sa

from zhanye_sdk.clock import from_ms
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.platform.context import new_id
from zhanye_sdk.platform.permissions import NotAccessible, Operation, require
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.platform.validation import check_name
from zhanye_sdk.sop.library.base import (
    LibraryBase,
    company_of,
)
from zhanye_sdk.sop.models import (
    SopTemplate,
)
from zhanye_sdk.store.schema import (
    organizations,
    sop_template_flows,
    sop_template_orgs,
    sop_templates,
)

__all__ = ["TemplateLibrary"]


class TemplateLibrary(LibraryBase):
    """SOP templates (SOP 模板) of the SOP library, seen through the acting principal."""

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
        company = company_of(actor)
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
        company = company_of(actor)
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
        company = company_of(actor)
        async with self._ctx.db.begin() as conn:
            done = await conn.execute(
                sop_templates.delete().where(
                    sop_templates.c.id == template_id, sop_templates.c.company_id == company
                )
            )
            if done.rowcount != 1:
                raise NotAccessible("template", str(template_id))
