"""Session records and statistics as capabilities.

``RecordsCapability``: the record list, one record, notes and exports (run as jobs in
the background). ``StatsCapability``: 监控统计 for company and org admins.
"""

from __future__ import annotations

import anyio
from anyio.abc import TaskStatus

from zhanye_sdk.api.records import RecordApi
from zhanye_sdk.api.stats import StatsApi
from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.facade import Platform
from zhanye_sdk.records.jobs import RecordExports
from zhanye_sdk.records.service import RecordService

__all__ = ["RecordsCapability", "StatsCapability"]


class RecordsCapability(BaseCapability):
    """``/api/records*`` over a ``RecordService`` and its export jobs."""

    name = "records"

    def __init__(self, platform: Platform, records: RecordService, exports: RecordExports) -> None:
        self.records = records
        self.exports = exports
        self.router = RecordApi(platform, records, exports).router

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run queued exports until cancelled."""
        task_status.started()
        await self.exports.run()


class StatsCapability(BaseCapability):
    """``/api/stats`` and its CSV."""

    name = "stats"

    def __init__(self, platform: Platform) -> None:
        self.router = StatsApi(platform).router
