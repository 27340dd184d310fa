"""The desk's daily chores: the verified backup (with retention) and customer care."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import anyio
import attrs

from zhanye_sdk.merchant.backup import backup_database, due_for_backup, prune_backups
from zhanye_sdk.merchant.bulk import BulkReport, CustomerCare
from zhanye_sdk.merchant.care import CareBook
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.registration import NotRegistered, Registration

__all__ = ["Housekeeping"]


@attrs.define
class Housekeeping:
    """Run ``run_once`` now and then (``run`` does it every ``interval_s``)."""

    desk: MerchantDesk
    database: Path
    backups: Path
    care: CustomerCare
    registration: Callable[[], Registration | None]
    keep: int = 7
    backup_hour: int = 3
    last_backup: datetime | None = None
    #: When set, the greetings follow the shop's saved care settings.
    care_book: CareBook | None = None

    async def run_once(self) -> tuple[Path | None, BulkReport | None]:
        """Back up when due, prune old backups, send the greetings that are due."""
        now = self.desk.clock.now()
        made: Path | None = None
        if self.last_backup is None:
            existing = sorted(self.backups.glob("merchant-*.db"))
            if existing:
                self.last_backup = datetime.fromtimestamp(existing[-1].stat().st_mtime, now.tzinfo)
        if due_for_backup(self.last_backup, now, at_hour=self.backup_hour):
            report = await backup_database(
                self.database, self.backups / f"merchant-{now:%Y%m%d-%H%M%S}.db"
            )
            made = report.path
            self.last_backup = now
            prune_backups(self.backups, self.keep)
        if self.care_book is not None:
            self.care.calendar = await self.care_book.calendar(now)
        try:
            greetings = await self.care.run_once(now, self.registration())
        except NotRegistered:
            greetings = None  # greetings wait until the SIM is registered
        return made, greetings

    async def run(self, interval_s: float = 300) -> None:
        """Forever: the chores, then a pause."""
        while True:
            await self.run_once()
            await anyio.sleep(interval_s)
