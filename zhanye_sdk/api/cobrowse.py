"""Co-browse replay data for a session record: ``GET /api/records/{id}/cobrowse``."""

from __future__ import annotations

from zhanye_sdk.api.group import EndpointGroup
from zhanye_sdk.api.http import ApiRequest, ApiResponse, Router
from zhanye_sdk.cobrowse.service import CobrowseService
from zhanye_sdk.facade import Platform
from zhanye_sdk.rooms.service import RoomService

__all__ = ["CobrowseApi"]


class CobrowseApi(EndpointGroup):
    """The stored co-browse log of a session, for whoever may see its record."""

    def __init__(self, platform: Platform, rooms: RoomService, cobrowse: CobrowseService) -> None:
        self.platform = platform
        self.rooms = rooms
        self.cobrowse = cobrowse
        self.router = Router()
        self.router.add("GET", "/api/records/{session_id}/cobrowse", self.log)

    async def log(self, request: ApiRequest, session_id: str) -> ApiResponse:
        actor = await self._actor(request)
        await self.rooms.get(actor, session_id)  # the record's visibility rules
        return ApiResponse.of_json({"shares": await self.cobrowse.stored_log(session_id)})
