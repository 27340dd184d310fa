"""aiohttp over a ``zhanye_sdk.Desk``: its router, its event stream, the page. No rules here."""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from hosts.web.aio import WebSocketTransport, run_alongside
from zhanye_sdk import Desk
from zhanye_sdk.api.http import ApiRequest, ApiResponse, error_response
from zhanye_sdk.errors import ZhanyeError
from zhanye_sdk.signaling.handshake import PROTOCOL as SIGNALING_PROTOCOL

__all__ = ["STATIC", "kiosk_app"]

STATIC = Path(__file__).resolve().parent / "static"
#: Plotly.js as the installed plotly package ships it (the ledger report's chart), served
#: as /vendor/plotly.min.js: pinned with the package, never fetched from a CDN.
PLOTLY_JS = (
    Path(importlib.util.find_spec("plotly").origin or "").parent  # type: ignore[union-attr]
    / "package_data"
    / "plotly.min.js"
)


def _request(request: web.Request, body: bytes = b"") -> ApiRequest:
    return ApiRequest(
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers=dict(request.headers),
        body=body,
        client_address=request.remote,
    )


def _respond(answer: ApiResponse) -> web.Response:
    headers = {**answer.headers, "Content-Type": answer.content_type, "Cache-Control": "no-store"}
    if answer.status == 429:
        headers["Retry-After"] = str(answer.json()["error"].get("retry_after_s", 1))
    return web.Response(status=answer.status, body=answer.body, headers=headers)


def kiosk_app(desk: Desk, *, run: bool = True) -> web.Application:
    """``/api/desk/*``, the live ``/ws/desk`` event stream, the page and its files; the
    desk runs for as long as the application does (``run=False``: it runs elsewhere).

    Every request, the page and its files included, must name the desk's own host: a
    rebound DNS name gets nothing."""

    @web.middleware
    async def own_host_only(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            desk.check_host(request.headers.get("Host"))
        except ZhanyeError as exc:
            return _respond(error_response(exc))
        return await handler(request)

    app = web.Application(client_max_size=Desk.MAX_BODY_BYTES, middlewares=[own_host_only])

    async def rest(request: web.Request) -> web.StreamResponse:
        return _respond(await desk.http(_request(request, await request.read())))

    async def events(request: web.Request) -> web.StreamResponse:
        refusal = desk.authorize_events(_request(request))
        if refusal is not None:
            return _respond(refusal)
        socket = web.WebSocketResponse(heartbeat=20, protocols=(SIGNALING_PROTOCOL,))
        await socket.prepare(request)
        await desk.serve_events(WebSocketTransport(socket, request))
        return socket

    async def going_away(_: web.Application) -> None:
        await desk.close_sockets(1001, "desk restarting")

    async def page(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "kiosk.html", headers={"Cache-Control": "no-cache"})

    app.on_shutdown.append(going_away)
    if run:
        run_alongside(app, desk.running())
    app.router.add_route("*", "/api/desk/{tail:.*}", rest)
    app.router.add_get("/ws/desk", events)
    app.router.add_get("/", page)
    app.router.add_static("/static", STATIC, append_version=False)

    async def plotly(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(PLOTLY_JS, headers={"Cache-Control": "max-age=86400"})

    app.router.add_get("/vendor/plotly.min.js", plotly)
    return app
