"""Reading a request body within its route's limit, before anything else reads it.

The SDK says what each route accepts (``BodyLimit``); this module enforces it on the wire:
a declared length over the limit is refused unread, a chunked body is read only up to the
limit, a route for logged-in staff checks the token before the first byte, and large bodies
go to a temporary file instead of memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import attrs
from aiohttp import web

from zhanye_sdk.api.http import BodyLimit, BodyTooLarge

CHUNK_BYTES = 64 * 1024


@attrs.frozen
class ReadBody:
    """A body read within its limit: in memory, or in ``file`` when spooled to disk."""

    data: bytes = b""
    file: Path | None = None


@contextlib.asynccontextmanager
async def read_body(
    request: web.Request, limit: BodyLimit, check_login: Callable[[], Awaitable[object]]
) -> AsyncIterator[ReadBody]:
    """The body of ``request`` within ``limit``; a spooled file is removed on exit.

    Raises:
        BodyTooLarge: the declared or actual size is over the limit.
        ZhanyeError: ``check_login``'s refusal, for routes that need a logged-in sender.
    """
    if request.content_length is not None and request.content_length > limit.max_bytes:
        raise BodyTooLarge(limit.max_bytes)
    if limit.logged_in:
        await check_login()
    if not request.body_exists:
        yield ReadBody()
        return
    if not limit.to_disk:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(CHUNK_BYTES):
            size += len(chunk)
            if size > limit.max_bytes:
                raise BodyTooLarge(limit.max_bytes)
            chunks.append(chunk)
        yield ReadBody(b"".join(chunks))
        return
    handle, name = tempfile.mkstemp(prefix="zhanye-upload-")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as spool:
            size = 0
            async for chunk in request.content.iter_chunked(CHUNK_BYTES):
                size += len(chunk)
                if size > limit.max_bytes:
                    raise BodyTooLarge(limit.max_bytes)
                await asyncio.to_thread(spool.write, chunk)
        yield ReadBody(file=path)
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
