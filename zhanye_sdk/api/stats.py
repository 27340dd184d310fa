"""监控统计 endpoints.

``GET /api/stats?from=YYYY-MM-DD&to=YYYY-MM-DD&bucket=day|week|month&org=<id>``
answers the figures of the sessions created in [from, to) (local days of the caller's
organization's time zone, or ``timezone=``), per bucket and per organization — per
salesperson with ``org`` (an org admin always gets their own organization).
Without ``from``/``to``: the last 30 days up to today.
``GET /api/stats/csv?…same…&table=buckets|groups|violations&lang=zh-CN|en`` downloads
the table behind one chart as CSV.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zhanye_sdk.api.group import EndpointGroup
from zhanye_sdk.api.http import ApiRequest, ApiResponse, Router
from zhanye_sdk.api.records import content_disposition
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.facade import Platform
from zhanye_sdk.records.stats import Stats, StatsService
from zhanye_sdk.records.stats_tables import StatsTable, stats_csv, stats_json

__all__ = ["StatsApi"]

_NAMES = frozenset({"from", "to", "bucket", "org", "timezone"})
#: The default period when none is given.
DEFAULT_DAYS = 30


def _day(query: Mapping[str, str], name: str) -> date | None:
    text = query.get(name, "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise InvalidInput(
            f"{name} must be a date like 2026-03-01, got {text!r}",
            zh="统计日期格式须为 2026-03-01 这样的年-月-日",
        )
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} is not a real date: {text!r}", zh="统计日期无效") from None


class StatsApi(EndpointGroup):
    """``/api/stats`` for company and org admins; the SDK decides what each may see."""

    def __init__(self, platform: Platform, stats: StatsService | None = None) -> None:
        self.platform = platform
        self.stats = stats or StatsService(platform)
        self.router = Router()
        self.router.add("GET", "/api/stats", self.get)
        self.router.add("GET", "/api/stats/csv", self.csv)

    async def _stats(self, request: ApiRequest, extra: frozenset[str]) -> Stats:
        actor = await self._actor(request)
        query = request.query
        unknown = sorted(set(query) - _NAMES - extra)
        if unknown:
            raise InvalidInput(
                f"unknown parameters {', '.join(unknown)}", zh="统计查询含有无法识别的参数"
            )
        zone_name = query.get("timezone") or await self.platform.organizations.timezone_of(actor)
        start, end = _day(query, "from"), _day(query, "to")
        if end is None:
            try:
                zone = ZoneInfo(zone_name)
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidInput(f"unknown time zone {zone_name!r}", zh="时区无效") from None
            today = self.platform.clock.now().astimezone(zone).date()
            end = today + timedelta(days=1)
        if start is None:
            start = end - timedelta(days=DEFAULT_DAYS)
        return await self.stats.stats(
            actor,
            start,
            end,
            query.get("bucket") or "day",
            org_id=query.get("org") or None,
            timezone=zone_name,
        )

    async def get(self, request: ApiRequest) -> ApiResponse:
        """The figures as JSON (``stats_json``)."""
        return ApiResponse.of_json(stats_json(await self._stats(request, frozenset())))

    async def csv(self, request: ApiRequest) -> ApiResponse:
        """One table as a CSV download."""
        stats = await self._stats(request, frozenset({"table", "lang"}))
        table = request.query.get("table", StatsTable.BUCKETS.value)
        lang = request.query.get("lang", "zh-CN")
        body = stats_csv(stats, table, lang)
        name = {"buckets": "按时间", "groups": "按分组", "violations": "违规项"}.get(table, table)
        filename = f"监控统计-{name}-{stats.start.isoformat()}至{stats.end.isoformat()}.csv"
        return ApiResponse(
            200,
            body,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": content_disposition(filename)},
        )
