"""What the material library stores and hands out: materials and their page images."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from zhanye_sdk.materials.kinds import ContentKind

__all__ = ["Audience", "Material", "MaterialKind", "MaterialList", "PageImage"]


class MaterialKind(enum.StrEnum):
    """The kinds of the manual's material management (素材管理, §4.5)."""

    FILE = "file"  # 文件素材: PDF, PPT/PPTX, DOC/DOCX, images
    LINK = "link"  # 链接素材: an H5 product page
    VIDEO = "video"  # 视频素材
    #: 测评链接: a questionnaire page (risk tolerance, KYC) co-browsed like a link; the
    #: customer's submitted answers are kept with the session record.
    ASSESSMENT = "assessment"

    @property
    def is_page(self) -> bool:
        """Whether it is a web page shared by co-browsing (a link or an assessment)."""
        return self in (MaterialKind.LINK, MaterialKind.ASSESSMENT)


class Audience(enum.StrEnum):
    """Who a material is shown to (besides the admins above its uploader)."""

    COMPANY = "company"  # every organization of the company (company admin, no orgs chosen)
    ORGS = "orgs"  # the organizations in ``Material.org_ids``
    UPLOADER = "uploader"  # a salesperson's own upload: only they and their admins


@attrs.frozen
class Material:
    """One entry of the material library.

    Files and videos have ``content_kind``, ``size`` and ``sha256`` (their content's
    name in storage); links have ``url``, ``title``, ``has_audio`` and the CSS
    ``mask_selectors`` of fields the co-browse agent masks on that page.
    """

    id: str
    company_id: str
    kind: MaterialKind
    name: str
    audience: Audience
    org_ids: tuple[str, ...]
    owner_org_id: str | None
    uploader_id: str | None
    created_at: datetime
    content_kind: ContentKind | None = None
    size: int | None = None
    sha256: str | None = None
    url: str | None = None
    title: str | None = None
    has_audio: bool = False
    mask_selectors: tuple[str, ...] = ()

    @property
    def mime_type(self) -> str | None:
        """The MIME type of a file or video's content (``None`` for links)."""
        return None if self.content_kind is None else self.content_kind.mime_type


@attrs.frozen
class MaterialList:
    """One page of the material list and the number of matches overall."""

    items: list[Material]
    total: int


@attrs.frozen
class PageImage:
    """One page of a document (or the single page of an image), as stored."""

    number: int  # from 1
    sha256: str
    width: int
    height: int
    mime_type: str = "image/png"
