"""Pinyin initials of names, for searching the customer book ("zs" finds 张三).

Every reading of a polyphonic character counts (曾 is zeng or ceng, 单 is shan or
dan…), so a surname read either way is found; the number of combinations kept per
name is capped.
"""

from __future__ import annotations

import itertools
import re

from pypinyin import Style, pinyin

__all__ = ["MAX_COMBINATIONS", "name_initials"]

MAX_COMBINATIONS = 64
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def name_initials(name: str) -> set[str]:
    """All initial strings of ``name`` in lower case: ``张三`` → ``{"zs"}``."""
    letters: list[list[str]] = []
    for part in re.findall(r"[\u4e00-\u9fff]|[A-Za-z]+", name or ""):
        if _LATIN_WORD.fullmatch(part):
            letters.append([part[0].lower()])
            continue
        readings = pinyin(part, style=Style.FIRST_LETTER, heteronym=True, errors="ignore")
        options = sorted({r.lower() for r in readings[0] if r}) if readings else []
        if options:
            letters.append(options)
    if not letters:
        return set()
    combos = itertools.islice(itertools.product(*letters), MAX_COMBINATIONS)
    return {"".join(c) for c in combos}
