"""Material library (SPEC C2): files, links and videos; content checks; page images."""

from zhanye_sdk.materials.conversion import (
    ConversionError,
    ConverterMissing,
    DocumentConverter,
    PageProgress,
    RenderedPage,
)
from zhanye_sdk.materials.kinds import ContentKind, Finding, identify, require_kind
from zhanye_sdk.materials.models import Audience, Material, MaterialKind, MaterialList, PageImage
from zhanye_sdk.materials.service import MaterialService, check_link_url
from zhanye_sdk.materials.storage import ByteProgress, LocalStorage, MaterialStorage

__all__ = [
    "Audience",
    "ByteProgress",
    "ContentKind",
    "ConversionError",
    "ConverterMissing",
    "DocumentConverter",
    "Finding",
    "LocalStorage",
    "Material",
    "MaterialKind",
    "MaterialList",
    "MaterialService",
    "MaterialStorage",
    "PageImage",
    "PageProgress",
    "RenderedPage",
    "check_link_url",
    "identify",
    "require_kind",
]
