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


_ORDINARY = "零一二三四五六七八九"
_AS_CAPITALS = str.maketrans("一二三四五六七八九十百千", "壹贰叁肆伍陆柒捌玖拾佰仟")


def _section(n: int) -> str:
    """0 < n < 10000 in Chinese numerals, with 零 for a gap (一千零五)."""
    out, gap = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            out += ("零" if gap and out else "") + _ORDINARY[digit] + unit
            gap = False
        else:
            gap = True
    return out


def _chinese(n: int) -> str:
    """``n`` (0 ≤ n < 10¹²) as it is written in Chinese numerals: 12000 → 一万二千."""
    if n == 0:
        return "零"
    out = ""
    for value, unit in ((100_000_000, "亿"), (10_000, "万"), (1, "")):
        part, n = divmod(n, value)
        if part:
            out += ("零" if out and part < 1000 else "") + _section(part) + unit
        elif out and n:
            out += "零" if not out.endswith("零") else ""
    return out.replace("零零", "零")


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_capital_numerals_are_the_ordinary_ones(n: int) -> None:
    ordinary = _chinese(n)
    capitals = ordinary.translate(_AS_CAPITALS)  # 壹万贰仟 for 一万二千
    assert normalise(ordinary).text == str(n)
    assert normalise(f"金额{capitals}元整").text == f"金额{n}元整"
    if capitals not in ("伍", "陆", "肆", "拾"):  # alone, these are words (队伍, 收拾)
        assert normalise(capitals).text == str(n)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("壹万贰仟", "12000"),
        ("人民币伍万元整", "人民币50000元整"),
        ("两万叁仟", "23000"),
        ("贰仟伍", "2500"),
        ("拾万", "100000"),
        ("陆佰", "600"),
        ("伍拾元", "50元"),
        ("叁拾肆", "34"),
        ("貳萬", "20000"),  # Traditional capitals
    ],
)
def test_capital_numerals_in_amounts(text: str, expected: str) -> None:
    assert normalise(text).text == expected


@pytest.mark.parametrize("word", ["队伍", "大陆", "陆续", "放肆", "收拾", "伍先生", "队伍陆续到达"])
def test_capitals_that_are_everyday_words_stay_words(word: str) -> None:
    assert normalise(word).text == word


@given(st.text(alphabet="壹贰叁肆伍陆柒捌玖拾佰仟万亿两零一十队大续收", max_size=30))
def test_normalising_capitals_twice_changes_nothing(text: str) -> None:
    once = normalise(text).text
    assert normalise(once).text == once
