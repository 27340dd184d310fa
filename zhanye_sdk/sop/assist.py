"""Live SOP assist for one session: the flow follows the shared page. Sans-I/O.

Theory of operation
-------------------
A ``SopAssistant`` is built from the flows a session may use (its template's), the
scripts they link, and the QA rules. The host tells it what is on screen with
``show(material_id, page)`` and feeds transcript segments with ``receive``; events come
out of ``next_event``:

* ``FlowActivated`` when the shared material (and page) selects another flow: the flow
  linked to that material whose page ranges hold the page (the first such flow), else
  the first flow linked to no material (a general flow, also active from the start),
  else none.
* ``CardShown`` — the script card to show now. Candidates come from node hits (the
  node's linked scripts) and from scripts' own semantic keywords heard; each is scored
  ``confidence × (1.0 for a node, 0.7 for a keyword) + 0.5`` when it belongs to a node
  of the active flow whose pages hold the current page. A page change shows the first
  card of the first node on that page; sharing a material without pages (a link, a
  video) shows the flow's first card. The best card is shown when it differs from the
  card on screen; suggestions from stable partials (``final=False``) show cards early.
* ``NodeExecuted`` — once per node, on a final segment of a salesperson that says one
  of its key phrases (a second-level node also executes its parent).
* ``QaAlert`` — live alerts of the ``QualityInspector``.

``summary()`` gives the execution table (一级流程节点 / 二级流程节点 / 执行情况 / 场景话术)
of every flow that was active, and the QA report; a required node not executed is
listed as a missing mandatory step and deducts ``missed_required_deduction``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from zhanye_sdk.sop.matcher import (
    NEED_DATA,
    KeyPhrase,
    MatcherConfig,
    NeedData,
    PhraseHit,
    PhraseIndex,
    TranscriptMatcher,
    TranscriptSegment,
)
from zhanye_sdk.sop.models import Flow, FlowNode, Script
from zhanye_sdk.sop.qa import QaAlert, QaReport, QaRule, QualityInspector

__all__ = [
    "CardShown",
    "ExecutionRow",
    "FlowActivated",
    "NodeExecuted",
    "SessionSummary",
    "SopAssistant",
]

_NODE_WEIGHT = 1.0
_KEYWORD_WEIGHT = 0.7
_PAGE_BOOST = 0.5


@attrs.frozen(slots=True)
class FlowActivated:
    """The flow now followed (``None``: the shared material has no flow)."""

    flow_id: str | None
    material_id: str | None
    page: int | None


@attrs.frozen(slots=True)
class CardShown:
    """The script card to show now, why, and how sure."""

    script_id: str
    name: str
    content: str
    node_id: str | None
    score: float
    final: bool
    time_ms: int


@attrs.frozen(slots=True)
class NodeExecuted:
    """A flow node said, with the evidence."""

    flow_id: str
    node_id: str
    title: str
    parent_id: str | None
    time_ms: int
    speaker: str
    text: str
    channel: str
    confidence: float


@attrs.frozen(slots=True)
class ExecutionRow:
    """One row of the execution table: a node, whether it was executed, its scripts, and
    the evidence of its execution (when, who, the words heard)."""

    flow: str
    level1: str
    level2: str
    executed: bool
    required: bool
    time_ms: int | None
    scripts: tuple[str, ...]
    speaker: str | None = None
    text: str | None = None


@attrs.frozen(slots=True)
class SessionSummary:
    """What the session record keeps: the execution table and the QA report."""

    execution: tuple[ExecutionRow, ...]
    qa: QaReport
    missed_required: tuple[str, ...]


AssistEvent = FlowActivated | CardShown | NodeExecuted | QaAlert


class SopAssistant:
    """Follows a session's transcript and shared pages; see the module header.

    Args:
        flows: the flows the session may use, in template order.
        scripts: the scripts they link (and any others whose keywords should show cards).
        rules: QA rules to inspect with.
        role_of: a speaker's role (``salesperson`` / ``customer``); default: the id itself.
        config: matcher settings.
        missed_required_deduction: points a required node not executed costs.
    """

    def __init__(
        self,
        flows: Sequence[Flow],
        scripts: Mapping[str, Script] | Iterable[Script],
        rules: Iterable[QaRule] = (),
        *,
        role_of: Callable[[str], str] | None = None,
        config: MatcherConfig | None = None,
        missed_required_deduction: int = 10,
    ) -> None:
        self._flows = {f.id: f for f in flows}
        self._order = [f.id for f in flows]
        if isinstance(scripts, Mapping):
            self._scripts = dict(scripts)
        else:
            self._scripts = {s.id: s for s in scripts}
        self._role_of = role_of or (lambda speaker: speaker)
        self._nodes: dict[tuple[str, str], tuple[FlowNode | None, FlowNode]] = {}
        phrases: list[KeyPhrase] = []
        for flow in flows:
            for top in flow.nodes:
                for parent, node in top.walk():
                    self._nodes[(flow.id, node.id)] = (parent, node)
                    phrases.extend(
                        KeyPhrase(f"node\x1f{flow.id}\x1f{node.id}", p) for p in node.key_phrases
                    )
        for script in self._scripts.values():
            phrases.extend(KeyPhrase(f"script\x1f{script.id}", k) for k in script.keywords)
        self._matcher = TranscriptMatcher(PhraseIndex(phrases, config))
        self._inspector = QualityInspector(rules, self._role_of, config)
        self._missed_deduction = missed_required_deduction
        self._general = next((f.id for f in flows if f.material_id is None), None)
        self._active: str | None = self._general
        self._material: str | None = None
        self._page: int | None = None
        self._card: str | None = None
        self._card_event: CardShown | None = None
        self._executed: dict[tuple[str, str], int] = {}
        self._evidence: dict[tuple[str, str], NodeExecuted] = {}
        self._seen_flows: list[str] = [self._general] if self._general else []
        self._events: deque[AssistEvent] = deque()

    @property
    def active_flow(self) -> Flow | None:
        """The flow followed now."""
        return self._flows.get(self._active) if self._active else None

    @property
    def shown(self) -> tuple[str | None, int | None]:
        """The material and page on screen, as last told by ``show``."""
        return self._material, self._page

    @property
    def card(self) -> CardShown | None:
        """The script card on screen now (the last ``CardShown``)."""
        return self._card_event

    @property
    def executed(self) -> dict[tuple[str, str], int]:
        """``(flow id, node id)`` of every node executed so far, with when."""
        return dict(self._executed)

    def show(self, material_id: str | None, page: int | None = None, *, time_ms: int = 0) -> None:
        """The shared material and page changed (``None``: nothing shared)."""
        self._material, self._page = material_id, page
        chosen: str | None = None
        for flow_id in self._order:
            flow = self._flows[flow_id]
            if material_id is None or flow.material_id != material_id:
                continue
            if not flow.pages or page is None or any(page in r for r in flow.pages):
                chosen = flow_id
                break
        if chosen is None:
            chosen = self._general
        if chosen != self._active:
            self._active = chosen
            self._events.append(FlowActivated(chosen, material_id, page))
            if chosen is not None and chosen not in self._seen_flows:
                self._seen_flows.append(chosen)
        active = self.active_flow
        if active is None or material_id is None:
            return
        for top in active.nodes:
            for _, node in top.walk():
                # A material without pages (a link, a video) shows its first card.
                on_page = page is None or any(page in r for r in node.pages)
                if node.script_ids and on_page:
                    self._show_card(node.script_ids[0], node.id, 1.0, True, time_ms)
                    return

    def receive(self, segment: TranscriptSegment) -> None:
        """Take one transcript segment (partial or final)."""
        self._matcher.receive(segment)
        hits = self._matcher.events()
        self._inspector.receive(segment)
        salesperson = self._role_of(segment.speaker) == "salesperson"
        candidates: dict[str, tuple[float, str | None]] = {}
        for hit in hits:
            kind, *rest = hit.key.split("\x1f")
            if kind == "node":
                flow_id, node_id = rest
                if flow_id != self._active:
                    continue
                parent, node = self._nodes[(flow_id, node_id)]
                if hit.final and salesperson:
                    self._execute(flow_id, node, parent, hit)
                for script_id in node.script_ids:
                    self._candidate(candidates, script_id, node, _NODE_WEIGHT * hit.confidence)
            else:
                (script_id,) = rest
                self._candidate(
                    candidates,
                    script_id,
                    self._node_of(script_id),
                    _KEYWORD_WEIGHT * hit.confidence,
                )
        for alert in self._inspector.events():
            self._events.append(alert)
        if candidates:
            best, (score, card_node) = max(candidates.items(), key=lambda c: (c[1][0], c[0]))
            self._show_card(best, card_node, score, segment.final, segment.start_ms)

    def next_event(self) -> AssistEvent | NeedData:
        """The next event, or ``NEED_DATA``."""
        return self._events.popleft() if self._events else NEED_DATA

    def events(self) -> list[AssistEvent]:
        """Every event ready now (drains ``next_event``)."""
        out = list(self._events)
        self._events.clear()
        return out

    def summary(self) -> SessionSummary:
        """The execution table of every flow used and the QA report, for the record."""
        rows: list[ExecutionRow] = []
        missed: list[str] = []
        for flow_id in self._seen_flows:
            flow = self._flows[flow_id]
            for top in flow.nodes:
                for parent, node in top.walk():
                    at = self._executed.get((flow_id, node.id))
                    evidence = self._evidence.get((flow_id, node.id))
                    level1 = parent.title if parent else node.title
                    level2 = node.title if parent else ""
                    names = tuple(
                        self._scripts[s].name for s in node.script_ids if s in self._scripts
                    )
                    rows.append(
                        ExecutionRow(
                            flow.name,
                            level1,
                            level2,
                            at is not None,
                            node.required,
                            at,
                            names,
                            evidence.speaker if evidence else None,
                            evidence.text if evidence else None,
                        )
                    )
                    if node.required and at is None:
                        missed.append(f"{level1} / {level2}" if level2 else level1)
        qa = self._inspector.report()
        if missed:
            deductions = qa.deductions + self._missed_deduction * len(missed)
            qa = attrs.evolve(
                qa,
                deductions=deductions,
                score=max(0, 100 - deductions),
                missing_mandatory=qa.missing_mandatory + tuple(missed),
            )
        return SessionSummary(tuple(rows), qa, tuple(missed))

    def _node_of(self, script_id: str) -> FlowNode | None:
        flow = self.active_flow
        if flow is None:
            return None
        for top in flow.nodes:
            for _, node in top.walk():
                if script_id in node.script_ids:
                    return node
        return None

    def _candidate(
        self,
        candidates: dict[str, tuple[float, str | None]],
        script_id: str,
        node: FlowNode | None,
        score: float,
    ) -> None:
        if script_id not in self._scripts:
            return
        if node is not None and self._page is not None and any(self._page in r for r in node.pages):
            score += _PAGE_BOOST
        best = candidates.get(script_id)
        if best is None or best[0] < score:
            candidates[script_id] = (round(score, 3), node.id if node else None)

    def _show_card(
        self, script_id: str, node_id: str | None, score: float, final: bool, time_ms: int
    ) -> None:
        script = self._scripts.get(script_id)
        if script is None or script_id == self._card:
            return
        self._card = script_id
        self._card_event = CardShown(
            script_id, script.name, script.content, node_id, score, final, time_ms
        )
        self._events.append(self._card_event)

    def _execute(
        self, flow_id: str, node: FlowNode, parent: FlowNode | None, hit: PhraseHit
    ) -> None:
        for target, its_parent in ((node, parent), (parent, None)):
            if target is None or (flow_id, target.id) in self._executed:
                continue
            self._executed[(flow_id, target.id)] = hit.start_ms
            self._evidence[(flow_id, target.id)] = executed = NodeExecuted(
                flow_id=flow_id,
                node_id=target.id,
                title=target.title,
                parent_id=its_parent.id if its_parent else None,
                time_ms=hit.start_ms,
                speaker=hit.speaker,
                text=hit.text,
                channel=hit.channel,
                confidence=hit.confidence,
            )
            self._events.append(executed)
