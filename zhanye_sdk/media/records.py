"""The stored media of sessions: recording status and manifest, network summary."""

from __future__ import annotations

import enum
import json
from typing import Any

import attrs
import sqlalchemy as sa

from zhanye_sdk.media.manifest import Manifest
from zhanye_sdk.store.schema import session_media

__all__ = ["MediaRecord", "MediaRecords", "RecordingStatus"]


class RecordingStatus(enum.StrEnum):
    """recording → processing → ready / failed."""

    RECORDING = "recording"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


@attrs.frozen
class MediaRecord:
    """What is stored about one session's media."""

    session_id: str
    recording_status: RecordingStatus | None
    recording_folder: str | None
    manifest: Manifest
    manifest_head: str | None
    recording_started_ms: int | None
    recording_ended_ms: int | None
    recording_ms: int | None
    recording_error: str | None
    network_summary: dict[str, Any] | None
    #: The process finishing the recording after the room ended, and until when its
    #: claim holds (``zhanye_sdk.media.finishing``).
    processing_by: str | None = None
    processing_until_ms: int | None = None


def _record(row: Any) -> MediaRecord:
    return MediaRecord(
        session_id=row.session_id,
        recording_status=RecordingStatus(row.recording_status) if row.recording_status else None,
        recording_folder=row.recording_folder,
        manifest=Manifest.from_json(row.manifest) if row.manifest else Manifest(),
        manifest_head=row.manifest_head,
        recording_started_ms=row.recording_started_ms,
        recording_ended_ms=row.recording_ended_ms,
        recording_ms=row.recording_ms,
        recording_error=row.recording_error,
        network_summary=json.loads(row.network_summary) if row.network_summary else None,
        processing_by=row.processing_by,
        processing_until_ms=row.processing_until_ms,
    )


class MediaRecords:
    """Reads and writes ``session_media`` rows."""

    def __init__(self, database: Any) -> None:
        self._db = database

    @property
    def database(self) -> Any:
        """The database the rows are in."""
        return self._db

    async def get(self, session_id: str) -> MediaRecord | None:
        """A session's media record, if it has one."""
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(session_media).where(session_media.c.session_id == session_id)
                )
            ).first()
        return None if row is None else _record(row)

    async def unfinished(self) -> list[MediaRecord]:
        """Recordings still ``recording`` or ``processing`` (after a restart)."""
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(session_media).where(
                    session_media.c.recording_status.in_(
                        [RecordingStatus.RECORDING.value, RecordingStatus.PROCESSING.value]
                    )
                )
            )
            return [_record(r) for r in rows]

    async def update(self, session_id: str, **values: Any) -> None:
        """Set columns of a session's row, creating the row when needed."""
        if isinstance(values.get("manifest"), Manifest):
            manifest: Manifest = values["manifest"]
            values["manifest"] = manifest.to_json()
            values["manifest_head"] = manifest.head
            values["recording_ms"] = manifest.duration_ms
        if isinstance(values.get("recording_status"), RecordingStatus):
            values["recording_status"] = values["recording_status"].value
        if isinstance(values.get("network_summary"), dict):
            values["network_summary"] = json.dumps(values["network_summary"])
        async with self._db.begin() as conn:
            updated = await conn.execute(
                session_media.update()
                .where(session_media.c.session_id == session_id)
                .values(**values)
            )
            if not updated.rowcount:
                await conn.execute(session_media.insert().values(session_id=session_id, **values))
