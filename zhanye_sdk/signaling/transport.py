"""The connection a host hands the SDK for each socket, and saying goodbye on it.

A last frame or a close is sent even from a task being cancelled (the server stopping),
but never waits on the client for long: a client that stopped reading (an app frozen, a
phone in a tunnel) leaves the server's buffers full, and a close that waits for them to
drain would hold its task, and the server's shutdown, for as long as the client held the
connection. After ``CLOSE_LIMIT_S`` the connection is cut instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Protocol

import anyio

__all__ = ["CLOSE_LIMIT_S", "MessageTransport", "close_all", "close_quietly", "send_quietly"]

#: How long a last frame or a close waits for the client before the connection is cut.
CLOSE_LIMIT_S = 2.0


class MessageTransport(Protocol):
    """A message-oriented connection (a WebSocket), as the host provides it."""

    async def receive(self) -> str | bytes | None:
        """The next frame, or None once the peer has closed."""
        ...

    async def send(self, text: str) -> None:
        """Send one text frame."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Close with a WebSocket close code."""
        ...

    def abort(self) -> None:
        """Cut the connection at once (what is still unsent is dropped)."""
        ...


async def send_quietly(transport: MessageTransport, text: str) -> None:
    """Send a last frame, best effort (the peer may be gone), even when cancelled."""
    await _bounded(transport, transport.send(text))


async def close_quietly(transport: MessageTransport, code: int, reason: str) -> None:
    """Close ``transport``, best effort, even when cancelled."""
    await _bounded(transport, transport.close(code, reason))


async def close_all(transports: Iterable[MessageTransport], code: int, reason: str) -> None:
    """Close every one of ``transports`` at once (``close_quietly`` each)."""
    async with anyio.create_task_group() as tasks:
        for transport in list(transports):
            tasks.start_soon(close_quietly, transport, code, reason)


async def _bounded(transport: MessageTransport, step: Awaitable[None]) -> None:
    with anyio.CancelScope(shield=True):
        with anyio.move_on_after(CLOSE_LIMIT_S) as limit:
            try:
                await step
            except Exception:  # noqa: BLE001 - the peer may be gone already
                pass
        if limit.cancelled_caught:
            transport.abort()
