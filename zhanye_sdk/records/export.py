"""Writing record rows as CSV or XLSX, with the list's column names (Chinese or English).

Both writers take rows batch by batch (``write``) and never hold more than a batch:
the CSV writer writes through, openpyxl's write-only workbook streams rows to a
temporary file until ``finish`` zips it. CSV is UTF-8 with a byte-order mark so that
Excel opens Chinese text correctly.
"""

from __future__ import annotations

import codecs
import csv
import enum
import io
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.records.models import RecordSummary

__all__ = [
    "COLUMNS",
    "ExportFormat",
    "RecordWriter",
    "check_export_options",
    "check_language",
    "check_timezone",
    "format_duration",
]

LANGUAGES = ("zh-CN", "en")


class ExportFormat(enum.StrEnum):
    """The file formats of the export."""

    CSV = "csv"
    XLSX = "xlsx"

    @property
    def content_type(self) -> str:
        """The file's media type."""
        if self is ExportFormat.CSV:
            return "text/csv; charset=utf-8"
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "state": {
        "zh-CN": {"waiting": "未开始", "live": "进行中", "ended": "已结束"},
        "en": {"waiting": "Waiting", "live": "Live", "ended": "Ended"},
    },
    "end_reason": {
        "zh-CN": {
            "staff_ended": "员工结束",
            "empty_timeout": "超时结束",
            "admin": "管理员结束",
            "org_disabled": "机构禁用结束",
        },
        "en": {
            "staff_ended": "Ended by staff",
            "empty_timeout": "Empty-room timeout",
            "admin": "Ended by admin",
            "org_disabled": "Organization disabled",
        },
    },
    "terminal": {
        "zh-CN": {
            "pc-web": "电脑",
            "mobile-web": "手机",
            "tablet-web": "平板",
            "mini-program": "小程序",
            "app": "APP",
        },
        "en": {
            "pc-web": "PC web",
            "mobile-web": "Phone",
            "tablet-web": "Tablet",
            "mini-program": "Mini program",
            "app": "App",
        },
    },
    "network": {
        "zh-CN": {"good": "良好", "fair": "一般", "poor": "较差"},
        "en": {"good": "Good", "fair": "Fair", "poor": "Poor"},
    },
    "qa": {
        "zh-CN": {"passed": "合格", "failed": "不合格"},
        "en": {"passed": "Passed", "failed": "Failed"},
    },
    "insured": {
        "zh-CN": {"yes": "已投保", "no": "未投保"},
        "en": {"yes": "Insured", "no": "Not insured"},
    },
    "video": {
        "zh-CN": {"used": "有视频", "unused": "无视频"},
        "en": {"used": "With video", "unused": "No video"},
    },
}


def _insured(insured: bool | None) -> str | None:
    return None if insured is None else ("yes" if insured else "no")


def _verdict(passed: bool | None) -> str | None:
    return None if passed is None else ("passed" if passed else "failed")


def format_duration(ms: int | None) -> str:
    """``HH:MM:SS`` like the manual's 会议时长 (empty when the session never started)."""
    if ms is None:
        return ""
    seconds = ms // 1000
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


Cell = Callable[[RecordSummary, ZoneInfo, str], Any]


def _time(pick: Callable[[RecordSummary], datetime | None]) -> Cell:
    def cell(r: RecordSummary, zone: ZoneInfo, _: str) -> Any:
        moment = pick(r)
        return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    return cell


def _label(kind: str, pick: Callable[[RecordSummary], str | None]) -> Cell:
    def cell(r: RecordSummary, _: ZoneInfo, lang: str) -> Any:
        value = pick(r)
        return "" if value is None else _LABELS[kind][lang].get(value, value)

    return cell


#: The export's columns: (Chinese header, English header, cell).
COLUMNS: list[tuple[str, str, Cell]] = [
    ("会话ID", "Session ID", lambda r, z, la: r.id),
    ("会话编号", "Meeting number", lambda r, z, la: r.meeting_number),
    ("所属机构", "Organization", lambda r, z, la: r.org_name),
    ("项目", "Project", lambda r, z, la: r.project or ""),
    ("员工姓名", "Staff name", lambda r, z, la: r.host_name),
    ("账号", "Login", lambda r, z, la: r.host_login or ""),
    ("会议状态", "Status", _label("state", lambda r: r.state.value)),
    ("创建时间", "Created", _time(lambda r: r.created_at)),
    ("会话开始时间", "Started", _time(lambda r: r.started_at)),
    ("会议结束时间", "Ended", _time(lambda r: r.ended_at)),
    ("会议时长", "Duration", lambda r, z, la: format_duration(r.duration_ms)),
    ("参会人数", "Participants", lambda r, z, la: r.participant_count),
    ("客户数量", "Customers", lambda r, z, la: r.customer_count),
    ("终端", "Terminal", _label("terminal", lambda r: r.terminal)),
    ("会议结束方式", "End mode", _label("end_reason", lambda r: r.end_reason)),
    ("评价人数", "Ratings", lambda r, z, la: r.evaluation_count),
    (
        "平均满意度",
        "Average score",
        lambda r, z, la: "" if r.average_score is None else r.average_score,
    ),
    ("网络质量", "Network quality", _label("network", lambda r: r.network_quality)),
    ("质检得分", "QA score", lambda r, z, la: "" if r.qa_score is None else r.qa_score),
    ("质检结果", "QA result", _label("qa", lambda r: _verdict(r.qa_passed))),
    ("会议主题", "Title", lambda r, z, la: r.title or ""),
    ("是否投保", "Insured", _label("insured", lambda r: _insured(r.insured))),
    ("视频使用", "Video", _label("video", lambda r: "used" if r.video_used else "unused")),
    ("测评结果", "Assessments", lambda r, z, la: r.assessment_text or ""),
]


def _inert(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe.

    Names and projects are typed by users; ``=HYPERLINK(…)`` must stay text (OWASP's
    advice on CSV injection; openpyxl would also store such a string as a formula).
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def check_timezone(name: str) -> ZoneInfo:
    """The IANA time zone the export writes times in.

    Raises:
        InvalidInput: not a known zone name such as ``Asia/Shanghai``.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"time zone {name!r} is not known; expected an IANA name like Asia/Shanghai",
            zh=f"无法识别时区“{name}”，请使用如 Asia/Shanghai 的时区名称",
        ) from exc


def check_language(lang: str) -> str:
    """The export's header language, ``zh-CN`` or ``en``.

    Raises:
        InvalidInput: any other value.
    """
    if lang not in LANGUAGES:
        raise InvalidInput(
            f"language {lang!r} is not offered; use one of {', '.join(LANGUAGES)}",
            zh=f"不支持语言“{lang}”，请选择：{'、'.join(LANGUAGES)}",
        )
    return lang


class RecordWriter:
    """Writes record rows to a binary file in one format, a batch at a time."""

    def __init__(self, out: BinaryIO, fmt: ExportFormat, zone: ZoneInfo, lang: str) -> None:
        self._out = out
        self._format = fmt
        self._zone = zone
        self._lang = check_language(lang)
        headers = [zh if lang == "zh-CN" else en for zh, en, _ in COLUMNS]
        if fmt is ExportFormat.CSV:
            out.write(codecs.BOM_UTF8)
            self._text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
            self._csv = csv.writer(self._text)
            self._csv.writerow(headers)
        else:
            from openpyxl import Workbook

            self._book = Workbook(write_only=True)
            title = "会话记录" if lang == "zh-CN" else "Session records"
            self._sheet = self._book.create_sheet(title)
            self._sheet.append(headers)

    def write(self, rows: Sequence[RecordSummary]) -> None:
        """Append rows."""
        for row in rows:
            values = [_inert(cell(row, self._zone, self._lang)) for _, _, cell in COLUMNS]
            if self._format is ExportFormat.CSV:
                self._csv.writerow(values)
            else:
                self._sheet.append(values)

    def finish(self) -> None:
        """Complete the file (XLSX is assembled here); the output stays open."""
        if self._format is ExportFormat.CSV:
            self._text.flush()
            self._text.detach()
        else:
            self._book.save(self._out)


def check_export_options(
    fmt: ExportFormat | str, timezone: str, lang: str
) -> tuple[ExportFormat, ZoneInfo, str]:
    """The export's format, time zone and header language, checked.

    Raises:
        InvalidInput: an unknown format, time zone or language.
    """
    try:
        checked = ExportFormat(fmt)
    except ValueError as exc:
        raise InvalidInput(
            f"export format {fmt!r} is not offered; use csv or xlsx",
            zh=f"不支持导出格式“{fmt}”，请选择 csv 或 xlsx",
        ) from exc
    return checked, check_timezone(timezone), check_language(lang)
