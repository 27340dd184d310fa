"""The evaluation set: node hits and forbidden phrases through realistic ASR damage, and
hard negatives (other words that sound like a key phrase, a phrase's words apart, the
words across a clause or inside another word) that test precision for real."""

from __future__ import annotations

from zhanye_sdk.sop import MatcherConfig

from .sop_eval import load, predictions, score


def test_the_set_is_large_and_labelled() -> None:
    flows, rows = load()
    assert len(rows) >= 200
    assert {r["flow"] for r in rows} == {"wealth", "insurance"}
    assert sum(len(r["nodes"]) for r in rows) >= 60
    assert sum(len(r["forbidden"]) for r in rows) >= 20
    assert sum(len(r["segments"]) > 1 for r in rows) >= 15
    generated = [r for r in rows if not r["hard"]]
    damaged = sum(r["clean"] != "".join(s["text"] for s in r["segments"]) for r in generated)
    assert damaged >= 0.7 * len(generated)
    hard_negatives = [r for r in rows if r["hard"] and not r["nodes"] and not r["forbidden"]]
    assert len(hard_negatives) >= 40


def test_node_hits_and_forbidden_phrases_recall_at_precision() -> None:
    flows, rows = load()
    found = predictions(flows, rows)
    for kind in ("nodes", "forbidden"):
        result = score(rows, found, kind)
        assert result["recall"] >= 0.95, (kind, result)
        assert result["precision"] >= 0.90, (kind, result)


def test_the_hard_negatives_are_hard() -> None:
    # Without the matcher's guards (a pinyin match may differ in any number of
    # characters; a phrase may span punctuation) the negatives cost real precision,
    # and each guard removes false hits of its own.
    flows, rows = load()
    guarded = score(rows, predictions(flows, rows), "nodes")
    naive = MatcherConfig(max_substitution_rate=None, clause_bounded=False)
    unguarded = score(rows, predictions(flows, rows, naive), "nodes")
    assert unguarded["precision"] < 0.85 < guarded["precision"]
    for config in (
        MatcherConfig(max_substitution_rate=None),
        MatcherConfig(clause_bounded=False),
    ):
        assert score(rows, predictions(flows, rows, config), "nodes")["precision"] < (
            guarded["precision"] - 0.05
        )
    assert guarded["recall"] == unguarded["recall"]  # the guards cost no true hit


def test_the_pinyin_channel_is_what_gets_there() -> None:
    # Without it the homophone damage costs recall: the channel earns its place.
    flows, rows = load()
    exact_only = score(rows, predictions(flows, rows, MatcherConfig(pinyin=False)), "nodes")
    assert exact_only["recall"] < 0.9
