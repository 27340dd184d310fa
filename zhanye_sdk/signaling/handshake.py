"""The credentials of a signaling WebSocket's opening handshake.

A browser cannot set headers on a WebSocket, so pages offer their credential as a
subprotocol beside ``PROTOCOL``: ``bearer.<login token>`` for staff, ``seat.<seat
token>`` for customers; the host answers with ``PROTOCOL``. The credential then travels
in a header, never in the URL that access logs and proxies keep. Programs may send
``Authorization: Bearer <login token>`` instead. ``?token=`` and ``?seat=`` in the URL
are still accepted from older clients.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["PROTOCOL", "HandshakeCredentials", "handshake_credentials"]

#: The subprotocol of the signaling envelope; a host selects it in its handshake answer.
PROTOCOL = "zhanye.v1"

_BEARER = "bearer."
_SEAT = "seat."


@attrs.frozen
class HandshakeCredentials:
    """What the client presented: a staff login token or a customer's seat token."""

    login_token: str | None = None
    seat_token: str | None = None


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), "")


def handshake_credentials(
    headers: Mapping[str, str], query: Mapping[str, str]
) -> HandshakeCredentials:
    """The credential of a handshake: subprotocol first, then the Authorization header,
    then the URL's query. Anything else yields no credential (the endpoint refuses)."""
    offered = [p.strip() for p in _header(headers, "Sec-WebSocket-Protocol").split(",")]
    for protocol in offered:
        if protocol.startswith(_BEARER) and len(protocol) > len(_BEARER):
            return HandshakeCredentials(login_token=protocol[len(_BEARER) :])
        if protocol.startswith(_SEAT) and len(protocol) > len(_SEAT):
            return HandshakeCredentials(seat_token=protocol[len(_SEAT) :])
    scheme, _, token = _header(headers, "Authorization").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return HandshakeCredentials(login_token=token.strip())
    return HandshakeCredentials(
        login_token=query.get("token") or None, seat_token=query.get("seat") or None
    )
