"""The streaming matcher: exact and pinyin channels, partials, split phrases, no repeats."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.sop.matcher import (
    NEED_DATA,
    KeyPhrase,
    MatcherConfig,
    PhraseHit,
    PhraseIndex,
    TranscriptMatcher,
    TranscriptSegment,
)

PHRASES = [
    KeyPhrase("product", "保险产品"),
    KeyPhrase("risk", "风险揭示"),
    KeyPhrase("cooling", "犹豫期"),
    KeyPhrase("short", "保险"),
    KeyPhrase("rate", "年化收益率3%"),
]


def final(uid: str, text: str, start: int, end: int, speaker: str = "sales") -> TranscriptSegment:
    return TranscriptSegment(uid, text, start, end, speaker, final=True)


def partial(uid: str, text: str, start: int, end: int) -> TranscriptSegment:
    return TranscriptSegment(uid, text, start, end, "sales", final=False)


def feed(matcher: TranscriptMatcher, *segments: TranscriptSegment) -> list[PhraseHit]:
    out: list[PhraseHit] = []
    for segment in segments:
        matcher.receive(segment)
        while (event := matcher.next_event()) is not NEED_DATA:
            assert isinstance(event, PhraseHit)
            out.append(event)
    return out


def test_exact_hit_carries_span_times_speaker_and_channel() -> None:
    matcher = TranscriptMatcher(PhraseIndex(PHRASES))
    [hit] = [
        h
        for h in feed(matcher, final("u1", "您好，这款保险产品不错", 1000, 2100))
        if h.key == "product"
    ]
    assert (hit.channel, hit.confidence, hit.final, hit.speaker) == ("exact", 1.0, True, "sales")
    assert hit.text == "保险产品"
    assert hit.start == ("u1", 5) and hit.end == ("u1", 9)
    assert (hit.start_ms, hit.end_ms) == (1500, 1900)


def test_homophone_inside_a_longer_phrase_is_caught_by_pinyin() -> None:
    matcher = TranscriptMatcher(PhraseIndex(PHRASES))
    hits = feed(matcher, final("u1", "我们这个宝险产品的风险解示", 0, 1300))
    by_key = {h.key: h for h in hits}
    assert by_key["product"].channel == "pinyin" and by_key["product"].text == "宝险产品"
    assert 0.6 < by_key["product"].confidence < 1.0
    assert by_key["risk"].text == "风险解示"
    # Two-syllable phrases stay exact only: 宝险 is not 保险.
    assert "short" not in by_key


def test_pinyin_channel_off_finds_exact_only() -> None:
    matcher = TranscriptMatcher(PhraseIndex(PHRASES, MatcherConfig(pinyin=False)))
    assert feed(matcher, final("u1", "宝险产品", 0, 100)) == []


def test_polyphonic_characters_are_indexed_under_every_reading() -> None:
    index = PhraseIndex([KeyPhrase("bank", "银行理财")])
    # 行 reads hang here; the text's 航 (hang) only matches that reading.
    hits = feed(TranscriptMatcher(index), final("u1", "买点银航理财", 0, 600))
    assert [h.text for h in hits] == ["银航理财"]


def test_numerals_match_digits() -> None:
    matcher = TranscriptMatcher(PhraseIndex(PHRASES))
    hits = feed(matcher, final("u1", "年化收益率百分之三", 0, 900))
    assert [(h.key, h.channel, h.text) for h in hits] == [("rate", "exact", "年化收益率百分之三")]


def test_phrase_split_across_two_finals_is_found_once() -> None:
    matcher = TranscriptMatcher(PhraseIndex(PHRASES))
    first = feed(matcher, final("u1", "接下来是风险", 0, 600))
    second = feed(matcher, final("u2", "揭示，请您仔细听", 700, 1500))
    assert first == []
    [hit] = second
    assert hit.key == "risk" and hit.text == "风险揭示"
    assert hit.start == ("u1", 4) and hit.end == ("u2", 2)
    assert hit.start_ms == 400 and hit.end_ms == 900
    # The window keeps it: a third segment does not report it again.
    assert feed(matcher, final("u3", "好的", 1600, 1800)) == []


def test_other_speakers_do_not_join_a_split_phrase() -> None:
    matcher = TranscriptMatcher(PhraseIndex(PHRASES))
    feed(matcher, final("u1", "风险", 0, 300, speaker="sales"))
    assert feed(matcher, final("u2", "揭示", 300, 600, speaker="customer")) == []


def test_partials_suggest_from_the_stable_prefix_once_and_final_decides() -> None:
    matcher = TranscriptMatcher(PhraseIndex(PHRASES))
    assert feed(matcher, partial("u1", "这款保险产", 0, 500)) == []
    # Only the prefix both hypotheses share is stable: 这款保险产.
    suggested = feed(matcher, partial("u1", "这款保险产品", 0, 600))
    assert [(h.key, h.final) for h in suggested] == [("short", False)]
    suggested = feed(matcher, partial("u1", "这款保险产品有", 0, 700))
    assert [(h.key, h.final) for h in suggested] == [("product", False)]
    # A hypothesis that changes its mind leaves nothing stable to suggest again.
    assert feed(matcher, partial("u1", "这宽保险", 0, 700)) == []
    assert feed(matcher, partial("u1", "这款保险产品有犹", 0, 800)) == []
    decided = feed(matcher, final("u1", "这款保险产品有犹豫期", 0, 1000))
    assert [(h.key, h.final) for h in decided] == [
        ("short", True),
        ("product", True),
        ("cooling", True),
    ]
    # A repeated final of the same utterance is ignored.
    assert feed(matcher, final("u1", "这款保险产品有犹豫期", 0, 1000)) == []


def test_hit_order_and_no_duplicates_within_a_segment() -> None:
    matcher = TranscriptMatcher(PhraseIndex([*PHRASES, KeyPhrase("product", "保险产品")]))
    hits = feed(matcher, final("u1", "保险产品，保险产品", 0, 900))
    keys = [(h.key, h.start) for h in hits]
    assert len(keys) == len(set(keys))
    assert [h.end for h in hits] == sorted(h.end for h in hits)


@given(st.lists(st.integers(1, 6), min_size=1, max_size=8))
def test_any_split_of_a_final_stream_finds_each_phrase_once(cuts: list[int]) -> None:
    text = "今天介绍保险产品，然后做风险揭示，最后说明犹豫期。"
    pieces, pos = [], 0
    for c in cuts:
        if pos >= len(text):
            break
        pieces.append(text[pos : pos + c])
        pos += c
    if pos < len(text):
        pieces.append(text[pos:])
    matcher = TranscriptMatcher(PhraseIndex(PHRASES))
    hits = feed(matcher, *(final(f"u{i}", p, i * 100, i * 100 + 99) for i, p in enumerate(pieces)))
    assert sorted(h.key for h in hits) == ["cooling", "product", "risk", "short"]


def test_a_phrase_does_not_span_a_clause_boundary() -> None:
    matcher = TranscriptMatcher(PhraseIndex(PHRASES))
    # Within a segment, and across two where the first ends its sentence.
    assert [h.key for h in feed(matcher, final("u1", "他还在犹豫，期限快到了", 0, 1000))] == []
    hits = feed(
        matcher, final("u2", "先讲保险。", 1000, 1500), final("u3", "产品明天再看", 1600, 2000)
    )
    assert [h.key for h in hits] == ["short"]
    # Without the guard the same words are (wrongly) taken for the phrase.
    loose = TranscriptMatcher(PhraseIndex(PHRASES, MatcherConfig(clause_bounded=False)))
    assert "cooling" in [h.key for h in feed(loose, final("u1", "他还在犹豫，期限快到了", 0, 1))]


def test_a_pinyin_match_may_differ_from_the_phrase_in_few_characters() -> None:
    matcher = TranscriptMatcher(PhraseIndex(PHRASES))
    # One character in four heard wrong: the phrase. Two: other words (旗舰 is not 期间).
    index = PhraseIndex([KeyPhrase("term", "保险期间"), KeyPhrase("zero", "零风险")])
    hits = feed(TranscriptMatcher(index), final("u1", "保险期监和保险旗舰店", 0, 1000))
    assert [(h.key, h.text) for h in hits] == [("term", "保险期监")]
    # 由于其 reads like 犹豫期 but shares no character with it.
    assert feed(matcher, final("u2", "由于其他原因", 0, 600)) == []
    # A numeral is compared by its sound: 零 heard as 龄 is not counted against it.
    hits = feed(TranscriptMatcher(index), final("u1", "这个龄风先的说法", 0, 800))
    assert [h.key for h in hits] == ["zero"]
    loose = PhraseIndex(PHRASES, MatcherConfig(max_substitution_rate=None))
    assert [h.key for h in feed(TranscriptMatcher(loose), final("u1", "由于其他", 0, 1))] == [
        "cooling"
    ]


@given(
    st.sampled_from([p for p in PHRASES if len(p.text) >= 3]),
    st.integers(1, 2),
    st.sampled_from(list("，。？！；：、")),
    st.booleans(),
)
def test_punctuation_inside_a_phrase_always_breaks_it(
    phrase: KeyPhrase, cut: int, mark: str, across_segments: bool
) -> None:
    head, tail = phrase.text[:cut], phrase.text[cut:]
    matcher = TranscriptMatcher(PhraseIndex(PHRASES))
    if across_segments:
        segments = [final("u1", f"前面{head}{mark}", 0, 100), final("u2", f"{tail}后面", 200, 300)]
    else:
        segments = [final("u1", f"前面{head}{mark}{tail}后面", 0, 100)]
    assert phrase.key not in [h.key for h in feed(matcher, *segments)]
