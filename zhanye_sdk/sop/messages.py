"""The ``sop`` area's messages: what a host's client sends, read and checked, and the
assistant's events as the frames its staff channel carries."""

from __future__ import annotations

from typing import Any

import attrs

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.signaling.envelope import ServerMessage
from zhanye_sdk.sop.assist import AssistEvent, CardShown, FlowActivated, NodeExecuted
from zhanye_sdk.sop.live_session import ROLES
from zhanye_sdk.sop.matcher import TranscriptSegment

__all__ = ["event_message", "read_page", "read_segment", "read_template"]

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


def read_template(data: dict[str, Any]) -> str | None:
    """A ``sop.start``'s template id (``None``: every flow the host may use)."""
    template_id = data.get("template_id") or None
    if template_id is not None and (
        not isinstance(template_id, str) or len(template_id) > _MAX_ID_CHARS
    ):
        raise InvalidInput("template_id must be a template id")
    return template_id


def read_page(data: dict[str, Any]) -> tuple[str | None, int | None]:
    """A ``sop.page``'s material id and page."""
    page = data.get("page")
    if page is not None and (type(page) is not int or not 1 <= page <= 10_000):
        raise InvalidInput("page must be a page number 1..10000")
    material = data.get("material_id") or None
    if material is not None and (not isinstance(material, str) or len(material) > _MAX_ID_CHARS):
        raise InvalidInput("material_id must be a material id")
    return material, page


def read_segment(data: dict[str, Any]) -> tuple[TranscriptSegment, str | None]:
    """A ``sop.segment``'s data checked field by field (every bad one listed)."""
    problems: list[str] = []
    texts: dict[str, str] = {}
    for name, limit in (
        ("utterance", _MAX_ID_CHARS),
        ("speaker", _MAX_ID_CHARS),
        ("text", _MAX_SEGMENT_CHARS),
    ):
        value = data.get(name)
        if not isinstance(value, str) or not value or len(value) > limit:
            problems.append(f"{name} must be text of 1..{limit} characters")
        else:
            texts[name] = value
    times: dict[str, int] = {}
    for name in ("start_ms", "end_ms"):
        value = data.get(name)
        if type(value) is not int or not 0 <= value <= _MAX_MS:
            problems.append(f"{name} must be a whole number of milliseconds >= 0")
        else:
            times[name] = value
    if len(times) == 2 and times["end_ms"] < times["start_ms"]:
        problems.append("end_ms must not be before start_ms")
    final = data.get("final", True)
    if not isinstance(final, bool):
        problems.append("final must be true or false")
    role = data.get("role")
    if role is not None and role not in ROLES:
        problems.append("role must be salesperson or customer")
    if problems:
        raise InvalidInput("sop.segment: " + "; ".join(problems))
    segment = TranscriptSegment(
        texts["utterance"],
        texts["text"],
        times["start_ms"],
        times["end_ms"],
        texts["speaker"],
        final=final,
    )
    return segment, role
