"""The matcher and the inspector on what recognisers really write: fillers and commas inside
a key phrase, a character lost or replaced in a long phrase, near-homophones (x/sh, in/ing,
z/zh, l/n), forbidden phrases said negated or reported, real promises, near misses, and
Whisper's own output on the project's clips (tests/data/sop_eval/robustness.jsonl).

Each category was split in two before the matcher was changed: ``tune`` rows guided the
work, ``held_out`` rows were only scored. The floors below are what the held-out half
measured; the baselines (exact match, tone-less pinyin, no negation) are measured on the
same rows to show what each part earns.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.sop import MatcherConfig
from zhanye_sdk.sop.negation import mention_is_disowned

from .sop_eval import load, load_robustness, robustness_found, score_by_category


def scores(split: str, config: MatcherConfig | None = None, inspect: bool = True) -> Any:
    flows, _ = load()
    rows = [r for r in load_robustness() if r["split"] == split]
    return score_by_category(rows, robustness_found(flows, rows, config, inspect=inspect))


def test_the_set_covers_every_category_in_both_halves() -> None:
    rows = load_robustness()
    categories = {r["category"] for r in rows}
    assert categories == {
        "filler",
        "deletion",
        "substitution",
        "homophone",
        "negated",
        "promise",
        "near_miss",
        "whisper",
    }
    for category in categories:
        halves = {r["split"] for r in rows if r["category"] == category}
        assert halves == {"tune", "held_out"}, category


@pytest.mark.parametrize("split", ["tune", "held_out"])
def test_damage_is_heard_and_negations_are_not_violations(split: str) -> None:
    result = scores(split)
    floors = {"filler": 1.0, "deletion": 1.0, "substitution": 0.75, "homophone": 0.8}
    for category, floor in floors.items():
        assert result[category]["recall"] >= floor, (category, result[category])
        assert result[category]["false_hits"] == 0, (category, result[category])
    assert result["negated"]["false_hits"] == 0, result["negated"]
    assert result["promise"]["recall"] == 1.0 and result["promise"]["false_hits"] == 0
    assert result["whisper"]["recall"] == 1.0 and result["whisper"]["false_hits"] == 0
    # 定期会访问您 reads exactly like 定期回访 (held out): the one near miss a sound
    # channel cannot tell apart.
    assert result["near_miss"]["false_hits"] <= 1


def test_each_part_earns_its_place_on_held_out_rows() -> None:
    ours = scores("held_out")
    exact = scores("held_out", MatcherConfig(pinyin=False), inspect=False)
    toneless = scores("held_out", MatcherConfig(fuzzy=False, max_edits=0), inspect=False)
    no_edits = scores("held_out", MatcherConfig(max_edits=0))
    no_negation = scores("held_out", inspect=False)
    for category in ("deletion", "substitution"):
        assert no_edits[category]["recall"] < ours[category]["recall"] - 0.5, category
    assert toneless["homophone"]["recall"] < ours["homophone"]["recall"] - 0.5
    assert exact["homophone"]["recall"] == 0.0
    assert no_negation["negated"]["false_hits"] >= 5 > ours["negated"]["false_hits"]


@pytest.mark.parametrize(
    ("text", "phrase", "disowned"),
    [
        ("我们不能说保本保息", "保本保息", True),
        ("他说稳赚不赔那是骗人的", "稳赚不赔", True),
        ("不承诺收益", "收益", True),
        ("放心，保本保息", "保本保息", False),
        ("不用担心，保本保息的", "保本保息", False),
        ("不仅保本保息还有分红", "保本保息", False),
        ("我说稳赚不赔", "稳赚不赔", False),
        ("稳赚不赔。那是骗人的吗？不是", "稳赚不赔", False),
    ],
)
def test_negation_reads_the_clause_before_and_the_sentence_after(
    text: str, phrase: str, disowned: bool
) -> None:
    start = text.index(phrase)
    assert mention_is_disowned(text, start, start + len(phrase)) is disowned


@given(st.text(max_size=40), st.integers(0, 40), st.integers(0, 40))
def test_any_text_and_span_gets_an_answer(text: str, a: int, b: int) -> None:
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    assert mention_is_disowned(text, start, end) in (True, False)
