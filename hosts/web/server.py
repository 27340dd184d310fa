"""aiohttp wiring of the SDK's endpoints and the static pages. No business rules here."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from zhanye_sdk.api import AdminApi, ApiRequest
from zhanye_sdk.platform import Platform

STATIC = Path(__file__).resolve().parent / "static"
MAX_UPLOAD_BYTES = 600 * 1024 * 1024
PAGES = {
    "/": "login.html",
    "/login": "login.html",
    "/admin/accounts": "accounts.html",
    "/admin/organizations": "organizations.html",
}


def build_app(platform: Platform) -> web.Application:
    """The host's application: ``/api/*`` to the SDK, pages and static files."""
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    admin = AdminApi(platform)

    async def api(request: web.Request) -> web.StreamResponse:
        answer = await admin.handle(
            ApiRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=await request.read(),
                client_address=request.remote,
            )
        )
        headers = {"Content-Type": answer.content_type, "Cache-Control": "no-store"}
        headers.update(answer.headers)
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    def page(name: str) -> web.FileResponse:
        return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})

    async def page_handler(request: web.Request) -> web.StreamResponse:
        return page(PAGES[request.path])

    app.router.add_route("*", "/api/{tail:.*}", api)
    for path in PAGES:
        app.router.add_get(path, page_handler)
    app.router.add_static("/static", STATIC, append_version=False)
    return app
