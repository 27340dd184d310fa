"""A finished session's SOP outcome in the record's forms: the execution table and the
QA report (what ``sop_session_reports`` stores and the record shows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from zhanye_sdk.sop.assist import SessionSummary
from zhanye_sdk.sop.qa import offset_from_start
from zhanye_sdk.sop.steps import StepStatus

__all__ = ["summary_json"]


def summary_json(
    summary: SessionSummary,
    role_of: Callable[[str], str | None] | None = None,
    started_ms: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The record's forms: execution rows (level1, level2, status, script and, for an
    executed node, the evidence: time_ms, offset_ms, speaker, role, text) and the report.

    Args:
        role_of: the role (salesperson / customer) of a speaker id, given to each
            violation as ``role`` (``None`` when unknown or when no one spoke).
        started_ms: when the session started, on the transcript's clock: each violation
            gets ``offset_ms`` from it and silences are written as offsets
            (``offset_from_start``), which is what the record shows (00:15, not a date).
    """
    steps = [
        {
            "level1": row.level1,
            "level2": row.level2,
            "status": StepStatus.of(executed=row.executed, required=row.required).value,
            "script": "、".join(row.scripts),
            **(
                {
                    "time_ms": row.time_ms,
                    "offset_ms": (
                        None if row.time_ms is None else offset_from_start(row.time_ms, started_ms)
                    ),
                    "speaker": row.speaker,
                    "role": role_of(row.speaker) if role_of and row.speaker else None,
                    "text": row.text,
                }
                if row.executed
                else {}
            ),
        }
        for row in summary.execution
    ]
    qa = summary.qa
    report = {
        "score": qa.score,
        "passed": qa.passed,
        "deductions": qa.deductions,
        "violations": [
            {
                **attrs.asdict(v),
                "role": role_of(v.speaker) if role_of and v.speaker else None,
                "offset_ms": offset_from_start(v.time_ms, started_ms),
            }
            for v in qa.violations
        ],
        "missing_mandatory": list(qa.missing_mandatory),
        "speech_rate_cpm": qa.speech_rate_cpm,
        "silences": [
            [offset_from_start(a, started_ms), offset_from_start(b, started_ms)]
            for a, b in qa.silences
        ],
    }
    return steps, report
