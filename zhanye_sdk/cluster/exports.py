"""``SharedExports``: record export jobs that every process of a scale-out deployment
shares, and that survive the death of the process running them.

A job is a row of ``export_jobs``: whichever process takes the request inserts it
(``queued``); every process's runner looks for work and claims a job with one
conditional ``UPDATE`` (queued, or running under a claim that has lapsed), so exactly
one process runs it. The runner renews its claim (and writes the progress) every
``renew_s`` while it exports; a process that dies stops renewing and, ``claim_s`` later,
another process claims the job and runs it again from the start. The finished file is
stored in the row, so any process serves the status and the download. A job that
failed ``max_attempts`` times (e.g. it kills its process) is marked failed.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

import anyio
import sqlalchemy as sa

from zhanye_sdk.clock import Clock, to_ms
from zhanye_sdk.errors import ConflictError, InvalidInput, ZhanyeError
from zhanye_sdk.platform.permissions import NotAccessible
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.records.export import ExportFormat, check_export_options
from zhanye_sdk.records.jobs import ExportConfig, ExportJob, ExportState, RecordExports
from zhanye_sdk.records.models import RecordFilter
from zhanye_sdk.records.service import RecordService
from zhanye_sdk.store.database import Database
from zhanye_sdk.store.schema import export_jobs
from zhanye_sdk.wire import converter

__all__ = ["SharedExports"]

_log = logging.getLogger(__name__)
_UNFINISHED = (ExportState.QUEUED.value, ExportState.RUNNING.value)


class SharedExports(RecordExports):
    """Export jobs in the database, run by one process each, resumed by another.

    ``node`` names this process in claims; ``claim_s`` is how long a claim lasts
    without renewal, ``renew_s`` how often a running job renews it, ``poll_s`` how often
    an idle runner looks for work.
    """

    def __init__(
        self,
        records: RecordService,
        clock: Clock,
        database: Database,
        node: str,
        config: ExportConfig | None = None,
        *,
        claim_s: float = 10.0,
        renew_s: float = 2.0,
        poll_s: float = 0.5,
        max_attempts: int = 3,
    ) -> None:
        super().__init__(records, clock, config)
        self._db = database
        self._node = node
        self._claim_ms = int(claim_s * 1000)
        self._renew_s = renew_s
        self._poll_s = poll_s
        self._max_attempts = max_attempts
        self._wake = anyio.Event()
        self._files: dict[str, Path] = {}

    def _now_ms(self) -> int:
        return to_ms(self._clock.now())

    async def start(
        self,
        actor: Principal,
        filters: RecordFilter | None,
        fmt: ExportFormat | str,
        *,
        timezone: str = "Asia/Shanghai",
        lang: str = "zh-CN",
    ) -> ExportJob:
        """Queue an export (a row any process may run); return the job (``queued``).

        Raises:
            InvalidInput: bad filters, format, time zone or language, or too many matches.
            ConflictError: the actor has too many unfinished exports.
        """
        await self._expire_rows()
        checked = (filters or RecordFilter()).checked()
        fmt, zone, lang = check_export_options(fmt, timezone, lang)
        total = await self._records.count(actor, checked)
        limit = self._records.config.export_max_rows
        if total > limit:
            raise InvalidInput(
                f"{total} records match; an export takes at most {limit}: narrow the filters",
                zh=f"符合条件的记录有 {total} 条，一次最多导出 {limit} 条，请缩小筛选范围",
            )
        async with self._db.begin() as conn:
            unfinished = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(export_jobs)
                    .where(export_jobs.c.owner_id == actor.account_id)
                    .where(export_jobs.c.state.in_(_UNFINISHED))
                )
            ).scalar_one()
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
            request = {
                "actor": converter.unstructure(actor),
                "filters": converter.unstructure(checked),
                "timezone": timezone,
                "lang": lang,
            }
            await conn.execute(
                export_jobs.insert().values(
                    id=job.id,
                    owner_id=job.owner_id,
                    format=fmt.value,
                    filename=job.filename,
                    state=ExportState.QUEUED.value,
                    done=0,
                    total=total,
                    request=json.dumps(request, ensure_ascii=False),
                    attempts=0,
                    created_ms=self._now_ms(),
                )
            )
        self._wake.set()
        return job

    async def status(self, actor: Principal, job_id: str) -> ExportJob:
        """The actor's export job, wherever it runs.

        Raises:
            NotAccessible: no such job, an expired one, or someone else's.
        """
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(*[c for c in export_jobs.c if c.name != "content"]).where(
                        export_jobs.c.id == job_id
                    )
                )
            ).first()
        if row is None or row.owner_id != actor.account_id:
            raise NotAccessible("export", job_id)
        return ExportJob(
            id=row.id,
            owner_id=row.owner_id,
            format=ExportFormat(row.format),
            filename=row.filename,
            state=ExportState(row.state),
            done=int(row.done),
            total=int(row.total),
            error=row.error,
        )

    async def file(self, actor: Principal, job_id: str) -> tuple[Path, ExportJob]:
        """The finished file of the actor's export job (from the database, whichever
        process made it).

        Raises:
            NotAccessible: no such job, an expired one, or someone else's.
            ConflictError: the job has not finished, or it failed.
        """
        job = await self.status(actor, job_id)
        if job.state is not ExportState.DONE:
            raise ConflictError(
                f"the export is {job.state.value}, not ready to download",
                zh="导出尚未完成，请稍后再下载",
            )
        path = self._files.get(job_id)
        if path is None or not path.exists():
            async with self._db.connect() as conn:
                content = (
                    await conn.execute(
                        sa.select(export_jobs.c.content).where(export_jobs.c.id == job_id)
                    )
                ).scalar_one()
            path = self._folder() / f"{job_id}.{job.format.value}"
            await anyio.to_thread.run_sync(path.write_bytes, bytes(content or b""))
            self._files[job_id] = path
        job.path = path
        return path, job

    # ---- running ----------------------------------------------------------------------

    async def run(self) -> None:
        """Claim and run jobs, ``config.concurrent`` at a time, until cancelled."""
        slots = anyio.Semaphore(self.config.concurrent)
        try:
            async with anyio.create_task_group() as tasks:
                while True:
                    await slots.acquire()
                    claimed = None
                    try:
                        claimed = await self.claim()
                    except Exception:  # the database may be briefly away; try again
                        _log.exception("claiming an export job failed")
                    if claimed is None:
                        slots.release()
                        with anyio.move_on_after(self._poll_s):
                            await self._wake.wait()
                        self._wake = anyio.Event()
                        continue
                    tasks.start_soon(self.run_claimed, claimed, slots)
        finally:
            self.close()

    async def claim(self) -> Any | None:
        """Take one job that is queued, or whose claim lapsed (the runner's step); its row,
        or None when there is none."""
        now = self._now_ms()
        lapsed = sa.and_(
            export_jobs.c.state == ExportState.RUNNING.value,
            export_jobs.c.claimed_until_ms < now,
        )
        async with self._db.connect() as conn:
            candidates = (
                await conn.execute(
                    sa.select(export_jobs.c.id, export_jobs.c.attempts)
                    .where(sa.or_(export_jobs.c.state == ExportState.QUEUED.value, lapsed))
                    .order_by(export_jobs.c.created_ms)
                    .limit(5)
                )
            ).all()
        for candidate in candidates:
            async with self._db.begin() as conn:
                if candidate.attempts >= self._max_attempts:
                    await conn.execute(
                        export_jobs.update()
                        .where(export_jobs.c.id == candidate.id)
                        .where(sa.or_(export_jobs.c.state == ExportState.QUEUED.value, lapsed))
                        .values(
                            state=ExportState.FAILED.value,
                            error="the export failed; try again",
                            finished_ms=now,
                        )
                    )
                    continue
                taken = await conn.execute(
                    export_jobs.update()
                    .where(export_jobs.c.id == candidate.id)
                    .where(sa.or_(export_jobs.c.state == ExportState.QUEUED.value, lapsed))
                    .values(
                        state=ExportState.RUNNING.value,
                        claimed_by=self._node,
                        claimed_until_ms=now + self._claim_ms,
                        attempts=export_jobs.c.attempts + 1,
                        done=0,
                    )
                )
                if taken.rowcount != 1:
                    continue  # another process claimed it first
                row = (
                    await conn.execute(
                        sa.select(export_jobs).where(export_jobs.c.id == candidate.id)
                    )
                ).one()
            return row
        return None

    async def run_claimed(self, row: Any, slots: anyio.Semaphore | None = None) -> None:
        """Run a claimed job to its end (done or failed), renewing the claim meanwhile."""
        job_id = str(row.id)
        fmt = ExportFormat(row.format)
        path = self._folder() / f"run-{job_id}.{fmt.value}"
        progress = {"done": 0, "total": int(row.total)}

        def advance(done: int, total: int) -> None:
            progress["done"], progress["total"] = done, total

        try:
            request = json.loads(row.request)
            actor = converter.structure(request["actor"], Principal)
            filters = converter.structure(request["filters"], RecordFilter)
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._renew, job_id, progress)
                out = await anyio.to_thread.run_sync(path.open, "wb")
                try:
                    await self._records.export(
                        actor,
                        filters,
                        out,
                        fmt,
                        timezone=request["timezone"],
                        lang=request["lang"],
                        progress=advance,
                    )
                finally:
                    await anyio.to_thread.run_sync(out.close)
                tasks.cancel_scope.cancel()
            content = await anyio.to_thread.run_sync(path.read_bytes)
            await self._finish(
                job_id,
                state=ExportState.DONE,
                done=progress["total"],
                total=progress["total"],
                content=content,
            )
        except ZhanyeError as exc:
            await self._finish(job_id, state=ExportState.FAILED, error=str(exc))
        except Exception:
            _log.exception("export %s failed", job_id)
            await self._finish(
                job_id, state=ExportState.FAILED, error="the export failed; try again"
            )
        finally:
            path.unlink(missing_ok=True)
            if slots is not None:
                slots.release()

    async def _renew(self, job_id: str, progress: dict[str, int]) -> None:
        """Keep the claim and write the progress while the job runs."""
        while True:
            await anyio.sleep(self._renew_s)
            async with self._db.begin() as conn:
                await conn.execute(
                    export_jobs.update()
                    .where(export_jobs.c.id == job_id)
                    .where(export_jobs.c.claimed_by == self._node)
                    .values(
                        claimed_until_ms=self._now_ms() + self._claim_ms,
                        done=progress["done"],
                        total=progress["total"],
                    )
                )

    async def _finish(self, job_id: str, *, state: ExportState, **values: Any) -> None:
        with anyio.CancelScope(shield=True):
            async with self._db.begin() as conn:
                await conn.execute(
                    export_jobs.update()
                    .where(export_jobs.c.id == job_id)
                    .where(export_jobs.c.claimed_by == self._node)
                    .where(export_jobs.c.state == ExportState.RUNNING.value)
                    .values(state=state.value, finished_ms=self._now_ms(), **values)
                )

    async def _expire_rows(self) -> None:
        """Forget finished jobs older than ``config.keep_s`` (their files with them)."""
        before = self._now_ms() - int(self.config.keep_s * 1000)
        async with self._db.begin() as conn:
            await conn.execute(
                export_jobs.delete()
                .where(export_jobs.c.state.notin_(_UNFINISHED))
                .where(export_jobs.c.finished_ms < before)
            )

    def close(self) -> None:
        """Remove the files this process wrote for downloads."""
        for path in self._files.values():
            path.unlink(missing_ok=True)
        self._files.clear()
        super().close()
