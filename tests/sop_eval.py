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
