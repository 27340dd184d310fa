"""Session endpoints: start (with the unfinished-session prompt), invite, end, join by invite.

Invite links a customer opens are ``/join/<signed token>`` or the short ``/j/<code>``; both
are accepted wherever an invite is (``/api/invites/{invite}``). Links put into an SMS are
built from the deployment's configured public URL, never from anything in the request: a
forged ``Origin`` or ``Host`` must not turn the official SMS into a pointer elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from zhanye_sdk.api.group import EndpointGroup
from zhanye_sdk.api.http import ApiRequest, ApiResponse, Router, error_response
from zhanye_sdk.devices.sms import SmsGateway
from zhanye_sdk.facade import Platform
from zhanye_sdk.rooms.core import Terminal
from zhanye_sdk.rooms.service import RoomService, UnfinishedSession
from zhanye_sdk.rooms.terminals import terminal_of_browser
from zhanye_sdk.wire import structure, unstructure

__all__ = ["JoinOfferAnswerer", "SessionApi"]

#: Answers a customer's SDP offer sent with their join: ``(session_id, seat_token, sdp)``
#: → the ``media.answer`` data, or None when the page should offer over its socket.
JoinOfferAnswerer = Callable[[str, str, str], Awaitable[dict[str, Any] | None]]


@attrs.frozen
class StartForm:
    project: str | None = None
    terminal: Terminal | None = None  # None: told by the browser (``terminal_of_browser``)
    start_new: bool = False
    touch_points: int = 0
    org_id: str | None = None
    title: str | None = None


@attrs.frozen
class RejoinForm:
    seat_token: str


@attrs.frozen
class SmsInviteForm:
    numbers: list[str]


@attrs.frozen
class JoinForm:
    name: str
    recording_acknowledged: bool
    terminal: Terminal | None = None  # None: told by the browser (``terminal_of_browser``)
    phone: str | None = None
    touch_points: int = 0
    seat_token: str | None = None  # the seat this device had before: the same participant
    #: The page's SDP offer, answered with the seat (one round trip instead of three).
    offer: str | None = None


def _browser_terminal(request: ApiRequest, touch_points: int) -> Terminal:
    """The terminal of the browser that sent the request (a client that knows says so)."""
    return terminal_of_browser(
        request.header("User-Agent"),
        mobile_hint=request.header("Sec-CH-UA-Mobile"),
        platform_hint=request.header("Sec-CH-UA-Platform"),
        touch_points=touch_points,
    )


class SessionApi(EndpointGroup):
    """``/api/sessions/*`` for staff and ``/api/invites/*`` for customers (no account)."""

    def __init__(
        self,
        platform: Platform,
        rooms: RoomService,
        sms_gateway: SmsGateway,
        *,
        public_url: str,
        answer_offer: JoinOfferAnswerer | None = None,
    ) -> None:
        """``public_url``: where customers reach this deployment (``https://host[:port]``);
        ``answer_offer``: the media service's answer to an offer sent with a join."""
        self.platform = platform
        self.answer_offer = answer_offer
        self.rooms = rooms
        self.sms_gateway = sms_gateway
        self.public_url = public_url.rstrip("/")
        self.router = Router()
        r = self.router.add
        r("POST", "/api/sessions", self.start)
        r("GET", "/api/sessions/unfinished", self.unfinished)
        r("GET", "/api/sessions/{session_id}", self.get)
        r("POST", "/api/sessions/{session_id}/invite-link", self.invite_link)
        r("POST", "/api/sessions/{session_id}/sms-invites", self.sms_invites)
        r("POST", "/api/sessions/{session_id}/end", self.end)
        r("GET", "/api/invites/{token}", self.invite)
        r("POST", "/api/invites/{token}/join", self.join)
        r("POST", "/api/invites/{token}/rejoin", self.rejoin)

    async def start(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        form = structure(request.json(), StartForm)
        try:
            summary = await self.rooms.start(
                actor,
                project=form.project,
                terminal=form.terminal or _browser_terminal(request, form.touch_points),
                start_new=form.start_new,
                org_id=form.org_id,
                title=form.title,
            )
        except UnfinishedSession as exc:
            response = error_response(exc)
            body = response.json()
            body["error"].update(
                code="unfinished_session",
                session_id=exc.session_id,
                meeting_number=exc.meeting_number,
            )
            return ApiResponse.of_json(body, 409)
        return ApiResponse.of_json(unstructure(summary), 201)

    async def unfinished(self, request: ApiRequest) -> ApiResponse:
        actor = await self._actor(request)
        summary = await self.rooms.unfinished(actor)
        return ApiResponse.of_json({"session": unstructure(summary) if summary else None})

    async def get(self, request: ApiRequest, session_id: str) -> ApiResponse:
        actor = await self._actor(request)
        return ApiResponse.of_json(unstructure(await self.rooms.get(actor, session_id)))

    async def invite_link(self, request: ApiRequest, session_id: str) -> ApiResponse:
        actor = await self._actor(request)
        token = await self.rooms.invite_token(actor, session_id)
        code = await self.rooms.short_invite(actor, session_id)
        return ApiResponse.of_json(
            {"token": token, "path": f"/join/{token}", "short_path": f"/j/{code}"}
        )

    async def sms_invites(self, request: ApiRequest, session_id: str) -> ApiResponse:
        actor = await self._actor(request)
        form = structure(request.json(), SmsInviteForm)
        code = await self.rooms.short_invite(actor, session_id)
        results = await self.rooms.send_sms_invites(
            actor, session_id, form.numbers, f"{self.public_url}/j/{code}", self.sms_gateway
        )
        return ApiResponse.of_json(
            {"sent": [{"number": r.number, "status": r.status} for r in results]}
        )

    async def end(self, request: ApiRequest, session_id: str) -> ApiResponse:
        actor = await self._actor(request)
        await self.rooms.end(actor, session_id)
        return ApiResponse.of_json(unstructure(await self.rooms.get(actor, session_id)))

    async def invite(self, request: ApiRequest, token: str) -> ApiResponse:
        token = await self.rooms.resolve_invite(token, request.client_address)
        claims = (await self.rooms.tokens()).check(token, "invite", self.rooms.now_ms())
        room = await self.rooms.room(claims.room_id)
        host = room.participants.get(room.host_id)
        return ApiResponse.of_json(
            {
                "meeting_number": room.meeting_number,
                "state": room.state.value,
                "host_name": host.name if host else None,
            }
        )

    async def join(self, request: ApiRequest, token: str) -> ApiResponse:
        form = structure(request.json(), JoinForm)
        token = await self.rooms.resolve_invite(token, request.client_address)
        seat = await self.rooms.join_with_invite(
            token,
            name=form.name,
            recording_acknowledged=form.recording_acknowledged,
            terminal=form.terminal or _browser_terminal(request, form.touch_points),
            phone=form.phone,
            seat_token=form.seat_token,
            client_address=request.client_address,
        )
        body = unstructure(seat)
        if form.offer is not None and self.answer_offer is not None:
            # The customer's media starts with the seat; without an answer (refused, or
            # the room's owner unreachable) the page offers over its socket as before.
            media = await self.answer_offer(seat.session_id, seat.seat_token, form.offer)
            if media is not None:
                body["media"] = media
        return ApiResponse.of_json(body, 201)

    async def rejoin(self, request: ApiRequest, token: str) -> ApiResponse:
        form = structure(request.json(), RejoinForm)
        token = await self.rooms.resolve_invite(token, request.client_address)
        seat = await self.rooms.rejoin_with_invite(token, form.seat_token)
        return ApiResponse.of_json(unstructure(seat))
