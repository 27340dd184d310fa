"""A live session for WebSocket tests: a salesperson's session with one customer seated."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import attrs

from .platform_world import PASSWORD


class Peer:
    """A signaling client that records every frame it receives."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.frames: list[dict[str, Any]] = []
        self._next_id = 0

    async def next(self, kind: str | None = None, *, within_s: float = 5.0) -> dict[str, Any]:
        while True:
            message = await self.socket.receive(timeout=within_s)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"connection ended: {message.type} {message.data!r}")
            frame = json.loads(message.data)
            self.frames.append(frame)
            if kind is None or frame["type"] == kind:
                return frame

    async def send(self, kind: str, data: dict[str, Any] | None = None) -> str:
        self._next_id += 1
        frame_id = f"m{self._next_id}"
        await self.socket.send_str(
            json.dumps({"v": 1, "type": kind, "id": frame_id, "data": data or {}})
        )
        return frame_id

    async def reply_to(self, frame_id: str) -> dict[str, Any]:
        while True:
            frame = await self.next()
            if frame.get("re") == frame_id:
                return frame

    @property
    def last_seq(self) -> int:
        seqs = [f["seq"] for f in self.frames if "seq" in f]
        welcome = [f["data"]["seq"] for f in self.frames if f["type"] == "session.welcome"]
        return max(seqs + welcome)


@attrs.frozen
class LiveSession:
    """What a test needs of a started session with one customer who opened the invite."""

    login: dict[str, Any]
    auth: dict[str, str]
    session_id: str
    invite: dict[str, Any]
    seat: dict[str, Any]
    ws_url: str


async def open_live_session(
    http: aiohttp.ClientSession, base: str, login_name: str, customer_name: str
) -> LiveSession:
    """Log a salesperson in, start a session and seat a customer through the invite link."""
    login = await (
        await http.post(f"{base}/api/login", json={"login": login_name, "password": PASSWORD})
    ).json()
    auth = {"Authorization": f"Bearer {login['token']}"}
    sid = (await (await http.post(f"{base}/api/sessions", json={}, headers=auth)).json())["id"]
    invite = await (await http.post(f"{base}/api/sessions/{sid}/invite-link", headers=auth)).json()
    seat = await (
        await http.post(
            f"{base}/api/invites/{invite['token']}/join",
            json={"name": customer_name, "recording_acknowledged": True},
        )
    ).json()
    ws_url = base.replace("http", "ws") + f"/ws/sessions/{sid}"
    return LiveSession(login, auth, sid, invite, seat, ws_url)


async def connect_both(http: aiohttp.ClientSession, live: LiveSession) -> tuple[Peer, Peer]:
    """Connect the host and the customer, each past their welcome."""
    host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
    await host.next("session.welcome")
    customer = Peer(await http.ws_connect(f"{live.ws_url}?seat={live.seat['seat_token']}"))
    await customer.next("session.welcome")
    return host, customer
