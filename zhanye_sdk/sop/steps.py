"""The status of a flow node in a session's SOP execution table (实时辅助执行情况).

Records keep the code; pages and exports show the label (the web pages' message
catalogue has ``records.sop.status.<code>``). Records written before codes stored the
Chinese label itself; :meth:`StepStatus.of_stored` reads both.
"""

from __future__ import annotations

import enum

from zhanye_sdk.errors import InvalidInput

__all__ = ["StepStatus", "read_step_status"]


class StepStatus(enum.StrEnum):
    """``executed``: the node was said; ``missed``: not said; ``missed_required``: a
    required node not said (what quality inspection deducts for)."""

    EXECUTED = "executed"
    MISSED = "missed"
    MISSED_REQUIRED = "missed_required"

    @classmethod
    def of(cls, *, executed: bool, required: bool) -> StepStatus:
        """The status of a node that was (or was not) executed."""
        if executed:
            return cls.EXECUTED
        return cls.MISSED_REQUIRED if required else cls.MISSED

    @classmethod
    def of_stored(cls, value: str) -> StepStatus:
        """A stored status: a code, or the Chinese label older records kept.

        Raises:
            InvalidInput: neither.
        """
        if isinstance(value, cls):
            return value
        found = _FROM_LABEL.get(value) if isinstance(value, str) else None
        if found is not None:
            return found
        try:
            return cls(value)
        except ValueError:
            raise InvalidInput(f"unknown SOP step status {value!r}") from None

    @property
    def label_zh(self) -> str:
        """The label in Chinese (what records showed before codes)."""
        return _LABELS_ZH[self]


_LABELS_ZH = {
    StepStatus.EXECUTED: "已执行",
    StepStatus.MISSED: "未执行",
    StepStatus.MISSED_REQUIRED: "未执行（必选）",
}
_FROM_LABEL = {label: status for status, label in _LABELS_ZH.items()}


def read_step_status(value: str) -> StepStatus:
    """``StepStatus.of_stored`` as a plain function (an attrs converter)."""
    return StepStatus.of_stored(value)
