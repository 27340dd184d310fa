"""Live SOP assist over signaling: the ``sop`` area of a session. Drives ``SopAssistant``.

Messages from the host's client (staff seats only):

* ``sop.start`` ``{template_id?}`` — load the template's flows (all flows the host may
  use when none is given), their scripts and the company's enabled QA rules; answers
  ``sop.checklist`` with the flows' nodes.
* ``sop.page`` ``{material_id, page}`` — what is shared now; the flow follows it.
* ``sop.segment`` ``{utterance, text, start_ms, end_ms, speaker, role, final}`` — one
  transcript segment (a text feed: from the host's own ASR or a scripted transcript).
* ``sop.finish`` — write the execution table and QA report into the session record;
  answers ``sop.summary``.

The assistant's events go back to the sender as ``sop.flow``, ``sop.card``, ``sop.node``
and ``sop.alert``.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from zhanye_sdk.clock import to_ms
from zhanye_sdk.errors import InvalidInput, PermissionDenied
from zhanye_sdk.platform.facade import Platform
from zhanye_sdk.rooms.core import ParticipantRole
from zhanye_sdk.rooms.service import Seat
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage
from zhanye_sdk.sop.assist import (
    AssistEvent,
    CardShown,
    FlowActivated,
    NodeExecuted,
    SessionSummary,
    SopAssistant,
)
from zhanye_sdk.sop.matcher import TranscriptSegment
from zhanye_sdk.sop.models import Flow, nodes_to_json
from zhanye_sdk.store.schema import sop_session_reports

__all__ = ["SopLiveService", "summary_json"]


def _event(event: AssistEvent) -> ServerMessage:
    if isinstance(event, FlowActivated):
        return ServerMessage("sop.flow", attrs.asdict(event))
    if isinstance(event, CardShown):
        return ServerMessage("sop.card", attrs.asdict(event))
    if isinstance(event, NodeExecuted):
        return ServerMessage("sop.node", attrs.asdict(event))
    return ServerMessage("sop.alert", attrs.asdict(event))


def summary_json(summary: SessionSummary) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The record's forms: execution rows (level1, level2, status, script) and the report."""
    steps = [
        {
            "level1": row.level1,
            "level2": row.level2,
            "status": "已执行"
            if row.executed
            else ("未执行（必选）" if row.required else "未执行"),
            "script": "、".join(row.scripts),
        }
        for row in summary.execution
    ]
    qa = summary.qa
    report = {
        "score": qa.score,
        "passed": qa.passed,
        "deductions": qa.deductions,
        "violations": [attrs.asdict(v) for v in qa.violations],
        "missing_mandatory": list(qa.missing_mandatory),
        "speech_rate_cpm": qa.speech_rate_cpm,
        "silences": [list(s) for s in qa.silences],
    }
    return steps, report


class SopLiveService:
    """One ``SopAssistant`` per session, fed by its host over signaling."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._assistants: dict[str, SopAssistant] = {}
        self._roles: dict[str, dict[str, str]] = {}

    def assistant(self, session_id: str) -> SopAssistant | None:
        """The session's assistant, once started."""
        return self._assistants.get(session_id)

    async def handle(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        """The ``AreaHandler`` of ``sop`` messages."""
        try:
            if seat.role is not ParticipantRole.HOST or seat.principal is None:
                raise PermissionDenied("only the session's host drives the SOP assistant")
            if message.type == "sop.start":
                return await self._start(seat, message)
            assistant = self._assistants.get(seat.session_id)
            if assistant is None:
                raise InvalidInput("send sop.start first")
            data = message.data
            if message.type == "sop.page":
                page = data.get("page")
                if page is not None and (not isinstance(page, int) or isinstance(page, bool)):
                    raise InvalidInput("page must be a page number")
                assistant.show(data.get("material_id") or None, page)
            elif message.type == "sop.segment":
                assistant.receive(self._segment(seat.session_id, data))
            elif message.type == "sop.finish":
                steps, report = await self.finish(seat.session_id)
                return [ServerMessage("sop.summary", {"steps": steps, "qa": report}, re=message.id)]
            else:
                raise InvalidInput(f"unknown message {message.type!r}")
            replies = [_event(e) for e in assistant.events()]
            return [*replies, ServerMessage("ack", {}, re=message.id)]
        except (InvalidInput, PermissionDenied) as exc:
            code = "invalid_input" if isinstance(exc, InvalidInput) else "permission_denied"
            return [ServerMessage.error(code, str(exc), message.id)]

    async def _start(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        actor = seat.principal
        assert actor is not None
        sop = self._platform.sop
        template_id = message.data.get("template_id")
        flows: list[Flow] = await sop.flows(actor)
        if template_id:
            chosen = [t for t in await sop.templates(actor) if t.id == template_id]
            if not chosen:
                raise PermissionDenied("that template is not one the host may use")
            by_id = {f.id: f for f in flows}
            flows = [by_id[f] for f in chosen[0].flow_ids if f in by_id]
        scripts = await sop.scripts(actor)
        rules = [r.rule for r in await sop.rules(actor, enabled_only=True)]
        roles = self._roles.setdefault(seat.session_id, {})
        self._assistants[seat.session_id] = SopAssistant(
            flows, scripts, rules, role_of=lambda speaker: roles.get(speaker, speaker)
        )
        checklist = [
            {
                "id": f.id,
                "name": f.name,
                "material_id": f.material_id,
                "nodes": nodes_to_json(f.nodes),
            }
            for f in flows
        ]
        return [ServerMessage("sop.checklist", {"flows": checklist}, re=message.id)]

    def _segment(self, session_id: str, data: dict[str, Any]) -> TranscriptSegment:
        try:
            segment = TranscriptSegment(
                utterance=str(data["utterance"]),
                text=str(data["text"]),
                start_ms=int(data["start_ms"]),
                end_ms=int(data["end_ms"]),
                speaker=str(data["speaker"]),
                final=bool(data.get("final", True)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(
                "a segment needs utterance, text, start_ms, end_ms and speaker"
            ) from exc
        role = data.get("role")
        if role in ("salesperson", "customer"):
            self._roles.setdefault(session_id, {})[segment.speaker] = role
        return segment

    async def finish(self, session_id: str) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """Write the session's execution table and QA report into its record."""
        assistant = self._assistants.pop(session_id, None)
        self._roles.pop(session_id, None)
        if assistant is None:
            raise InvalidInput("the SOP assistant of this session was not started")
        steps, report = summary_json(assistant.summary())
        values = {
            "steps": json.dumps(steps, ensure_ascii=False),
            "qa": json.dumps(report, ensure_ascii=False),
            "written_ms": to_ms(self._platform.clock.now()),
        }
        async with self._platform.database.begin() as conn:
            table = sop_session_reports
            await conn.execute(table.delete().where(table.c.session_id == session_id))
            await conn.execute(table.insert().values(session_id=session_id, **values))
        return steps, report
