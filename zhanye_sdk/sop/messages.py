"""The ``sop`` area's messages: what a host's client sends, as the forms of its reader
table (``READERS``, decoded by ``signaling.readers``), and the assistant's events as the
frames its staff channel carries."""

from __future__ import annotations

from typing import Any

import attrs

from zhanye_sdk.signaling.envelope import ServerMessage
from zhanye_sdk.signaling.readers import Readers, text_of, whole_number_in
from zhanye_sdk.sop.assist import AssistEvent, CardShown, FlowActivated, NodeExecuted
from zhanye_sdk.sop.live_session import ROLES
from zhanye_sdk.sop.matcher import TranscriptSegment
from zhanye_sdk.wire import FieldProblem

__all__ = ["READERS", "FinishForm", "PageForm", "SegmentForm", "StartForm", "event_message"]

_MAX_SEGMENT_CHARS = 2000
_MAX_ID_CHARS = 64
_MAX_MS = 10**15


def event_message(event: AssistEvent) -> ServerMessage:
    """The staff channel's frame of one assistant event."""
    if isinstance(event, FlowActivated):
        return ServerMessage("sop.flow", attrs.asdict(event))
    if isinstance(event, CardShown):
        return ServerMessage("sop.card", attrs.asdict(event))
    if isinstance(event, NodeExecuted):
        return ServerMessage("sop.node", attrs.asdict(event))
    return ServerMessage("sop.alert", attrs.asdict(event))


@attrs.frozen
class StartForm:
    """``sop.start``: the template to use (none or empty: every flow the host may use)."""

    template_id: str | None = attrs.field(
        default=None, validator=text_of(_MAX_ID_CHARS, empty=True)
    )


@attrs.frozen
class PageForm:
    """``sop.page``: what is shared now (a co-browsed link the server does not see)."""

    material_id: str | None = attrs.field(
        default=None, validator=text_of(_MAX_ID_CHARS, empty=True)
    )
    page: int | None = attrs.field(default=None, validator=whole_number_in(1, 10_000))


def _role(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and value not in ROLES:
        raise FieldProblem(f"{attribute.name} must be salesperson or customer")


@attrs.frozen
class SegmentForm:
    """``sop.segment``: one transcript segment and its speaker's role, if known."""

    utterance: str = attrs.field(validator=text_of(_MAX_ID_CHARS))
    text: str = attrs.field(validator=text_of(_MAX_SEGMENT_CHARS))
    start_ms: int = attrs.field(validator=whole_number_in(0, _MAX_MS))
    end_ms: int = attrs.field(validator=whole_number_in(0, _MAX_MS))
    speaker: str = attrs.field(validator=text_of(_MAX_ID_CHARS))
    role: str | None = attrs.field(default=None, validator=_role)
    final: bool = True

    def __attrs_post_init__(self) -> None:
        if self.end_ms < self.start_ms:
            raise FieldProblem("end_ms must not be before start_ms")

    def segment(self) -> TranscriptSegment:
        """The transcript segment this form carries."""
        return TranscriptSegment(
            self.utterance, self.text, self.start_ms, self.end_ms, self.speaker, final=self.final
        )


@attrs.frozen
class FinishForm:
    """``sop.finish``: write the record now."""


#: The ``sop`` area's reader table.
READERS = Readers(
    "sop",
    {
        "sop.start": StartForm,
        "sop.page": PageForm,
        "sop.segment": SegmentForm,
        "sop.finish": FinishForm,
    },
)
