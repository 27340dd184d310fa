"""The backup screen (数据备份与恢复): the backups with their time and whether each
still verifies, a backup now, and a restore of a chosen one — the current data is
first kept as a backup of its own, so a restore can itself be undone."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio.to_thread
import attrs

from zhanye_sdk.errors import InvalidInput, NotFound, ZhanyeError
from zhanye_sdk.merchant.backup import BackupProgress, _check, backup_database, restore_database
from zhanye_sdk.merchant.desk import MerchantDesk

__all__ = ["BackupEntry", "DeskBackups", "Restored"]

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

    async def back_up(self, progress: BackupProgress | None = None) -> BackupEntry:
        """A verified backup now."""
        self.folder.mkdir(parents=True, exist_ok=True)
        async with self._lock:
            report = await backup_database(self.database, self._stamp(), progress)
        stat = report.path.stat()
        zone = ZoneInfo(self._desk.timezone)
        return BackupEntry(
            report.path.name,
            datetime.fromtimestamp(stat.st_mtime, zone),
            stat.st_size,
            True,
            sum(report.row_counts.values()),
        )

    async def restore(self, name: str) -> Restored:
        """Restore the backup ``name`` (a file of this folder); the data as it is now is
        backed up first (``merchant-before-restore-…``).

        Raises:
            InvalidInput: not a backup's name, or the backup is damaged (nothing changes).
            NotFound: no such backup.
        """
        if not _NAME.fullmatch(name):
            raise InvalidInput(f"{name!r} is not a backup", zh="这不是一个备份文件名")
        chosen = self.folder / name
        if not chosen.is_file():
            raise NotFound(f"backup {name} not found", zh=f"找不到备份“{name}”，请刷新后重试")
        async with self._lock:
            counts = await anyio.to_thread.run_sync(_check, chosen)  # damaged: refused here
            kept = await backup_database(self.database, self._stamp("before-restore-"))
            # Idle pooled connections would keep reading the old pages.
            await self._desk.db.engine.dispose()
            await restore_database(chosen, self.database)
        return Restored(name, kept.path.name, sum(counts.values()))
