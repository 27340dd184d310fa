"""Short invite codes: ``/j/<code>`` links that fit an invitation into one SMS part.

A signed invite token is about 200 characters, which made an invitation SMS four parts.
A code is 10 random characters from a 56-letter alphabet without look-alikes (no 0/O,
1/l/I): about 58 bits, so with lookups rate-limited per client an attacker would need
far more tries than the limit lets through in the invite's lifetime. The server keeps
code → signed token (same room, same expiry); everything past the lookup checks the
signed token as before. The per-client lookup budget is a token bucket
(``SessionConfig.code_lookups``) in the room service's limiter: in Redis, shared by
every process, when several serve.
"""

from __future__ import annotations

import secrets

__all__ = ["CODE_ALPHABET", "CODE_LENGTH", "is_code", "new_code"]

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
CODE_LENGTH = 10
_LETTERS = frozenset(CODE_ALPHABET)


def new_code() -> str:
    """A fresh random code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def is_code(text: str) -> bool:
    """Whether ``text`` has the shape of a code (a signed token never does: it has a dot)."""
    return len(text) == CODE_LENGTH and all(c in _LETTERS for c in text)
