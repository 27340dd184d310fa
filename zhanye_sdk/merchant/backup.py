"""Backup and restore of the merchant database (SQLite online backup), verified.

A backup copies the live database page by page while the desk keeps working, then
checks the copy: ``PRAGMA integrity_check`` must say ``ok`` and every table must have
the same number of rows as the source. A restore first checks the backup the same
way and refuses a damaged file, so the current data stays as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import anyio.to_thread
import attrs

from zhanye_sdk.errors import InvalidInput

__all__ = ["BackupReport", "backup_database", "due_for_backup", "prune_backups", "restore_database"]

#: progress(pages copied, pages in all)
BackupProgress = Callable[[int, int], None]
PAGES_PER_STEP = 64


@attrs.frozen
class BackupReport:
    """A verified backup: where it is and how many rows each table holds."""

    path: Path
    row_counts: dict[str, int]


def _row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in sorted(tables)}


def _check(path: Path) -> dict[str, int]:
    """Row counts of a database file that passes the integrity check; else InvalidInput."""
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist", zh=f"找不到备份文件“{path.name}”")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise InvalidInput(
                    f"{path.name} is damaged: {verdict}",
                    zh=f"备份文件“{path.name}”已损坏，未恢复，当前数据保持不变；请换一个备份",
                )
            counts = _row_counts(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(
            f"{path.name} is not a usable database: {exc}",
            zh=f"“{path.name}”不是可用的数据库文件（可能已损坏），未恢复，当前数据保持不变",
        ) from exc
    if "merchant_customers" not in counts:
        raise InvalidInput(
            f"{path.name} is not a merchant desk database",
            zh=f"“{path.name}”不是商户管家的数据库，未恢复，当前数据保持不变",
        )
    return counts


def _backup(source: Path, target: Path, progress: BackupProgress | None) -> BackupReport:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(partial)
    try:

        def step(_status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress(total - remaining, total)

        src.backup(dst, pages=PAGES_PER_STEP, progress=step)
        expected = _row_counts(src)
    finally:
        dst.close()
        src.close()
    counts = _check(partial)
    if counts != expected:
        partial.unlink(missing_ok=True)
        raise InvalidInput(
            f"the backup's row counts {counts} differ from the source's {expected}",
            zh="备份校验失败：备份中的记录数与当前数据不一致，请重新备份",
        )
    partial.replace(target)
    return BackupReport(target, counts)


async def backup_database(
    source: Path, target: Path, progress: BackupProgress | None = None
) -> BackupReport:
    """Copy the live database at ``source`` to ``target`` and verify the copy;
    ``progress`` is called from a worker thread as pages are copied."""
    return await anyio.to_thread.run_sync(_backup, source, target, progress)


def _restore(backup: Path, target: Path, progress: BackupProgress | None) -> dict[str, int]:
    counts = _check(backup)
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:

        def step(_status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress(total - remaining, total)

        src.backup(dst, pages=PAGES_PER_STEP, progress=step)
        restored = _row_counts(dst)
    finally:
        dst.close()
        src.close()
    if restored != counts:
        raise InvalidInput(
            "the restored database does not match the backup",
            zh="恢复校验失败：恢复后的数据与备份不一致",
        )
    return counts


async def restore_database(
    backup: Path, target: Path, progress: BackupProgress | None = None
) -> dict[str, int]:
    """Replace the database at ``target`` with a verified backup; a damaged backup is
    refused and ``target`` is left untouched. Close the desk's database first.
    ``progress`` is called from a worker thread as pages are copied."""
    return await anyio.to_thread.run_sync(_restore, backup, target, progress)


def due_for_backup(last: datetime | None, now: datetime, *, at_hour: int = 3) -> bool:
    """Whether the daily backup is due: never made, or the latest ``at_hour`` o'clock
    has passed since the last one."""
    if last is None:
        return True
    boundary = now.replace(hour=at_hour, minute=0, second=0, microsecond=0)
    if now < boundary:
        boundary -= timedelta(days=1)
    return last < boundary


def prune_backups(folder: Path, keep: int, pattern: str = "merchant-*.db") -> list[Path]:
    """Delete all but the ``keep`` newest backups in ``folder``; returns what was deleted."""
    files = sorted(folder.glob(pattern), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    doomed = files[keep:]
    for path in doomed:
        path.unlink()
    return doomed
