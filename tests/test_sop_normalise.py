"""Normalisation: width, script, punctuation, numerals, and the map back to the input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.sop.normalise import normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＢＣ１２３％ 的 收益", "abc123%的收益"),
        ("保險產品，風險揭示！", "保险产品风险揭示"),
        ("猶豫期 十五天", "犹豫期15天"),
        ("年化收益率百分之三点五", "年化收益率3.5%"),
        ("年化收益率 3.5％", "年化收益率3.5%"),
        ("百分之三", "3%"),
        ("3%", "3%"),
        ("三十万元", "300000元"),
        ("三亿五千万", "350000000"),
        ("二零二四年", "2024年"),
        ("嗯，呃，这个保险", "这个保险"),
        ("end. Then", "endthen"),
    ],
)
def test_normalised_forms(text: str, expected: str) -> None:
    assert normalise(text).text == expected


@pytest.mark.parametrize(
    "forms",
    [
        ("百分之五", "5%", "５％", "5 %", "百分之5"),
        ("三千", "3000", "3,000", "3千", "３０００"),
        ("两千五", "2500", "2千5", "二千五百"),
        ("三万五", "35000", "3.5万", "三点五万"),
        ("三十万元", "30万元", "300000元", "300,000元"),
        ("年化百分之三点五", "年化3.5%", "年化３.５％"),
        ("保險期間十年", "保险期间10年", "保险期间十年"),
    ],
)
def test_every_way_of_writing_a_number_is_one_form(forms: tuple[str, ...]) -> None:
    assert len({normalise(f).text for f in forms}) == 1, [normalise(f).text for f in forms]


@pytest.mark.parametrize("word", ["千万不要", "百分百", "万元户"])
def test_words_made_of_numeral_characters_stay_words(word: str) -> None:
    assert normalise(word).text == word


def test_spans_map_back_to_the_original() -> None:
    text = "您好，這款「保險」年化百分之三。"
    result = normalise(text)
    start = result.text.index("保险")
    s, e = result.span(start, start + 2)
    assert text[s:e] == "保險"
    pct = result.text.index("3%")
    s, e = result.span(pct, pct + 2)
    assert text[s:e] == "百分之三"


@given(st.text(max_size=60))
def test_spans_are_ordered_and_inside_the_input(text: str) -> None:
    result = normalise(text)
    assert len(result.starts) == len(result.ends) == len(result.text)
    for i, (s, e) in enumerate(zip(result.starts, result.ends, strict=True)):
        assert 0 <= s < e <= len(text)
        if i:
            assert s >= result.starts[i - 1]


@given(st.text(alphabet="保险产品百分之三十万二零点，。 ＡＢ１5.%千亿", max_size=40))
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalise(text).text
    assert normalise(once).text == once
