"""The SOP assistant as a capability: ``sop.*`` messages, live assistance, the script library."""

from __future__ import annotations

from collections.abc import Mapping

import anyio
from anyio.abc import TaskStatus

from zhanye_sdk.api.sop import SopApi
from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.facade import Platform
from zhanye_sdk.signaling.endpoint import AreaHandler
from zhanye_sdk.sop.live import SopLiveService

__all__ = ["SopCapability"]


class SopCapability(BaseCapability):
    """Scripts (``/api/sop/*``) and their live assistant in every session."""

    name = "sop"

    def __init__(self, platform: Platform, live: SopLiveService) -> None:
        self.live = live
        self.router = SopApi(platform).router

    @property
    def signaling_areas(self) -> Mapping[str, AreaHandler]:
        """``sop.*``."""
        return {"sop": self.live.handle}

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Follow started sessions (restoring those a stop left) until cancelled."""
        await self.live.run(task_status=task_status)
