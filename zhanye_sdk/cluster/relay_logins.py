"""Logins ended in one process reach the sockets of every process (kick-out, disable…).

An admin's kick-out, an account disabled or deleted, a password changed, a logout: the
process that did it announces ``LoginsEnded`` to its own listeners (its signaling and
account sockets close with the reason). This relays each announcement over Redis
(``<prefix>logins-ended``) to the other processes, whose listeners close their sockets
of that account the same way, at once. A process that misses one (Redis down) still
finds the login ended when its sockets re-check their login in the store.
"""

from __future__ import annotations

import contextvars
import json
import logging
from typing import Any

import anyio
import anyio.abc
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from zhanye_sdk.cluster.channel import listen
from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.login_end import LoginsEnded
from zhanye_sdk.wire import converter

__all__ = ["LoginsRelay"]

_log = logging.getLogger(__name__)
_OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)
#: Set while another process's announcement is handed to this one's listeners.
_from_elsewhere: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "logins_from_elsewhere", default=False
)


class LoginsRelay:
    """Publishes this process's ended logins; announces the other processes' here."""

    def __init__(self, url: str, node_id: str, *, prefix: str = "zhanye:") -> None:
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=None, decode_responses=True
        )
        self._node = node_id
        self._channel = f"{prefix}logins-ended"
        self._platform: Platform | None = None

    def attach(self, platform: Platform) -> None:
        """Relay ``platform``'s announcements, and announce the others' to it."""
        self._platform = platform
        platform.on_logins_ended(self._publish)

    async def _publish(self, ended: LoginsEnded) -> None:
        if _from_elsewhere.get():
            return
        text = json.dumps({"from": self._node, "ended": converter.unstructure(ended)})
        try:
            await self._redis.publish(self._channel, text)
        except _OUTAGE as exc:
            _log.warning("Redis unreachable, ended logins not relayed: %s", exc)

    async def _announce(self, raw: str) -> None:
        try:
            data = json.loads(raw)
            if data.get("from") == self._node or self._platform is None:
                return
            ended = converter.structure(data["ended"], LoginsEnded)
        except (TypeError, ValueError, KeyError, AttributeError):
            _log.warning("an unreadable ended-logins message was dropped")
            return
        token = _from_elsewhere.set(True)
        try:
            await self._platform.announce_logins_ended(ended)
        finally:
            _from_elsewhere.reset(token)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen until cancelled (reconnecting after an outage)."""

        async def handle(raw: Any) -> None:
            await self._announce(str(raw))

        await listen(
            self._redis, self._channel, handle, name="ended-logins", task_status=task_status
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
