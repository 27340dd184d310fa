"""The evaluation set: node hits and forbidden phrases through realistic ASR damage."""

from __future__ import annotations

from zhanye_sdk.sop import MatcherConfig

from .sop_eval import load, predictions, score


def test_the_set_is_large_and_labelled() -> None:
    flows, rows = load()
    assert len(rows) >= 150
    assert {r["flow"] for r in rows} == {"wealth", "insurance"}
    assert sum(len(r["nodes"]) for r in rows) >= 60
    assert sum(len(r["forbidden"]) for r in rows) >= 12
    assert sum(len(r["segments"]) > 1 for r in rows) >= 15
    damaged = sum(r["clean"] != "".join(s["text"] for s in r["segments"]) for r in rows)
    assert damaged >= 0.7 * len(rows)


def test_node_hits_and_forbidden_phrases_recall_at_precision() -> None:
    flows, rows = load()
    found = predictions(flows, rows)
    for kind in ("nodes", "forbidden"):
        result = score(rows, found, kind)
        assert result["recall"] >= 0.95, (kind, result)
        assert result["precision"] >= 0.90, (kind, result)


def test_the_pinyin_channel_is_what_gets_there() -> None:
    # Without it the homophone damage costs recall: the channel earns its place.
    flows, rows = load()
    exact_only = score(rows, predictions(flows, rows, MatcherConfig(pinyin=False)), "nodes")
    assert exact_only["recall"] < 0.9
