"""``RedisBus``: the ``Bus`` of several host processes, over Redis pub/sub.

Redis pub/sub is only a doorbell: it loses what is published while a subscriber is
disconnected (a Redis restart, a network cut). The truth is each room's event log in
the database; a subscriber that sees a sequence gap, or comes back after losing its
connection, reads the missing events from the log (``catch_up``) before going on, and
drops what it already delivered. So every subscriber receives a room's sequenced
events once each and in order; unsequenced messages (media, staff-only cards) are
best effort, as they are on ``LocalBus`` for a client that reconnects.

Subscribers in the publishing process get the message from the publisher directly,
not through Redis (which they skip by its origin mark): a room's clients on its owner
go on receiving everything while Redis is down, and sooner.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectSendStream
from redis import asyncio as aioredis

from zhanye_sdk.cluster.channel import OUTAGE, listen
from zhanye_sdk.signaling.envelope import ServerMessage

__all__ = ["CatchUp", "RedisBus"]

_log = logging.getLogger(__name__)

#: ``catch_up(channel, after_seq)``: the channel's logged messages after ``after_seq``.
CatchUp = Callable[[str, int], Awaitable[list[ServerMessage]]]


class _Delivery:
    """One subscriber's ordering: drop what was delivered, fill gaps from the log."""

    def __init__(
        self,
        channel: str,
        send: MemoryObjectSendStream[ServerMessage],
        catch_up: CatchUp | None,
    ) -> None:
        self.channel = channel
        self.send = send
        self.catch_up = catch_up
        self.last_seq: int | None = None
        # This process's publishers and the Redis listener deliver to it concurrently.
        self._lock = anyio.Lock()

    def _put(self, message: ServerMessage) -> None:
        self.send.send_nowait(message)  # WouldBlock: the subscriber fell behind
        if message.seq is not None:
            self.last_seq = message.seq

    async def fill(self, before: int | None = None) -> None:
        """Deliver the logged events after the last one delivered (and before ``before``)."""
        if self.catch_up is None or self.last_seq is None:
            return
        for message in await self.catch_up(self.channel, self.last_seq):
            if message.seq is None or message.seq <= self.last_seq:
                continue
            if before is not None and message.seq >= before:
                break
            self._put(message)

    async def resume(self) -> None:
        """Back on Redis: deliver what was logged meanwhile."""
        async with self._lock:
            await self.fill()

    async def deliver(self, message: ServerMessage) -> None:
        async with self._lock:
            await self._deliver(message)

    async def _deliver(self, message: ServerMessage) -> None:
        if message.seq is not None and self.last_seq is not None:
            if message.seq <= self.last_seq:
                return  # already delivered (from the log, after a gap)
            if message.seq > self.last_seq + 1:
                await self.fill(before=message.seq)
        self._put(message)


class RedisBus:
    """Publish a channel's messages through Redis; subscribe to receive them in order.

    ``url`` is ``redis://host:port/db``. ``catch_up`` reads a channel's events from
    the log (the room service's ``events_since``); without it gaps cannot be filled.
    ``buffer`` is how far a subscriber may fall behind before it is dropped (its
    iterator ends, as on ``LocalBus``); ``retry_s`` how long to wait between
    reconnection attempts.
    """

    def __init__(
        self,
        url: str,
        *,
        catch_up: CatchUp | None = None,
        prefix: str = "zhanye:bus:",
        buffer: int = 1024,
        retry_s: float = 0.2,
    ) -> None:
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=None, retry_on_timeout=False
        )
        self._catch_up = catch_up
        self._prefix = prefix
        self._buffer = buffer
        self._retry_s = retry_s
        #: Marks what this bus publishes, so its own subscribers skip it from Redis.
        self._origin = secrets.token_hex(6)
        self._local: dict[str, set[_Delivery]] = {}

    def read_gaps_from(self, catch_up: CatchUp) -> None:
        """Set where subscribers read missed events (the room service exists after the bus)."""
        self._catch_up = catch_up

    async def publish(self, channel: str, message: ServerMessage) -> None:
        """Ring the doorbell; during a Redis outage the message is dropped (logged):
        subscribers read sequenced events from the log when they see the gap.
        This process's subscribers get it at once, Redis or not."""
        for delivery in list(self._local.get(channel, ())):
            try:
                await delivery.deliver(message)
            except anyio.WouldBlock:
                _log.warning("a subscriber of %s fell behind and is dropped", channel)
                delivery.send.close()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass  # the subscriber left
        try:
            await self._redis.publish(self._prefix + channel, f"{self._origin} {message.encode()}")
        except OUTAGE as exc:
            _log.warning(
                "Redis unreachable, %s on %s not published: %s", message.type, channel, exc
            )

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[ServerMessage]]:
        """Receive the channel's messages from the moment this context is entered."""
        send, receive = anyio.create_memory_object_stream[ServerMessage](self._buffer)
        delivery = _Delivery(channel, send, self._catch_up)
        local = self._local.setdefault(channel, set())
        local.add(delivery)
        try:
            async with anyio.create_task_group() as group:
                await group.start(self._listen, channel, delivery)
                try:
                    async with receive:
                        yield receive
                finally:
                    group.cancel_scope.cancel()
        finally:
            local.discard(delivery)
            if not local:
                self._local.pop(channel, None)

    async def _listen(
        self, channel: str, delivery: _Delivery, *, task_status: anyio.abc.TaskStatus[None]
    ) -> None:
        again = False

        async def subscribed() -> None:
            nonlocal again
            if again:
                await delivery.resume()  # what was published while we were away
            again = True

        async def handle(data: bytes | str) -> None:
            origin, _, encoded = _text(data).partition(" ")
            if origin != self._origin:  # ours came directly
                await delivery.deliver(ServerMessage.decode(encoded))

        try:
            # Redis down at the start: this process's publishers still reach the
            # subscriber; other processes' once Redis is back.
            await listen(
                self._redis,
                self._prefix + channel,
                handle,
                name=f"bus {channel}",
                subscribed=subscribed,
                retry_s=self._retry_s,
                task_status=task_status,
            )
        except anyio.WouldBlock:
            _log.warning("a subscriber of %s fell behind and is dropped", channel)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the subscriber left
        finally:
            delivery.send.close()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


def _text(data: bytes | str) -> str:
    return data.decode() if isinstance(data, bytes) else data
