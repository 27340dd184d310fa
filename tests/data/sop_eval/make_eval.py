"""Writes utterances.jsonl: the labelled SOP evaluation set (run again to regenerate).

Two flows modelled on the manual (wealth management: 资产配置介绍, 客户KYC, 产品推荐, 存续服务;
insurance: a product with mandatory risk disclosure and cooling-off period) plus the
forbidden phrases of the QA rules. Each utterance is built from a clean sentence, whose
phrases are the labels, then damaged like ASR output, deterministically (seed 9):

* homophone swaps: characters replaced by another character with the same tone-less
  reading (from a pool of common characters), 3-10 % of the characters of an utterance;
  with drops and fillers the character error rate is 5-15 % (printed when run);
* dropped characters (outside key phrases: a dropped key character is not recoverable
  by any text matcher, and would only measure the ASR);
* fillers (嗯, 那个, 就是) inserted between clauses;
* one utterance in five split into two segments, half of those inside a key phrase.

Conversations marked ``"heard": true`` are hard cases written as the ASR heard them and
kept as written (``hard: true`` in their rows): mostly negatives — other words that read
like a key phrase (由于其 / 犹豫期, 保险旗舰 / 保险期间), a phrase's words apart or
reordered, the words across a clause boundary (讲完宏观，市场这边) or inside another word
(投保单位) — plus controls, the phrases heard with errors. A line's ``heard`` lists its
segments (default: the text itself); ``nodes`` / ``forbidden`` on a line replace the
labels found in its text (for a phrase said in another sense).

Usage: python tests/data/sop_eval/make_eval.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from pypinyin import Style, pinyin

HERE = Path(__file__).parent

FLOWS = json.loads((HERE / "flows.json").read_text(encoding="utf-8"))

COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说"
    "产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点"
    "从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原"
    "又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革"
    "位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强"
    "放决西被干做必战先回则任取据处府研质众易报险宝保包饱豹暴爆抱鲍风封峰锋丰疯逢冯奉凤揭街接阶节解结"
    "姐借界介届示是事市式试世视室势适释识时实十石拾食史使始驶收手首守受授售兽瘦益义亿意易议艺异译忆亦"
    "犹由游油邮尤有友又右幼佑豫预遇玉育欲域誉狱御浴裕赚转专砖撰篆赔陪培配佩沛配置至志制治质致智置"
    "理里礼李力利立历丽例励财才材采彩菜裁稳问文闻温纹吻零领令另灵玲龄铃岭安按案暗岸庵绝觉决爵诀掘"
)

HOMOPHONES: dict[str, list[str]] = {}


def reading(ch: str) -> str:
    return pinyin(ch, style=Style.NORMAL)[0][0]


def build_homophones() -> None:
    by_reading: dict[str, list[str]] = {}
    for ch in dict.fromkeys(COMMON):
        by_reading.setdefault(reading(ch), []).append(ch)
    for chars in by_reading.values():
        for ch in chars:
            others = [c for c in chars if c != ch]
            if others:
                HOMOPHONES[ch] = others


def damage(rng: random.Random, text: str, protected: list[tuple[int, int]]) -> str:
    """Homophone swaps anywhere a swap exists, drops outside protected spans, fillers."""
    rate = rng.uniform(0.03, 0.10)
    inside = [False] * len(text)
    for s, e in protected:
        for i in range(s, e):
            inside[i] = True
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in "，。？！":
            out.append(ch)
            if rng.random() < 0.25:
                out.append(rng.choice(["嗯，", "那个，", "就是，"]))
            continue
        roll = rng.random()
        if roll < rate and ch in HOMOPHONES:
            out.append(rng.choice(HOMOPHONES[ch]))
        elif roll < rate + 0.02 and not inside[i]:
            continue
        else:
            out.append(ch)
    return "".join(out)


def phrases() -> dict[str, tuple[str, str]]:
    """Every labelled phrase: text -> (label kind, label)."""
    table: dict[str, tuple[str, str]] = {}
    for flow in FLOWS["flows"]:
        for node in flow["nodes"]:
            for phrase in node["key_phrases"]:
                table[phrase] = ("node", f"{flow['id']}/{node['id']}")
    for phrase in FLOWS["forbidden"]:
        table[phrase] = ("forbidden", phrase)
    return table


def labels_of(clean: str, table: dict[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
    nodes = sorted({v for p, (k, v) in table.items() if k == "node" and p in clean})
    forbidden = sorted({v for p, (k, v) in table.items() if k == "forbidden" and p in clean})
    return nodes, forbidden


def heard_text(row: dict[str, object]) -> str:
    segments = row["segments"]
    assert isinstance(segments, list)
    return "".join(s["text"] for s in segments)


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def main() -> None:
    build_homophones()
    rng = random.Random(9)
    table = phrases()
    rows: list[dict[str, object]] = []
    t = 0
    for conversation in FLOWS["conversations"]:
        hard = bool(conversation.get("heard", False))
        for n, line in enumerate(conversation["lines"]):
            speaker, clean = line["speaker"], line["text"]
            nodes, forbidden = labels_of(clean, table)
            nodes = sorted(line.get("nodes", nodes))
            forbidden = sorted(line.get("forbidden", forbidden))
            uid = f"{conversation['id']}-{n:03d}"
            if hard:
                segments = list(line.get("heard", [clean]))
                heard = "".join(segments)
            else:
                protected = [(clean.index(p), clean.index(p) + len(p)) for p in table if p in clean]
                heard = damage(rng, clean, protected)
                segments = [heard]
            duration = 250 * len(heard)
            if not hard and len(heard) > 8 and rng.random() < 0.2:
                cut = rng.randint(3, len(heard) - 3)
                # Half of the splits cut through a key phrase of the damaged text.
                hits = [p for p in table if p in clean]
                if hits and rng.random() < 0.5:
                    phrase = rng.choice(hits)
                    where = clean.index(phrase)
                    cut = min(max(where + len(phrase) // 2, 1), len(heard) - 1)
                segments = [heard[:cut], heard[cut:]]
            parts = []
            start = t
            for k, piece in enumerate(segments):
                end = start + 250 * len(piece)
                parts.append({"id": f"{uid}.{k}", "text": piece, "start_ms": start, "end_ms": end})
                start = end + 150
            rows.append(
                {
                    "id": uid,
                    "flow": conversation["flow"],
                    "speaker": speaker,
                    "clean": clean,
                    "segments": parts,
                    "nodes": nodes,
                    "forbidden": forbidden,
                    "hard": hard,
                }
            )
            t += duration + 800
    with (HERE / "utterances.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    errors = sum(edit_distance(str(r["clean"]), heard_text(r)) for r in rows)
    print(f"{len(rows)} utterances, about {errors / sum(len(r['clean']) for r in rows):.0%} CER")


if __name__ == "__main__":
    main()
