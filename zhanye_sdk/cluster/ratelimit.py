"""``RedisLimiter``: token buckets kept in Redis, shared by every host process.

The same bucket as ``ratelimit.TokenBucket`` (the caller's time, so a client gets one
budget whichever process answers it), updated atomically by a Lua script. A bucket
left alone long enough to refill expires. When Redis cannot be reached the limiter
falls back to this process's own buckets rather than refuse every client.
"""

from __future__ import annotations

import logging
import math

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from zhanye_sdk.ratelimit import BucketPolicy, LocalLimiter

__all__ = ["RedisLimiter"]

_log = logging.getLogger(__name__)
_OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)

# KEYS: bucket; ARGV: rate, burst, now_s. Returns "" when granted, else the wait.
_TAKE = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '-1')
if last >= 0 and now > last then
  tokens = math.min(burst, tokens + (now - last) * rate)
end
if last < 0 or now > last then last = now end
local wait = ''
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = tostring((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(last))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
"""


class RedisLimiter:
    """Named buckets in Redis under ``prefix``."""

    def __init__(self, url: str, *, prefix: str = "zhanye:bucket:") -> None:
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1, decode_responses=True
        )
        self._prefix = prefix
        self._script = self._redis.register_script(_TAKE)
        self._fallback = LocalLimiter()

    async def take(self, key: str, policy: BucketPolicy, now_s: float) -> float | None:
        """Take a token from ``key``'s bucket: None when granted, else seconds to wait."""
        try:
            wait = await self._script(
                keys=[self._prefix + key],
                args=[repr(policy.rate), repr(policy.burst), repr(now_s)],
            )
        except _OUTAGE as exc:
            _log.warning("Redis unreachable, rate limit %s kept in this process: %s", key, exc)
            return await self._fallback.take(key, policy, now_s)
        if not wait:
            return None
        seconds = float(wait)
        return seconds if math.isfinite(seconds) else None

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
