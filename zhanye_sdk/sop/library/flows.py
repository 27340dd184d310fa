"""Flows (流程): a material's pages and the nodes a session goes through.

Part of ``SopService`` (``zhanye_sdk.sop.service``), which joins one class per entity.
"""

from __future__ import annotations

import builtins
import json
from typing import Any

import attrs
import sqlalchemy as sa

from zhanye_sdk.materials.visibility import visible_to
from zhanye_sdk.platform.context import new_id
from zhanye_sdk.platform.permissions import NotAccessible, Operation, require
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.platform.validation import check_name
from zhanye_sdk.sop.library.base import (
    LibraryBase,
    company_of,
    flow_from_row,
)
from zhanye_sdk.sop.models import (
    Flow,
    flow_nodes_from,
    nodes_to_json,
    pages_from,
)
from zhanye_sdk.store.schema import (
    materials,
    sop_flows,
    sop_scripts,
    sop_template_flows,
)

__all__ = ["FlowLibrary"]


class FlowLibrary(LibraryBase):
    """Flows (流程) of the SOP library, seen through the acting principal."""

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
        company = company_of(actor)
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
        company = company_of(actor)
        async with self._ctx.db.begin() as conn:
            current = flow_from_row(await self._flow_row(conn, company, flow_id))
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
        company = company_of(actor)
        async with self._ctx.db.begin() as conn:
            source = flow_from_row(await self._flow_row(conn, company, flow_id))
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
        company = company_of(actor)
        async with self._ctx.db.begin() as conn:
            await self._flow_row(conn, company, flow_id)
            await conn.execute(
                sop_template_flows.delete().where(sop_template_flows.c.flow_id == flow_id)
            )
            await conn.execute(sop_flows.delete().where(sop_flows.c.id == flow_id))

    async def get_flow(self, actor: Principal, flow_id: str) -> Flow:
        """One flow the actor may use."""
        company = company_of(actor)
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
        return flow_from_row(row)

    async def flows(self, actor: Principal, *, name: str | None = None) -> builtins.list[Flow]:
        """Flows the actor may use, newest update first, optionally by name."""
        company = company_of(actor)
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
        return [flow_from_row(r) for r in rows]
