"""The kiosk host: the merchant desk page over the SDK's desk API. No business rules here."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from zhanye_sdk.api.http import ApiError, ApiRequest, error_response
from zhanye_sdk.api.merchant import EVENTS_PATH, MerchantApi
from zhanye_sdk.errors import ZhanyeError
from zhanye_sdk.signaling.handshake import PROTOCOL as SIGNALING_PROTOCOL

STATIC = Path(__file__).resolve().parent / "static"


def build_kiosk_app(api: MerchantApi) -> web.Application:
    """``/api/desk/*``, the live ``/ws/desk`` event stream, the page and its files.

    Every request, the page and its files included, must name the desk's own host
    (the API's :class:`~zhanye_sdk.api.desk_guard.HostCheck`): a rebound DNS name
    gets nothing."""

    @web.middleware
    async def own_host_only(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        try:
            api.check_host(request.headers.get("Host"))
        except ZhanyeError as exc:
            return _refusal(exc)
        return await handler(request)

    app = web.Application(client_max_size=20 * 1024 * 1024, middlewares=[own_host_only])

    async def rest(request: web.Request) -> web.StreamResponse:
        answer = await api.handle(
            ApiRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=await request.read(),
                client_address=request.remote,
            )
        )
        headers = {
            **answer.headers,
            "Content-Type": answer.content_type,
            "Cache-Control": "no-store",
        }
        if answer.status == 429:
            headers["Retry-After"] = str(answer.json()["error"].get("retry_after_s", 1))
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    sockets: set[web.WebSocketResponse] = set()

    async def events(request: web.Request) -> web.StreamResponse:
        try:
            api.authorize(
                ApiRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    headers=dict(request.headers),
                )
            )
        except (ApiError, ZhanyeError) as exc:
            return _refusal(exc)
        socket = web.WebSocketResponse(heartbeat=20, protocols=(SIGNALING_PROTOCOL,))
        await socket.prepare(request)

        async def forward() -> None:
            async for event in api.events():
                await socket.send_str(json.dumps(event, ensure_ascii=False))

        sockets.add(socket)
        pump = asyncio.create_task(forward())
        try:
            async for _ in socket:  # until the page goes away
                pass
        finally:
            sockets.discard(socket)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        return socket

    async def going_away(_: web.Application) -> None:
        for socket in list(sockets):
            await socket.close(code=1001, message=b"desk restarting")

    app.on_shutdown.append(going_away)

    async def page(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "kiosk.html", headers={"Cache-Control": "no-cache"})

    app.router.add_route("*", "/api/desk/{tail:.*}", rest)
    app.router.add_get(EVENTS_PATH, events)
    app.router.add_get("/", page)
    app.router.add_static("/static", STATIC, append_version=False)
    return app


def _refusal(exc: BaseException) -> web.Response:
    refusal = error_response(exc)
    headers = {"Cache-Control": "no-store"}
    retry = refusal.json()["error"].get("retry_after_s")
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return web.Response(
        status=refusal.status, body=refusal.body, content_type="application/json", headers=headers
    )
