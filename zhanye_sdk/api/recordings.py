"""Recording endpoints: a session's recording (status, segments, verification) and its files.

``GET /api/sessions/{id}/recording`` (``?verify=1`` re-hashes every segment and adds
``verified``, ``problems`` and ``bad_segments``, the positions of missing or changed
segments; while the recording is being processed, ``progress`` is ``{"done", "total"}``
when this process is the one finishing it) and
``GET /api/sessions/{id}/recording/{segment}`` (one MP4 segment), for whoever may see
the session's record.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from zhanye_sdk.api.group import EndpointGroup
from zhanye_sdk.api.http import ApiError, ApiRequest, ApiResponse, Router
from zhanye_sdk.facade import Platform
from zhanye_sdk.media.manifest import verify
from zhanye_sdk.media.records import MediaRecords
from zhanye_sdk.rooms.service import RoomService

__all__ = ["RecordingApi"]


class RecordingApi(EndpointGroup):
    """Serves recordings to the people who may see the session.

    ``progress`` reports a recording's post-processing (``MediaService.processing_progress``).
    """

    def __init__(
        self,
        platform: Platform,
        rooms: RoomService,
        records: MediaRecords,
        progress: Callable[[str], tuple[int, int] | None] | None = None,
    ) -> None:
        self.platform = platform
        self.rooms = rooms
        self.records = records
        self.progress = progress
        self.router = Router()
        self.router.add("GET", "/api/sessions/{session_id}/recording", self.recording)
        self.router.add("GET", "/api/sessions/{session_id}/recording/{name}", self.segment)

    async def recording(self, request: ApiRequest, session_id: str) -> ApiResponse:
        await self.rooms.get(await self._actor(request), session_id)
        record = await self.records.get(session_id)
        if record is None or record.recording_status is None:
            raise ApiError(404, "not_found", "this session has no recording")
        body: dict[str, object] = {
            "status": record.recording_status.value,
            "duration_ms": record.manifest.duration_ms,
            "started_ms": record.recording_started_ms,
            "ended_ms": record.recording_ended_ms,
            "error": record.recording_error,
            "head": record.manifest_head,
            "segments": [
                {"index": e.index, "name": e.name, "duration_ms": e.duration_ms, "sha256": e.sha256}
                for e in record.manifest.entries
            ],
            "network": record.network_summary,
            "playback_path": f"/sessions/{session_id}/playback",
        }
        finishing = self.progress(session_id) if self.progress is not None else None
        if finishing is not None:
            body["progress"] = {"done": finishing[0], "total": finishing[1]}
        if request.query.get("verify") == "1":
            folder = Path(record.recording_folder or "")
            result = verify(record.manifest, folder, expected_head=record.manifest_head)
            body["verified"] = result.ok
            body["problems"] = list(result.problems)
            body["bad_segments"] = list(result.bad_segments)
        return ApiResponse.of_json(body)

    async def segment(self, request: ApiRequest, session_id: str, name: str) -> ApiResponse:
        await self.rooms.get(await self._actor(request), session_id)
        record = await self.records.get(session_id)
        names = {e.name for e in record.manifest.entries} if record is not None else set()
        if record is None or name not in names:
            raise ApiError(404, "not_found", f"the recording has no segment {name}")
        path = Path(record.recording_folder or "") / name
        if not path.is_file():
            raise ApiError(404, "not_found", f"segment {name} is missing from storage")
        return ApiResponse(200, b"", content_type="video/mp4", file=path)
