"""aiohttp wiring of the SDK's endpoints and the static pages. No business rules here."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
from aiohttp import WSMsgType, web

from hosts.web.bodies import read_body
from hosts.web.delivery import StaticDelivery, StaticFiles
from hosts.web.headers import add_security_headers
from zhanye_sdk import Platform
from zhanye_sdk.api import AdminApi, ApiRequest, ApiResponse
from zhanye_sdk.api.cobrowse import CobrowseApi
from zhanye_sdk.api.http import MAX_JSON_BYTES, bearer_token, error_response
from zhanye_sdk.api.materials import MaterialApi
from zhanye_sdk.api.recordings import RecordingApi
from zhanye_sdk.api.records import RecordApi
from zhanye_sdk.api.sessions import SessionApi
from zhanye_sdk.api.sop import SopApi
from zhanye_sdk.api.stats import StatsApi
from zhanye_sdk.api.whiteboard import WhiteboardApi
from zhanye_sdk.cobrowse.embedding import frame_headers
from zhanye_sdk.cobrowse.service import COBROWSE_STATIC, CobrowseService
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.devices.sms import SmsGateway
from zhanye_sdk.errors import ZhanyeError
from zhanye_sdk.media.records import MediaRecords
from zhanye_sdk.media.service import MediaConfig, MediaService
from zhanye_sdk.records import RecordExports, RecordService
from zhanye_sdk.rooms.service import RoomService, SessionConfig
from zhanye_sdk.signaling.account_events import AccountEvents
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.signaling.endpoint import SignalingConfig, SignalingEndpoint
from zhanye_sdk.signaling.envelope import MAX_FRAME_BYTES
from zhanye_sdk.signaling.handshake import PROTOCOL as SIGNALING_PROTOCOL
from zhanye_sdk.signaling.handshake import handshake_credentials
from zhanye_sdk.sop.live import SopLiveConfig, SopLiveService
from zhanye_sdk.whiteboard.service import WhiteboardService

STATIC = Path(__file__).resolve().parent / "static"
#: The sample H5 product pages (examples/h5_product) that the demo's links point at.
DEMO_H5 = Path(__file__).resolve().parents[2] / "examples" / "h5_product"
#: Where customers reach the host when no public URL is configured: ``python -m hosts.web``'s
#: default address.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"
#: Plotly.js as the plotly wheel ships it (监控统计's charts), served as /vendor/plotly.min.js.
#: Found without importing plotly's Python side (heavy, and not needed here).
VENDOR = Path(importlib.util.find_spec("plotly").origin or "").parent / "package_data"  # type: ignore[union-attr]
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

ROOMS = web.AppKey("rooms", RoomService)
SIGNALING = web.AppKey("signaling", SignalingEndpoint)
SMS = web.AppKey("sms", Any)
COBROWSE = web.AppKey("cobrowse", CobrowseService)
MEDIA = web.AppKey("media", MediaService)
WHITEBOARDS = web.AppKey("whiteboards", WhiteboardService)
SOP_LIVE = web.AppKey("sop_live", SopLiveService)
ACCOUNT_EVENTS = web.AppKey("account_events", AccountEvents)


class WebSocketTransport:
    """An aiohttp WebSocket as the SDK's ``MessageTransport``."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self.socket = socket

    async def receive(self) -> str | bytes | None:
        message = await self.socket.receive()
        if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            return message.data  # type: ignore[no-any-return]
        return None

    async def send(self, text: str) -> None:
        await self.socket.send_str(text)

    async def close(self, code: int, reason: str) -> None:
        await self.socket.close(code=code, message=reason.encode())


async def _prepared(socket: web.WebSocketResponse, request: web.Request) -> bool:
    """Answer the upgrade; False when the client is already gone (nothing to serve)."""
    try:
        await socket.prepare(request)
    except ConnectionResetError:
        return False
    return True


def build_app(
    platform: Platform,
    *,
    sms_gateway: SmsGateway | None = None,
    session_config: SessionConfig | None = None,
    signaling_config: SignalingConfig | None = None,
    media_config: MediaConfig | None = None,
    sop_config: SopLiveConfig | None = None,
    public_url: str | None = None,
    static_delivery: StaticDelivery | None = None,
) -> web.Application:
    """The host's application: ``/api/*`` and ``/ws/*`` to the SDK, pages and static files.

    ``public_url`` is where customers reach this host (SMS invitations link there);
    ``static_delivery`` how pages and static files are compressed and cached.
    """
    # Bodies are read by ``read_body`` within each route's limit; nothing reads more.
    app = web.Application(client_max_size=MAX_JSON_BYTES)
    add_security_headers(app)
    files = StaticFiles(
        {"/static": STATIC, "/sdk/cobrowse": COBROWSE_STATIC, "/vendor": VENDOR}, static_delivery
    )
    bus = LocalBus()
    rooms = RoomService(platform, bus, session_config)
    signaling = SignalingEndpoint(platform, rooms, bus, signaling_config)
    cobrowse = CobrowseService(platform, rooms, bus)
    signaling.register_area("cobrowse", cobrowse.handle)
    app[COBROWSE] = cobrowse
    cobrowse_api = CobrowseApi(platform, rooms, cobrowse)
    gateway = sms_gateway if sms_gateway is not None else LoggingSmsGateway(signature="智慧展业")
    app[ROOMS], app[SIGNALING], app[SMS] = rooms, signaling, gateway
    media = MediaService(rooms, bus, media_config, database=platform.database)
    signaling.register_area("media", media.handle)
    app[MEDIA] = media
    recording_api = RecordingApi(
        platform, rooms, MediaRecords(platform.database), progress=media.processing_progress
    )
    whiteboards = WhiteboardService(platform, rooms, bus)
    signaling.register_area("whiteboard", whiteboards.handle)
    signaling.register_area("share", whiteboards.handle)
    sop_live = SopLiveService(
        platform, bus, rooms=rooms, whiteboards=whiteboards, config=sop_config, audio=media
    )
    signaling.register_area("sop", sop_live.handle)
    app[SOP_LIVE] = sop_live
    app[WHITEBOARDS] = whiteboards
    whiteboard_api = WhiteboardApi(platform, rooms, whiteboards)
    admin = AdminApi(platform)
    session_api = SessionApi(platform, rooms, gateway, public_url=public_url or DEFAULT_PUBLIC_URL)
    records = RecordService(platform, rooms)
    exports = RecordExports(records, platform.clock)
    record_api = RecordApi(platform, records, exports)
    material_api = MaterialApi(platform)
    sop_api = SopApi(platform)

    groups = (
        whiteboard_api,
        cobrowse_api,
        session_api,
        record_api,
        StatsApi(platform),
        recording_api,
        material_api,
        sop_api,
    )

    async def api(request: web.Request) -> web.StreamResponse:
        head = ApiRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            client_address=request.remote,
        )
        limits = (group.body_limit(head.method, head.path) for group in groups)
        limit = next((lim for lim in limits if lim is not None), None)
        limit = limit or admin.router.body_limit(head.method, head.path)

        async def check_login() -> None:
            await platform.auth.authenticate(bearer_token(head))

        try:
            async with read_body(request, limit, check_login) as body:
                sdk_request = attrs.evolve(head, body=body.data, body_file=body.file)
                return await answer(sdk_request)
        except ZhanyeError as exc:
            refusal = respond(error_response(exc))
            refusal.force_close()  # whatever of the body is still coming is not wanted
            return refusal

    async def answer(sdk_request: ApiRequest) -> web.StreamResponse:
        response: ApiResponse | None = None
        # The first endpoint group that owns the path answers; the admin API takes the rest.
        for endpoints in groups:
            response = await endpoints.handle(sdk_request)
            if response is not None:
                break
        if response is None:
            response = await admin.handle(sdk_request)
        return respond(response)

    def respond(answer: ApiResponse) -> web.StreamResponse:
        headers = {"Content-Type": answer.content_type, "Cache-Control": "no-store"}
        headers.update(answer.headers)
        if answer.file is not None:
            return web.FileResponse(answer.file, headers=headers)
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    sockets: set[web.WebSocketResponse] = set()

    async def websocket(request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(
            max_msg_size=MAX_FRAME_BYTES + 1024, protocols=(SIGNALING_PROTOCOL,)
        )
        if not await _prepared(socket, request):
            return web.Response(status=499)  # the client left during the handshake
        credentials = handshake_credentials(request.headers, request.query)
        sockets.add(socket)
        try:
            await signaling.serve(
                WebSocketTransport(socket),
                session_id=request.match_info["session_id"],
                login_token=credentials.login_token,
                seat_token=credentials.seat_token,
                resume_from=request.query.get("resume"),
            )
        finally:
            sockets.discard(socket)
        return socket

    account_events = AccountEvents(platform, signaling.config)
    app[ACCOUNT_EVENTS] = account_events

    async def account_socket(request: web.Request) -> web.StreamResponse:
        # Staff pages learn here, at once, that their login ended (kicked out, disabled…).
        socket = web.WebSocketResponse(max_msg_size=4096, protocols=(SIGNALING_PROTOCOL,))
        if not await _prepared(socket, request):
            return web.Response(status=499)  # the client left during the handshake
        credentials = handshake_credentials(request.headers, {})
        sockets.add(socket)
        try:
            await account_events.serve(
                WebSocketTransport(socket), login_token=credentials.login_token
            )
        finally:
            sockets.discard(socket)
        return socket

    async def going_away(_: web.Application) -> None:
        # Clients reconnect to another process (or this one restarted) and resume.
        for socket in list(sockets):
            await socket.close(code=1001, message=b"server restarting")

    app.on_shutdown.append(going_away)

    async def page_handler(request: web.Request) -> web.StreamResponse:
        return files.page(request, STATIC / PAGES[request.path])

    async def static_file(request: web.Request) -> web.StreamResponse:
        return files.respond(request, request.path)

    async def background(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(signaling.run())
        export_task = asyncio.create_task(exports.run())
        sop_task = asyncio.create_task(sop_live.run())
        await media.finalise_interrupted()  # before serving: no session records meanwhile
        media_task = asyncio.create_task(media.run(finalise=False))
        board_task = asyncio.create_task(whiteboards.run())
        yield
        for running in (task, export_task, media_task, sop_task, board_task):
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running

    app.cleanup_ctx.append(background)
    app.router.add_route("*", "/api/{tail:.*}", api)
    app.router.add_get("/ws/sessions/{session_id}", websocket)
    app.router.add_get("/ws/account", account_socket)
    for path in PAGES:
        app.router.add_get(path, page_handler)
    for pattern, name in DYNAMIC_PAGES.items():

        async def dynamic_page(request: web.Request, name: str = name) -> web.StreamResponse:
            return files.page(request, STATIC / name)

        app.router.add_get(pattern, dynamic_page)
    # Pages' own files, and the co-browse agent (for H5 pages) and replayer (for the mirror)
    # served from the SDK; ``/_v/<version>/…`` are their versioned, immutable URLs.
    for prefix in ("/static", "/sdk/cobrowse", "/vendor", "/_v"):
        app.router.add_get(prefix + "/{tail:.+}", static_file)

    # The demo H5 product page the demo data's link materials point at; only the session
    # pages of this origin may frame it.
    async def demo_h5(request: web.Request) -> web.StreamResponse:
        path = (DEMO_H5 / request.match_info["name"]).resolve()
        if not path.is_relative_to(DEMO_H5) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers=frame_headers())

    app.router.add_get("/demo/h5/{name}", demo_h5)
    return app
