"""Quality inspection of a session's transcript: rules, live alerts and the report. Sans-I/O.

Rules (``QaRule``) by kind:

* ``forbidden`` — the expression holds for one final segment of a speaker in the rule's
  role (with the tail of that speaker's earlier segments, so split phrases count): one
  violation per such segment, alerted live.
* ``mandatory`` — the expression must hold over everything the role said in the session
  (a disclosure, optionally labelled with the flow ``node`` it belongs to); checked when
  the report is made.
* ``order`` — the phrases of ``order`` must first be said in that order; a phrase first
  said before an earlier one is a violation (alerted live). Phrases never said are the
  mandatory rules' business.
* ``speech_rate`` — the role's normalised characters per minute of speech over the
  session must lie within ``[min_cpm, max_cpm]``; a final segment of 10 characters or
  more above ``max_cpm`` is alerted live.
* ``silence`` — a gap between consecutive final segments (any speaker) longer than
  ``max_silence_ms`` is one violation.

Each violation deducts the rule's ``deduction`` (a rule's total is capped by
``max_deduction`` when set). The report's score is ``max(0, 100 - deductions)`` and a
violation of a ``critical`` rule fails the session. Evidence is (time, speaker, text).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Literal

import attrs

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.expression import (
    Expression,
    evaluate,
    parse_expression,
    phrases_of,
    regex_in,
)
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
from zhanye_sdk.sop.negation import mention_is_disowned
from zhanye_sdk.sop.normalise import normalise

__all__ = [
    "QaAlert",
    "QaReport",
    "QaRule",
    "QualityInspector",
    "RuleKind",
    "Severity",
    "SpeakerRole",
    "offset_from_start",
]

RuleKind = Literal["forbidden", "mandatory", "order", "speech_rate", "silence"]
Severity = Literal["info", "minor", "major", "critical"]
SpeakerRole = Literal["salesperson", "customer", "any"]
_TAIL_SEGMENTS = 1


def offset_from_start(time_ms: int, started_ms: int | None) -> int:
    """A transcript time as milliseconds from the session's start (what a record shows).

    Live transcripts run on the platform's clock (the scripted feed, the room's audio
    taps): those times are at or after the session's start and become offsets. A time
    before the start is taken as an offset already (a text feed may count from the
    session's start itself), as is every time when the start is unknown.
    """
    if started_ms is not None and time_ms >= started_ms:
        return time_ms - started_ms
    return max(time_ms, 0)


@attrs.frozen(slots=True)
class QaRule:
    """One quality-inspection rule; see the module header for what each kind checks."""

    id: str
    name: str
    kind: RuleKind
    severity: Severity = "major"
    deduction: int = 5
    max_deduction: int | None = None
    role: SpeakerRole = "salesperson"
    expression: str = ""
    node: str | None = None
    order: tuple[str, ...] = ()
    min_cpm: float | None = None
    max_cpm: float | None = None
    max_silence_ms: int | None = None

    def __attrs_post_init__(self) -> None:
        found = self._findings()
        if found:
            raise InvalidInput(
                f"QA rule {self.id!r}: " + "; ".join(english for english, _ in found),
                zh=f"质检规则“{self.name}”有误：" + "；".join(zh for _, zh in found),
            )

    def problems(self) -> list[str]:
        """Every field that is wrong, in words (empty when the rule is valid)."""
        return [english for english, _ in self._findings()]

    def _findings(self) -> list[tuple[str, str]]:
        # Each problem in English and as the rule form says it in Chinese.
        out: list[tuple[str, str]] = []
        if self.kind not in ("forbidden", "mandatory", "order", "speech_rate", "silence"):
            out.append(
                (
                    f"kind must be forbidden, mandatory, order, speech_rate or silence, "
                    f"got {self.kind!r}",
                    "请选择规则类型",
                )
            )
        if self.severity not in ("info", "minor", "major", "critical"):
            out.append(
                (
                    f"severity must be info, minor, major or critical, got {self.severity!r}",
                    "请选择严重程度",
                )
            )
        if self.role not in ("salesperson", "customer", "any"):
            out.append(
                (
                    f"role must be salesperson, customer or any, got {self.role!r}",
                    "请选择说话人：业务员、客户或任意一方",
                )
            )
        if not 0 <= self.deduction <= 100:
            out.append(
                (
                    f"deduction must be within 0..100, got {self.deduction}",
                    f"扣分须为 0–100，当前为 {self.deduction}",
                )
            )
        if self.kind in ("forbidden", "mandatory"):
            try:
                parse_expression(self.expression)
            except InvalidInput as err:
                out.append((str(err), err.zh or str(err)))
        if self.kind == "order" and len(self.order) < 2:
            out.append(("order must list at least two phrases", "顺序规则至少要列出两个短语"))
        if self.kind == "speech_rate" and self.min_cpm is None and self.max_cpm is None:
            out.append(("speech_rate needs min_cpm or max_cpm", "语速规则须填写最低或最高语速"))
        if self.kind == "silence" and (self.max_silence_ms is None or self.max_silence_ms <= 0):
            out.append(("silence needs max_silence_ms > 0", "静音规则须填写大于 0 的最长静音时长"))
        return out

    def parsed(self) -> Expression:
        """The parsed expression (forbidden and mandatory rules)."""
        return parse_expression(self.expression)


@attrs.frozen(slots=True)
class QaAlert:
    """One violation, with its evidence."""

    rule_id: str
    rule_name: str
    kind: RuleKind
    severity: Severity
    deduction: int
    time_ms: int
    speaker: str
    text: str
    detail: str = ""


@attrs.frozen(slots=True)
class QaReport:
    """The per-session result: score, pass/fail, every violation with evidence."""

    score: int
    passed: bool
    deductions: int
    violations: tuple[QaAlert, ...]
    missing_mandatory: tuple[str, ...]
    speech_rate_cpm: dict[str, float]
    silences: tuple[tuple[int, int], ...]


@attrs.define
class _Said:
    """What one role said: normalised text, phrase first-hit times, speaking time."""

    text: list[str] = attrs.Factory(list)
    first_hit: dict[str, tuple[int, str, str]] = attrs.Factory(dict)
    chars: int = 0
    speaking_ms: int = 0


def _disowned(hit: PhraseHit, segment: TranscriptSegment) -> bool:
    start = hit.start[1] if hit.start[0] == segment.utterance else 0
    end = hit.end[1] if hit.end[0] == segment.utterance else len(segment.text)
    return mention_is_disowned(segment.text, start, end)


class QualityInspector:
    """Runs ``QaRule`` values over a transcript; see the module header.

    Args:
        rules: the rules to apply.
        role_of: the role of a speaker id (default: the speaker id is the role name).
        config: matcher settings for the rules' phrases.
    """

    def __init__(
        self,
        rules: Iterable[QaRule],
        role_of: Callable[[str], str] | None = None,
        config: MatcherConfig | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self._role_of = role_of or (lambda speaker: speaker)
        self._expressions = {
            r.id: r.parsed() for r in self.rules if r.kind in ("forbidden", "mandatory")
        }
        phrases: list[str] = []
        for rule in self.rules:
            mentioned = list(rule.order) if rule.kind == "order" else []
            if rule.id in self._expressions:
                mentioned = phrases_of(self._expressions[rule.id])
            phrases.extend(p for p in mentioned if p not in phrases)
        self._matcher = TranscriptMatcher(PhraseIndex([KeyPhrase(p, p) for p in phrases], config))
        self._said: dict[str, _Said] = {}
        self._recent: dict[str, deque[tuple[str, set[str]]]] = {}
        self._alerts: deque[QaAlert] = deque()
        self._violations: list[QaAlert] = []
        self._last_end: int | None = None
        self._silences: list[tuple[int, int]] = []
        self._order_reported: set[tuple[str, str]] = set()

    def receive(self, segment: TranscriptSegment) -> None:
        """Take one segment (partials are ignored: inspection decides on finals)."""
        if not segment.final:
            return
        self._matcher.receive(segment)
        hits = self._matcher.events()
        role = self._role_of(segment.speaker)
        heard = {h.key for h in hits}
        # A forbidden phrase negated ("不能说保本") or refuted ("…那是骗人的") is no promise.
        promised = {h.key for h in hits if not _disowned(h, segment)}
        normalised = normalise(segment.text).text
        self._check_silence(segment)
        for key in (role, "any"):
            said = self._said.setdefault(key, _Said())
            said.text.append(normalised)
            said.chars += len(normalised)
            said.speaking_ms += max(segment.end_ms - segment.start_ms, 0)
            for hit in hits:
                said.first_hit.setdefault(hit.key, (hit.start_ms, hit.speaker, hit.text))
        recent = self._recent.setdefault(segment.speaker, deque(maxlen=_TAIL_SEGMENTS + 1))
        recent.append((normalised, heard))
        window_text = "".join(t for t, _ in recent)
        in_segment = regex_in(window_text, len(window_text) - len(normalised))
        for rule in self.rules:
            if not self._applies(rule, role):
                continue
            if rule.kind == "forbidden":
                if evaluate(self._expressions[rule.id], promised.__contains__, in_segment):
                    self._violate(rule, segment.start_ms, segment.speaker, segment.text)
            elif rule.kind == "order":
                self._check_order(rule, role)
            elif rule.kind == "speech_rate" and rule.max_cpm is not None:
                minutes = (segment.end_ms - segment.start_ms) / 60_000
                if len(normalised) >= 10 and minutes > 0:
                    rate = len(normalised) / minutes
                    if rate > rule.max_cpm:
                        self._violate(
                            rule,
                            segment.start_ms,
                            segment.speaker,
                            segment.text,
                            f"{rate:.0f} characters per minute > {rule.max_cpm:.0f}",
                        )

    def next_event(self) -> QaAlert | NeedData:
        """The next live alert, or ``NEED_DATA``."""
        return self._alerts.popleft() if self._alerts else NEED_DATA

    def events(self) -> list[QaAlert]:
        """Every live alert ready now (drains ``next_event``)."""
        out = list(self._alerts)
        self._alerts.clear()
        return out

    def report(self) -> QaReport:
        """The session report: live violations plus the end-of-session checks."""
        violations = list(self._violations)
        missing: list[str] = []
        for rule in self.rules:
            said = self._said.get(rule.role, _Said())
            if rule.kind == "mandatory":
                text = "".join(said.text)
                if not evaluate(
                    self._expressions[rule.id], said.first_hit.__contains__, regex_in(text)
                ):
                    missing.append(rule.name)
                    violations.append(self._alert(rule, 0, "", "", "not said in the session"))
            elif rule.kind == "speech_rate" and said.speaking_ms > 0:
                rate = said.chars / (said.speaking_ms / 60_000)
                low = rule.min_cpm is not None and rate < rule.min_cpm
                # Too fast is judged over the whole session too, unless already alerted.
                high = rule.max_cpm is not None and rate > rule.max_cpm
                already = any(v.rule_id == rule.id for v in violations)
                if low or (high and not already):
                    bound = rule.min_cpm if low else rule.max_cpm
                    violations.append(
                        self._alert(rule, 0, "", "", f"session rate {rate:.0f} vs {bound:.0f}")
                    )
        deductions = 0
        per_rule: dict[str, int] = {}
        for v in violations:
            rule = next(r for r in self.rules if r.id == v.rule_id)
            cap = rule.max_deduction if rule.max_deduction is not None else 100
            taken = min(v.deduction, cap - per_rule.get(rule.id, 0))
            per_rule[rule.id] = per_rule.get(rule.id, 0) + max(taken, 0)
            deductions += max(taken, 0)
        failed = any(v.severity == "critical" for v in violations)
        rates = {
            role: round(s.chars / (s.speaking_ms / 60_000), 1)
            for role, s in self._said.items()
            if s.speaking_ms > 0 and role != "any"
        }
        return QaReport(
            score=max(0, 100 - deductions),
            passed=not failed,
            deductions=deductions,
            violations=tuple(violations),
            missing_mandatory=tuple(missing),
            speech_rate_cpm=rates,
            silences=tuple(self._silences),
        )

    def _applies(self, rule: QaRule, role: str) -> bool:
        return rule.role == "any" or rule.role == role

    def _check_silence(self, segment: TranscriptSegment) -> None:
        previous, self._last_end = self._last_end, max(self._last_end or 0, segment.end_ms)
        if previous is None:
            return
        gap = segment.start_ms - previous
        for rule in self.rules:
            if rule.kind == "silence" and rule.max_silence_ms and gap > rule.max_silence_ms:
                self._silences.append((previous, segment.start_ms))
                self._violate(
                    rule, previous, segment.speaker, segment.text, f"{gap / 1000:.1f} s of silence"
                )

    def _check_order(self, rule: QaRule, role: str) -> None:
        first = self._said.get(role, _Said()).first_hit
        said = [(first[p][0], i, p) for i, p in enumerate(rule.order) if p in first]
        for a, (t_a, _, p_a) in enumerate(said):
            for t_b, _, p_b in said[a + 1 :]:
                if t_b < t_a and (p_a, p_b) not in self._order_reported:
                    self._order_reported.add((p_a, p_b))
                    when, speaker, text = first[p_a]
                    self._violate(rule, when, speaker, text, f"{p_b} said before {p_a}")

    def _alert(self, rule: QaRule, time_ms: int, speaker: str, text: str, detail: str) -> QaAlert:
        return QaAlert(
            rule_id=rule.id,
            rule_name=rule.name,
            kind=rule.kind,
            severity=rule.severity,
            deduction=rule.deduction,
            time_ms=time_ms,
            speaker=speaker,
            text=text,
            detail=detail,
        )

    def _violate(
        self, rule: QaRule, time_ms: int, speaker: str, text: str, detail: str = ""
    ) -> None:
        alert = self._alert(rule, time_ms, speaker, text, detail)
        self._violations.append(alert)
        self._alerts.append(alert)
