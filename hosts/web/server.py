"""aiohttp over a ``zhanye_sdk.Deployment``: its router, its sockets, the pages. No rules here."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import quote

import attrs
from aiohttp import web

from hosts.web.aio import WebSocketTransport, run_alongside
from hosts.web.bodies import read_body
from hosts.web.delivery import StaticDelivery, StaticFiles, preload_json
from hosts.web.headers import add_security_headers
from zhanye_sdk import Deployment
from zhanye_sdk.api.http import MAX_JSON_BYTES, ApiRequest, ApiResponse, error_response
from zhanye_sdk.cobrowse.embedding import frame_headers
from zhanye_sdk.cobrowse.service import COBROWSE_STATIC
from zhanye_sdk.errors import ZhanyeError
from zhanye_sdk.signaling.handshake import PROTOCOL as SIGNALING_PROTOCOL

__all__ = ["DEMO_H5", "DYNAMIC_PAGES", "PAGES", "STATIC", "web_app"]

STATIC = Path(__file__).resolve().parent / "static"
#: The sample H5 product pages (examples/h5_product) that the demo's links point at.
DEMO_H5 = Path(__file__).resolve().parents[2] / "examples" / "h5_product"
#: Plotly.js as the plotly wheel ships it (监控统计's charts), served as /vendor/plotly.min.js;
#: nothing else of the wheel's data is served.
PLOTLY_JS = (
    Path(importlib.util.find_spec("plotly").origin or "").parent  # type: ignore[union-attr]
    / "package_data"
    / "plotly.min.js"
)
#: The only files served under /vendor.
VENDOR_FILES = {"/vendor/plotly.min.js": PLOTLY_JS}
PAGES = {
    "/": "login.html",
    "/login": "login.html",
    "/admin/accounts": "accounts.html",
    "/admin/organizations": "organizations.html",
    "/records": "records.html",
    "/stats": "stats.html",
    "/admin/materials": "materials.html",
    "/admin/sop": "sop.html",
    "/workbench": "workbench.html",
}
#: Pages whose path carries an id or a token.
DYNAMIC_PAGES = {
    "/sessions/{session_id}": "hall.html",
    "/join/{invite}": "join.html",
    "/j/{invite}": "join.html",
    "/sessions/{session_id}/playback": "playback.html",
    "/records/{session_id}/cobrowse": "cobrowse-replay.html",
    "/records/{session_id}/board": "board-replay.html",
}


def respond(answer: ApiResponse) -> web.StreamResponse:
    """The SDK's answer as an aiohttp response (never cached)."""
    headers = {"Content-Type": answer.content_type, "Cache-Control": "no-store"}
    headers.update(answer.headers)
    if answer.file is not None:
        return web.FileResponse(answer.file, headers=headers)
    return web.Response(status=answer.status, body=answer.body, headers=headers)


def web_app(
    deployment: Deployment, *, static_delivery: StaticDelivery | None = None
) -> web.Application:
    """``/api/*`` and ``/ws/*`` to the deployment, the pages and static files; the
    deployment runs (recovers, then serves) for as long as the application does.

    ``static_delivery``: how pages and static files are compressed and cached.
    """
    # Bodies are read by ``read_body`` within each route's limit; nothing reads more.
    app = web.Application(client_max_size=MAX_JSON_BYTES)
    add_security_headers(app)
    files = StaticFiles(
        {"/static": STATIC, "/sdk/cobrowse": COBROWSE_STATIC},
        static_delivery,
        files=VENDOR_FILES,
    )

    async def api(request: web.Request) -> web.StreamResponse:
        head = ApiRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            client_address=request.remote,
        )
        limit = deployment.body_limit(head.method, head.path)
        try:
            async with read_body(request, limit, lambda: deployment.check_login(head)) as body:
                sdk_request = attrs.evolve(head, body=body.data, body_file=body.file)
                return respond(await deployment.http(sdk_request))
        except ZhanyeError as exc:
            refusal = respond(error_response(exc))
            refusal.force_close()  # whatever of the body is still coming is not wanted
            return refusal

    async def socket(request: web.Request) -> web.StreamResponse:
        limit = deployment.socket_limit(request.path)
        if limit is None:
            raise web.HTTPNotFound()
        ws = web.WebSocketResponse(max_msg_size=limit, protocols=(SIGNALING_PROTOCOL,))
        try:
            await ws.prepare(request)
        except ConnectionResetError:
            return web.Response(status=499)  # the client left during the handshake
        headers, query = dict(request.headers), dict(request.query)
        await deployment.serve_socket(
            WebSocketTransport(ws, request), request.path, headers=headers, query=query
        )
        return ws

    async def going_away(_: web.Application) -> None:
        # Clients reconnect to another process (or this one restarted) and resume.
        await deployment.close_sockets(1001, "server restarting")

    async def static_file(request: web.Request) -> web.StreamResponse:
        return files.respond(request, request.path)

    async def demo_h5(request: web.Request) -> web.StreamResponse:
        # Only the session pages of this origin may frame the demo's H5 product page.
        path = (DEMO_H5 / request.match_info["name"]).resolve()
        if not path.is_relative_to(DEMO_H5) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers=frame_headers())

    app.on_shutdown.append(going_away)
    run_alongside(app, deployment.running())
    app.router.add_route("*", "/api/{tail:.*}", api)
    app.router.add_get("/ws/{tail:.*}", socket)
    for pattern, name in (PAGES | DYNAMIC_PAGES).items():

        async def page(request: web.Request, name: str = name) -> web.StreamResponse:
            response = files.page(request, STATIC / name)
            if name == "join.html":
                # The invite's look-up starts with the page, not after its modules.
                preload_json(response, f"/api/invites/{quote(request.match_info['invite'])}")
            return response

        app.router.add_get(pattern, page)
    # Pages' own files, the co-browse agent and replayer; ``/_v/<version>/…`` versioned.
    for prefix in ("/static", "/sdk/cobrowse", "/vendor", "/_v"):
        app.router.add_get(prefix + "/{tail:.+}", static_file)
    app.router.add_get("/demo/h5/{name}", demo_h5)
    return app
