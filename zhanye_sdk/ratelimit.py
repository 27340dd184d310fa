"""Token buckets: how often one client may do something (sans-I/O; time is passed in).

A bucket holds up to ``burst`` tokens and gains ``rate`` a second; each action takes
one. An empty bucket refuses and says how long until the next token.

A ``Limiter`` keeps named buckets: ``LocalLimiter`` in this process, ``RedisLimiter``
(``cluster/ratelimit.py``) in Redis, shared by every process of a scale-out deployment.
"""

from __future__ import annotations

from typing import Protocol

import attrs

__all__ = ["BucketPolicy", "Limiter", "LocalLimiter", "TokenBucket"]


@attrs.frozen
class BucketPolicy:
    """``rate`` actions a second on average, ``burst`` at once."""

    rate: float
    burst: float

    def __attrs_post_init__(self) -> None:
        if not (self.rate > 0 and self.burst >= 1):
            raise ValueError("a bucket needs rate > 0 and burst >= 1")


@attrs.define
class TokenBucket:
    """One client's bucket under ``policy``; starts full."""

    policy: BucketPolicy
    tokens: float = attrs.field(default=-1.0)
    last_s: float | None = None

    def __attrs_post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.policy.burst

    def take(self, now_s: float) -> float | None:
        """Take a token at ``now_s``: None when granted, else seconds until one is free."""
        if self.last_s is not None and now_s > self.last_s:
            self.tokens = min(
                self.policy.burst, self.tokens + (now_s - self.last_s) * self.policy.rate
            )
        if self.last_s is None or now_s > self.last_s:
            self.last_s = now_s
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.policy.rate


class Limiter(Protocol):
    """Named token buckets: where the buckets live (this process, or Redis for several)."""

    async def take(self, key: str, policy: BucketPolicy, now_s: float) -> float | None:
        """Take a token from ``key``'s bucket: None when granted, else seconds to wait."""
        ...


class LocalLimiter:
    """Buckets in this process's memory; the oldest keys are forgotten past ``max_keys``."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    async def take(self, key: str, policy: BucketPolicy, now_s: float) -> float | None:
        """Take a token from ``key``'s bucket (made full on first use)."""
        if len(self._buckets) > self._max_keys:  # keep memory bounded
            for old in list(self._buckets)[: self._max_keys // 2]:
                del self._buckets[old]
        return self._buckets.setdefault(key, TokenBucket(policy)).take(now_s)
