"""Signed room tokens: invite links and customers' seats.

A token is ``<payload>.<signature>``, both base64url: the payload is compact JSON
``{"k": kind, "r": room id, "p": participant id or null, "e": expiry ms}``, the
signature HMAC-SHA256 over the payload with the platform's key (kept in the
database, so every host process verifies every token). Tokens are single-room:
a token for one room never opens another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

import attrs

from zhanye_sdk.errors import PermissionDenied

__all__ = ["InvalidRoomToken", "RoomTokenClaims", "RoomTokens"]


class InvalidRoomToken(PermissionDenied):
    """The token is malformed, forged, expired, or for another room."""


@attrs.frozen
class RoomTokenClaims:
    """What a valid token says."""

    kind: str
    room_id: str
    participant_id: str | None
    expires_ms: int
    #: The login the token was issued under (``Principal.login_id``), if it is bound to one.
    login_id: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@attrs.frozen
class RoomTokens:
    """Makes and checks room tokens with one secret key."""

    key: bytes

    @staticmethod
    def new_key() -> str:
        """A fresh random key, hex-encoded for storage."""
        return secrets.token_hex(32)

    def make(
        self,
        kind: str,
        room_id: str,
        expires_ms: int,
        participant_id: str | None = None,
        *,
        login_id: str | None = None,
    ) -> str:
        """A token of ``kind`` (``invite`` or ``seat``) for one room; ``login_id`` binds
        it to a login, so that it ends with it (the verifier checks the login)."""
        claims: dict[str, Any] = {"k": kind, "r": room_id, "p": participant_id, "e": expires_ms}
        if login_id is not None:
            claims["l"] = login_id
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self.key, payload.encode("ascii"), hashlib.sha256).digest())

    def check(
        self, token: str, kind: str, now_ms: int, room_id: str | None = None
    ) -> RoomTokenClaims:
        """The claims of a valid token of ``kind`` (for ``room_id`` when given).

        Raises:
            InvalidRoomToken: anything else, with one message for every failure.
        """
        refused = InvalidRoomToken(
            "this link is invalid or has expired",
            zh="该链接无效或已过期，请向业务员索取新的邀请链接",
        )
        if (
            not isinstance(token, str)
            or not token.isascii()
            or len(token) > 1024
            or token.count(".") != 1
        ):
            raise refused
        payload, signature = token.split(".")
        try:
            if not hmac.compare_digest(self._sign(payload), signature):
                raise refused
            claims = json.loads(_unb64(payload))
        except (ValueError, UnicodeDecodeError):
            raise refused from None
        if not isinstance(claims, dict):
            raise refused
        parsed = RoomTokenClaims(
            kind=str(claims.get("k")),
            room_id=str(claims.get("r")),
            participant_id=claims.get("p") if isinstance(claims.get("p"), str) else None,
            expires_ms=int(claims.get("e") or 0),
            login_id=claims.get("l") if isinstance(claims.get("l"), str) else None,
        )
        if parsed.kind != kind or parsed.expires_ms <= now_ms:
            raise refused
        if room_id is not None and parsed.room_id != room_id:
            raise refused
        return parsed
