"""SOP step statuses are stored as codes; older records' Chinese labels read as codes."""

from __future__ import annotations

import re

import pytest

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.records import SopStepRecord
from zhanye_sdk.sop.steps import StepStatus

from .catalogue import catalogue_text


@pytest.mark.parametrize(
    ("stored", "status"),
    [
        ("executed", StepStatus.EXECUTED),
        ("missed", StepStatus.MISSED),
        ("missed_required", StepStatus.MISSED_REQUIRED),
        ("已执行", StepStatus.EXECUTED),
        ("未执行", StepStatus.MISSED),
        ("未执行（必选）", StepStatus.MISSED_REQUIRED),
    ],
)
def test_a_stored_row_reads_as_its_code(stored: str, status: StepStatus) -> None:
    row = SopStepRecord(level1="产品介绍", level2="", status=stored, script="")
    assert row.status is status


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown SOP step status"):
        SopStepRecord(level1="a", level2="", status="done-ish", script="")


def test_the_pages_label_every_code_like_the_sdk() -> None:
    text = catalogue_text()
    for status in StepStatus:
        labels = re.findall(rf'"records\.sop\.status\.{status.value}": "([^"]+)"', text)
        assert len(labels) == 2, status  # Chinese and English
        assert labels[0] == status.label_zh
    assert StepStatus.of(executed=False, required=True) is StepStatus.MISSED_REQUIRED
