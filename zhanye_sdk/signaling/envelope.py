"""The envelope every signaling frame travels in, whatever it carries.

Client → server::

    {"v": 1, "type": "room.set_audio", "id": "c-17", "data": {"target": "…", "on": false}}

Server → client::

    {"v": 1, "type": "room.audio_changed", "seq": 42, "data": {…}}        # an event
    {"v": 1, "type": "error", "re": "c-17", "data": {"code": "…", "message": "…"}}
    {"v": 1, "type": "ack", "re": "c-17", "data": {}}

An error's ``data`` may also carry ``message_zh``, the same failure in Chinese for pages.

``type`` is ``<area>.<name>`` (areas: ``session``, ``room``, ``media``, ``share``,
``cobrowse``, ``whiteboard``, ``sop``), so one channel carries every capability.
Events of a room carry ``seq``, gap-free and increasing, which a reconnecting client
sends back to resume without a gap or a duplicate. Frames are JSON text, at most
``MAX_FRAME_BYTES``; anything else is a ``ProtocolError`` with a code.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from zhanye_sdk.error_codes import describe
from zhanye_sdk.errors import ProtocolError, ZhanyeError

__all__ = [
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "ClientMessage",
    "ServerMessage",
    "SignalingProtocolError",
    "parse_client_frame",
]

PROTOCOL_VERSION = 1
# Large enough for a co-browse snapshot of a big page; each area limits its own payloads.
MAX_FRAME_BYTES = 4 * 1024 * 1024
_TYPE = re.compile(r"^[a-z]+(\.[a-z_]+)+$")
_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


class SignalingProtocolError(ProtocolError):
    """A frame that breaks the envelope; ``code`` is what the error frame carries."""

    def __init__(self, code: str, message: str, re_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.re_id = re_id


@attrs.frozen
class ClientMessage:
    """A frame from a client."""

    type: str
    data: dict[str, Any]
    id: str | None = None

    @property
    def area(self) -> str:
        """The capability the message belongs to (``room``, ``whiteboard``…)."""
        return self.type.split(".", 1)[0]


@attrs.frozen
class ServerMessage:
    """A frame to a client."""

    type: str
    data: dict[str, Any]
    seq: int | None = None
    re: str | None = None

    def encode(self) -> str:
        """The frame as JSON text."""
        frame: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": self.type}
        if self.seq is not None:
            frame["seq"] = self.seq
        if self.re is not None:
            frame["re"] = self.re
        frame["data"] = self.data
        return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def error(
        cls, code: str, message: str, re_id: str | None = None, *, zh: str | None = None
    ) -> ServerMessage:
        """An error frame answering the client's message ``re_id``.

        ``message`` is English; ``zh``, when given, travels as ``data.message_zh`` for pages.
        """
        data = {"code": code, "message": message}
        if zh:
            data["message_zh"] = zh
        return cls("error", data, re=re_id)

    @classmethod
    def refusal(cls, exc: ZhanyeError, re_id: str | None = None) -> ServerMessage:
        """The error frame of an SDK error, coded like HTTP (``zhanye_sdk.error_codes``)."""
        return cls("error", describe(exc).data(), re=re_id)

    @classmethod
    def decode(cls, text: str) -> ServerMessage:
        """Parse a server frame (clients and tests)."""
        frame = json.loads(text)
        return cls(frame["type"], frame.get("data", {}), frame.get("seq"), frame.get("re"))


def parse_client_frame(frame: str | bytes) -> ClientMessage:
    """Check and parse one client frame.

    Raises:
        SignalingProtocolError: with code ``too_large``, ``not_json``, ``bad_envelope``,
            ``unsupported_version`` or ``bad_type``; nothing else escapes.
    """
    size = len(frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame)
    if size > MAX_FRAME_BYTES:
        raise SignalingProtocolError("too_large", f"frames are at most {MAX_FRAME_BYTES} bytes")
    try:
        value = json.loads(frame)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SignalingProtocolError("not_json", f"frame is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SignalingProtocolError("bad_envelope", "a frame is a JSON object")
    raw_id = value.get("id")
    re_id = raw_id if isinstance(raw_id, str) and _ID.match(raw_id) else None
    if raw_id is not None and re_id is None:
        raise SignalingProtocolError("bad_envelope", "id must be 1–64 letters, digits or _.:-")
    if value.get("v") != PROTOCOL_VERSION:
        raise SignalingProtocolError(
            "unsupported_version", f"this server speaks version {PROTOCOL_VERSION}", re_id
        )
    kind = value.get("type")
    if not isinstance(kind, str) or not _TYPE.match(kind):
        raise SignalingProtocolError("bad_type", "type must look like area.name", re_id)
    data = value.get("data", {})
    if not isinstance(data, dict):
        raise SignalingProtocolError("bad_envelope", "data must be a JSON object", re_id)
    extra = set(value) - {"v", "type", "id", "data"}
    if extra:
        raise SignalingProtocolError("bad_envelope", f"unknown fields {sorted(extra)}", re_id)
    return ClientMessage(type=kind, data=data, id=re_id)
