"""Co-browse as a capability: ``cobrowse.*`` messages and the stored log's replay API."""

from __future__ import annotations

from collections.abc import Mapping

from zhanye_sdk.api.cobrowse import CobrowseApi
from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.cobrowse.service import CobrowseService
from zhanye_sdk.facade import Platform
from zhanye_sdk.lifecycle import LifecycleEvent
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.endpoint import AreaHandler

__all__ = ["CobrowseCapability"]


class CobrowseCapability(BaseCapability):
    """Shared H5 pages: live mirroring over signaling, the stored log for records."""

    name = "cobrowse"

    def __init__(self, platform: Platform, rooms: RoomService, cobrowse: CobrowseService) -> None:
        self.cobrowse = cobrowse
        self.router = CobrowseApi(platform, rooms, cobrowse).router

    @property
    def signaling_areas(self) -> Mapping[str, AreaHandler]:
        """``cobrowse.*``."""
        return {"cobrowse": self.cobrowse.handle}

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """A session ended: its shared page ends with it."""
        await self.cobrowse.on_lifecycle(event)

    async def recover(self) -> None:
        """Close the shares a stopped process left open."""
        await self.cobrowse.recover()

    async def recover_room(self, session_id: str) -> None:
        """A room taken over: its shared page goes on here."""
        await self.cobrowse.recover_room(session_id)
