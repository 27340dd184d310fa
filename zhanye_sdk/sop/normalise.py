"""Text normalisation for matching, with a map from every output character back to the input.

Transcripts and key phrases go through the same steps, so an exact match of normalised
phrase in normalised transcript means "the same words, however written":

1. NFKC per character (full-width ``ＡＢＣ１２３％`` → ``ABC123%``), then lower case.
2. Traditional → simplified, character by character (``險`` → ``险``) with OpenCC's
   ``t2s`` character table, so lengths never change.
3. Spaces, punctuation, symbols and control characters are dropped (``%`` is kept: it
   is part of rates; ``.`` only as a decimal point), and so are the fillers ``嗯``, ``呃``.
4. Numbers get one form, however written: ``百分之三点五``, ``3.5%`` and ``３.５％`` →
   ``3.5%``; ``三十万``, ``30万`` and ``300,000`` → ``300000``; ``两千五`` → ``2500``;
   ``二零二四`` → ``2024``; the capital numerals of amounts too: ``壹万贰仟`` → ``12000``.
   Every digit produced maps back to the whole number.

``NormalisedText.span(start, end)`` turns a span of the output into the span of the
input it came from.
"""

from __future__ import annotations

import functools
import unicodedata
from fractions import Fraction

import attrs
import opencc

__all__ = ["FILLERS", "NormalisedText", "normalise", "to_simplified"]

#: Hesitations normalisation drops: "保证，呃，收益" is still 保证收益.
FILLERS = frozenset("嗯呃")
_KEEP_SYMBOLS = frozenset("%.")
_POINTS = frozenset("点.")
_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_NUMERALS = frozenset(_DIGITS) | frozenset(_SMALL_UNITS) | frozenset(_BIG_UNITS)
_PERCENT = "百分之"
#: Capital numerals (大写数字) of amounts, read as the ordinary ones.
_CAPITALS = dict(zip("壹贰叁柒捌玖佰仟伍陆肆拾", "一二三七八九百千五六四十", strict=True))
#: Capitals that are everyday words too (队伍, 大陆, 放肆, 收拾): numerals only in a run
#: with another capital or a word of amounts (伍万, 陆佰, 叁拾肆, 伍拾元).
_CAPITAL_WORDS = frozenset("伍陆肆拾")
_AMOUNT_ANCHORS = (frozenset(_CAPITALS) - _CAPITAL_WORDS) | frozenset("零万亿元圆角整")


@functools.cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=65536)
def _simplified(ch: str) -> str:
    """``ch`` in simplified script; a character OpenCC would not map one to one stays."""
    if ch.isascii():
        return ch
    converted: str = _to_simplified().convert(ch)
    return converted if len(converted) == 1 else ch


def to_simplified(text: str) -> str:
    """``text`` with Traditional characters in Simplified form, one character for one
    (what a recogniser writes, made readable; matching normalises on its own)."""
    return "".join(_simplified(ch) for ch in text)


@attrs.frozen(slots=True)
class NormalisedText:
    """Normalised text and, per character, the input span ``[starts[i], ends[i])`` it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The input span of output characters ``start..end`` (``end`` exclusive, non-empty)."""
        return self.starts[start], self.ends[end - 1]


def _keep(ch: str) -> bool:
    if ch in _KEEP_SYMBOLS:
        return True
    category = unicodedata.category(ch)
    return category[0] in "LN" and ch not in FILLERS


@functools.cache
def _fold(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch).lower()
    return "".join(c for c in (_simplified(c) for c in folded) if _keep(c))


def _capitals_read(chars: list[str]) -> list[str]:
    """``chars`` with capital numerals as ordinary ones, one character for one."""
    out = list(chars)
    n = len(chars)
    k = 0
    while k < n:
        if chars[k] not in _CAPITAL_WORDS:
            k += 1
            continue
        end = k
        while end < n and chars[end] in _CAPITAL_WORDS:
            end += 1
        # A run of word-like capitals is numerals when it reads as one (陆拾肆, 拾伍) or
        # stands next to an anchor (伍万); 队伍陆续 keeps its words.
        run = chars[k:end]
        anchored = (k and chars[k - 1] in _AMOUNT_ANCHORS) or (
            end < n and chars[end] in _AMOUNT_ANCHORS
        )
        if anchored or len(run) >= 3 or (len(run) == 2 and "拾" in run):
            out[k:end] = [_CAPITALS[c] for c in chars[k:end]]
        k = end
    return [
        _CAPITALS[c] if c in _CAPITALS and c not in _CAPITAL_WORDS else o
        for c, o in zip(chars, out, strict=True)
    ]


def _is_digit(ch: str) -> bool:
    return ch.isascii() and ch.isdigit()


def _plain(value: Fraction) -> str:
    """``value`` in positional notation: ``15000``, ``3.5`` (never an exponent)."""
    if value.denominator == 1:
        return str(value.numerator)
    places = 0
    while (value * 10**places).denominator != 1:  # a finite decimal: its inputs were
        places += 1
    digits = str((value * 10**places).numerator).rjust(places + 1, "0")
    return f"{digits[:-places]}.{digits[-places:]}"


def _run_value(parts: list[tuple[str, str]]) -> str:
    """Digits for a run of numbers and units, ``parts`` as ``_number`` collects them.

    Without units the digits are read one by one (``二零二四`` → ``2024``). With units,
    Arabic and Chinese digits multiply alike (``3千``, ``1.5万``, ``三千`` → ``3000``,
    ``15000``, ``3000``), and a single digit right after 百/千/万/亿 counts in the next
    lower place, as people say it (``两千五`` → ``2500``, ``三万五`` → ``35000``).
    """
    if not any(kind == "unit" for kind, _ in parts):
        return "".join(v if kind == "number" else str(_DIGITS[v]) for kind, v in parts)
    total = section = Fraction(0)
    digit: Fraction | None = None
    for kind, v in parts:
        if kind == "unit" and v in _SMALL_UNITS:
            section += (digit or 1) * _SMALL_UNITS[v]
            digit = None
        elif kind == "unit":
            big = _BIG_UNITS[v]
            section = section + (digit or 0) or Fraction(0 if total else 1)
            # 三亿五千万: 万 scales only the section after 亿, not the total.
            total = (total + section) * big if total < big else total + section * big
            section, digit = Fraction(0), None
        else:
            digit = Fraction(v) if kind == "number" else Fraction(_DIGITS[v])
    if digit is not None and len(parts) >= 2 and parts[-2][0] == "unit":
        kind, v = parts[-1]
        unit = _SMALL_UNITS.get(parts[-2][1]) or _BIG_UNITS[parts[-2][1]]
        if unit >= 100 and v not in "零〇0" and (kind == "digit" or len(v) == 1):
            digit *= unit // 10
    return _plain(total + section + (digit or 0))


def _fraction_end(chars: list[str], point: int) -> int:
    """The end of the decimals after the point at ``point``; ``point`` if there are none.

    ``点`` takes Chinese digits and ``.`` takes ASCII digits, so a second pass over the
    output finds the same numbers (``万点万`` stays two numbers either way).
    """
    end = point + 1
    if chars[point] == "点":
        while end < len(chars) and chars[end] in _DIGITS:
            end += 1
    else:
        while end < len(chars) and _is_digit(chars[end]):
            end += 1
    return point if end == point + 1 else end


def _decimals(chars: list[str], point: int, end: int) -> str:
    return "".join(c if c.isascii() else str(_DIGITS[c]) for c in chars[point + 1 : end])


def _number(chars: list[str], start: int) -> tuple[int, str]:
    """The end and the digits of the number at ``start`` (``start, ""`` if there is none).

    A number is a run of Arabic numbers (``3``, ``1.5``), Chinese digits (``三``,
    ``三点五``) and units (``十百千万亿``) that starts with a digit or ``十``, stopping
    before ``百分之``.
    """
    n = len(chars)
    parts: list[tuple[str, str]] = []
    i = start
    while i < n:
        c = chars[i]
        if _is_digit(c):
            end = i
            while end < n and _is_digit(chars[end]):
                end += 1
            number = "".join(chars[i:end])
            if end + 1 < n and chars[end] == ".":
                frac_end = _fraction_end(chars, end)
                if frac_end > end:
                    number += "." + _decimals(chars, end, frac_end)
                    end = frac_end
            parts.append(("number", number))
            i = end
        elif c in _DIGITS:
            frac_end = _fraction_end(chars, i + 1) if i + 2 < n and chars[i + 1] == "点" else i
            if frac_end > i + 1:
                parts.append(("number", f"{_DIGITS[c]}.{_decimals(chars, i + 1, frac_end)}"))
                i = frac_end
            else:
                parts.append(("digit", c))
                i += 1
        elif c in _SMALL_UNITS or c in _BIG_UNITS:
            # Only 十 starts a number: 万一, 千万 (by all means) and 百分之 are words.
            if (not parts and c != "十") or "".join(chars[i : i + 3]) == _PERCENT:
                break
            parts.append(("unit", c))
            i += 1
        elif c in _POINTS and parts and parts[-1][0] == "unit" and i + 1 < n:
            # 十点五 → 10.5, and 十点五万 → 105000: what came before is the whole part.
            frac_end = _fraction_end(chars, i)
            whole = _run_value(parts)
            if frac_end == i or "." in whole:
                break
            parts = [("number", f"{whole}.{_decimals(chars, i, frac_end)}")]
            i = frac_end
        else:
            break
    if not parts:
        return start, ""
    return i, _run_value(parts)


def normalise(text: str) -> NormalisedText:
    """Normalise ``text`` for matching; see the module header for the steps."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        for c in _fold(ch):
            chars.append(c)
            starts.append(i)
            ends.append(i + 1)
    # A "." is kept only as a decimal point, so dropping one never joins two numbers
    # on a second pass ("5.千" is 5 and 千 both times).
    kept = [
        k
        for k, c in enumerate(chars)
        if c != "."
        or (0 < k < len(chars) - 1 and _is_digit(chars[k - 1]) and _is_digit(chars[k + 1]))
    ]
    chars = _capitals_read([chars[k] for k in kept])
    starts = [starts[k] for k in kept]
    ends = [ends[k] for k in kept]
    out: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    i, n = 0, len(chars)
    while i < n:
        percent = "".join(chars[i : i + 3]) == _PERCENT
        k, digits = _number(chars, i + 3) if percent else (i, "")
        if digits:
            digits += "%"
        else:
            k, digits = _number(chars, i)
        if digits:
            out.extend(digits)
            out_starts.extend([starts[i]] * len(digits))
            out_ends.extend([ends[k - 1]] * len(digits))
            i = k
            continue
        out.append(chars[i])
        out_starts.append(starts[i])
        out_ends.append(ends[i])
        i += 1
    return NormalisedText("".join(out), tuple(out_starts), tuple(out_ends))
