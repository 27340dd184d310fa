"""Whether a received SMS asks for no more marketing messages (回复“退订”或“TD”).

Pure: no I/O. The reply is read leniently — full-width letters, spaces, punctuation and
case do not matter — but only a reply that is nothing else counts: "TD" and "退订。" opt
out; "明天TD见" or "不要退订" do not.
"""

from __future__ import annotations

import unicodedata

__all__ = ["OPT_OUT_WORDS", "is_opt_out"]

#: The replies that opt a number out, as normalised by :func:`is_opt_out`.
OPT_OUT_WORDS = frozenset({"TD", "T", "退订", "退定"})


def is_opt_out(text: str) -> bool:
    """True when ``text`` (a whole received SMS) is an opt-out reply."""
    if len(text) > 64:
        return False
    folded = unicodedata.normalize("NFKC", text).upper()
    kept = "".join(c for c in folded if not c.isspace() and unicodedata.category(c)[0] not in "PSC")
    return kept in OPT_OUT_WORDS
