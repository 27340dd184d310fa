"""aiohttp glue both hosts share: a WebSocket as the SDK's transport, and running an SDK
deployment (its anyio task group) for as long as an application runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiohttp import WSMsgType, web

__all__ = ["WebSocketTransport", "run_alongside"]

_log = logging.getLogger(__name__)


class WebSocketTransport:
    """An aiohttp WebSocket as the SDK's ``MessageTransport``, over ``request``'s
    connection (which ``abort`` cuts)."""

    def __init__(self, socket: web.WebSocketResponse, request: web.BaseRequest) -> None:
        self.socket = socket
        self._request = request

    async def receive(self) -> str | bytes | None:
        message = await self.socket.receive()
        if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            return message.data  # type: ignore[no-any-return]
        return None

    async def send(self, text: str) -> None:
        await self.socket.send_str(text)

    async def close(self, code: int, reason: str) -> None:
        await self.socket.close(code=code, message=reason.encode())

    def abort(self) -> None:
        if self._request.transport is not None:
            self._request.transport.abort()


def run_alongside(app: web.Application, running: AbstractAsyncContextManager[Any]) -> None:
    """Enter ``running`` (e.g. ``deployment.running()``) when ``app`` starts and leave it
    at its cleanup, in a task of its own: an anyio task group must exit in the task that
    entered it, and an application's start and cleanup may run in different tasks. A
    failure to start is raised from the application's start."""

    async def lifetime(_: web.Application) -> AsyncIterator[None]:
        started, stop = asyncio.Event(), asyncio.Event()

        async def serve() -> None:
            async with running:
                started.set()
                await stop.wait()

        def ended(task: asyncio.Task[None]) -> None:
            if not stop.is_set() and not task.cancelled() and task.exception() is not None:
                # Serving goes on without it: say so loudly rather than fail quietly.
                _log.error("the deployment stopped", exc_info=task.exception())

        task = asyncio.create_task(serve())
        task.add_done_callback(ended)
        ready = asyncio.create_task(started.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            ready.cancel()
            task.result()
        yield
        stop.set()
        await task

    app.cleanup_ctx.append(lifetime)
