"""A session's live assistant as a function of its inputs. Sans-I/O.

Theory of operation
-------------------
Everything the live service ever tells a session's assistant is one of three inputs:

* ``AssistStarted`` — a template was started: the flows, scripts and QA rules it loaded
  (a copy, so a library edited later does not change what is replayed) and the time.
  The first start builds the assistant; another template starts over on what is on
  screen, keeping the speakers' roles.
* ``ScreenShown`` — the shared material and page changed.
* ``SegmentHeard`` — a transcript segment, with its speaker's role when known.

``SessionAssist.apply`` feeds one input and returns the events it caused; the QA alerts
among them are also kept (``alerts``), as the checklist hands them back on a reconnect.
The state after a sequence of inputs depends on nothing else, so storing the inputs in
order (``input_json``) and replaying them (``input_from_json``, ``SessionAssist.replay``)
into a fresh ``SessionAssist`` rebuilds the same assistant: same checklist, card, nodes
executed, alerts, and the same answers to whatever comes next.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import attrs

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.assist import AssistEvent, SopAssistant
from zhanye_sdk.sop.matcher import TranscriptSegment
from zhanye_sdk.sop.models import Flow, Script, nodes_to_json
from zhanye_sdk.sop.qa import QaAlert, QaRule
from zhanye_sdk.wire import structure, unstructure

__all__ = [
    "AssistInput",
    "AssistStarted",
    "InputKind",
    "ScreenShown",
    "SegmentHeard",
    "SessionAssist",
    "input_from_json",
    "input_json",
]

InputKind = Literal["start", "show", "segment"]


@attrs.frozen
class AssistStarted:
    """A template started, with the library it loaded (``template_id`` None: every flow)."""

    template_id: str | None
    flows: tuple[Flow, ...]
    scripts: tuple[Script, ...]
    rules: tuple[QaRule, ...]
    time_ms: int


@attrs.frozen
class ScreenShown:
    """The shared material and page (``None``: nothing shared, or no pages)."""

    material_id: str | None
    page: int | None
    time_ms: int


@attrs.frozen
class SegmentHeard:
    """One transcript segment and its speaker's role (salesperson / customer), if told."""

    segment: TranscriptSegment
    role: str | None = None


AssistInput = AssistStarted | ScreenShown | SegmentHeard

_KINDS: dict[str, type[AssistStarted] | type[ScreenShown] | type[SegmentHeard]] = {
    "start": AssistStarted,
    "show": ScreenShown,
    "segment": SegmentHeard,
}


def input_json(entry: AssistInput) -> tuple[InputKind, dict[str, Any]]:
    """The stored form of an input: its kind and JSON-able data."""
    kind: InputKind
    if isinstance(entry, AssistStarted):
        kind = "start"
    elif isinstance(entry, ScreenShown):
        kind = "show"
    else:
        kind = "segment"
    data: dict[str, Any] = unstructure(entry)
    return kind, data


def input_from_json(kind: str, data: object) -> AssistInput:
    """An input from its stored form (``input_json``).

    Raises:
        InvalidInput: an unknown kind, or data that is not that kind's (every bad field).
    """
    found = _KINDS.get(kind)
    if found is None:
        raise InvalidInput(f"unknown assistant input {kind!r}; expected start, show or segment")
    if not isinstance(data, dict):
        raise InvalidInput(f"invalid {found.__name__}: expected an object")
    return structure(data, found)


class SessionAssist:
    """One session's assistant, built and moved only by ``apply``; see the module header."""

    def __init__(self) -> None:
        self._assistant: SopAssistant | None = None
        self._started: AssistStarted | None = None
        self._roles: dict[str, str] = {}
        self._alerts: list[dict[str, Any]] = []
        self._applied = 0

    @classmethod
    def replay(cls, entries: Iterable[AssistInput]) -> SessionAssist:
        """A fresh ``SessionAssist`` with ``entries`` applied in order (events dropped).

        Raises:
            InvalidInput: the first entry is not an ``AssistStarted``.
        """
        session = cls()
        for entry in entries:
            session.apply(entry)
        return session

    @property
    def started(self) -> bool:
        """Whether a template was started."""
        return self._assistant is not None

    @property
    def assistant(self) -> SopAssistant:
        """The assistant (``InvalidInput`` before the first ``AssistStarted``)."""
        if self._assistant is None:
            raise InvalidInput("the SOP assistant of this session was not started")
        return self._assistant

    @property
    def template_id(self) -> str | None:
        """The template started last (``None``: every flow the host may use)."""
        return self._started.template_id if self._started else None

    @property
    def flows(self) -> tuple[Flow, ...]:
        """The flows of the template started last."""
        return self._started.flows if self._started else ()

    @property
    def scripts(self) -> tuple[Script, ...]:
        """The scripts loaded with the template started last."""
        return self._started.scripts if self._started else ()

    @property
    def roles(self) -> dict[str, str]:
        """Each speaker id's role as told so far."""
        return dict(self._roles)

    @property
    def alerts(self) -> list[dict[str, Any]]:
        """The QA alerts raised since the template started, as their ``sop.alert`` data."""
        return list(self._alerts)

    @property
    def applied(self) -> int:
        """How many inputs were applied."""
        return self._applied

    def apply(self, entry: AssistInput) -> list[AssistEvent]:
        """Feed one input; return the events it caused (none for a start: what is on
        screen then comes with the checklist).

        Raises:
            InvalidInput: a ``ScreenShown`` or ``SegmentHeard`` before any start.
        """
        if isinstance(entry, AssistStarted):
            self._start(entry)
            self._applied += 1
            return []
        assistant = self.assistant
        if isinstance(entry, ScreenShown):
            assistant.show(entry.material_id, entry.page, time_ms=entry.time_ms)
        else:
            if entry.role is not None:
                self._roles[entry.segment.speaker] = entry.role
            assistant.receive(entry.segment)
        self._applied += 1
        events = assistant.events()
        self._alerts.extend(attrs.asdict(e) for e in events if isinstance(e, QaAlert))
        return events

    def progress(self) -> dict[str, Any]:
        """The ``sop.checklist`` data: the flows with their nodes, the active flow, what is
        on screen, the nodes executed so far, the card shown and the alerts raised."""
        assistant = self.assistant
        active = assistant.active_flow
        material, page = assistant.shown
        card = assistant.card
        return {
            "template_id": self.template_id,
            "flows": [
                {
                    "id": f.id,
                    "name": f.name,
                    "material_id": f.material_id,
                    "nodes": nodes_to_json(f.nodes),
                }
                for f in self.flows
            ],
            "active_flow": active.id if active else None,
            "material_id": material,
            "page": page,
            "executed": [[f, n] for f, n in assistant.executed],
            "card": attrs.asdict(card) if card else None,
            "alerts": self.alerts,
        }

    def _start(self, entry: AssistStarted) -> None:
        roles = self._roles
        assistant = SopAssistant(
            entry.flows,
            entry.scripts,
            entry.rules,
            role_of=lambda speaker: roles.get(speaker, speaker),
        )
        if self._assistant is not None:
            # Another template: start over, on what is on screen now.
            assistant.show(*self._assistant.shown, time_ms=entry.time_ms)
        assistant.events()
        self._assistant, self._started = assistant, entry
        self._alerts.clear()
