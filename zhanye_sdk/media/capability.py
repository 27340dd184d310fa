"""Media and recordings as capabilities.

``MediaCapability``: ``media.*`` messages (WebRTC offers, candidates, layouts), the
mixing ticks, and the recordings a stopped process left, finalised before serving.
``RecordingsCapability``: a session's recording and its segments over HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping

import anyio
from anyio.abc import TaskStatus

from zhanye_sdk.api.recordings import RecordingApi
from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.facade import Platform
from zhanye_sdk.lifecycle import LifecycleEvent
from zhanye_sdk.media.records import MediaRecords
from zhanye_sdk.media.service import MediaService
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.endpoint import AreaHandler

__all__ = ["MediaCapability", "RecordingsCapability"]


class MediaCapability(BaseCapability):
    """Audio and video of every room, mixed and recorded here."""

    name = "media"

    def __init__(self, media: MediaService) -> None:
        super().__init__()
        self.media = media

    @property
    def signaling_areas(self) -> Mapping[str, AreaHandler]:
        """``media.*``."""
        return {"media": self.media.handle}

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """A session ended: its mixing stops and its recording is finished."""
        await self.media.on_lifecycle(event)

    async def recover(self) -> None:
        """Finalise the recordings a stopped process left (no session records meanwhile)."""
        await self.media.recover()

    async def recover_room(self, session_id: str) -> None:
        """A room taken over: its clients offer their media again here."""
        await self.media.recover_room(session_id)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Mixing ticks and track readers; ready once media messages can be served."""
        await self.media.run(task_status=task_status)


class RecordingsCapability(BaseCapability):
    """``/api/sessions/{id}/recording*`` for whoever may see the session's record."""

    name = "recordings"

    def __init__(self, platform: Platform, rooms: RoomService, media: MediaService) -> None:
        records = media.records or MediaRecords(platform.database)
        api = RecordingApi(platform, rooms, records, progress=media.processing_progress)
        self.router = api.router
