"""SOP management endpoints (SOP 管理): script library, flows, templates, QA rules.

Bodies are JSON objects; a flow's ``nodes`` use the form ``flow_nodes_from`` reads, or
its ``outline`` the text form ``FlowOutline`` reads (answers carry both). Every
list answers ``{"items": [...]}``. Permissions are the service's: company admins manage,
everyone else reads what their organization may use.
"""

from __future__ import annotations

from typing import Any

from zhanye_sdk.api.group import EndpointGroup
from zhanye_sdk.api.http import STAFF_JSON_BODY, ApiRequest, ApiResponse, Router
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.facade import Platform
from zhanye_sdk.sop.models import (
    Flow,
    Script,
    ScriptCategory,
    SopTemplate,
    StoredQaRule,
    nodes_to_json,
)
from zhanye_sdk.sop.outline import FlowOutline
from zhanye_sdk.sop.qa import QaRule

__all__ = ["SopApi"]

_RULE_KEYS = (
    "name",
    "kind",
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


def _category(c: ScriptCategory) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "parent_id": c.parent_id, "position": c.position}


def _script(s: Script) -> dict[str, Any]:
    return {
        "id": s.id,
        "category_id": s.category_id,
        "name": s.name,
        "keywords": list(s.keywords),
        "content": s.content,
        "updated_at": s.updated_at.isoformat(),
    }


def _flow(f: Flow) -> dict[str, Any]:
    return {
        "id": f.id,
        "name": f.name,
        "material_id": f.material_id,
        "pages": [[p.first, p.last] for p in f.pages],
        "nodes": nodes_to_json(f.nodes),
        "outline": FlowOutline.format(f.nodes),
        "updated_at": f.updated_at.isoformat(),
    }


def _nodes_in(body: dict[str, Any], default: Any) -> Any:
    """A flow body's nodes: its ``outline`` (text) if given, else its ``nodes``."""
    outline = body.get("outline")
    if outline is not None:
        if "nodes" in body:
            raise InvalidInput(
                "give a flow's nodes either as nodes or as an outline, not both",
                zh="流程节点请只用一种方式提交：节点列表或流程大纲",
            )
        return FlowOutline.to_json(outline)
    return body.get("nodes", default)


def _template(t: SopTemplate) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "flow_ids": list(t.flow_ids),
        "org_ids": list(t.org_ids),
        "updated_at": t.updated_at.isoformat(),
    }


def _rule(r: StoredQaRule) -> dict[str, Any]:
    data = {k: getattr(r.rule, k) for k in _RULE_KEYS}
    data["order"] = list(r.rule.order)
    data.update(id=r.rule.id, enabled=r.enabled, updated_at=r.updated_at.isoformat())
    return data


def _rule_from(body: dict[str, Any], rule_id: str = "new") -> QaRule:
    unknown = set(body) - set(_RULE_KEYS) - {"enabled", "id", "updated_at"}
    if unknown:
        raise InvalidInput(f"unknown QA rule fields: {', '.join(sorted(unknown))}")
    fields = {k: body[k] for k in _RULE_KEYS if k in body and body[k] is not None}
    if "order" in fields:
        order = fields["order"]
        if isinstance(order, str):
            order = [p.strip() for p in order.replace("，", ",").split(",") if p.strip()]
        if not isinstance(order, list) or not all(isinstance(p, str) for p in order):
            raise InvalidInput("order must be a list of phrases")
        fields["order"] = tuple(order)
    if not isinstance(fields.get("name"), str) or not isinstance(fields.get("kind"), str):
        raise InvalidInput("a QA rule needs a name and a kind")
    try:
        return QaRule(id=rule_id, **fields)
    except TypeError as exc:
        raise InvalidInput(f"invalid QA rule: {exc}") from exc


class SopApi(EndpointGroup):
    """``/api/sop/*``."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.router = Router()
        r = self.router.add
        r("GET", "/api/sop/categories", self.categories)
        r("POST", "/api/sop/categories", self.create_category)
        r("DELETE", "/api/sop/categories/{category_id}", self.delete_category)
        r("GET", "/api/sop/scripts", self.scripts)
        r("POST", "/api/sop/scripts", self.create_script, body=STAFF_JSON_BODY)
        r("PUT", "/api/sop/scripts/{script_id}", self.update_script, body=STAFF_JSON_BODY)
        r("DELETE", "/api/sop/scripts/{script_id}", self.delete_script)
        r("GET", "/api/sop/flows", self.flows)
        r("POST", "/api/sop/flows", self.create_flow, body=STAFF_JSON_BODY)
        r("GET", "/api/sop/flows/{flow_id}", self.get_flow)
        r("PUT", "/api/sop/flows/{flow_id}", self.update_flow, body=STAFF_JSON_BODY)
        r("DELETE", "/api/sop/flows/{flow_id}", self.delete_flow)
        r("POST", "/api/sop/flows/{flow_id}/copy", self.copy_flow)
        r("GET", "/api/sop/templates", self.templates)
        r("POST", "/api/sop/templates", self.create_template, body=STAFF_JSON_BODY)
        r("PUT", "/api/sop/templates/{template_id}", self.update_template, body=STAFF_JSON_BODY)
        r("DELETE", "/api/sop/templates/{template_id}", self.delete_template)
        r("GET", "/api/sop/rules", self.rules)
        r("POST", "/api/sop/rules", self.create_rule, body=STAFF_JSON_BODY)
        r("PUT", "/api/sop/rules/{rule_id}", self.update_rule, body=STAFF_JSON_BODY)
        r("DELETE", "/api/sop/rules/{rule_id}", self.delete_rule)

    @staticmethod
    def _items(items: list[dict[str, Any]]) -> ApiResponse:
        return ApiResponse.of_json({"items": items})

    # ---- categories and scripts ---------------------------------------------------------

    async def categories(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        return self._items([_category(c) for c in await self.platform.sop.categories(actor)])

    async def create_category(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        body = request.json()
        created = await self.platform.sop.create_category(
            actor, body.get("name", ""), body.get("parent_id") or None
        )
        return ApiResponse.of_json(_category(created), 201)

    async def delete_category(self, request: ApiRequest, category_id: str) -> ApiResponse:
        await self.platform.sop.delete_category(await self._actor(request), category_id)
        return ApiResponse.of_json({"ok": True})

    async def scripts(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        found = await self.platform.sop.scripts(
            actor,
            category_id=request.query.get("category_id") or None,
            keyword=request.query.get("keyword") or None,
        )
        return self._items([_script(s) for s in found])

    async def create_script(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        body = request.json()
        created = await self.platform.sop.create_script(
            actor,
            body.get("category_id", ""),
            body.get("name", ""),
            body.get("keywords", []),
            body.get("content", ""),
        )
        return ApiResponse.of_json(_script(created), 201)

    async def update_script(self, request: ApiRequest, script_id: str) -> ApiResponse:
        actor = await self._actor(request)
        body = request.json()
        updated = await self.platform.sop.update_script(
            actor,
            script_id,
            name=body.get("name"),
            keywords=body.get("keywords"),
            content=body.get("content"),
            category_id=body.get("category_id"),
        )
        return ApiResponse.of_json(_script(updated))

    async def delete_script(self, request: ApiRequest, script_id: str) -> ApiResponse:
        await self.platform.sop.delete_script(await self._actor(request), script_id)
        return ApiResponse.of_json({"ok": True})

    # ---- flows ------------------------------------------------------------------------------

    async def flows(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        found = await self.platform.sop.flows(actor, name=request.query.get("name") or None)
        return self._items([_flow(f) for f in found])

    async def create_flow(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        body = request.json()
        created = await self.platform.sop.create_flow(
            actor,
            body.get("name", ""),
            _nodes_in(body, []),
            material_id=body.get("material_id") or None,
            pages=body.get("pages"),
        )
        return ApiResponse.of_json(_flow(created), 201)

    async def get_flow(self, request: ApiRequest, flow_id: str) -> ApiResponse:
        actor = await self._actor(request)
        return ApiResponse.of_json(_flow(await self.platform.sop.get_flow(actor, flow_id)))

    async def update_flow(self, request: ApiRequest, flow_id: str) -> ApiResponse:
        actor = await self._actor(request)
        body = request.json()
        updated = await self.platform.sop.update_flow(
            actor,
            flow_id,
            name=body.get("name"),
            nodes=_nodes_in(body, None),
            material_id=body.get("material_id"),
            pages=body.get("pages"),
        )
        return ApiResponse.of_json(_flow(updated))

    async def delete_flow(self, request: ApiRequest, flow_id: str) -> ApiResponse:
        await self.platform.sop.delete_flow(await self._actor(request), flow_id)
        return ApiResponse.of_json({"ok": True})

    async def copy_flow(self, request: ApiRequest, flow_id: str) -> ApiResponse:
        actor = await self._actor(request)
        copy = await self.platform.sop.copy_flow(actor, flow_id, request.json().get("name"))
        return ApiResponse.of_json(_flow(copy), 201)

    # ---- templates --------------------------------------------------------------------------

    async def templates(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        return self._items([_template(t) for t in await self.platform.sop.templates(actor)])

    async def create_template(self, request: ApiRequest) -> ApiResponse:
        return await self._save_template(request, None)

    async def update_template(self, request: ApiRequest, template_id: str) -> ApiResponse:
        return await self._save_template(request, template_id)

    async def _save_template(self, request: ApiRequest, template_id: str | None) -> ApiResponse:
        actor = await self._actor(request)
        body = request.json()
        saved = await self.platform.sop.save_template(
            actor,
            body.get("name", ""),
            body.get("flow_ids", []),
            body.get("org_ids", []),
            template_id=template_id,
        )
        return ApiResponse.of_json(_template(saved), 200 if template_id else 201)

    async def delete_template(self, request: ApiRequest, template_id: str) -> ApiResponse:
        await self.platform.sop.delete_template(await self._actor(request), template_id)
        return ApiResponse.of_json({"ok": True})

    # ---- QA rules ----------------------------------------------------------------------------

    async def rules(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        return self._items([_rule(r) for r in await self.platform.sop.rules(actor)])

    async def create_rule(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        body = request.json()
        saved = await self.platform.sop.save_rule(
            actor, _rule_from(body), enabled=bool(body.get("enabled", True))
        )
        return ApiResponse.of_json(_rule(saved), 201)

    async def update_rule(self, request: ApiRequest, rule_id: str) -> ApiResponse:
        actor = await self._actor(request)
        body = request.json()
        saved = await self.platform.sop.save_rule(
            actor,
            _rule_from(body, rule_id),
            enabled=bool(body.get("enabled", True)),
            create=False,
        )
        return ApiResponse.of_json(_rule(saved))

    async def delete_rule(self, request: ApiRequest, rule_id: str) -> ApiResponse:
        await self.platform.sop.delete_rule(await self._actor(request), rule_id)
        return ApiResponse.of_json({"ok": True})
