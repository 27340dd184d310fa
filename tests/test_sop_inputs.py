"""The assistant's inputs as stored data: replaying them rebuilds the same assistant."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.inputs import (
    AssistInput,
    AssistStarted,
    ScreenShown,
    SegmentHeard,
    SessionAssist,
    input_from_json,
    input_json,
)
from zhanye_sdk.sop.matcher import TranscriptSegment
from zhanye_sdk.sop.models import Flow, FlowNode, PageRange, Script
from zhanye_sdk.sop.qa import QaRule

WHEN = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
SCRIPTS = (
    Script("s-intro", "c", "产品介绍话术", ("终身寿险",), "先介绍产品。", WHEN),
    Script("s-risk", "c", "风险揭示话术", ("风险",), "提示风险。", WHEN),
    Script("s-open", "c", "开场话术", ("您好",), "问好。", WHEN),
)
BROCHURE = Flow(
    "f-brochure",
    "手册讲解",
    "m1",
    (PageRange(1, 3),),
    (
        FlowNode(
            "intro",
            "产品介绍",
            ("保险产品",),
            True,
            ("s-intro",),
            (PageRange(1, 1),),
            (FlowNode("growth", "保额递增", ("保额逐年递增",)),),
        ),
        FlowNode("risk", "风险揭示", ("风险揭示",), True, ("s-risk",), (PageRange(2, 3),)),
    ),
    WHEN,
)
GENERAL = Flow(
    "f-general",
    "开场",
    None,
    (),
    (FlowNode("hello", "问候", ("您好",), False, ("s-open",)),),
    WHEN,
)
RULES = (
    QaRule("r1", "承诺保本", "forbidden", severity="critical", deduction=30, expression="保本保息"),
    QaRule("r2", "犹豫期说明", "mandatory", expression="犹豫期"),
    QaRule("r3", "先风险后收益", "order", order=("风险揭示", "收益")),
    QaRule("r4", "语速", "speech_rate", max_cpm=300.0, min_cpm=20.0),
    QaRule("r5", "冷场", "silence", role="any", max_silence_ms=8000),
)
PHRASES = [
    "您好",
    "今天介绍一款宝险产品",
    "保额逐年递增",
    "风险解示请仔细听",
    "放心，保本保息",
    "收益不错",
    "犹豫期十五天",
    "终身寿险",
    "嗯",
    "好的，",
]

starts = st.builds(
    AssistStarted,
    template_id=st.sampled_from([None, "t-brochure"]),
    flows=st.sampled_from([(GENERAL, BROCHURE), (BROCHURE,)]),
    scripts=st.just(SCRIPTS),
    rules=st.sampled_from([RULES, RULES[:2], ()]),
    time_ms=st.integers(0, 10**6),
)
shows = st.builds(
    ScreenShown,
    material_id=st.sampled_from([None, "m1", "m2"]),
    page=st.sampled_from([None, 1, 2, 3, 4]),
    time_ms=st.integers(0, 10**6),
)


@st.composite
def segments(draw: st.DrawFn) -> SegmentHeard:
    start = draw(st.integers(0, 120_000))
    text = "".join(draw(st.lists(st.sampled_from(PHRASES), min_size=1, max_size=3)))
    segment = TranscriptSegment(
        utterance=draw(st.sampled_from(["u1", "u2", "u3", "src1:u1", "room2:u1"])),
        text=text,
        start_ms=start,
        end_ms=start + draw(st.integers(0, 15_000)),
        speaker=draw(st.sampled_from(["sales-1", "cust-1", "salesperson", "customer"])),
        final=draw(st.booleans()),
    )
    return SegmentHeard(segment, draw(st.sampled_from([None, "salesperson", "customer"])))


inputs = st.tuples(
    starts, st.lists(st.one_of(shows, segments(), segments(), starts), max_size=25)
).map(lambda first_rest: [first_rest[0], *first_rest[1]])


def stored(entries: list[AssistInput]) -> list[tuple[str, str]]:
    """The inputs as the service stores them: a kind and JSON text each."""
    out = []
    for entry in entries:
        kind, data = input_json(entry)
        out.append((kind, json.dumps(data, ensure_ascii=False)))
    return out


def state(session: SessionAssist) -> tuple[Any, ...]:
    assistant = session.assistant
    return (
        session.progress(),
        assistant.summary(),
        assistant.executed,
        assistant.shown,
        session.roles,
        session.template_id,
    )


@settings(max_examples=150, deadline=None)
@given(entries=inputs, probe=segments())
def test_replaying_the_stored_inputs_rebuilds_the_same_assistant(
    entries: list[AssistInput], probe: SegmentHeard
) -> None:
    live = SessionAssist()
    events = [live.apply(entry) for entry in entries]
    log = stored(entries)

    replayed = SessionAssist.replay(input_from_json(kind, json.loads(data)) for kind, data in log)
    assert state(replayed) == state(live)
    assert replayed.applied == live.applied == len(entries)
    # Applied one by one, the stored inputs give the very events the live run gave.
    again = SessionAssist()
    assert [again.apply(input_from_json(k, json.loads(d))) for k, d in log] == events
    # And the two carry on alike.
    assert replayed.apply(probe) == live.apply(probe)
    assert state(replayed) == state(live)


def test_a_template_switch_starts_over_on_what_is_on_screen_and_keeps_roles() -> None:
    first = AssistStarted(None, (GENERAL, BROCHURE), SCRIPTS, RULES, 0)
    session = SessionAssist()
    session.apply(first)
    session.apply(ScreenShown("m1", 2, 10))
    heard = SegmentHeard(
        TranscriptSegment("u1", "放心，保本保息", 0, 900, "sales-1"), "salesperson"
    )
    [alert] = session.apply(heard)
    assert session.alerts[0]["rule_name"] == "承诺保本"
    assert session.apply(AssistStarted("t-brochure", (BROCHURE,), SCRIPTS, RULES, 20)) == []
    assert session.template_id == "t-brochure"
    assert session.alerts == []  # the new template starts over …
    assert session.assistant.shown == ("m1", 2)  # … on the page shown
    assert session.progress()["card"]["script_id"] == "s-risk"
    assert session.roles == {"sales-1": "salesperson"}


def test_inputs_before_a_start_and_unreadable_stored_inputs_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not started"):
        SessionAssist().apply(ScreenShown("m1", 1, 0))
    with pytest.raises(InvalidInput, match="unknown assistant input"):
        input_from_json("delete", {})
    with pytest.raises(InvalidInput, match="SegmentHeard"):
        input_from_json("segment", {"segment": {"utterance": 1}, "role": None})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(["start", "show", "segment", "x"]), data=json_values)
def test_garbage_stored_inputs_never_build_an_assistant_silently(kind: str, data: Any) -> None:
    try:
        entry = input_from_json(kind, data)
    except InvalidInput:
        return
    # Whatever was accepted is a well-formed input of that kind.
    assert input_json(entry)[0] == kind
