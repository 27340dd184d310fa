"""A session's lifecycle as typed events, and the one hub that delivers them.

``RoomService`` publishes these after the room's change is stored; every capability
(media, co-browse, whiteboard, SOP, records …) learns that a session started, that
someone came or went, that the shared material changed or that the session ended here,
and only here — never by matching message strings on the bus or polling the store.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import attrs

__all__ = [
    "HostChanged",
    "Lifecycle",
    "LifecycleEvent",
    "LifecycleHandler",
    "ParticipantEntered",
    "ParticipantLeft",
    "SessionEnded",
    "SessionStarted",
    "ShareChanged",
]

_log = logging.getLogger(__name__)


@attrs.frozen
class SessionStarted:
    """The first participant entered: the session is live."""

    session_id: str
    at_ms: int


@attrs.frozen
class ParticipantEntered:
    """A participant entered the room (first time or again: ``rejoined``)."""

    session_id: str
    participant_id: str
    role: str
    at_ms: int
    rejoined: bool = False


@attrs.frozen
class ParticipantLeft:
    """A participant left the room (closed, timed out or removed)."""

    session_id: str
    participant_id: str
    at_ms: int


@attrs.frozen
class ShareChanged:
    """What the room shares changed: ``kind`` is ``None`` when sharing stopped.

    ``kind`` is the shared document's kind (``file``, ``video``, ``blank``);
    ``material_id`` the material shown (``None`` for a blank board), ``page`` its page
    (``None`` for a video), ``name`` the material's name, and ``opened`` tells a newly
    opened document from a page turn.
    """

    session_id: str
    kind: str | None
    material_id: str | None
    at_ms: int
    page: int | None = None
    name: str | None = None
    opened: bool = False


@attrs.frozen
class HostChanged:
    """Another participant now hosts the session."""

    session_id: str
    participant_id: str
    at_ms: int


@attrs.frozen
class SessionEnded:
    """The session ended (any reason); its end is stored and published."""

    session_id: str
    reason: str
    at_ms: int


LifecycleEvent = (
    SessionStarted
    | ParticipantEntered
    | ParticipantLeft
    | ShareChanged
    | HostChanged
    | SessionEnded
)
#: A capability's reaction to a lifecycle event.
LifecycleHandler = Callable[[LifecycleEvent], Awaitable[None]]


class Lifecycle:
    """Delivers each lifecycle event to every subscriber, in subscription order.

    One subscriber's failure is logged and never keeps the event from the others.
    """

    def __init__(self) -> None:
        self._handlers: list[LifecycleHandler] = []

    def subscribe(self, handler: LifecycleHandler) -> None:
        """Call ``handler`` with every event published from now on."""
        self._handlers.append(handler)

    async def publish(self, event: LifecycleEvent) -> None:
        """Deliver ``event`` to every subscriber, one after the other."""
        for handler in list(self._handlers):
            try:
                await handler(event)
            except Exception:
                _log.exception("a lifecycle handler failed on %r", event)
