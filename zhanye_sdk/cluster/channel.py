"""Listening on one Redis pub/sub channel for as long as the process runs: subscribe,
hand each message on, and after an outage subscribe again (the relay, the ended-logins
announcer and every subscriber of the Redis bus listen this way)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["OUTAGE", "listen"]

_log = logging.getLogger(__name__)

#: What a lost or unreachable Redis raises.
OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)


async def listen(
    redis: aioredis.Redis,
    channel: str,
    handle: Callable[[Any], Awaitable[None]],
    *,
    name: str,
    subscribed: Callable[[], Awaitable[None] | None] | None = None,
    retry_s: float = 0.2,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Hand every message's data on ``channel`` to ``handle`` until cancelled.

    ``subscribed`` is called (and awaited, if it returns an awaitable) each time Redis has
    confirmed the subscription (again): whatever is published from then on reaches
    ``handle``. The task counts as started after the first call, or at the first outage
    (so a process starts while Redis is away and catches up when it returns). ``name``
    is for the log.
    """
    started = False
    while True:
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            await _confirmed(pubsub)
            if subscribed is not None:
                result = subscribed()
                if inspect.isawaitable(result):
                    await result
            if not started:
                started = True
                task_status.started()
            while True:
                raw = await pubsub.get_message(timeout=None)
                if raw is not None and raw.get("type") == "message":
                    await handle(raw["data"])
        except OUTAGE as exc:
            _log.info("%s channel lost (%s); reconnecting", name, exc)
            if not started:
                started = True
                task_status.started()
            await anyio.sleep(retry_s)
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await pubsub.aclose()
                except OUTAGE:
                    pass


async def _confirmed(pubsub: Any) -> None:
    """Wait for Redis to confirm the subscription (what is published after it reaches us)."""
    while True:
        raw = await pubsub.get_message(timeout=None)
        if raw is not None and raw.get("type") == "subscribe":
            return
