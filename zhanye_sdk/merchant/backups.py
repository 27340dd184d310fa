"""The backup screen (数据备份与恢复): the backups with their time and whether each
still verifies, a backup now, and a restore of a chosen one — the current data is
first kept as a backup of its own, so a restore can itself be undone."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio.from_thread
import anyio.to_thread
import attrs

from zhanye_sdk.errors import InvalidInput, NotFound, ZhanyeError
from zhanye_sdk.merchant.backup import _check, backup_database, restore_database
from zhanye_sdk.merchant.desk import MerchantDesk

__all__ = ["BackupEntry", "BackupStep", "DeskBackups", "Restored", "StepProgress"]

_NAME = re.compile(r"merchant-[0-9A-Za-z_\-]{1,64}\.db")


@attrs.frozen
class BackupEntry:
    """One backup file: its name, when it was taken (the shop's time), its size, and
    whether it verifies (integrity check and row counts), with the problem if not."""

    name: str
    taken_at: datetime
    size: int
    ok: bool
    rows: int
    problem: str | None = None
    problem_zh: str | None = None


@attrs.frozen
class Restored:
    """A restore: the backup restored, and the backup the data before it was kept in."""

    restored: str
    kept_as: str
    rows: int


@attrs.frozen
class BackupStep:
    """How far a backup or a restore has got, for the desk's progress bar.

    ``job`` is ``backup`` or ``restore``; ``step`` names the step (``copy``: the data is
    being backed up; ``check``: the chosen backup is verified; ``keep``: the current data
    is kept as a backup; ``restore``: the backup is copied in and verified), ``index`` is
    its place among ``steps`` (from 1), and ``done`` of ``total`` its pages (or checks).
    """

    job: str
    step: str
    index: int
    steps: int
    done: int
    total: int


#: Receives each :class:`BackupStep`, on the event loop.
StepProgress = Callable[[BackupStep], None]


class _Reporter:
    """Turns page counts from a worker thread into :class:`BackupStep` s on the event
    loop, one per step start and per 5 % (a live stream's buffer stays small)."""

    def __init__(self, job: str, steps: int, sink: StepProgress | None) -> None:
        self.job, self.steps, self.sink = job, steps, sink
        self._last: tuple[str, int] | None = None

    def start(self, step: str, index: int, total: int = 1) -> None:
        self._send(BackupStep(self.job, step, index, self.steps, 0, total))

    def finish(self, step: str, index: int) -> None:
        self._send(BackupStep(self.job, step, index, self.steps, 1, 1))

    def pages(self, step: str, index: int) -> Callable[[int, int], None]:
        """A page callback for the worker thread."""

        def report(done: int, total: int) -> None:
            event = BackupStep(self.job, step, index, self.steps, done, max(total, 1))
            if self._due(event):
                anyio.from_thread.run_sync(self._send, event)

        return report

    def _due(self, event: BackupStep) -> bool:
        key = (event.step, event.done * 20 // event.total)
        if key == self._last:
            return False
        self._last = key
        return True

    def _send(self, event: BackupStep) -> None:
        if self.sink is not None:
            self.sink(event)


class DeskBackups:
    """Backups of the desk's SQLite database in ``folder`` (see the module doc)."""

    def __init__(self, desk: MerchantDesk, database: Path, folder: Path) -> None:
        self._desk = desk
        self.database = database
        self.folder = folder
        self._lock = anyio.Lock()

    def _stamp(self, label: str = "") -> Path:
        local = self._desk.clock.now().astimezone(ZoneInfo(self._desk.timezone))
        stem = f"merchant-{label}{local:%Y%m%d-%H%M%S}"
        path, n = self.folder / f"{stem}.db", 1
        while path.exists():
            n += 1
            path = self.folder / f"{stem}-{n}.db"
        return path

    async def list(self) -> list[BackupEntry]:
        """Every backup, newest first, each verified."""
        zone = ZoneInfo(self._desk.timezone)
        files = sorted(
            (p for p in self.folder.glob("merchant-*.db") if _NAME.fullmatch(p.name)),
            key=lambda p: (p.stat().st_mtime, p.name),
            reverse=True,
        )
        entries = []
        for path in files:
            stat = path.stat()
            taken = datetime.fromtimestamp(stat.st_mtime, zone)
            try:
                counts = await anyio.to_thread.run_sync(_check, path)
            except ZhanyeError as exc:
                entries.append(
                    BackupEntry(path.name, taken, stat.st_size, False, 0, str(exc), exc.zh)
                )
                continue
            entries.append(BackupEntry(path.name, taken, stat.st_size, True, sum(counts.values())))
        return entries

    async def back_up(self, progress: StepProgress | None = None) -> BackupEntry:
        """A verified backup now; ``progress`` gets its pages as they are copied."""
        self.folder.mkdir(parents=True, exist_ok=True)
        steps = _Reporter("backup", 1, progress)
        async with self._lock:
            steps.start("copy", 1)
            report = await backup_database(self.database, self._stamp(), steps.pages("copy", 1))
            steps.finish("copy", 1)
        stat = report.path.stat()
        zone = ZoneInfo(self._desk.timezone)
        return BackupEntry(
            report.path.name,
            datetime.fromtimestamp(stat.st_mtime, zone),
            stat.st_size,
            True,
            sum(report.row_counts.values()),
        )

    async def restore(self, name: str, progress: StepProgress | None = None) -> Restored:
        """Restore the backup ``name`` (a file of this folder); the data as it is now is
        backed up first (``merchant-before-restore-…``). ``progress`` gets each of the
        three steps (check, keep, restore) and their pages as they go.

        Raises:
            InvalidInput: not a backup's name, or the backup is damaged (nothing changes).
            NotFound: no such backup.
        """
        if not _NAME.fullmatch(name):
            raise InvalidInput(f"{name!r} is not a backup", zh="这不是一个备份文件名")
        chosen = self.folder / name
        if not chosen.is_file():
            raise NotFound(f"backup {name} not found", zh=f"找不到备份“{name}”，请刷新后重试")
        steps = _Reporter("restore", 3, progress)
        async with self._lock:
            steps.start("check", 1)
            counts = await anyio.to_thread.run_sync(_check, chosen)  # damaged: refused here
            steps.finish("check", 1)
            steps.start("keep", 2)
            kept = await backup_database(
                self.database, self._stamp("before-restore-"), steps.pages("keep", 2)
            )
            steps.finish("keep", 2)
            # Idle pooled connections would keep reading the old pages.
            await self._desk.db.engine.dispose()
            steps.start("restore", 3)
            await restore_database(chosen, self.database, steps.pages("restore", 3))
            steps.finish("restore", 3)
        return Restored(name, kept.path.name, sum(counts.values()))
