"""Text normalisation for matching, with a map from every output character back to the input.

Transcripts and key phrases go through the same steps, so an exact match of normalised
phrase in normalised transcript means "the same words, however written":

1. NFKC per character (full-width ``ＡＢＣ１２３％`` → ``ABC123%``), then lower case.
2. Traditional → simplified, character by character (``險`` → ``险``), from the
   single-character entries of zhconv's ``zh-hans`` table, so lengths never change.
3. Spaces, punctuation, symbols and control characters are dropped (``%`` is kept: it
   is part of rates; ``.`` only as a decimal point), and so are the fillers ``嗯``, ``呃``.
4. Chinese numerals become digits: ``百分之三点五`` → ``3.5%``, ``三十万`` → ``300000``,
   ``二零二四`` → ``2024``; every digit produced maps back to the whole number.

``NormalisedText.span(start, end)`` turns a span of the output into the span of the
input it came from.
"""

from __future__ import annotations

import functools
import unicodedata

import attrs

__all__ = ["NormalisedText", "normalise", "to_simplified"]

_FILLERS = frozenset("嗯呃")
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


@functools.cache
def _simplified() -> dict[str, str]:
    from zhconv import zhconv  # type: ignore[import-untyped]

    table: dict[str, str] = zhconv.getdict("zh-hans")
    return {k: v for k, v in table.items() if len(k) == 1 and len(v) == 1 and k != v}


def to_simplified(text: str) -> str:
    """``text`` with Traditional characters in Simplified form, one character for one
    (what a recogniser writes, made readable; matching normalises on its own)."""
    table = _simplified()
    return "".join(table.get(ch, ch) for ch in text)


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
    return category[0] in "LN" and ch not in _FILLERS


@functools.cache
def _fold(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch).lower()
    table = _simplified()
    return "".join(c for c in (table.get(c, c) for c in folded) if _keep(c))


def _numeral_value(run: str) -> str:
    """Digits for a run of Chinese numerals; digit by digit when it has no units."""
    if not any(c in _SMALL_UNITS or c in _BIG_UNITS for c in run):
        return "".join(str(_DIGITS[c]) for c in run)
    total = section = digit = 0
    for c in run:
        if c in _DIGITS:
            digit = _DIGITS[c]
        elif c in _SMALL_UNITS:
            section += (digit or 1) * _SMALL_UNITS[c]
            digit = 0
        else:
            big = _BIG_UNITS[c]
            section = section + digit or (0 if total else 1)
            # 三亿五千万: 万 scales only the section after 亿, not the total.
            total = (total + section) * big if total < big else total + section * big
            section = digit = 0
    return str(total + section + digit)


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
        while end < len(chars) and chars[end].isascii() and chars[end].isdigit():
            end += 1
    return point if end == point + 1 else end


def _number(chars: list[str], start: int) -> tuple[int, str]:
    """The end and the digits of the number at ``start`` (``start, ""`` if there is none)."""
    n = len(chars)
    end = start
    if end < n and chars[end].isascii() and chars[end].isdigit():
        while end < n and chars[end].isascii() and chars[end].isdigit():
            end += 1
        digits = "".join(chars[start:end])
    else:
        while end < n and chars[end] in _NUMERALS:
            end += 1
        if end == start:
            return start, ""
        digits = _numeral_value("".join(chars[start:end]))
    if end + 1 < n and chars[end] in _POINTS:
        frac_end = _fraction_end(chars, end)
        if frac_end > end:
            frac = "".join(c if c.isascii() else str(_DIGITS[c]) for c in chars[end + 1 : frac_end])
            return frac_end, f"{digits}.{frac}"
    return end, digits


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
        if chars[i] != ".":
            out.append(chars[i])
            out_starts.append(starts[i])
            out_ends.append(ends[i])
        i += 1
    return NormalisedText("".join(out), tuple(out_starts), tuple(out_ends))
