"""``RecordingJobs``: a recording's post-processing as a job claimed by one process.

When a room ends, the process that recorded it finishes the recording (the last
segment encoded, the manifest saved, the status ``ready`` or ``failed``). That is a
job on the session's ``session_media`` row: the recording process claims it when the
room ends (``processing_by``, ``processing_until_ms``) and renews the claim while it
encodes. Every process sweeps now and then for recordings left ``processing`` under a
claim that has lapsed (their process died, or froze past the claim) and takes one over
with a conditional ``UPDATE``, so exactly one process finishes it, from the segments
stored so far. The final write is conditional on still holding the claim: a process
that comes back after its claim was taken over writes nothing, and a recording is
never finished twice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import sqlalchemy as sa

from zhanye_sdk.media.manifest import Manifest, verify
from zhanye_sdk.media.records import MediaRecord, MediaRecords, RecordingStatus
from zhanye_sdk.store.schema import session_media

__all__ = ["RecordingJobs"]

_log = logging.getLogger(__name__)
_col = session_media.c


class RecordingJobs:
    """Claims on recordings' post-processing, for the process named ``node``.

    ``now_ms`` is the platform's clock; ``claim_s`` is how long a claim lasts unless
    renewed, ``renew_s`` how often the process finishing a recording renews it.
    """

    def __init__(
        self,
        records: MediaRecords,
        node: str,
        now_ms: Callable[[], int],
        *,
        claim_s: float = 30.0,
        renew_s: float = 5.0,
    ) -> None:
        self._records = records
        self._node = node
        self._now_ms = now_ms
        self._claim_ms = int(claim_s * 1000)
        self._renew_s = renew_s

    @property
    def node(self) -> str:
        """The process the claims are made for."""
        return self._node

    async def begin(self, session_id: str) -> None:
        """The room ended here: its recording is ``processing``, claimed by this process."""
        await self._records.update(
            session_id,
            recording_status=RecordingStatus.PROCESSING,
            processing_by=self._node,
            processing_until_ms=self._now_ms() + self._claim_ms,
        )

    async def renew(self, session_id: str) -> bool:
        """Extend this process's claim; False when it no longer holds it."""
        async with self._records.database.begin() as conn:
            renewed = await conn.execute(
                session_media.update()
                .where(_col.session_id == session_id)
                .where(_col.processing_by == self._node)
                .where(_col.recording_status == RecordingStatus.PROCESSING.value)
                .values(processing_until_ms=self._now_ms() + self._claim_ms)
            )
        return bool(renewed.rowcount == 1)

    @asynccontextmanager
    async def renewing(self, session_id: str) -> AsyncIterator[None]:
        """Renew the claim every ``renew_s`` while the block runs."""

        async def keep() -> None:
            while True:
                await anyio.sleep(self._renew_s)
                try:
                    await self.renew(session_id)
                except Exception:  # the database may be briefly away; the next try may do
                    _log.exception("renewing the claim on recording %s failed", session_id)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(keep)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()

    async def finish(self, session_id: str, **values: Any) -> bool:
        """Write the recording's final state (status, manifest, error…) if this process
        still holds the claim; False (nothing written) when another took it over."""
        if isinstance(values.get("manifest"), Manifest):
            manifest: Manifest = values["manifest"]
            values["manifest"] = manifest.to_json()
            values["manifest_head"] = manifest.head
            values["recording_ms"] = manifest.duration_ms
        if isinstance(values.get("recording_status"), RecordingStatus):
            values["recording_status"] = values["recording_status"].value
        with anyio.CancelScope(shield=True):
            async with self._records.database.begin() as conn:
                done = await conn.execute(
                    session_media.update()
                    .where(_col.session_id == session_id)
                    .where(_col.processing_by == self._node)
                    .where(_col.recording_status == RecordingStatus.PROCESSING.value)
                    .values(processing_until_ms=None, **values)
                )
        if done.rowcount != 1:
            _log.warning("recording %s was finished by another process", session_id)
        return bool(done.rowcount == 1)

    async def take(self, session_id: str, *, status: RecordingStatus, force: bool = False) -> bool:
        """Claim a recording left in ``status`` by a process that is gone: one whose
        claim lapsed (or that has none, e.g. left ``recording``); with ``force`` (a lone
        process starting: whoever claimed it before is this process's predecessor)
        whatever its claim. True when this process now holds it, ``processing``."""
        now = self._now_ms()
        claimable = sa.or_(_col.processing_until_ms.is_(None), _col.processing_until_ms < now)
        query = (
            session_media.update()
            .where(_col.session_id == session_id)
            .where(_col.recording_status == status.value)
        )
        if not force:
            query = query.where(claimable)
        async with self._records.database.begin() as conn:
            taken = await conn.execute(
                query.values(
                    recording_status=RecordingStatus.PROCESSING.value,
                    processing_by=self._node,
                    processing_until_ms=now + self._claim_ms,
                )
            )
        return bool(taken.rowcount == 1)

    async def finalise(self, record: MediaRecord) -> bool:
        """Finish a recording this process took over from the segments it has stored:
        ready when they are intact, failed otherwise. False if the claim was lost."""
        folder = Path(record.recording_folder or "")
        ok = bool(record.manifest.entries) and await anyio.to_thread.run_sync(
            lambda: verify(record.manifest, folder).ok
        )
        return await self.finish(
            record.session_id,
            recording_status=RecordingStatus.READY if ok else RecordingStatus.FAILED,
            recording_ended_ms=self._now_ms(),
            recording_error=None if ok else "no intact segments were left by the stopped host",
        )

    async def sweep(self) -> int:
        """Take over and finish every recording whose post-processing was abandoned
        (``processing`` under a lapsed claim); how many this process finished."""
        now = self._now_ms()
        async with self._records.database.connect() as conn:
            abandoned = (
                await conn.execute(
                    sa.select(_col.session_id)
                    .where(_col.recording_status == RecordingStatus.PROCESSING.value)
                    .where(
                        sa.or_(_col.processing_until_ms.is_(None), _col.processing_until_ms < now)
                    )
                )
            ).all()
        finished = 0
        for row in abandoned:
            if not await self.take(row.session_id, status=RecordingStatus.PROCESSING):
                continue  # another process took it first
            record = await self._records.get(row.session_id)
            if record is not None and await self.finalise(record):
                finished += 1
        return finished
