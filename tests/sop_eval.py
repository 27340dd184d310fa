"""The labelled SOP evaluation set (tests/data/sop_eval) and its scoring, shared by the
test and the benchmark."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from zhanye_sdk.sop import (
    KeyPhrase,
    MatcherConfig,
    PhraseIndex,
    TranscriptMatcher,
    TranscriptSegment,
)

DATA = Path(__file__).parent / "data" / "sop_eval"


def load() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    flows = json.loads((DATA / "flows.json").read_text(encoding="utf-8"))
    with (DATA / "utterances.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return flows, rows


def phrases(flows: dict[str, Any]) -> list[KeyPhrase]:
    out = [
        KeyPhrase(f"node:{flow['id']}/{node['id']}", p)
        for flow in flows["flows"]
        for node in flow["nodes"]
        for p in node["key_phrases"]
    ]
    out += [KeyPhrase(f"forbidden:{p}", p) for p in flows["forbidden"]]
    return out


def predictions(
    flows: dict[str, Any], rows: list[dict[str, Any]], config: MatcherConfig | None = None
) -> dict[tuple[str, str], str]:
    """(utterance, label) -> the best channel that found it, over a streamed session."""
    index = PhraseIndex(phrases(flows), config)
    found: dict[tuple[str, str], str] = {}
    matchers: dict[str, TranscriptMatcher] = {}
    for row in rows:
        matcher = matchers.setdefault(row["id"].split("-")[0], TranscriptMatcher(index))
        for seg in row["segments"]:
            matcher.receive(
                TranscriptSegment(
                    seg["id"], seg["text"], seg["start_ms"], seg["end_ms"], row["speaker"]
                )
            )
            for hit in matcher.events():
                key = (row["id"], hit.key.split(":", 1)[1])
                if found.get(key) != "exact":
                    found[key] = hit.channel
    return found


def score(
    rows: list[dict[str, Any]], found: dict[tuple[str, str], str], kind: str
) -> dict[str, float]:
    """Precision, recall and F1 of one label kind ("nodes" or "forbidden")."""
    truth = {(r["id"], label) for r in rows for label in r[kind]}
    universe = {label for r in rows for label in r[kind]}
    predicted = {k for k in found if k[1] in universe}
    tp = len(truth & predicted)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    channels = Counter(found[k] for k in truth & predicted)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "labels": len(truth),
        "exact": channels["exact"],
        "pinyin": channels["pinyin"],
    }


def load_robustness() -> list[dict[str, Any]]:
    """The robustness set: hand-written utterances as recognisers write them, one damage
    category each (robustness.jsonl), half ``tune`` and half ``held_out``."""
    with (DATA / "robustness.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def robustness_found(
    flows: dict[str, Any],
    rows: list[dict[str, Any]],
    config: MatcherConfig | None = None,
    *,
    inspect: bool = True,
) -> set[tuple[str, str]]:
    """(row, label) found: node labels from the matcher's hits; forbidden labels from the
    quality inspector's violations (``inspect``) or, as the old inspector did, from any
    hit of the phrase (``inspect=False``)."""
    from zhanye_sdk.sop.qa import QaRule, QualityInspector

    index = PhraseIndex(phrases(flows), config)
    rules = [
        QaRule(f"f{n}", p, "forbidden", expression=f'"{p}"')
        for n, p in enumerate(flows["forbidden"])
    ]
    found: set[tuple[str, str]] = set()
    for row in rows:
        segment = TranscriptSegment(row["id"], row["text"], 0, 3_000, row["speaker"])
        matcher = TranscriptMatcher(index)
        matcher.receive(segment)
        for hit in matcher.events():
            kind, label = hit.key.split(":", 1)
            if kind == "node" or not inspect:
                found.add((row["id"], label))
        if inspect:
            inspector = QualityInspector(rules, config=config)
            inspector.receive(segment)
            found.update((row["id"], alert.rule_name) for alert in inspector.events())
    return found


def score_by_category(
    rows: list[dict[str, Any]], found: set[tuple[str, str]]
) -> dict[str, dict[str, float]]:
    """Precision and recall per damage category (1.0 where there is nothing to find or
    nothing was found), with the counts behind them."""
    out: dict[str, dict[str, float]] = {}
    for category in dict.fromkeys(r["category"] for r in rows):
        mine = [r for r in rows if r["category"] == category]
        truth = {(r["id"], label) for r in mine for label in r["nodes"] + r["forbidden"]}
        ids = {r["id"] for r in mine}
        predicted = {k for k in found if k[0] in ids}
        tp = len(truth & predicted)
        out[category] = {
            "precision": tp / len(predicted) if predicted else 1.0,
            "recall": tp / len(truth) if truth else 1.0,
            "labels": len(truth),
            "false_hits": len(predicted - truth),
            "missed": len(truth - predicted),
        }
    return out
