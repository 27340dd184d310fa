"""``RecordExports``: record exports as background jobs with progress, per actor.

A host starts ``run()`` in the background (as it does ``SignalingEndpoint.run``);
``start`` checks the request at once, queues the job and returns it; the runner
writes the file into a private temporary folder while ``status`` reports
``(done, total)``. A job belongs to the account that started it: anyone else asking
for it is told it does not exist. Finished files are kept for ``keep_s`` seconds.

Jobs live in this process's memory. With several host processes,
``cluster.exports.SharedExports`` keeps them in the database instead: any process
takes the request and serves the file, one runs the job, another resumes it if that
one dies.
"""

from __future__ import annotations

import enum
import logging
import secrets
import shutil
import tempfile
from pathlib import Path

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from zhanye_sdk.clock import Clock
from zhanye_sdk.errors import ConflictError, InvalidInput, ZhanyeError
from zhanye_sdk.platform.permissions import NotAccessible
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.records.export import ExportFormat, check_export_options
from zhanye_sdk.records.models import RecordFilter
from zhanye_sdk.records.service import RecordService

__all__ = ["ExportConfig", "ExportJob", "ExportState", "RecordExports"]

_log = logging.getLogger(__name__)


class ExportState(enum.StrEnum):
    """Where an export job is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@attrs.define
class ExportJob:
    """One export: who asked, what, and how far it has come."""

    id: str
    owner_id: str
    format: ExportFormat
    filename: str
    state: ExportState = ExportState.QUEUED
    done: int = 0
    total: int = 0
    error: str | None = None
    path: Path | None = None
    finished_at: float | None = None


@attrs.frozen
class ExportConfig:
    """How many exports run at once, wait per account, and how long files are kept."""

    concurrent: int = 2
    unfinished_per_account: int = 3
    queue: int = 64
    keep_s: float = 3600


@attrs.frozen
class _Request:
    job: ExportJob
    actor: Principal
    filters: RecordFilter
    timezone: str
    lang: str


class RecordExports:
    """Export jobs over a ``RecordService``."""

    def __init__(
        self,
        records: RecordService,
        clock: Clock,
        config: ExportConfig | None = None,
        directory: Path | None = None,
    ) -> None:
        self._records = records
        self._clock = clock
        self.config = config or ExportConfig()
        self._directory = directory
        self._own_directory = False
        self._jobs: dict[str, ExportJob] = {}
        self._send: MemoryObjectSendStream[_Request]
        self._receive: MemoryObjectReceiveStream[_Request]
        self._send, self._receive = anyio.create_memory_object_stream[_Request](self.config.queue)

    def _folder(self) -> Path:
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="zhanye-exports-"))
            self._own_directory = True
        return self._directory

    def _expire(self) -> None:
        now = self._clock.monotonic()
        for job_id, job in list(self._jobs.items()):
            if job.finished_at is not None and now - job.finished_at >= self.config.keep_s:
                if job.path is not None:
                    job.path.unlink(missing_ok=True)
                del self._jobs[job_id]

    async def start(
        self,
        actor: Principal,
        filters: RecordFilter | None,
        fmt: ExportFormat | str,
        *,
        timezone: str = "Asia/Shanghai",
        lang: str = "zh-CN",
    ) -> ExportJob:
        """Queue an export of the filtered list; return the job (state ``queued``).

        Raises:
            InvalidInput: bad filters, format, time zone or language, or too many matches.
            ConflictError: the actor has too many unfinished exports, or the queue is full.
        """
        self._expire()
        checked = (filters or RecordFilter()).checked()
        fmt, zone, lang = check_export_options(fmt, timezone, lang)
        total = await self._records.count(actor, checked)
        limit = self._records.config.export_max_rows
        if total > limit:
            raise InvalidInput(
                f"{total} records match; an export takes at most {limit}: narrow the filters",
                zh=f"符合条件的记录有 {total} 条，一次最多导出 {limit} 条，请缩小筛选范围",
            )
        unfinished = sum(
            1
            for job in self._jobs.values()
            if job.owner_id == actor.account_id
            and job.state in (ExportState.QUEUED, ExportState.RUNNING)
        )
        if unfinished >= self.config.unfinished_per_account:
            raise ConflictError(
                f"you have {unfinished} exports under way; wait for one to finish",
                zh=f"您有 {unfinished} 个导出任务正在进行，请等其中一个完成后再导出",
            )
        stamp = self._clock.now().astimezone(zone).strftime("%Y%m%d-%H%M%S")
        name = "会话记录" if lang == "zh-CN" else "session-records"
        job = ExportJob(
            id=secrets.token_hex(16),
            owner_id=actor.account_id,
            format=fmt,
            filename=f"{name}-{stamp}.{fmt.value}",
            total=total,
        )
        try:
            self._send.send_nowait(_Request(job, actor, checked, timezone, lang))
        except anyio.WouldBlock as exc:
            raise ConflictError(
                "too many exports are waiting; try again shortly",
                zh="等待中的导出任务太多，请稍后再试",
            ) from exc
        self._jobs[job.id] = job
        return job

    async def status(self, actor: Principal, job_id: str) -> ExportJob:
        """The actor's export job.

        Raises:
            NotAccessible: no such job, an expired one, or someone else's.
        """
        self._expire()
        job = self._jobs.get(job_id)
        if job is None or job.owner_id != actor.account_id:
            raise NotAccessible("export", job_id)
        return job

    async def file(self, actor: Principal, job_id: str) -> tuple[Path, ExportJob]:
        """The finished file of the actor's export job.

        Raises:
            NotAccessible: no such job, an expired one, or someone else's.
            ConflictError: the job has not finished, or it failed.
        """
        job = await self.status(actor, job_id)
        if job.state is not ExportState.DONE or job.path is None:
            raise ConflictError(
                f"the export is {job.state.value}, not ready to download",
                zh="导出尚未完成，请稍后再下载",
            )
        return job.path, job

    async def run(self) -> None:
        """Run queued exports, ``config.concurrent`` at a time, until cancelled."""
        slots = anyio.Semaphore(self.config.concurrent)
        try:
            async with anyio.create_task_group() as tg, self._receive:
                async for request in self._receive:
                    await slots.acquire()
                    tg.start_soon(self._run_one, request, slots)
        finally:
            self.close()

    async def _run_one(self, request: _Request, slots: anyio.Semaphore) -> None:
        job = request.job
        path = self._folder() / f"{job.id}.{job.format.value}"

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            job.state = ExportState.RUNNING
            out = await anyio.to_thread.run_sync(path.open, "wb")
            try:
                await self._records.export(
                    request.actor,
                    request.filters,
                    out,
                    job.format,
                    timezone=request.timezone,
                    lang=request.lang,
                    progress=progress,
                )
            finally:
                await anyio.to_thread.run_sync(out.close)
            job.path, job.state = path, ExportState.DONE
        except ZhanyeError as exc:
            path.unlink(missing_ok=True)
            job.state, job.error = ExportState.FAILED, str(exc)
        except Exception:
            # A worker must outlive one bad job; the details go to the log, not the user.
            _log.exception("export %s failed", job.id)
            path.unlink(missing_ok=True)
            job.state, job.error = ExportState.FAILED, "the export failed; try again"
        finally:
            job.finished_at = self._clock.monotonic()
            slots.release()

    def close(self) -> None:
        """Remove every export file this instance made."""
        for job in self._jobs.values():
            if job.path is not None:
                job.path.unlink(missing_ok=True)
        if self._own_directory and self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
            self._own_directory = False
