"""Multi-pattern exact search, pure-Python twin of ``zhanye_sdk_native/src/aho.rs``.

Same automaton (trie, breadth-first failure links, longest-suffix output per state and
a link to the next shorter pattern end), same matches in the same order:

* offsets are ``str`` indices, ``end`` exclusive; patterns are numbered by position;
* overlapping: every occurrence, by ``end`` ascending, length descending, number ascending;
* leftmost-longest: non-overlapping; the earliest start, then the longest, then the
  lowest number; the search resumes at the end of each match.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

__all__ = ["AhoCorasick"]

_NONE = -1


class AhoCorasick:
    """Aho-Corasick search of many patterns at once, in character offsets.

    Args:
        patterns: non-empty strings; duplicates allowed, each reported by its own number.

    Raises:
        ValueError: ``patterns`` is a single str or not iterable, or holds a non-str or
            an empty str.
    """

    __slots__ = ("_depth", "_dict", "_fail", "_goto", "_out_len", "_out_pattern", "_own")

    def __init__(self, patterns: Iterable[str]) -> None:
        if isinstance(patterns, str):
            raise ValueError("patterns must be a sequence of non-empty str, got a single str")
        try:
            items = list(patterns)
        except TypeError:
            raise ValueError(
                f"patterns must be a sequence of non-empty str, got {type(patterns).__name__}"
            ) from None
        goto: list[dict[str, int]] = [{}]
        depth = [0]
        own: list[list[int]] = [[]]
        for index, pattern in enumerate(items):
            if not isinstance(pattern, str):
                raise ValueError(
                    f"patterns[{index}] must be a non-empty str, got {type(pattern).__name__}"
                )
        for index, pattern in enumerate(items):
            if not pattern:
                raise ValueError(f"patterns[{index}] must be a non-empty str, got ''")
            state = 0
            for ch in pattern:
                nxt = goto[state].get(ch)
                if nxt is None:
                    nxt = len(goto)
                    goto[state][ch] = nxt
                    goto.append({})
                    depth.append(depth[state] + 1)
                    own.append([])
                state = nxt
            own[state].append(index)
        n = len(goto)
        fail = [0] * n
        out_len = [0] * n
        out_pattern = [_NONE] * n
        dict_link = [_NONE] * n
        queue = deque(goto[0].values())
        for s in queue:
            if own[s]:
                out_len[s] = depth[s]
                out_pattern[s] = own[s][0]
        while queue:
            state = queue.popleft()
            for ch, nxt in goto[state].items():
                f = fail[state]
                while True:
                    target = goto[f].get(ch)
                    if target is not None:
                        break
                    if f == 0:
                        target = 0
                        break
                    f = fail[f]
                fail[nxt] = target
                dict_link[nxt] = target if own[target] else dict_link[target]
                if own[nxt]:
                    out_len[nxt] = depth[nxt]
                    out_pattern[nxt] = own[nxt][0]
                else:
                    out_len[nxt] = out_len[target]
                    out_pattern[nxt] = out_pattern[target]
                queue.append(nxt)
        self._goto = goto
        self._fail = fail
        self._depth = depth
        self._own = own
        self._out_len = out_len
        self._out_pattern = out_pattern
        self._dict = dict_link

    def __repr__(self) -> str:
        return f"AhoCorasick(<{self.pattern_count} patterns>)"

    @property
    def pattern_count(self) -> int:
        """The number of patterns."""
        return sum(len(o) for o in self._own)

    def _step(self, state: int, ch: str) -> int:
        goto, fail = self._goto, self._fail
        while True:
            nxt = goto[state].get(ch)
            if nxt is not None:
                return nxt
            if state == 0:
                return 0
            state = fail[state]

    def find(self, text: str, *, overlapping: bool = False) -> list[tuple[int, int, int]]:
        """Matches ``(pattern, start, end)`` in ``text``: leftmost-longest, or all overlapping.

        Raises:
            ValueError: ``text`` is not a str.
        """
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        if overlapping:
            return self._overlapping(text)
        return self._leftmost_longest(text)

    def _overlapping(self, text: str) -> list[tuple[int, int, int]]:
        found: list[tuple[int, int, int]] = []
        own, depth, dict_link, out_len = self._own, self._depth, self._dict, self._out_len
        state = 0
        for i, ch in enumerate(text):
            state = self._step(state, ch)
            if not out_len[state]:
                continue
            end = i + 1
            s = state if own[state] else dict_link[state]
            while s != _NONE:
                start = end - depth[s]
                found.extend((pattern, start, end) for pattern in own[s])
                s = dict_link[s]
        return found

    def _leftmost_longest(self, text: str) -> list[tuple[int, int, int]]:
        found: list[tuple[int, int, int]] = []
        depth, out_len, out_pattern = self._depth, self._out_len, self._out_pattern
        state = 0
        candidate: tuple[int, int, int] | None = None
        i = 0
        n = len(text)
        while True:
            if i == n:
                if candidate is None:
                    break
                # The text ended with a match pending: it is final; look on after it.
                found.append(candidate)
                i = candidate[2]
                candidate = None
                state = 0
                continue
            state = self._step(state, text[i])
            end = i + 1
            length = out_len[state]
            if length:
                start = end - length
                if (
                    candidate is None
                    or start < candidate[1]
                    or (start == candidate[1] and end > candidate[2])
                ):
                    candidate = (out_pattern[state], start, end)
            if candidate is not None and end - depth[state] > candidate[1]:
                found.append(candidate)
                i = candidate[2]
                candidate = None
                state = 0
                continue
            i += 1
        return found
