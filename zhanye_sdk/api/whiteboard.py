"""Shared-document endpoints for a session's participants: page images, the video,
annotated pages (PNG), the annotated document (PDF) and the board's event log.

Staff authenticate with their bearer token and must be able to see the session.
Where a browser element cannot send headers (``<img>``, ``<video>``, a download link)
they pass a view ticket as ``?ticket=`` instead: signed, for one session, read-only,
valid for ``TICKET_TTL_MS`` and while the login it was issued under lasts (logout,
kick-out… end it at once) — never the login token, which URLs would leak into logs
and history. Customers pass their seat token as ``?seat=``. Paths::

    POST /api/sessions/{sid}/board/ticket                          a view ticket (staff)
    GET /api/sessions/{sid}/board                                  the snapshot
    GET /api/sessions/{sid}/board/events                           the op log (staff)
    GET /api/sessions/{sid}/board/documents/{doc}/pages/{n}        the page image
    GET /api/sessions/{sid}/board/documents/{doc}/pages/{n}/annotated.png[?width=]
    GET /api/sessions/{sid}/board/documents/{doc}/annotated.pdf[?width=]
    GET /api/sessions/{sid}/board/documents/{doc}/video            the video file
    GET /api/sessions/{sid}/board/record                           annotated pages stored
                                                                   at the end (staff)
    GET /api/sessions/{sid}/board/record/{doc}/{n}                 one of them, PNG (staff)
"""

from __future__ import annotations

import attrs

from zhanye_sdk.api.group import EndpointGroup
from zhanye_sdk.api.http import ApiError, ApiRequest, ApiResponse, Router
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.whiteboard.service import WhiteboardService
from zhanye_sdk.whiteboard.wire import view_data

__all__ = ["TICKET_TTL_MS", "WhiteboardApi"]

_PREFIX = "/api/sessions/{session_id}/board"
_TICKET = "board-view"
#: How long a view ticket opens a session's page images, video and exports (a long
#: session's video keeps loading with the URL it started with; pages renew at half-life).
TICKET_TTL_MS = 4 * 60 * 60 * 1000


class WhiteboardApi(EndpointGroup):
    """``/api/sessions/{id}/board*``."""

    def __init__(
        self, platform: Platform, rooms: RoomService, whiteboards: WhiteboardService
    ) -> None:
        self.platform = platform
        self.rooms = rooms
        self.whiteboards = whiteboards
        self.router = Router()
        r = self.router.add
        r("POST", f"{_PREFIX}/ticket", self.ticket)
        r("GET", _PREFIX, self.board)
        r("GET", f"{_PREFIX}/events", self.events)
        r("GET", f"{_PREFIX}/documents/{{document}}/pages/{{number}}", self.page)
        r("GET", f"{_PREFIX}/documents/{{document}}/pages/{{number}}/annotated.png", self.png)
        r("GET", f"{_PREFIX}/documents/{{document}}/annotated.pdf", self.pdf)
        r("GET", f"{_PREFIX}/documents/{{document}}/video", self.video)
        r("GET", f"{_PREFIX}/record", self.record)
        r("GET", f"{_PREFIX}/record/{{document}}/{{number}}", self.record_png)

    async def _participant(
        self, request: ApiRequest, session_id: str, *, staff: bool = False
    ) -> None:
        seat = request.query.get("seat")
        if seat and not staff:
            await self.rooms.seat_for_customer(session_id, seat)
            return
        ticket = request.query.get("ticket")
        if ticket and not staff:
            tokens = await self.rooms.tokens()
            claims = tokens.check(ticket, _TICKET, self.rooms.now_ms(), room_id=session_id)
            # A ticket lives no longer than the login it was issued under.
            if claims.login_id is None or not await self.platform.auth.login_is_live(
                claims.login_id
            ):
                raise ApiError(
                    401,
                    "authentication_failed",
                    "the view ticket's login has ended; log in again",
                    zh="登录已失效，请重新登录",
                )
            return
        await self._staff(request, session_id)

    async def _staff(self, request: ApiRequest, session_id: str) -> Principal:
        header = request.header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "authentication_failed", "log in first")
        actor = await self.platform.auth.authenticate(token.strip())
        await self.rooms.get(actor, session_id)
        return actor

    async def ticket(self, request: ApiRequest, session_id: str) -> ApiResponse:
        """A view ticket for the session's board files, for staff who can see it."""
        actor = await self._staff(request, session_id)
        expires_ms = self.rooms.now_ms() + TICKET_TTL_MS
        tokens = await self.rooms.tokens()
        ticket = tokens.make(
            _TICKET,
            session_id,
            expires_ms,
            participant_id=actor.account_id,
            login_id=actor.login_id,
        )
        return ApiResponse.of_json({"ticket": ticket, "expires_in_ms": TICKET_TTL_MS})

    @staticmethod
    def _number(text: str, what: str) -> int:
        if not text.isdigit() or len(text) > 6:
            raise InvalidInput(f"{what} must be a whole number")
        return int(text)

    def _width(self, request: ApiRequest) -> int | None:
        width = request.query.get("width")
        return None if width is None else self._number(width, "width")

    async def board(self, request: ApiRequest, session_id: str) -> ApiResponse:
        await self._participant(request, session_id)
        return ApiResponse.of_json(view_data(await self.whiteboards.snapshot(session_id)))

    async def events(self, request: ApiRequest, session_id: str) -> ApiResponse:
        await self._participant(request, session_id, staff=True)
        events = await self.whiteboards.events(session_id)
        return ApiResponse.of_json({"events": [attrs.asdict(e) for e in events]})

    async def page(
        self, request: ApiRequest, session_id: str, document: str, number: str
    ) -> ApiResponse:
        await self._participant(request, session_id)
        page = self._number(number, "page")
        media = await self.whiteboards.page_image(session_id, document, page)
        return ApiResponse(
            200,
            media.data,
            content_type=media.content_type,
            headers={"Cache-Control": "private, max-age=3600"},
        )

    async def png(
        self, request: ApiRequest, session_id: str, document: str, number: str
    ) -> ApiResponse:
        await self._participant(request, session_id)
        page = self._number(number, "page")
        data = await self.whiteboards.render_png(session_id, document, page, self._width(request))
        return ApiResponse(200, data, content_type="image/png")

    async def pdf(self, request: ApiRequest, session_id: str, document: str) -> ApiResponse:
        await self._participant(request, session_id)
        data = await self.whiteboards.export_pdf(session_id, document, self._width(request))
        return ApiResponse(
            200,
            data,
            content_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{document}.pdf"'},
        )

    async def video(self, request: ApiRequest, session_id: str, document: str) -> ApiResponse:
        await self._participant(request, session_id)
        media = await self.whiteboards.video_file(session_id, document)
        return ApiResponse(200, media.data, content_type=media.content_type, file=media.path)

    async def record(self, request: ApiRequest, session_id: str) -> ApiResponse:
        await self._participant(request, session_id, staff=True)
        pages = await self.whiteboards.annotated_pages(session_id)
        return ApiResponse.of_json(
            {
                "pages": [
                    {
                        **attrs.asdict(p),
                        "url": f"{_PREFIX.format(session_id=session_id)}/record/"
                        f"{p.document}/{p.page}",
                    }
                    for p in pages
                ]
            }
        )

    async def record_png(
        self, request: ApiRequest, session_id: str, document: str, number: str
    ) -> ApiResponse:
        await self._participant(request, session_id, staff=True)
        page = self._number(number, "page")
        data = await self.whiteboards.annotated_png(session_id, document, page)
        return ApiResponse(
            200, data, content_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
        )
