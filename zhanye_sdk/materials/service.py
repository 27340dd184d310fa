"""The material library (素材管理): upload, links, list and search, download, delete, pages.

Who sees and who deletes what is decided in ``visibility.py`` (SPEC C2, manual §4.5); a
material outside the actor's view is reported exactly like a missing one.

Bytes are checked by content before anything is stored, then kept in a content-addressed
store; documents are converted to page images once per content (the page images are
shared by every material with the same bytes) and removed with the last material that
uses them.
"""

from __future__ import annotations

import builtins
import functools
import io
import json
import mmap
import os
import re
import unicodedata
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import sqlalchemy as sa
from PIL import Image

from zhanye_sdk.clock import from_ms
from zhanye_sdk.errors import InvalidInput, PermissionDenied
from zhanye_sdk.materials.archives import check_archive
from zhanye_sdk.materials.blobs import BlobLedger
from zhanye_sdk.materials.content import Content
from zhanye_sdk.materials.conversion import DocumentConverter, PageProgress
from zhanye_sdk.materials.kinds import (
    DOCUMENT_KINDS,
    IMAGE_KINDS,
    VIDEO_KINDS,
    ContentKind,
    require_kind,
)
from zhanye_sdk.materials.limits import ConversionLimits
from zhanye_sdk.materials.models import Audience, Material, MaterialKind, MaterialList, PageImage
from zhanye_sdk.materials.names import clean_material_name
from zhanye_sdk.materials.storage import ByteProgress, LocalStorage, MaterialStorage
from zhanye_sdk.materials.visibility import may_delete, resolve_audience, visible_to
from zhanye_sdk.platform.context import ServiceContext, new_id
from zhanye_sdk.platform.permissions import PERMISSIONS, NotAccessible, Operation, require
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.store.database import Database
from zhanye_sdk.store.schema import material_orgs, materials

__all__ = ["FILE_KINDS", "MaterialService", "check_link_url", "default_storage_root"]

#: What ``upload_file`` accepts: documents and images.
FILE_KINDS = DOCUMENT_KINDS | IMAGE_KINDS
_MAX_URL = 2048


def default_storage_root(db: Database) -> Path:
    """Beside a SQLite database file (``<file>.materials``), else ``./zhanye-materials``."""
    database = db.engine.url.database if db.dialect == "sqlite" else None
    if database and database != ":memory:":
        path = Path(database)
        return path.with_name(path.name + ".materials")
    return Path("zhanye-materials")


def check_link_url(url: str) -> str:
    """An absolute ``http``/``https`` URL with a host, at most 2048 characters.

    Raises:
        InvalidInput: anything else (``javascript:``, ``file:``, relative URLs …).
    """
    if not isinstance(url, str):
        raise InvalidInput("the link must be text", zh="链接必须是文字")
    url = url.strip()
    if not url or len(url) > _MAX_URL:
        raise InvalidInput(
            f"the link must be 1–{_MAX_URL} characters", zh=f"链接须为 1–{_MAX_URL} 个字符"
        )
    if any(c.isspace() or unicodedata.category(c).startswith("C") for c in url):
        raise InvalidInput(
            "the link must not contain spaces or control characters",
            zh="链接不能包含空格或控制字符，请检查后重新填写",
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidInput(
            f"link {url!r} is not a valid URL ({exc})",
            zh=f"链接“{url}”不是有效的网址，请检查后重新填写",
        ) from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"link {url!r} is not allowed; a link material must be an http:// or https:// "
            "address such as https://example.com/product.html",
            zh=f"不能使用链接“{url}”：链接资源须以 http:// 或 https:// 开头，如 https://example.com/product.html",
        )
    return url


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _material_from_row(row: Any, org_ids: Sequence[str]) -> Material:
    return Material(
        id=row.id,
        company_id=row.company_id,
        kind=MaterialKind(row.kind),
        name=row.name,
        audience=Audience(row.audience),
        org_ids=tuple(sorted(org_ids)),
        owner_org_id=row.owner_org_id,
        uploader_id=row.uploader_id,
        created_at=from_ms(row.created_ms),
        content_kind=ContentKind(row.content_kind) if row.content_kind else None,
        size=row.size,
        sha256=row.sha256,
        url=row.url,
        title=row.title,
        has_audio=bool(row.has_audio),
        mask_selectors=tuple(json.loads(row.mask_selectors)) if row.mask_selectors else (),
    )


_SELECTOR = re.compile(r"^[^{}<>;]{1,200}$")


def check_mask_selectors(selectors: Sequence[str]) -> tuple[str, ...]:
    """Validate CSS selectors of fields to mask: at most 20, each 1–200 characters."""
    if isinstance(selectors, str):
        raise InvalidInput(
            "mask_selectors must be a list of CSS selectors", zh="遮挡字段须为 CSS 选择器列表"
        )
    cleaned = tuple(s.strip() for s in selectors if isinstance(s, str) and s.strip())
    if len(cleaned) != len([s for s in selectors if not isinstance(s, str) or s.strip()]):
        raise InvalidInput(
            "mask_selectors must be CSS selectors (text)", zh="遮挡字段须为 CSS 选择器（文字）"
        )
    if len(cleaned) > 20 or not all(_SELECTOR.match(s) for s in cleaned):
        raise InvalidInput(
            "give at most 20 CSS selectors of 1–200 characters, without {}<>;",
            zh="遮挡字段最多 20 个 CSS 选择器，每个 1–200 个字符，且不含 {}<>;",
        )
    return cleaned


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _checked_kind(
    data: bytes | Path, accepted: frozenset[ContentKind], *, what: str, limits: ConversionLimits
) -> ContentKind:
    """The upload's kind if it is accepted (a spooled file is mapped, not read into memory);
    Office documents' zip directories are checked too (declared sizes only: refusing a zip
    bomb costs no inflating here)."""
    if not isinstance(data, Path):
        return _check_content(data, accepted, what, limits)
    with open(data, "rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return _check_content(b"", accepted, what, limits)
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return _check_content(mapped, accepted, what, limits)


def _check_content(
    data: Content, accepted: frozenset[ContentKind], what: str, limits: ConversionLimits
) -> ContentKind:
    content_kind = require_kind(data, accepted, what=what)
    if content_kind in (ContentKind.PPTX, ContentKind.DOCX):
        check_archive(data, limits, inflate=False)
    return content_kind


async def _store(
    storage: MaterialStorage, data: bytes | Path, progress: ByteProgress | None
) -> str:
    if isinstance(data, Path):
        return await storage.put_file(data, progress)
    return await storage.put(data, progress)


def _image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.width, image.height


class MaterialService:
    """The material library of one platform, seen through the acting principal.

    Args:
        ctx: the platform's shared context (database, clock, settings).
        storage: where bytes go; a ``LocalStorage`` at the configured root by default.
        converter: turns documents into pages; built from the settings by default.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        storage: MaterialStorage | None = None,
        converter: DocumentConverter | None = None,
    ) -> None:
        settings = ctx.config.materials
        self._ctx = ctx
        self._settings = settings
        self._ledger = BlobLedger(
            ctx.db, storage or LocalStorage(settings.storage_root or default_storage_root(ctx.db))
        )
        self.converter = converter or DocumentConverter(
            page_width=settings.page_width,
            max_pages=settings.max_pages,
            timeout_s=settings.conversion_timeout_s,
            soffice=settings.soffice,
            max_parallel=settings.parallel_conversions,
        )

    @property
    def storage(self) -> MaterialStorage:
        """Where the material bytes and page images are kept."""
        return self._ledger.storage

    # ------------------------------------------------------------------ adding

    async def upload_file(
        self,
        actor: Principal,
        name: str,
        data: bytes | Path,
        *,
        org_ids: Collection[str] | None = None,
        progress: ByteProgress | None = None,
    ) -> Material:
        """Add a file material: a PDF, PPT/PPTX, DOC/DOCX or PNG/JPEG/GIF/WebP image.

        Args:
            actor: who uploads.
            name: the name shown in the library (文件名称).
            data: the file's bytes, or the path of a file holding them (an upload spooled
                to disk: it is checked and stored without being read into memory); the
                type is decided from the content, not from ``name``.
            org_ids: company admins only: the organizations to show it in (default: all);
                an org admin may name only their own.
            progress: sees (bytes stored, bytes total).

        Raises:
            InvalidInput: the content is not an accepted type, or it is too large.
            PermissionDenied: the actor may not upload, or may not choose organizations.
            NotAccessible: an organization in ``org_ids`` is outside the actor's scope.
        """
        return await self._upload(
            actor,
            name,
            data,
            kind=MaterialKind.FILE,
            accepted=FILE_KINDS,
            limit=self._settings.max_file_bytes,
            org_ids=org_ids,
            progress=progress,
        )

    async def upload_video(
        self,
        actor: Principal,
        name: str,
        data: bytes | Path,
        *,
        org_ids: Collection[str] | None = None,
        progress: ByteProgress | None = None,
    ) -> Material:
        """Add a video material (MP4 or WebM); otherwise like ``upload_file``."""
        return await self._upload(
            actor,
            name,
            data,
            kind=MaterialKind.VIDEO,
            accepted=VIDEO_KINDS,
            limit=self._settings.max_video_bytes,
            org_ids=org_ids,
            progress=progress,
        )

    async def add_link(
        self,
        actor: Principal,
        name: str,
        url: str,
        *,
        title: str | None = None,
        has_audio: bool = False,
        org_ids: Collection[str] | None = None,
        mask_selectors: Sequence[str] = (),
        assessment: bool = False,
    ) -> Material:
        """Add a link material: an H5 product page shared by co-browsing.

        With ``assessment`` it is a 测评链接 (``MaterialKind.ASSESSMENT``): a questionnaire
        page whose submitted answers the session record keeps.

        Args:
            url: an ``http://`` or ``https://`` address.
            title: the page's title as shown to customers (optional).
            has_audio: whether the page plays sound (有音频).
            mask_selectors: CSS selectors of the page's sensitive fields (ID number, bank
                card, phone…), masked in the customer's browser while co-browsing.

        Raises:
            InvalidInput: the URL is not http(s), or a field is malformed.
        """
        require(actor, Operation.MATERIAL_UPLOAD)
        name = clean_material_name(name)
        url = check_link_url(url)
        selectors = check_mask_selectors(mask_selectors)
        if title is not None:
            title = clean_material_name(title, what="link title")
        async with self._ctx.db.begin() as conn:
            audience, shown_in, owner_org = await resolve_audience(conn, actor, org_ids)
            material_id = await self._insert(
                conn,
                actor,
                audience=audience,
                shown_in=shown_in,
                owner_org=owner_org,
                kind=MaterialKind.ASSESSMENT if assessment else MaterialKind.LINK,
                name=name,
                url=url,
                title=title,
                has_audio=bool(has_audio),
                mask_selectors=selectors,
            )
            return await self._load(conn, material_id)

    async def _upload(
        self,
        actor: Principal,
        name: str,
        data: bytes | Path,
        *,
        kind: MaterialKind,
        accepted: frozenset[ContentKind],
        limit: int,
        org_ids: Collection[str] | None,
        progress: ByteProgress | None,
    ) -> Material:
        require(actor, Operation.MATERIAL_UPLOAD)
        name = clean_material_name(name)
        if isinstance(data, Path):
            size = (await anyio.Path(data).stat()).st_size
        elif isinstance(data, bytes | bytearray | memoryview):
            data = bytes(data)
            size = len(data)
        else:
            raise InvalidInput("the upload must be bytes", zh="上传内容必须是文件数据")
        what = "video" if kind is MaterialKind.VIDEO else "file"
        if size > limit:
            raise InvalidInput(
                f"the {what} is {_megabytes(size)}; a {what} may be at most {_megabytes(limit)}",
                zh=f"这个{'视频' if what == 'video' else '文件'}有 {_megabytes(size)}，"
                f"最大只能 {_megabytes(limit)}，请压缩或换一个较小的文件",
            )
        content_kind = await anyio.to_thread.run_sync(
            functools.partial(
                _checked_kind, data, accepted, what=what, limits=self.converter.limits
            )
        )
        async with self._ctx.db.connect() as conn:
            audience, shown_in, owner_org = await resolve_audience(conn, actor, org_ids)
        # Only now, with everything checked, does anything reach the store.
        digest = await _store(self.storage, data, progress)
        try:
            async with self._ledger.lock:
                async with self._ctx.db.begin() as conn:
                    material_id = await self._insert(
                        conn,
                        actor,
                        audience=audience,
                        shown_in=shown_in,
                        owner_org=owner_org,
                        kind=kind,
                        name=name,
                        content_kind=content_kind,
                        sha256=digest,
                        size=size,
                    )
                    created = await self._load(conn, material_id)
                # A delete that ran between the write and the insert may have removed
                # the very same bytes (stored by an earlier upload); put them back.
                if not await self.storage.contains(digest):
                    await _store(self.storage, data, None)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._ledger.collect([digest])
            raise
        return created

    async def _insert(
        self,
        conn: Any,
        actor: Principal,
        *,
        audience: Audience,
        shown_in: list[str],
        owner_org: str | None,
        kind: MaterialKind,
        name: str,
        content_kind: ContentKind | None = None,
        sha256: str | None = None,
        size: int | None = None,
        url: str | None = None,
        title: str | None = None,
        has_audio: bool = False,
        mask_selectors: Sequence[str] = (),
    ) -> str:
        assert actor.company_id is not None
        material_id = new_id()
        await conn.execute(
            materials.insert().values(
                id=material_id,
                company_id=actor.company_id,
                owner_org_id=owner_org,
                uploader_id=actor.account_id,
                audience=audience.value,
                kind=kind.value,
                name=name,
                content_kind=content_kind.value if content_kind else None,
                sha256=sha256,
                size=size,
                url=url,
                title=title,
                has_audio=has_audio,
                mask_selectors=json.dumps(list(mask_selectors)) if mask_selectors else None,
                created_ms=self._ctx.now_ms(),
            )
        )
        if shown_in:
            await conn.execute(
                material_orgs.insert(),
                [{"material_id": material_id, "org_id": org_id} for org_id in shown_in],
            )
        return material_id

    # ----------------------------------------------------------------- reading

    async def _load(self, conn: Any, material_id: str, actor: Principal | None = None) -> Material:
        query = sa.select(materials).where(materials.c.id == material_id)
        if actor is not None:
            query = query.where(visible_to(actor))
        row = (await conn.execute(query)).first()
        if row is None:
            raise NotAccessible("material", material_id)
        shown_in = await self._shown_in(conn, [material_id])
        return _material_from_row(row, shown_in.get(material_id, []))

    async def _shown_in(self, conn: Any, material_ids: list[str]) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        if not material_ids:
            return result
        rows = await conn.execute(
            sa.select(material_orgs.c.material_id, material_orgs.c.org_id).where(
                material_orgs.c.material_id.in_(material_ids)
            )
        )
        for row in rows:
            result.setdefault(row.material_id, []).append(row.org_id)
        return result

    async def get(self, actor: Principal, material_id: str) -> Material:
        """One material the actor can see.

        Raises:
            NotAccessible: it does not exist or the actor cannot see it (the same error).
        """
        require(actor, Operation.MATERIAL_USE)
        if not isinstance(material_id, str):
            raise NotAccessible("material", str(material_id))
        async with self._ctx.db.connect() as conn:
            return await self._load(conn, material_id, actor)

    async def list(
        self,
        actor: Principal,
        kind: MaterialKind | None = None,
        keyword: str | None = None,
        *,
        offset: int = 0,
        limit: int = 50,
    ) -> MaterialList:
        """The materials the actor can see, newest first.

        Args:
            kind: only files, links or videos.
            keyword: matches part of the name, the link title or the URL (any case).
        """
        require(actor, Operation.MATERIAL_USE)
        if not 1 <= limit <= 500 or offset < 0:
            raise InvalidInput(
                "limit must be 1–500 and offset ≥ 0", zh="每页条数须为 1–500，起始位置不能为负数"
            )
        conditions: list[Any] = [visible_to(actor)]
        if kind is not None:
            try:
                kind = MaterialKind(kind)
            except ValueError:
                raise InvalidInput(
                    f"material kind {kind!r} is not valid; expected file, link, video or "
                    "assessment",
                    zh="资源类型无效，请选择文件、链接、视频或测评",
                ) from None
            conditions.append(materials.c.kind == kind.value)
        if keyword is not None and keyword.strip():
            pattern = _like(keyword.strip())
            conditions.append(
                sa.or_(
                    materials.c.name.ilike(pattern, escape="\\"),
                    materials.c.title.ilike(pattern, escape="\\"),
                    materials.c.url.ilike(pattern, escape="\\"),
                )
            )
        where = sa.and_(*conditions)
        async with self._ctx.db.connect() as conn:
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(materials).where(where))
            ).scalar_one()
            rows = list(
                await conn.execute(
                    sa.select(materials)
                    .where(where)
                    .order_by(materials.c.created_ms.desc(), materials.c.id)
                    .offset(offset)
                    .limit(limit)
                )
            )
            shown_in = await self._shown_in(conn, [r.id for r in rows])
        items = [_material_from_row(r, shown_in.get(r.id, [])) for r in rows]
        return MaterialList(items=items, total=int(total))

    async def download(self, actor: Principal, material_id: str) -> bytes:
        """The bytes of a file or video material the actor can see.

        Raises:
            NotAccessible: as ``get``.
            InvalidInput: the material is a link (open its URL instead).
        """
        material = await self.get(actor, material_id)
        if material.sha256 is None:
            raise InvalidInput(
                f"material {material.name!r} is a link; open its URL instead",
                zh=f"资源“{material.name}”是链接，请直接打开它的网址",
            )
        return await self.storage.get(material.sha256)

    # ----------------------------------------------------------------- editing

    async def edit(
        self,
        actor: Principal,
        material_id: str,
        *,
        name: str | None = None,
        url: str | None = None,
        title: str | None = None,
        clear_title: bool = False,
        has_audio: bool | None = None,
        mask_selectors: Sequence[str] | None = None,
    ) -> Material:
        """Rename a material (编辑), or for a link or assessment change its address,
        title (``clear_title`` removes it), has-audio flag or masked fields. Only what
        is given changes. Who may delete a material may edit it.

        Raises:
            NotAccessible: as ``get``.
            PermissionDenied: the actor sees it but may not edit it.
            InvalidInput: a bad field, or a link field for a file or video.
        """
        require(actor, Operation.MATERIAL_UPLOAD)
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = clean_material_name(name)
        link_fields = (url, title, has_audio, mask_selectors)
        if url is not None:
            values["url"] = check_link_url(url)
        if clear_title:
            values["title"] = None
        elif title is not None:
            values["title"] = (
                clean_material_name(title, what="link title") if title.strip() else None
            )
        if has_audio is not None:
            if type(has_audio) is not bool:
                raise InvalidInput("has_audio must be true or false", zh="是否有音频须为是或否")
            values["has_audio"] = has_audio
        if mask_selectors is not None:
            selectors = check_mask_selectors(mask_selectors)
            values["mask_selectors"] = json.dumps(list(selectors)) if selectors else None
        async with self._ctx.db.begin() as conn:
            material = await self._load(conn, material_id, actor)
            if not may_delete(actor, material):
                raise PermissionDenied(
                    f"material {material.name!r} may be edited only by its uploader or "
                    "the administrators over them",
                    zh=f"资源“{material.name}”只能由上传者或其上级管理员编辑",
                )
            if not material.kind.is_page and (
                any(v is not None for v in link_fields) or clear_title
            ):
                raise InvalidInput(
                    "only links and assessments have an address, title, audio flag or "
                    "masked fields",
                    zh="只有链接和测评可以修改地址、标题、音频和遮挡字段",
                )
            if values:
                await conn.execute(
                    materials.update().where(materials.c.id == material_id).values(**values)
                )
            return await self._load(conn, material_id)

    # ---------------------------------------------------------------- deleting

    def can_delete(self, actor: Principal, material: Material) -> bool:
        """Whether ``delete`` would let the actor delete this material (one it can see):
        its uploader, or an administrator over it. Pages offer 删除 only then."""
        return actor.role in PERMISSIONS[Operation.MATERIAL_DELETE] and may_delete(actor, material)

    async def delete(self, actor: Principal, material_id: str) -> None:
        """Delete a material (its stored bytes go with the last material using them).

        Raises:
            NotAccessible: as ``get``.
            PermissionDenied: the actor sees it but may not delete it.
        """
        require(actor, Operation.MATERIAL_DELETE)
        async with self._ctx.db.begin() as conn:
            material = await self._load(conn, material_id, actor)
            if not may_delete(actor, material):
                raise PermissionDenied(
                    f"material {material.name!r} may be deleted only by its uploader or "
                    "the administrators over them",
                    zh=f"资源“{material.name}”只能由上传者或其上级管理员删除",
                )
            await conn.execute(
                material_orgs.delete().where(material_orgs.c.material_id == material_id)
            )
            await conn.execute(materials.delete().where(materials.c.id == material_id))
        if material.sha256 is not None:
            await self._ledger.collect([material.sha256])

    # ------------------------------------------------------------------- pages

    async def convert(
        self, actor: Principal, material_id: str, progress: PageProgress | None = None
    ) -> builtins.list[PageImage]:
        """Turn a document material into page images (once per content) and list them.

        An image material is its own single page. ``progress`` sees (pages done, pages
        total) and always ends at (n, n), also when the pages were converted before.

        Raises:
            NotAccessible: as ``get``.
            InvalidInput: the material is a link or a video.
            ConverterMissing: an Office document and LibreOffice is not installed.
            ConversionError: the document could not be converted.
        """
        material = await self.get(actor, material_id)
        if (
            material.kind is not MaterialKind.FILE
            or material.sha256 is None
            or material.content_kind is None
        ):
            raise InvalidInput(
                f"material {material.name!r} is a {material.kind.value}; only documents and "
                "images have pages",
                zh=f"资源“{material.name}”没有页面，只有文档和图片可以按页查看",
            )
        digest, content_kind = material.sha256, material.content_kind
        if content_kind in IMAGE_KINDS:
            data = await self.storage.get(digest)
            width, height = await anyio.to_thread.run_sync(_image_size, data)
            if progress is not None:
                progress(1, 1)
            return [PageImage(1, digest, width, height, content_kind.mime_type)]
        width = self.converter.page_width
        async with self._ledger.converting(digest):
            cached = await self._ledger.cached_pages(digest, width)
            if cached is None:
                data = await self.storage.get(digest)
                rendered = await self.converter.convert(data, content_kind, progress)
                stored = [
                    PageImage(
                        page.number, await self.storage.put(page.png), page.width, page.height
                    )
                    for page in rendered
                ]
                await self._ledger.remember_pages(digest, width, stored, self._ctx.now_ms())
                return stored
        if progress is not None:
            progress(len(cached), len(cached))
        return cached

    async def pages(self, actor: Principal, material_id: str) -> builtins.list[PageImage]:
        """The page images of a document or image material (converting on first use)."""
        return await self.convert(actor, material_id)

    async def page_image(self, actor: Principal, material_id: str, number: int) -> bytes:
        """The image of page ``number`` (from 1) of a material.

        Raises:
            InvalidInput: there is no such page.
        """
        pages = await self.pages(actor, material_id)
        if not isinstance(number, int) or not 1 <= number <= len(pages):
            raise InvalidInput(
                f"page {number!r} does not exist; the material has {len(pages)}",
                zh=f"第 {number} 页不存在，该资源共 {len(pages)} 页",
            )
        return await self.storage.get(pages[number - 1].sha256)
