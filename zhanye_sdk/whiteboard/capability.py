"""The whiteboard as a capability: ``whiteboard.*`` and ``share.*`` messages, the board API.

The whiteboard service also answers the ``share`` area (what the room shows: a material's
pages, a link, a screen), because a shared document is the board's background.
"""

from __future__ import annotations

from collections.abc import Mapping

import anyio
from anyio.abc import TaskStatus

from zhanye_sdk.api.whiteboard import WhiteboardApi
from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.facade import Platform
from zhanye_sdk.lifecycle import LifecycleEvent
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.endpoint import AreaHandler
from zhanye_sdk.whiteboard.service import WhiteboardService

__all__ = ["WhiteboardCapability"]


class WhiteboardCapability(BaseCapability):
    """Boards, shared documents and their pages; renders a session's annotated pages."""

    name = "whiteboard"

    def __init__(
        self, platform: Platform, rooms: RoomService, whiteboards: WhiteboardService
    ) -> None:
        self.whiteboards = whiteboards
        self.router = WhiteboardApi(platform, rooms, whiteboards).router

    @property
    def signaling_areas(self) -> Mapping[str, AreaHandler]:
        """``whiteboard.*`` and ``share.*``."""
        return {"whiteboard": self.whiteboards.handle, "share": self.whiteboards.handle}

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """Render a session's annotated pages when it ends."""
        await self.whiteboards.on_lifecycle(event)

    async def recover(self) -> None:
        """Render the annotated pages of sessions that ended while no service ran."""
        await self.whiteboards.recover()

    async def recover_room(self, session_id: str) -> None:
        """A room taken over: its board is read again from the stored ops."""
        await self.whiteboards.recover_room(session_id)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Render ended sessions' annotated pages in the background until cancelled."""
        await self.whiteboards.run(task_status=task_status)
