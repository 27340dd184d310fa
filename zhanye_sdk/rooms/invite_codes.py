"""Short invite codes: ``/j/<code>`` links that fit an invitation into one SMS part.

A signed invite token is about 200 characters, which made an invitation SMS four parts.
A code is 10 random characters from a 56-letter alphabet without look-alikes (no 0/O,
1/l/I): about 58 bits, so with lookups rate-limited per client an attacker would need
far more tries than the limit lets through in the invite's lifetime. The server keeps
code → signed token (same room, same expiry); everything past the lookup checks the
signed token as before.

``LookupLimiter`` is the per-client lookup budget, a pure sliding window: time is passed in.
"""

from __future__ import annotations

import secrets
from collections import deque

import attrs

__all__ = ["CODE_ALPHABET", "CODE_LENGTH", "LookupLimiter", "is_code", "new_code"]

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
CODE_LENGTH = 10
_LETTERS = frozenset(CODE_ALPHABET)


def new_code() -> str:
    """A fresh random code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def is_code(text: str) -> bool:
    """Whether ``text`` has the shape of a code (a signed token never does: it has a dot)."""
    return len(text) == CODE_LENGTH and all(c in _LETTERS for c in text)


@attrs.define
class LookupLimiter:
    """At most ``limit`` lookups per client within ``window_ms``; older ones age out."""

    limit: int = 30
    window_ms: int = 60_000
    max_clients: int = 100_000
    _seen: dict[str, deque[int]] = attrs.field(factory=dict)

    def admit(self, client: str, now_ms: int) -> float | None:
        """Record a lookup by ``client``; None when allowed, else seconds until allowed."""
        times = self._seen.get(client)
        if times is None:
            if len(self._seen) >= self.max_clients:
                self._forget_idle(now_ms)
            times = self._seen.setdefault(client, deque())
        while times and times[0] <= now_ms - self.window_ms:
            times.popleft()
        if len(times) >= self.limit:
            return max(0.001, (times[0] + self.window_ms - now_ms) / 1000)
        times.append(now_ms)
        return None

    def _forget_idle(self, now_ms: int) -> None:
        for client in [
            c for c, t in self._seen.items() if not t or t[-1] <= now_ms - self.window_ms
        ]:
            del self._seen[client]
