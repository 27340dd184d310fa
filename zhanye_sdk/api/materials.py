"""Material library endpoints (资源管理): list, upload, links, edit, pages, download, delete.

Uploads send the file's bytes as the request body (``application/octet-stream``), with
the name, kind and organizations in the query string, so a browser can show upload
progress. Converting a document to page images is a separate request whose progress
another request reads (``GET …/conversion``) while it runs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import attrs

from zhanye_sdk.api.group import EndpointGroup
from zhanye_sdk.api.http import UPLOAD_BODY, ApiError, ApiRequest, ApiResponse, Router
from zhanye_sdk.errors import InvalidInput, ZhanyeError
from zhanye_sdk.facade import Platform
from zhanye_sdk.materials.models import Material, MaterialKind
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.wire import structure, unstructure

__all__ = ["MaterialApi"]


@attrs.frozen
class LinkForm:
    name: str
    url: str
    title: str | None = None
    has_audio: bool = False
    org_ids: list[str] | None = None
    mask_selectors: list[str] | None = None
    #: A 测评 (assessment) page rather than an H5 product.
    assessment: bool = False


@attrs.frozen
class EditForm:
    """编辑: only the fields given change (``title`` "" clears it)."""

    name: str | None = None
    url: str | None = None
    title: str | None = None
    has_audio: bool | None = None
    mask_selectors: list[str] | None = None


@attrs.frozen
class _Conversion:
    done: int = 0
    total: int = 0
    state: str = "running"  # running | ready | failed
    error: str | None = None


def _material(platform: Platform, actor: Principal, material: Material) -> dict[str, Any]:
    data: dict[str, Any] = unstructure(material)
    data.pop("sha256", None)
    data["mime_type"] = material.mime_type
    # The SDK's rule, so the page offers 删除 only where it would succeed.
    data["can_delete"] = platform.materials.can_delete(actor, material)
    return data


class MaterialApi(EndpointGroup):
    """``/api/materials/*``."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._conversions: dict[tuple[str, str], _Conversion] = {}
        self.router = Router()
        r = self.router.add
        r("GET", "/api/materials", self.list)
        r("POST", "/api/materials/upload", self.upload, body=UPLOAD_BODY)
        r("POST", "/api/materials/links", self.add_link)
        r("GET", "/api/materials/{material_id}", self.get)
        r("PATCH", "/api/materials/{material_id}", self.edit)
        r("DELETE", "/api/materials/{material_id}", self.delete)
        r("GET", "/api/materials/{material_id}/download", self.download)
        r("POST", "/api/materials/{material_id}/convert", self.convert)
        r("GET", "/api/materials/{material_id}/conversion", self.conversion)
        r("GET", "/api/materials/{material_id}/pages/{number}", self.page)

    async def list(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        q = request.query
        kind = q.get("kind") or None
        try:
            kind_value = MaterialKind(kind) if kind else None
            offset, limit = int(q.get("offset") or 0), int(q.get("limit") or 50)
        except ValueError as exc:
            raise InvalidInput(f"bad list parameter: {exc}") from exc
        page = await self.platform.materials.list(
            actor, kind=kind_value, keyword=q.get("keyword") or None, offset=offset, limit=limit
        )
        return ApiResponse.of_json(
            {"items": [_material(self.platform, actor, m) for m in page.items], "total": page.total}
        )

    async def upload(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        name = (request.query.get("name") or "").strip()
        kind = request.query.get("kind", "file")
        orgs = [o for o in (request.query.get("org_ids") or "").split(",") if o]
        org_ids = orgs or None
        service = self.platform.materials
        # A spooled upload goes from its file to the store, never whole into memory.
        body = request.body_file if request.body_file is not None else request.body
        if kind == "video":
            material = await service.upload_video(actor, name, body, org_ids=org_ids)
        elif kind == "file":
            material = await service.upload_file(actor, name, body, org_ids=org_ids)
        else:
            raise InvalidInput("kind must be file or video", zh="请选择上传文件或视频")
        return ApiResponse.of_json(_material(self.platform, actor, material), 201)

    async def add_link(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        form = structure(request.json(), LinkForm)
        material = await self.platform.materials.add_link(
            actor,
            form.name,
            form.url,
            title=form.title,
            has_audio=form.has_audio,
            org_ids=form.org_ids,
            mask_selectors=form.mask_selectors or (),
            assessment=form.assessment,
        )
        return ApiResponse.of_json(_material(self.platform, actor, material), 201)

    async def edit(self, request: ApiRequest, material_id: str) -> ApiResponse:
        actor = await self._actor(request)
        form = structure(request.json(), EditForm)
        material = await self.platform.materials.edit(
            actor,
            material_id,
            name=form.name,
            url=form.url,
            title=form.title or None,
            clear_title=form.title == "",
            has_audio=form.has_audio,
            mask_selectors=form.mask_selectors,
        )
        return ApiResponse.of_json(_material(self.platform, actor, material))

    async def get(self, request: ApiRequest, material_id: str) -> ApiResponse:
        actor = await self._actor(request)
        material = await self.platform.materials.get(actor, material_id)
        return ApiResponse.of_json(_material(self.platform, actor, material))

    async def delete(self, request: ApiRequest, material_id: str) -> ApiResponse:
        actor = await self._actor(request)
        await self.platform.materials.delete(actor, material_id)
        return ApiResponse.of_json({"ok": True})

    async def download(self, request: ApiRequest, material_id: str) -> ApiResponse:
        actor = await self._actor(request)
        material = await self.platform.materials.get(actor, material_id)
        data = await self.platform.materials.download(actor, material_id)
        return ApiResponse(
            200,
            data,
            content_type=material.mime_type or "application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(material.name)}"},
        )

    async def convert(self, request: ApiRequest, material_id: str) -> ApiResponse:
        actor = await self._actor(request)
        key = (actor.account_id, material_id)
        self._conversions[key] = _Conversion()

        def progress(done: int, total: int) -> None:
            self._conversions[key] = _Conversion(done, total)

        try:
            pages = await self.platform.materials.convert(actor, material_id, progress)
        except ZhanyeError as exc:
            self._conversions[key] = _Conversion(state="failed", error=str(exc))
            raise
        self._conversions[key] = _Conversion(len(pages), len(pages), "ready")
        return ApiResponse.of_json(
            {"pages": [{"number": p.number, "width": p.width, "height": p.height} for p in pages]}
        )

    async def conversion(self, request: ApiRequest, material_id: str) -> ApiResponse:
        actor = await self._actor(request)
        state = self._conversions.get((actor.account_id, material_id))
        if state is None:
            raise ApiError(404, "not_found", "no conversion of this material is running")
        return ApiResponse.of_json(attrs.asdict(state))

    async def page(self, request: ApiRequest, material_id: str, number: str) -> ApiResponse:
        actor = await self._actor(request)
        if not number.isdigit():
            raise InvalidInput("page number must be a whole number")
        pages = await self.platform.materials.pages(actor, material_id)
        page = next((p for p in pages if p.number == int(number)), None)
        if page is None:
            raise InvalidInput(
                f"there is no page {number}; the document has {len(pages)}",
                zh=f"第 {number} 页不存在，该文档共 {len(pages)} 页",
            )
        data = await self.platform.materials.page_image(actor, material_id, int(number))
        return ApiResponse(
            200,
            data,
            content_type=page.mime_type,
            headers={"Cache-Control": "private, max-age=3600"},
        )
