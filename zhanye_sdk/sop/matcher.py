"""Streaming key-phrase matcher over a transcript: sans-I/O, two channels.

Theory of operation
-------------------
A ``PhraseIndex`` compiles key phrases once: each is normalised (``normalise``) and
put in an exact automaton (the native ``AhoCorasick`` or its twin); phrases of at least
``min_pinyin_syllables`` Han characters are also put, as every combination of their
characters' tone-less (optionally fuzzy) readings, in a second automaton over syllables
(each distinct syllable encoded as one private-use character), so homophone errors such
as ``保险`` heard as ``宝险`` still match. Shorter phrases stay exact-only: two syllables
collide too often. A pinyin match is believed only when few of its characters differ
from the phrase (``max_substitution_rate``: one in four, at least one; a numeral's
syllable is compared by sound alone, since normalisation turned it into a digit):
``保险期间`` heard as ``保险旗舰`` or ``犹豫期`` as ``由于其`` reads alike but is other words.

A key phrase lies within one clause: a hit that spans ASR punctuation (``，。？！；：、``)
is dropped (``讲完宏观，市场这边`` does not say ``宏观市场``). Segment boundaries are not
punctuation, so a phrase split across two segments is still found.

A ``TranscriptMatcher`` is fed ``TranscriptSegment`` values with ``receive`` and hands
out events with ``next_event`` (``NEED_DATA`` when there are none):

* a **final** segment is searched together with the tail (``window_chars`` normalised
  characters) of the same speaker's earlier finals, so a phrase split across two
  segments is found; only matches that end in the new segment are reported, so each
  occurrence is reported once. These are decisions: ``PhraseHit(final=True)``.
* a **partial** segment (an ASR hypothesis that may still change) is compared with the
  previous partial of the same utterance; the common prefix is taken as stable and
  searched like a final, giving ``PhraseHit(final=False)`` suggestions, each at most once
  per utterance. A repeated final of an utterance already decided is ignored.

Every hit carries the phrase key, the channel (``exact``/``pinyin``), a confidence, the
speaker, the times (interpolated within segments by character position), the original
text it covers and the (utterance, offset) at which it starts and ends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Final, Literal

import attrs

from zhanye_sdk import _backend
from zhanye_sdk.sop.normalise import FILLERS, normalise
from zhanye_sdk.sop.pinyin import phrase_readings, readings, syllable_count

__all__ = [
    "NEED_DATA",
    "Channel",
    "KeyPhrase",
    "MatcherConfig",
    "NeedData",
    "PhraseHit",
    "PhraseIndex",
    "TranscriptMatcher",
    "TranscriptSegment",
]

Channel = Literal["exact", "pinyin", "edit"]
_UNKNOWN = "\x00"
_CODE_BASE = 0xF0000  # supplementary private use area: never in normalised text


class NeedData:
    """No event is ready: feed another segment."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()


@attrs.frozen(slots=True)
class KeyPhrase:
    """A phrase to listen for; ``key`` is the caller's name for it (several may share one)."""

    key: str
    text: str


@attrs.frozen(slots=True)
class MatcherConfig:
    """Matcher settings.

    Args:
        window_chars: normalised characters of earlier finals kept per speaker.
        pinyin: whether the homophone channel runs.
        fuzzy: fold near-homophones (zh/z, n/l, ing/in …) in the pinyin channel.
        min_pinyin_syllables: syllables (Han characters, digits) a phrase needs to enter
            the pinyin channel.
        max_substitution_rate: the share of a phrase's characters a pinyin match may
            have heard as other characters (at least one); ``None``: any number.
        clause_bounded: drop hits that span ASR punctuation.
        max_edits: characters a long phrase may have lost, gained or had replaced by a
            sound-unlike one and still be heard (the ``edit`` channel; 0: off).
        min_edit_syllables: syllables a phrase needs to enter the ``edit`` channel (a
            short phrase less one character is mostly another word).
    """

    window_chars: int = 32
    pinyin: bool = True
    fuzzy: bool = True
    min_pinyin_syllables: int = 3
    max_substitution_rate: float | None = 0.25
    clause_bounded: bool = True
    max_edits: int = 1
    min_edit_syllables: int = 6


@attrs.frozen(slots=True)
class TranscriptSegment:
    """One ASR result: a partial hypothesis or the final text of an utterance.

    Times are milliseconds on the session clock; ``utterance`` names the utterance that
    partials and their final share.
    """

    utterance: str
    text: str
    start_ms: int
    end_ms: int
    speaker: str
    final: bool = True


@attrs.frozen(slots=True)
class PhraseHit:
    """A key phrase heard: a decision (``final``) or a suggestion from a stable partial."""

    key: str
    phrase: str
    channel: Channel
    confidence: float
    final: bool
    speaker: str
    start_ms: int
    end_ms: int
    text: str
    start: tuple[str, int]
    end: tuple[str, int]


@attrs.frozen(slots=True)
class _Char:
    """One normalised character and where it came from."""

    char: str
    utterance: str
    orig_start: int
    orig_end: int
    time_ms: int
    #: ASR punctuation comes between this character and the one before it.
    clause_start: bool = False


class _Encoding(dict[int, str]):
    """``str.translate`` table: a character to the code of its most common reading,
    filled on first sight (a character no phrase reads like maps to ``_UNKNOWN``)."""

    def __init__(self, codes: dict[str, str], fuzzy: bool) -> None:
        super().__init__()
        self._codes = codes
        self._fuzzy = fuzzy

    def __missing__(self, key: int) -> str:
        code = self._codes.get(readings(chr(key), self._fuzzy)[0], _UNKNOWN)
        self[key] = code
        return code


class PhraseIndex:
    """Key phrases compiled for both channels; immutable, shared by many matchers.

    Args:
        phrases: the phrases; those that normalise to nothing are ignored.
        config: which channels to build and how.
    """

    def __init__(self, phrases: Iterable[KeyPhrase], config: MatcherConfig | None = None) -> None:
        self.config = config or MatcherConfig()
        self.phrases: tuple[KeyPhrase, ...] = tuple(phrases)
        normalised: dict[str, list[int]] = {}
        for i, phrase in enumerate(self.phrases):
            text = normalise(phrase.text).text
            if text:
                normalised.setdefault(text, []).append(i)
        self._exact_texts = list(normalised)
        self._exact_owners = [normalised[t] for t in self._exact_texts]
        self._exact = _backend.AhoCorasick(self._exact_texts) if self._exact_texts else None
        self._codes: dict[str, str] = {}
        pinyin_patterns: list[str] = []
        self._pinyin_owner: list[int] = []
        if self.config.pinyin:
            for k, text in enumerate(self._exact_texts):
                if syllable_count(text) < self.config.min_pinyin_syllables:
                    continue
                seen: set[str] = set()
                for syllables in phrase_readings(text, self.config.fuzzy):
                    encoded = "".join(self._code(s) for s in syllables)
                    if encoded not in seen:
                        seen.add(encoded)
                        pinyin_patterns.append(encoded)
                        self._pinyin_owner.append(k)
        self._pinyin = _backend.AhoCorasick(pinyin_patterns) if pinyin_patterns else None
        # The edit channel: a phrase with one edit keeps one of its halves intact, so
        # each half is searched exactly and the window around it checked by distance.
        self._edit_codes: dict[int, str] = {}
        halves: list[str] = []
        self._edit_owner: list[tuple[int, bool]] = []
        if self.config.pinyin and self.config.max_edits > 0:
            for k, text in enumerate(self._exact_texts):
                if syllable_count(text) < self.config.min_edit_syllables:
                    continue
                code = "".join(self._code(s) for s in phrase_readings(text, self.config.fuzzy)[0])
                self._edit_codes[k] = code
                middle = len(code) // 2
                for left, half in ((True, code[:middle]), (False, code[middle:])):
                    halves.append(half)
                    self._edit_owner.append((k, left))
        self._edit = _backend.AhoCorasick(halves) if halves else None
        self._encoding = _Encoding(self._codes, self.config.fuzzy)

    @property
    def max_phrase_chars(self) -> int:
        """The longest normalised phrase, in characters."""
        return max((len(t) for t in self._exact_texts), default=0)

    def _code(self, syllable: str) -> str:
        code = self._codes.get(syllable)
        if code is None:
            code = chr(_CODE_BASE + len(self._codes))
            self._codes[syllable] = code
        return code

    def encode(self, text: str) -> str:
        """``text`` (normalised) as one syllable code per character, for the pinyin channel."""
        return text.translate(self._encoding)

    def search(self, text: str) -> list[tuple[int, int, int, Channel, float]]:
        """Hits ``(phrase, start, end, channel, confidence)`` in normalised ``text``.

        A pinyin hit is dropped where an exact hit of the same phrase has the same span,
        and phrases that share a key give one hit per span.
        """
        found: dict[tuple[int, int, int], tuple[Channel, float]] = {}
        if self._exact is not None:
            for k, start, end in self._exact.find(text, overlapping=True):
                for owner in self._exact_owners[k]:
                    found[(owner, start, end)] = ("exact", 1.0)
        if self._pinyin is not None:
            for p, start, end in self._pinyin.find(self.encode(text), overlapping=True):
                k = self._pinyin_owner[p]
                target = self._exact_texts[k]
                pairs = list(zip(text[start:end], target, strict=True))
                same = sum(1 for a, b in pairs if a == b)
                rate = self.config.max_substitution_rate
                if rate is not None:
                    # A numeral is a digit after normalisation: only its sound compares.
                    other = sum(1 for a, b in pairs if a != b and not b.isdigit())
                    if other > max(1, int(len(target) * rate)):
                        continue
                confidence = round(0.6 + 0.35 * same / len(target), 3)
                for owner in self._exact_owners[k]:
                    previous = found.get((owner, start, end))
                    if previous is None or previous[1] < confidence:
                        found[(owner, start, end)] = ("pinyin", confidence)
        if self._edit is not None:
            self._search_edits(text, found)
        hits: list[tuple[int, int, int, Channel, float]] = []
        seen: set[tuple[str, int, int]] = set()
        for (o, s, e), (ch, c) in sorted(found.items(), key=lambda i: (i[0][2], i[0][1], i[0][0])):
            # Phrases sharing a key report one hit per span: the first listed wins.
            mark = (self.phrases[o].key, s, e)
            if mark not in seen:
                seen.add(mark)
                hits.append((o, s, e, ch, c))
        return hits

    def _search_edits(
        self, text: str, found: dict[tuple[int, int, int], tuple[Channel, float]]
    ) -> None:
        assert self._edit is not None
        encoded = self.encode(text)
        heard: dict[tuple[int, int], tuple[int, int, int]] = {}
        for p, start, end in self._edit.find(encoded, overlapping=True):
            k, left = self._edit_owner[p]
            code = self._edit_codes[k]
            size = len(code)
            best: tuple[int, int, int] | None = None
            for grow in (0, -1, 1):
                a, b = (start, start + size + grow) if left else (end - size - grow, end)
                if a < 0 or b > len(encoded):
                    continue
                distance = _edit_distance(encoded[a:b], code, self.config.max_edits)
                if 0 < distance <= self.config.max_edits and (best is None or distance < best[0]):
                    best = (distance, a, b)
            if best is None:
                continue
            _, a, b = best
            # One occurrence is found from both halves and from neighbouring windows.
            if any(abs(a - s) < size // 2 for (q, s) in heard if q == k):
                continue
            if any(o in self._exact_owners[k] and s < b and a < e for (o, s, e) in found):
                continue  # heard better by the exact or pinyin channel
            heard[(k, a)] = best
            same = sum(1 for x, y in zip(text[a:b], self._exact_texts[k], strict=False) if x == y)
            confidence = round(0.5 + 0.3 * same / size, 3)
            for owner in self._exact_owners[k]:
                found[(owner, a, b)] = ("edit", confidence)


def _edit_distance(a: str, b: str, bound: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``bound + 1`` once it exceeds ``bound``."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
        if min(row) > bound:
            return bound + 1
    return row[-1]


class TranscriptMatcher:
    """Streams transcript segments through a ``PhraseIndex``; see the module header.

    Args:
        index: the compiled phrases.
    """

    def __init__(self, index: PhraseIndex) -> None:
        self._index = index
        window = max(index.config.window_chars, index.max_phrase_chars)
        self._window = window
        self._tails: dict[str, deque[_Char]] = {}
        self._texts: dict[str, str] = {}
        self._clause_ended: dict[str, bool] = {}
        self._partials: dict[str, str] = {}
        self._suggested: dict[str, set[tuple[str, str, int]]] = {}
        self._decided: deque[str] = deque(maxlen=512)
        self._events: deque[PhraseHit] = deque()

    def receive(self, segment: TranscriptSegment) -> None:
        """Take one segment; its hits become available from ``next_event``."""
        if segment.utterance in self._decided:
            return
        self._texts[segment.utterance] = segment.text
        chars, ends_clause = _characters(segment, self._clause_ended.get(segment.speaker, False))
        tail = list(self._tails.get(segment.speaker, ()))
        if segment.final:
            self._clause_ended[segment.speaker] = ends_clause
            self._decided.append(segment.utterance)
            self._partials.pop(segment.utterance, None)
            self._suggested.pop(segment.utterance, None)
            self._search(tail, chars, segment, final=True)
            kept = deque(tail + chars, maxlen=self._window)
            self._tails[segment.speaker] = kept
            self._forget_texts()
            return
        current = "".join(c.char for c in chars)
        previous = self._partials.get(segment.utterance, "")
        self._partials[segment.utterance] = current
        stable = 0
        for a, b in zip(previous, current, strict=False):
            if a != b:
                break
            stable += 1
        if stable:
            self._search(tail, chars[:stable], segment, final=False)

    def next_event(self) -> PhraseHit | NeedData:
        """The next hit, or ``NEED_DATA``."""
        if self._events:
            return self._events.popleft()
        return NEED_DATA

    def events(self) -> list[PhraseHit]:
        """Every hit ready now, in order (drains ``next_event``)."""
        out = list(self._events)
        self._events.clear()
        return out

    def _search(
        self, tail: Sequence[_Char], chars: Sequence[_Char], segment: TranscriptSegment, final: bool
    ) -> None:
        joined = [*tail, *chars]
        text = "".join(c.char for c in joined)
        boundary = len(tail)
        suggested = self._suggested.setdefault(segment.utterance, set()) if not final else None
        bounded = self._index.config.clause_bounded
        for owner, start, end, channel, confidence in self._index.search(text):
            if end <= boundary:
                continue
            if bounded and any(c.clause_start for c in joined[start + 1 : end]):
                continue
            phrase = self._index.phrases[owner]
            first, last = joined[start], joined[end - 1]
            if suggested is not None:
                mark = (phrase.key, first.utterance, first.orig_start)
                if mark in suggested:
                    continue
                suggested.add(mark)
            self._events.append(
                PhraseHit(
                    key=phrase.key,
                    phrase=phrase.text,
                    channel=channel,
                    confidence=confidence,
                    final=final,
                    speaker=segment.speaker,
                    start_ms=first.time_ms,
                    end_ms=_time_at(segment, last.orig_end),
                    text=self._original(joined[start:end]),
                    start=(first.utterance, first.orig_start),
                    end=(last.utterance, last.orig_end),
                )
            )

    def _original(self, chars: Sequence[_Char]) -> str:
        parts: list[str] = []
        for utterance in dict.fromkeys(c.utterance for c in chars):
            own = [c for c in chars if c.utterance == utterance]
            parts.append(self._texts.get(utterance, "")[own[0].orig_start : own[-1].orig_end])
        return "".join(parts)

    def _forget_texts(self) -> None:
        live = {c.utterance for tail in self._tails.values() for c in tail}
        live.update(self._partials)
        for utterance in [u for u in self._texts if u not in live]:
            del self._texts[utterance]


def _time_at(segment: TranscriptSegment, offset: int) -> int:
    length = max(len(segment.text), 1)
    return segment.start_ms + (segment.end_ms - segment.start_ms) * offset // length


_CLAUSE_MARKS = frozenset("，。？！；：、,?!;:…")


def _characters(segment: TranscriptSegment, after_clause: bool) -> tuple[list[_Char], bool]:
    """The segment's normalised characters, and whether it ends with a clause mark.

    ``after_clause``: the speaker's previous final ended with one.
    """
    normalised = normalise(segment.text)
    text = segment.text
    out: list[_Char] = []
    previous_end = 0
    for ch, s, e in zip(normalised.text, normalised.starts, normalised.ends, strict=True):
        between = text[previous_end:s] if s > previous_end else ""
        # Punctuation around a hesitation ("保证，呃，收益") is the ASR's pause, not a clause.
        paused = any(c in FILLERS for c in between)
        mark = (any(c in _CLAUSE_MARKS for c in between) and not paused) or (
            not out and after_clause
        )
        out.append(_Char(ch, segment.utterance, s, e, _time_at(segment, s), mark))
        previous_end = max(previous_end, e)
    ends = any(c in _CLAUSE_MARKS for c in text[previous_end:]) if out else after_clause
    return out, ends
