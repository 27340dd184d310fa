"""Tone-less pinyin readings, for the homophone channel of the matcher.

Every character of normalised text is one token: a Han character's readings come from
pypinyin (all of them, the most common first); a digit reads as the numeral it was
normalised from; anything else (a letter, ``%``, ``.``) reads as itself. With ``fuzzy``
on, syllables are folded the way Mandarin ASR confuses them (zh/z, ch/c, sh/s, x/s, n/l
initials; ang/an, eng/en, ing/in finals), so ``保险`` heard as ``宝险``, ``shouyi`` heard
as ``souyi`` or ``须知`` (xu zhi) heard as ``书之`` (shu zhi) still read alike.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata

__all__ = [
    "MAX_READINGS",
    "fold_syllable",
    "is_han",
    "phrase_readings",
    "readings",
    "syllable_count",
]

# Pattern readings enumerated per phrase at most: polyphony compounds quickly.
MAX_READINGS = 64
# Normalisation turns Chinese numerals into digits; a digit reads as the numeral it
# came from, so 零风险 (0风险) heard as 领风险 still reads ling feng xian.
_DIGIT_READINGS = {
    "0": ("ling",),
    "1": ("yi", "yao"),
    "2": ("er", "liang"),
    "3": ("san",),
    "4": ("si",),
    "5": ("wu",),
    "6": ("liu",),
    "7": ("qi",),
    "8": ("ba",),
    "9": ("jiu",),
}


def is_han(ch: str) -> bool:
    """Whether ``ch`` is a CJK ideograph (has a pinyin reading)."""
    return "CJK" in unicodedata.name(ch, "") and unicodedata.category(ch) == "Lo"


def fold_syllable(syllable: str) -> str:
    """The fuzzy form of a tone-less syllable: zh→z, ch→c, sh→s, x→s, n→l, ang→an, eng→en,
    ing→in."""
    s = syllable
    if s[:2] in ("zh", "ch", "sh"):
        s = s[0] + s[2:]
    elif s.startswith("x"):
        s = "s" + s[1:]
    elif s.startswith("n") and len(s) > 1 and s != "ng":
        s = "l" + s[1:]
    for long, short in (("ang", "an"), ("eng", "en"), ("ing", "in")):
        if s.endswith(long):
            s = s[: -len(long)] + short
            break
    return s


def warm_up() -> None:
    """Load pypinyin's tables now. The first reading otherwise pays for it (about a
    second, several on a busy machine) in the middle of whatever needed it: a room
    taken over mid-call, whose assistant is replayed before the room serves anyone."""
    readings("读")


@functools.cache
def readings(ch: str, fuzzy: bool = True) -> tuple[str, ...]:
    """Every tone-less reading of ``ch``, the most common first, distinct; ``(ch,)`` if not Han."""
    if ch in _DIGIT_READINGS:
        digit = _DIGIT_READINGS[ch]
        return tuple(dict.fromkeys(fold_syllable(r) if fuzzy else r for r in digit))
    if not is_han(ch):
        return (ch,)
    from pypinyin import Style, pinyin

    found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="default")[0]
    out: list[str] = []
    for r in found:
        r = fold_syllable(r) if fuzzy else r
        if r and r not in out:
            out.append(r)
    return tuple(out) or (ch,)


def syllable_count(text: str) -> int:
    """Spoken syllables of normalised ``text``: its Han characters and digits."""
    return sum(1 for ch in text if ch in _DIGIT_READINGS or is_han(ch))


def phrase_readings(text: str, fuzzy: bool = True) -> list[tuple[str, ...]]:
    """Syllable sequences of ``text``: every combination of its characters' readings.

    At most ``MAX_READINGS`` are returned (the most common readings first).
    """
    options = [readings(ch, fuzzy) for ch in text]
    return list(itertools.islice(itertools.product(*options), MAX_READINGS))
