"""监控统计 as tables: the rows behind each chart, for the page, the JSON API and CSV.

Durations are in minutes and shares in percent, rounded to two places, as the page
shows them; headers are Chinese (``zh-CN``) or English (``en``).
"""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from typing import Any

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.records.stats import Figures, Stats

__all__ = ["StatsTable", "figures_json", "stats_csv", "stats_json", "table_rows"]


class StatsTable(StrEnum):
    """The tables of the page: per time bucket, per group, the most frequent violations."""

    BUCKETS = "buckets"
    GROUPS = "groups"
    VIOLATIONS = "violations"


_FIGURE_HEADERS: list[tuple[str, str]] = [
    ("会话数", "Sessions"),
    ("总时长（分钟）", "Total duration (min)"),
    ("平均时长（分钟）", "Average duration (min)"),
    ("触达客户数", "Customers reached"),
    ("有录像会话占比（%）", "Sessions with video (%)"),
    ("评价数", "Evaluations"),
    ("平均评分", "Average rating"),
    ("1星", "1 star"),
    ("2星", "2 stars"),
    ("3星", "3 stars"),
    ("4星", "4 stars"),
    ("5星", "5 stars"),
    ("质检报告数", "QA reports"),
    ("平均质检分", "Average QA score"),
]


def _round(value: float | None, scale: float = 1.0) -> float | None:
    return None if value is None else round(value * scale, 2)


def figures_json(f: Figures) -> dict[str, Any]:
    """The figures with their derived values (minutes, percent, averages)."""
    return {
        "sessions": f.sessions,
        "timed_sessions": f.timed_sessions,
        "duration_minutes_total": round(f.duration_ms_total / 60_000, 2),
        "duration_minutes_average": _round(f.duration_ms_average, 1 / 60_000),
        "customers": f.customers,
        "video_sessions": f.video_sessions,
        "video_percent": _round(f.video_share, 100),
        "evaluations": f.evaluations,
        "evaluation_average": _round(f.evaluation_average),
        "evaluation_counts": list(f.evaluation_counts),
        "qa_reports": f.qa_reports,
        "qa_average": _round(f.qa_average),
    }


def _figure_cells(f: Figures) -> list[Any]:
    j = figures_json(f)
    return [
        j["sessions"],
        j["duration_minutes_total"],
        j["duration_minutes_average"],
        j["customers"],
        j["video_percent"],
        j["evaluations"],
        j["evaluation_average"],
        *j["evaluation_counts"],
        j["qa_reports"],
        j["qa_average"],
    ]


def stats_json(stats: Stats) -> dict[str, Any]:
    """The whole answer of ``GET /api/stats``."""
    return {
        "from": stats.start.isoformat(),
        "to": stats.end.isoformat(),
        "bucket": stats.bucket.value,
        "timezone": stats.timezone,
        "org_id": stats.org_id,
        "group_kind": stats.group_kind,
        "total": figures_json(stats.total),
        "buckets": [
            {"start": b.start.isoformat(), **figures_json(b.figures)} for b in stats.buckets
        ],
        "groups": [{"id": g.id, "name": g.name, **figures_json(g.figures)} for g in stats.groups],
        "violations": [
            {"rule_name": v.rule_name, "kind": v.kind, "count": v.count} for v in stats.violations
        ],
    }


def table_rows(stats: Stats, table: StatsTable | str, lang: str = "zh-CN") -> list[list[Any]]:
    """The header and rows of one table.

    Raises:
        InvalidInput: unknown table or language.
    """
    try:
        table = StatsTable(table)
    except ValueError:
        raise InvalidInput(
            f"table must be buckets, groups or violations, got {table!r}",
            zh="导出的表须为时间段、分组或违规项",
        ) from None
    if lang not in ("zh-CN", "en"):
        raise InvalidInput(f"lang must be zh-CN or en, got {lang!r}", zh="语言须为中文或英文")
    zh = lang == "zh-CN"
    figures = [z if zh else e for z, e in _FIGURE_HEADERS]
    if table is StatsTable.BUCKETS:
        head = ("时间段" if zh else "Period starting") if stats.bucket.value != "day" else None
        first = head or ("日期" if zh else "Date")
        return [[first, *figures]] + [
            [b.start.isoformat(), *_figure_cells(b.figures)] for b in stats.buckets
        ]
    if table is StatsTable.GROUPS:
        if stats.group_kind == "org":
            first = "机构" if zh else "Organization"
        else:
            first = "销售人员" if zh else "Salesperson"
        return [[first, *figures]] + [[g.name, *_figure_cells(g.figures)] for g in stats.groups]
    return [["违规项" if zh else "Rule", "类型" if zh else "Kind", "次数" if zh else "Count"]] + [
        [v.rule_name, v.kind, v.count] for v in stats.violations
    ]


def stats_csv(stats: Stats, table: StatsTable | str, lang: str = "zh-CN") -> bytes:
    """One table as UTF-8 CSV with a byte-order mark (so spreadsheet programs read Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in table_rows(stats, table, lang):
        writer.writerow(["" if cell is None else _safe(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe(cell: Any) -> Any:
    # A name typed by a user must not run as a spreadsheet formula.
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell
