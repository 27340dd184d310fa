"""The SOP assistant as a capability: ``sop.*`` messages, live assistance, the script library."""

from __future__ import annotations

from collections.abc import Mapping

import anyio
from anyio.abc import TaskStatus

from zhanye_sdk.api.sop import SopApi
from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.facade import Platform
from zhanye_sdk.lifecycle import LifecycleEvent
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

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """Follow the board's share and write the SOP record when a session ends."""
        await self.live.on_lifecycle(event)

    async def recover(self) -> None:
        """Bring back the assistants a stopped process left (records of ended rooms written)."""
        await self.live.recover()

    async def recover_room(self, session_id: str) -> None:
        """A room taken over: its assistant is replayed from the stored inputs."""
        await self.live.recover_room(session_id)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Hear the rooms and play scripted transcripts until cancelled."""
        await self.live.run(task_status=task_status)
