"""The signaling endpoint: one WebSocket-like connection per participant.

Framework-free: a host hands over a ``MessageTransport`` (its WebSocket wrapped in
three methods) and the credentials from the URL; ``serve`` runs the connection to
its end. Theory of operation for one connection:

1. authenticate (staff: login token; customer: seat token) — else error + close 4401;
2. subscribe to the room's bus channel *before* reading state, so nothing is lost;
3. send ``session.welcome`` (who you are, the room's snapshot, its sequence number),
   or, when the client resumes from a sequence number, the stored events after it;
4. put the participant in the room (a rejoin when they had been there before);
5. forward the room's events (skipping any already sent) — and, to the host only, the
   messages of the session's staff channel — and answer the client's
   frames: ``session.ping`` → ``session.pong``; ``room.*`` → the room; other areas to
   the handler registered for them; anything malformed → an error frame, no change;
6. when the connection ends without ``room.leave``, the participant leaves after a
   grace period unless they reconnect first. Kick-out closes it at once (4401).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
import attrs
from anyio.abc import TaskGroup

from zhanye_sdk.errors import InvalidInput, PermissionDenied, ZhanyeError
from zhanye_sdk.platform.facade import Platform
from zhanye_sdk.rooms.core import Leave, ParticipantRole, RoomState
from zhanye_sdk.rooms.service import RoomService, Seat
from zhanye_sdk.rooms.wire import command_from_message
from zhanye_sdk.signaling.bus import Bus, staff_channel
from zhanye_sdk.signaling.envelope import (
    ClientMessage,
    ServerMessage,
    SignalingProtocolError,
    parse_client_frame,
)

__all__ = [
    "AreaHandler",
    "CLOSE_IDLE",
    "CLOSE_REVOKED",
    "CLOSE_UNAUTHORIZED",
    "MessageTransport",
    "SignalingConfig",
    "SignalingEndpoint",
]

_log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_REVOKED = 4403
CLOSE_IDLE = 4408
CLOSE_ENDED = 4000


class MessageTransport(Protocol):
    """A message-oriented connection (a WebSocket), as the host provides it."""

    async def receive(self) -> str | bytes | None:
        """The next frame, or None once the peer has closed."""
        ...

    async def send(self, text: str) -> None:
        """Send one text frame."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Close with a WebSocket close code."""
        ...


#: Handles a client message of another area (``whiteboard.*``…) for a seat.
AreaHandler = Callable[[Seat, ClientMessage], Awaitable[list[ServerMessage]]]


@attrs.frozen
class SignalingConfig:
    """Timings of connections."""

    idle_timeout_s: float = 45.0
    leave_grace_s: float = 15.0
    tick_interval_s: float = 5.0


@attrs.define(eq=False)
class _Connection:
    seat: Seat
    transport: MessageTransport
    scope: anyio.CancelScope = attrs.field(factory=anyio.CancelScope)
    close_code: int | None = None
    close_reason: str = ""
    left: bool = False


class SignalingEndpoint:
    """Serves signaling connections for the rooms of one ``RoomService``."""

    def __init__(
        self,
        platform: Platform,
        rooms: RoomService,
        bus: Bus,
        config: SignalingConfig | None = None,
    ) -> None:
        self._platform = platform
        self._rooms = rooms
        self._bus = bus
        self.config = config or SignalingConfig()
        self._areas: dict[str, AreaHandler] = {}
        self._connections: set[_Connection] = set()
        self._tasks: TaskGroup | None = None
        platform.on_logins_revoked(self._revoked)

    def register_area(self, area: str, handler: AreaHandler) -> None:
        """Route client messages of ``area`` (e.g. ``whiteboard``) to ``handler``."""
        self._areas[area] = handler

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Background work: delayed leaves and room ticks. Run it in the host's task group."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            task_status.started()
            try:
                while True:
                    await anyio.sleep(self.config.tick_interval_s)
                    await self._rooms.tick()
            finally:
                self._tasks = None

    # ---- one connection -------------------------------------------------------------

    async def _authenticate(
        self, session_id: str, login_token: str | None, seat_token: str | None
    ) -> Seat:
        if login_token:
            actor = await self._platform.auth.authenticate(login_token)
            return await self._rooms.seat_for_staff(actor, session_id)
        if seat_token:
            return await self._rooms.seat_for_customer(session_id, seat_token)
        raise PermissionDenied("a login token or a seat token is required")

    async def serve(
        self,
        transport: MessageTransport,
        *,
        session_id: str,
        login_token: str | None = None,
        seat_token: str | None = None,
        resume_from: int | None = None,
    ) -> None:
        """Run one connection until either side closes it."""
        try:
            seat = await self._authenticate(session_id, login_token, seat_token)
        except ZhanyeError as exc:
            await transport.send(
                ServerMessage.error("authentication_failed", str(exc), zh=exc.zh).encode()
            )
            await transport.close(CLOSE_UNAUTHORIZED, "authentication failed")
            return
        connection = _Connection(seat, transport)
        self._connections.add(connection)
        try:
            with connection.scope:
                await self._run_connection(connection, resume_from)
        finally:
            self._connections.discard(connection)
            if connection.close_code is not None:
                await _quietly(transport.close(connection.close_code, connection.close_reason))
            if not connection.left:
                self._leave_later(seat)

    async def _run_connection(self, connection: _Connection, resume_from: int | None) -> None:
        seat = connection.seat
        async with self._bus.subscribe(seat.session_id) as events:
            sent_seq = await self._greet(connection, resume_from)
            room = await self._rooms.room(seat.session_id)
            present = seat.participant_id in {p.id for p in room.present}
            if room.state is not RoomState.ENDED and not present:
                await self._rooms.apply(seat.session_id, self._rooms.join_command(seat))
            async with anyio.create_task_group() as tasks:

                async def forward() -> None:
                    nonlocal sent_seq
                    async for message in events:
                        if message.seq is not None:
                            if message.seq <= sent_seq:
                                continue
                            sent_seq = message.seq
                        await connection.transport.send(message.encode())
                    # The bus dropped us (too far behind): the client resumes.
                    connection.close_code, connection.close_reason = 4002, "resync needed"
                    tasks.cancel_scope.cancel()

                tasks.start_soon(forward)
                if seat.role is ParticipantRole.HOST:
                    await tasks.start(self._forward_staff, connection)
                await self._read(connection)
                tasks.cancel_scope.cancel()

    async def _forward_staff(self, connection: _Connection, *, task_status: Any) -> None:
        # Staff-only messages carry no room sequence number: they are sent as they come.
        async with self._bus.subscribe(staff_channel(connection.seat.session_id)) as staff:
            task_status.started()
            async for message in staff:
                await connection.transport.send(message.encode())

    async def _greet(self, connection: _Connection, resume_from: int | None) -> int:
        seat = connection.seat
        seq, room = await self._rooms.snapshot(seat.session_id)
        welcome = {
            "participant_id": seat.participant_id,
            "role": seat.role.value,
            "name": seat.name,
            "session_id": seat.session_id,
            "seq": seq,
            "resumed": resume_from is not None,
            "room": room,
            # Clients ping at this interval: a third of the idle timeout survives a lost ping.
            "heartbeat_s": self.config.idle_timeout_s / 3,
        }
        await connection.transport.send(ServerMessage("session.welcome", welcome).encode())
        if resume_from is None:
            return seq
        sent = resume_from
        for message in await self._rooms.events_since(seat.session_id, resume_from):
            await connection.transport.send(message.encode())
            sent = message.seq or sent
        return max(sent, resume_from)

    async def _read(self, connection: _Connection) -> None:
        while True:
            with anyio.move_on_after(self.config.idle_timeout_s) as idle:
                frame = await connection.transport.receive()
            if idle.cancelled_caught:
                connection.close_code, connection.close_reason = CLOSE_IDLE, "no heartbeat"
                return
            if frame is None:
                return
            for reply in await self._answer(connection, frame):
                await connection.transport.send(reply.encode())
            if connection.left:
                connection.close_code, connection.close_reason = 1000, "left"
                return

    async def _answer(self, connection: _Connection, frame: str | bytes) -> list[ServerMessage]:
        seat = connection.seat
        try:
            message = parse_client_frame(frame)
        except SignalingProtocolError as exc:
            return [ServerMessage.error(exc.code, str(exc), exc.re_id)]
        try:
            if message.type == "session.ping":
                return [ServerMessage("session.pong", {}, re=message.id)]
            if message.area == "room":
                now = self._rooms.now_ms()
                command = command_from_message(message, seat.participant_id, now)
                results = await self._rooms.apply(seat.session_id, command)
                errors = [r for r in results if r.type == "error"]
                if errors:
                    return [attrs.evolve(errors[0], re=message.id)]
                if isinstance(command, Leave):
                    connection.left = True
                return [ServerMessage("ack", {}, re=message.id)]
            handler = self._areas.get(message.area)
            if handler is None:
                return [
                    ServerMessage.error(
                        "unsupported", f"no {message.area!r} messages here", message.id
                    )
                ]
            return await handler(seat, message)
        except InvalidInput as exc:
            return [ServerMessage.error("invalid_message", str(exc), message.id, zh=exc.zh)]
        except ZhanyeError as exc:
            return [ServerMessage.error("refused", str(exc), message.id, zh=exc.zh)]
        except Exception:
            # A bug must not cost the participant their connection; it is logged.
            _log.exception("signaling message %s failed", message.type)
            return [ServerMessage.error("internal_error", "the server failed", message.id)]

    # ---- leaving and kick-out ---------------------------------------------------------------

    def _leave_later(self, seat: Seat) -> None:
        if self._tasks is None:
            return
        self._tasks.start_soon(self._leave_after_grace, seat)

    async def _leave_after_grace(self, seat: Seat) -> None:
        await anyio.sleep(self.config.leave_grace_s)
        if any(c.seat.participant_id == seat.participant_id for c in self._connections):
            return
        room = await self._rooms.room(seat.session_id)
        if seat.participant_id in {p.id for p in room.present}:
            leave = Leave(seat.participant_id, self._rooms.now_ms())
            await self._rooms.apply(seat.session_id, leave)

    async def _revoked(self, account_id: str, reason: str) -> None:
        for connection in list(self._connections):
            if connection.seat.account_id == account_id:
                connection.close_code, connection.close_reason = CLOSE_REVOKED, reason
                connection.scope.cancel()

    def drop(self, session_id: str, participant_id: str, code: int = 4002, reason: str = "") -> int:
        """Close a participant's connections (they reconnect and resume); returns how many."""
        dropped = 0
        for connection in list(self._connections):
            seat = connection.seat
            if seat.session_id == session_id and seat.participant_id == participant_id:
                connection.close_code, connection.close_reason = code, reason or "dropped"
                connection.scope.cancel()
                dropped += 1
        return dropped

    def connection_count(self) -> int:
        """Open connections (tests, monitoring)."""
        return len(self._connections)


async def _quietly(closing: Awaitable[None]) -> None:
    with anyio.CancelScope(shield=True):
        try:
            await closing
        except Exception:  # the peer may be gone already; closing is best effort
            pass
