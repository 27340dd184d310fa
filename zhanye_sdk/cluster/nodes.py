"""The node registry: which host processes are alive, where they are and how busy.

Each process writes its ``NodeInfo`` under ``<prefix>node:<id>`` with a TTL (about
5 s) and rewrites it every TTL/3 (``heartbeat``); a process that dies drops out when
its key expires. A draining process (SIGTERM) stays listed, marked ``draining``, so
it takes no new room while its rooms move. New rooms go to the least-loaded live
process that is not draining.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import anyio
import attrs
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from zhanye_sdk.wire import converter

__all__ = ["Load", "NodeInfo", "NodeRegistry"]

_log = logging.getLogger(__name__)
_OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)


@attrs.frozen
class Load:
    """How busy a process is: rooms it owns, participants in them, CPU (0–1 per core),
    and ``media``: the share of its media capacity in use (0–1, ``MediaLoad.share``; at
    1 it refuses new media participants, so a selector should pass it by)."""

    rooms: int = 0
    participants: int = 0
    cpu: float = 0.0
    media: float = 0.0

    def takes_media(self) -> bool:
        """Whether the process admits new media participants."""
        return self.media < 1.0


@attrs.frozen
class NodeInfo:
    """One host process as the others see it.

    ``http_url`` is where the proxy reaches its HTTP and WebSocket endpoints,
    ``ice_address`` the address its media (ICE) candidates use.
    """

    node_id: str
    http_url: str
    ice_address: str
    load: Load = Load()
    draining: bool = False


class NodeRegistry:
    """Register this process, keep it alive, and list the live ones."""

    def __init__(self, url: str, *, ttl_ms: int = 5000, prefix: str = "zhanye:") -> None:
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1, decode_responses=True
        )
        self.ttl_ms = ttl_ms
        self._prefix = prefix

    def _key(self, node_id: str) -> str:
        return f"{self._prefix}node:{node_id}"

    async def announce(self, info: NodeInfo) -> None:
        """Write (or refresh) ``info`` with the registry's TTL."""
        text = json.dumps(converter.unstructure(info))
        await self._redis.set(self._key(info.node_id), text, px=self.ttl_ms)

    async def heartbeat(self, info: Callable[[], NodeInfo]) -> None:
        """Announce ``info()`` every TTL/3 until cancelled; an outage is logged and retried."""
        while True:
            try:
                await self.announce(info())
            except _OUTAGE as exc:
                _log.warning("node registry unreachable: %s", exc)
            await anyio.sleep(self.ttl_ms / 3000)

    async def withdraw(self, node_id: str) -> None:
        """Leave the registry at once (after draining)."""
        await self._redis.delete(self._key(node_id))

    async def nodes(self) -> list[NodeInfo]:
        """Every live process, by node id."""
        found: list[NodeInfo] = []
        async for key in self._redis.scan_iter(match=f"{self._prefix}node:*"):
            text = await self._redis.get(key)
            if text is not None:
                found.append(converter.structure(json.loads(text), NodeInfo))
        return sorted(found, key=lambda n: n.node_id)

    async def least_loaded(self) -> NodeInfo | None:
        """Where a new room goes: the live, non-draining process with media capacity
        left and the fewest participants (then rooms, then CPU); None when there is
        none."""
        candidates = [n for n in await self.nodes() if not n.draining and n.load.takes_media()]
        if not candidates:
            return None
        return min(
            candidates,
            key=lambda n: (n.load.participants, n.load.rooms, n.load.cpu, n.node_id),
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
