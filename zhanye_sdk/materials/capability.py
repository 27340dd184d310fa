"""The material library as a capability: ``/api/materials*`` (uploads, folders, sharing)."""

from __future__ import annotations

from zhanye_sdk.api.materials import MaterialApi
from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.facade import Platform

__all__ = ["MaterialsCapability"]


class MaterialsCapability(BaseCapability):
    """Materials staff upload and share in sessions."""

    name = "materials"

    def __init__(self, platform: Platform) -> None:
        self.router = MaterialApi(platform).router
