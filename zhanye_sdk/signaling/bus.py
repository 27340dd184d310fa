"""The bus that carries a room's messages to every connection, in this process or others.

``LocalBus`` serves one process. A scale-out bus (Redis) implements the same
protocol, so the signaling endpoint does not care which one runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from zhanye_sdk.signaling.envelope import ServerMessage

__all__ = ["Bus", "LocalBus", "staff_channel"]


def staff_channel(session_id: str) -> str:
    """The channel whose messages reach only a session's staff connections (its host).

    What a customer must never see (the SOP assistant's cards, checklist and quality
    alerts) goes here instead of the room's channel, which every participant receives.
    """
    return f"{session_id}/staff"


class Bus(Protocol):
    """Publish a channel's messages; subscribe to receive them in order."""

    async def publish(self, channel: str, message: ServerMessage) -> None:
        """Deliver ``message`` to every current subscriber of ``channel``."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[ServerMessage]]:
        """An async context manager yielding the channel's messages from now on."""
        ...


class LocalBus:
    """An in-process bus: each subscriber gets its own bounded queue.

    A subscriber that falls ``buffer`` messages behind is dropped (its iterator
    ends), so one stalled client never holds up a room; it reconnects and resumes
    from its last sequence number.
    """

    def __init__(self, buffer: int = 1024) -> None:
        self._buffer = buffer
        self._subscribers: dict[str, set[MemoryObjectSendStream[ServerMessage]]] = {}

    async def publish(self, channel: str, message: ServerMessage) -> None:
        """Deliver to every subscriber without waiting on any of them."""
        for stream in list(self._subscribers.get(channel, ())):
            try:
                stream.send_nowait(message)
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._subscribers.get(channel, set()).discard(stream)
                stream.close()

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[ServerMessage]]:
        """Receive the channel's messages while the context is open."""
        send, receive = anyio.create_memory_object_stream[ServerMessage](self._buffer)
        self._subscribers.setdefault(channel, set()).add(send)
        try:
            async with receive:
                yield receive
        finally:
            subscribers = self._subscribers.get(channel, set())
            subscribers.discard(send)
            if not subscribers:
                self._subscribers.pop(channel, None)
            send.close()

    def subscriber_count(self, channel: str) -> int:
        """How many subscribers a channel has (tests, monitoring)."""
        return len(self._subscribers.get(channel, ()))
