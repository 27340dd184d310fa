"""Room leases in Redis: the rules of ``cluster.lease.LeaseTable``, as Lua scripts.

Each script runs atomically in Redis, on Redis's clock (key TTLs). Keys, under a
prefix: ``lease:<room>`` = ``<node>:<fence>`` with the lease's TTL; ``fence:<room>``
the highest fence handed out; ``epoch`` marks a Redis that has answered before, and
``quiet`` the TTL after a fresh (restarted, emptied) Redis first answers, during
which no new lease is granted while holders it forgot renew theirs.

A fence handed out is never lower than the room's fence in the database (``floor``),
so even a Redis that lost everything cannot hand out a token the store would take.
"""

from __future__ import annotations

from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["RedisLeases", "Unreachable"]

_WAKE = """
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('SET', KEYS[3], '1')
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
end
"""

# KEYS: lease, fence, epoch, quiet; ARGV: node, ttl_ms, floor
_ACQUIRE = (
    _WAKE
    + """
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local f = tonumber(redis.call('GET', KEYS[2]) or '0')
local floor = tonumber(ARGV[3])
if floor > f then f = floor end
f = f + 1
redis.call('SET', KEYS[2], f)
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. f, 'PX', ARGV[2])
return f
"""
)

# KEYS: lease, fence, epoch, quiet; ARGV: node, ttl_ms, fence
_RENEW = (
    _WAKE
    + """
local me = ARGV[1] .. ':' .. ARGV[3]
local v = redis.call('GET', KEYS[1])
if v == me then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if v then return 0 end
if tonumber(redis.call('GET', KEYS[2]) or '0') > tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], me, 'PX', ARGV[2])
return 1
"""
)

# KEYS: lease; ARGV: node, fence
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] .. ':' .. ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)


class Unreachable(Exception):
    """Redis did not answer (an outage): the holder keeps its room on its fence."""


class RedisLeases:
    """One process's access to the room leases (``node`` is its node id)."""

    def __init__(
        self,
        url: str,
        node: str,
        *,
        ttl_ms: int = 5000,
        prefix: str = "zhanye:",
    ) -> None:
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1, decode_responses=True
        )
        self.node = node
        self.ttl_ms = ttl_ms
        self._prefix = prefix
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)

    def _keys(self, room: str) -> list[str]:
        p = self._prefix
        return [f"{p}lease:{room}", f"{p}fence:{room}", f"{p}lease-epoch", f"{p}lease-quiet"]

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> int:
        try:
            return int(await script(keys=keys, args=args))
        except _OUTAGE as exc:
            raise Unreachable(str(exc)) from exc

    async def acquire(self, room: str, floor: int = 0) -> int | None:
        """The room's lease for this node: its fence, or None when someone holds it
        (or a fresh Redis is still waiting out forgotten leases).

        Raises:
            Unreachable: Redis did not answer.
        """
        fence = await self._call(self._acquire, self._keys(room), [self.node, self.ttl_ms, floor])
        return fence if fence > 0 else None

    async def renew(self, room: str, fence: int) -> bool:
        """Extend this node's lease; False when another node holds the room.

        Raises:
            Unreachable: Redis did not answer.
        """
        return await self._call(self._renew, self._keys(room), [self.node, self.ttl_ms, fence]) == 1

    async def release(self, room: str, fence: int) -> bool:
        """Give the room up (draining); False when it was not ours any more.

        Raises:
            Unreachable: Redis did not answer.
        """
        return await self._call(self._release, self._keys(room)[:1], [self.node, fence]) == 1

    async def holder(self, room: str) -> tuple[str, int] | None:
        """Who holds the room now, and under which fence.

        Raises:
            Unreachable: Redis did not answer.
        """
        try:
            value = await self._redis.get(self._keys(room)[0])
        except _OUTAGE as exc:
            raise Unreachable(str(exc)) from exc
        if value is None:
            return None
        node, _, fence = str(value).rpartition(":")
        return node, int(fence)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
