"""Opening an invite link as a customer: the seat and the signaling URL it grants.

An invite URL looks like ``http(s)://HOST[:PORT]/join/<invite-token>`` (the copied link)
or ``http(s)://HOST[:PORT]/j/<code>`` (the short link of an SMS invitation).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp
import attrs

from zhanye_sdk.errors import InvalidInput, ProtocolError

__all__ = ["SeatGrant", "open_invite"]


@attrs.frozen
class SeatGrant:
    """A customer's seat: where to connect and as whom."""

    session_id: str
    participant_id: str
    meeting_number: str
    ws_url: str


async def open_invite(
    invite_url: str, *, name: str, terminal: str = "app", phone: str | None = None
) -> SeatGrant:
    """Join through an invite link (acknowledging the recording notice) and return the seat.

    ``terminal`` is what the record shows the customer joined from: a program built on
    this SDK is the APP terminal (APP（SDK 集成）) unless it says otherwise.

    Raises:
        InvalidInput: the URL is not an invite link.
        ProtocolError: the server refused the invite (its message is included).
    """
    parts = urlsplit(invite_url)
    path = parts.path.rstrip("/").split("/")
    if parts.scheme not in ("http", "https") or len(path) < 2 or path[-2] not in ("join", "j"):
        raise InvalidInput(f"expected an invite link like http://host/join/TOKEN, got {invite_url}")
    token = path[-1]
    base = f"{parts.scheme}://{parts.netloc}"
    body = {"name": name, "recording_acknowledged": True, "terminal": terminal}
    if phone:
        body["phone"] = phone
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{base}/api/invites/{token}/join", json=body)
        seat = await response.json()
    if not 200 <= response.status < 300 or "seat_token" not in seat:
        raise ProtocolError(f"the invite was refused: {seat.get('message', seat)}")
    scheme = "wss" if parts.scheme == "https" else "ws"
    ws_url = f"{scheme}://{parts.netloc}/ws/sessions/{seat['session_id']}?seat={seat['seat_token']}"
    return SeatGrant(seat["session_id"], seat["participant_id"], seat["meeting_number"], ws_url)
