"""The exact-match automaton: native and pure-Python twin report identical matches."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

import zhanye_sdk._backend as backend
from zhanye_sdk.kernels import aho as twin

# A small alphabet makes overlaps, shared prefixes and failure chains likely.
ALPHABET = "保宝险产品风a b😀"
patterns_st = st.lists(st.text(ALPHABET, min_size=1, max_size=5), min_size=1, max_size=25)
texts = st.text(ALPHABET + "x", max_size=200)


def brute_overlapping(patterns: list[str], text: str) -> list[tuple[int, int, int]]:
    found = []
    for end in range(1, len(text) + 1):
        here = [
            (k, end - len(p), end)
            for k, p in enumerate(patterns)
            if len(p) <= end and text[end - len(p) : end] == p
        ]
        found.extend(sorted(here, key=lambda m: (m[1], m[0])))
    return found


def brute_leftmost_longest(patterns: list[str], text: str) -> list[tuple[int, int, int]]:
    found, i = [], 0
    while i < len(text):
        best = None
        for start in range(i, len(text)):
            for k, p in enumerate(patterns):
                if text.startswith(p, start) and (best is None or len(p) > best[2] - best[1]):
                    best = (k, start, start + len(p))
            if best is not None:
                break
        if best is None:
            break
        found.append(best)
        i = best[2]
    return found


@given(patterns_st, texts)
def test_native_equals_twin_equals_brute_force(
    native: ModuleType, patterns: list[str], text: str
) -> None:
    ours = native.AhoCorasick(patterns)
    theirs = twin.AhoCorasick(patterns)
    assert ours.pattern_count == theirs.pattern_count == len(patterns)
    overlapping = brute_overlapping(patterns, text)
    assert ours.find(text, overlapping=True) == overlapping
    assert theirs.find(text, overlapping=True) == overlapping
    leftmost = brute_leftmost_longest(patterns, text)
    assert ours.find(text) == leftmost
    assert theirs.find(text) == leftmost


def test_homophone_phrases_in_chinese_text(native: ModuleType) -> None:
    patterns = ["保险", "保险产品", "风险揭示", "险产"]
    text = "这款保险产品的风险揭示请您仔细阅读"
    for impl in (native, twin):
        automaton = impl.AhoCorasick(patterns)
        assert automaton.find(text) == [(1, 2, 6), (2, 7, 11)]
        assert automaton.find(text, overlapping=True) == [
            (0, 2, 4),
            (2 + 1, 3, 5),
            (1, 2, 6),
            (2, 7, 11),
        ]


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ("保险", "patterns must be a sequence of non-empty str, got a single str"),
        (42, "patterns must be a sequence of non-empty str, got int"),
        (["ok", 3], "patterns[1] must be a non-empty str, got int"),
        (["ok", ""], "patterns[1] must be a non-empty str, got ''"),
    ],
)
def test_bad_patterns_raise_the_same_message(
    native: ModuleType, patterns: object, message: str
) -> None:
    for impl in (native, twin):
        with pytest.raises(ValueError) as info:
            impl.AhoCorasick(patterns)
        assert str(info.value) == message


def test_bad_text_raises_the_same_message(native: ModuleType) -> None:
    for impl in (native, twin):
        with pytest.raises(ValueError, match="text must be a str, got bytes"):
            impl.AhoCorasick(["a"]).find(b"a")


def test_long_text_is_searched_whole(native: ModuleType) -> None:
    text = "客户您好我们的保险产品" * 20_000
    found = native.AhoCorasick(["保险产品"]).find(text)
    assert len(found) == 20_000
    assert found[-1] == (0, len(text) - 4, len(text))
    assert backend.AhoCorasick(["保险产品"]).find(text[:11]) == [(0, 7, 11)]
