"""Whether a forbidden phrase was said as a promise, or negated or refuted. Sans-I/O.

Quality inspection must flag "放心，保本保息" and let "我们不能说保本保息" or "他说稳赚不赔，
那是骗人的" pass. A mention is *negated* when its own clause says, just before it, that it
is not so or may not be said (不能说, 不承诺, 没有, 不是 …), and *refuted* when what follows
it in the sentence calls it false (那是骗人的, 是假的, 不可能 …). Words that only look like a
negation (不仅, 不但, 不管, 不用担心 …) do not count, and a negation in an earlier clause
("不用担心，保本保息") does not reach the promise.
"""

from __future__ import annotations

from typing import Final

from zhanye_sdk.sop.normalise import FILLERS

__all__ = ["mention_is_disowned"]

#: Said just before a phrase in its clause: the phrase is not being promised.
_NEGATORS: Final = (
    "不能说",
    "不可以说",
    "不敢说",
    "不会说",
    "没法说",
    "不能承诺",
    "不承诺",
    "不会承诺",
    "没有承诺",
    "从不承诺",
    "不能保证",
    "不保证",
    "无法保证",
    "不会保证",
    "禁止",
    "不得",
    "不允许",
    "严禁",
    "并非",
    "并不",
    "不是",
    "没有",
    "没",
    "不",
    "无",
    "别",
    "非",
)
#: Look like a negation and are not one.
_NOT_NEGATORS: Final = (
    "不仅",
    "不但",
    "不光",
    "不只",
    "不管",
    "不论",
    "无论",
    "不用担心",
    "不必担心",
    "别担心",
    "没问题",
    "没事",
    "不会亏",
    "不会错",
)
#: Said after a phrase in its sentence: the phrase is called false.
_REFUTATIONS: Final = (
    "骗人",
    "是假的",
    "不可能",
    "不存在",
    "不靠谱",
    "误导",
    "谣言",
    "不对的",
    "不是真的",
    "是错的",
    "违规",
)
_CLAUSE_MARKS: Final = frozenset("，。？！；：、,?!;:…\n")
_SENTENCE_MARKS: Final = frozenset("。？！?!\n")
#: How far back in its clause a negator may stand (characters of speech).
_REACH: Final = 6


def _clause_before(text: str, start: int) -> str:
    cut = start
    while cut > 0 and text[cut - 1] not in _CLAUSE_MARKS:
        cut -= 1
    return "".join(ch for ch in text[cut:start] if ch not in FILLERS and not ch.isspace())


def _sentence_after(text: str, end: int) -> str:
    cut = end
    while cut < len(text) and text[cut] not in _SENTENCE_MARKS:
        cut += 1
    return text[end:cut]


def mention_is_disowned(text: str, start: int, end: int) -> bool:
    """Whether the phrase at ``text[start:end]`` (a segment as heard, with punctuation) is
    negated in its clause or refuted in its sentence rather than promised.

    Args:
        text: what the speaker said (the segment's text, or several joined).
        start: where the phrase starts in ``text``.
        end: where it ends.
    """
    before = _clause_before(text, start)[-_REACH:]
    for decoy in _NOT_NEGATORS:
        before = before.replace(decoy, "·" * len(decoy))
    if any(negator in before for negator in _NEGATORS):
        return True
    after = _sentence_after(text, end)
    return any(refutation in after for refutation in _REFUTATIONS)
