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
   grace period unless they reconnect first.

A staff connection lives no longer than its login: logout, expiry, kick-out, disable,
delete, a password change or reset close it at once (4403, the reason as close
reason, after a ``session.login_ended`` frame saying why in words). Each connection
has token buckets per kind of message; a flood gets ``rate_limited`` errors and
changes nothing, so other participants do not notice it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
import attrs
from anyio.abc import TaskGroup

from zhanye_sdk.errors import PermissionDenied, RateLimited, ZhanyeError
from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.login_end import LoginsEnded, ended_data
from zhanye_sdk.ratelimit import BucketPolicy, TokenBucket
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
from zhanye_sdk.signaling.login_watch import RecentEnds, watch_login
from zhanye_sdk.signaling.owner_watch import OwnerWatch
from zhanye_sdk.signaling.transport import MessageTransport, close_quietly, send_quietly

__all__ = [
    "AreaHandler",
    "AreaRelay",
    "CLOSE_IDLE",
    "CLOSE_REVOKED",
    "CLOSE_UNAUTHORIZED",
    "MessageTransport",
    "SignalingConfig",
    "SignalingEndpoint",
    "resume_point",
]

_log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_REVOKED = 4403
CLOSE_IDLE = 4408
CLOSE_ENDED = 4000


#: How long a socket whose login ended waits for the room to take its leave.
LEAVE_LIMIT_S = 3.0

#: Handles a client message of another area (``whiteboard.*``…) for a seat.
AreaHandler = Callable[[Seat, ClientMessage], Awaitable[list[ServerMessage]]]


class AreaRelay(Protocol):
    """Scale-out: has the room's owner answer a client's area message
    (``cluster.relay.Relay``; the owner runs ``SignalingEndpoint.answer_here``)."""

    async def answer(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        """The owner's replies to ``message`` from ``seat``."""
        ...

    async def owner_tag(self, session_id: str) -> str | None:
        """Which process owns the room, under which fence (None: nobody, for now)."""
        ...

    def holds(self, session_id: str) -> bool:
        """Whether this process owns the room now."""
        ...

    async def connected_elsewhere(self, session_id: str, participant_id: str) -> bool:
        """Whether another live process has a socket of the participant open."""
        ...


@attrs.frozen
class SignalingConfig:
    """Timings of connections."""

    idle_timeout_s: float = 45.0
    leave_grace_s: float = 15.0
    tick_interval_s: float = 5.0
    #: How often a staff connection re-checks its login in the store (a login ended
    #: by another process); this process's own revocations close it at once.
    login_recheck_s: float = 30.0
    #: Scale-out: how often the owner of a room with sockets here is read (once per room
    #: and process, whatever its sockets); a socket whose welcome named another owner
    #: is closed (a socket relayed to an owner that died reconnects).
    owner_check_s: float = 1.0
    #: Scale-out: how long a socket whose room moved waits for the command it is
    #: answering before it closes (the command's outcome, taken or refused by the
    #: database's fence, reaches the client first).
    finish_command_s: float = 10.0
    #: Per connection: room commands (mute, main view…), live ink, other board and
    #: share operations, and every message together.
    room_rate: BucketPolicy = BucketPolicy(rate=10, burst=30)
    ink_rate: BucketPolicy = BucketPolicy(rate=60, burst=120)
    board_rate: BucketPolicy = BucketPolicy(rate=20, burst=60)
    message_rate: BucketPolicy = BucketPolicy(rate=150, burst=400)


@attrs.define(eq=False)
class _Connection:
    seat: Seat
    transport: MessageTransport
    buckets: dict[str, TokenBucket]
    scope: anyio.CancelScope = attrs.field(factory=anyio.CancelScope)
    close_code: int | None = None
    close_reason: str = ""
    #: Scale-out: the room's owner when the welcome was sent (``node:fence``).
    owner: str | None = None
    farewell: ServerMessage | None = None
    left: bool = False
    #: Held while a frame is answered: closing for a moved room waits for it. Taken
    #: without a trip through the loop when free (most frames).
    answering: anyio.Lock = attrs.field(factory=lambda: anyio.Lock(fast_acquire=True))

    @property
    def login_id(self) -> str | None:
        principal = self.seat.principal
        return principal.login_id if principal is not None else None

    def end_login(self, reason: str) -> None:
        """Close at once because the login ended, telling the client why."""
        self.farewell = _login_ended(reason)
        self.close_code, self.close_reason = CLOSE_REVOKED, reason
        self.scope.cancel()


def _login_ended(reason: str) -> ServerMessage:
    return ServerMessage("session.login_ended", ended_data(reason))


def _bucket_of(message: ClientMessage) -> str:
    if message.area == "room":
        return "room"
    if message.type == "whiteboard.ink":
        return "ink"
    if message.area in ("whiteboard", "share"):
        return "board"
    return ""


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
        #: This process's run, in every welcome: a client that finds it changed after
        #: reconnecting talks to another process (or a restarted one) that holds no
        #: media of it, and offers its media again.
        self.instance = secrets.token_hex(8)
        self._relay: AreaRelay | None = None
        #: Scale-out: the rooms' owners, watched once per room for its sockets here.
        self.owner_watch: OwnerWatch | None = None
        self._recent_ends = RecentEnds()
        platform.on_logins_ended(self._logins_ended)

    def use_relay(self, relay: AreaRelay) -> None:
        """Scale-out: area messages (whiteboard, co-browse, media…) of a room another
        process owns are answered there: its state and peers live in its owner."""
        self._relay = relay
        self.owner_watch = OwnerWatch(relay.owner_tag, relay.holds, self.config.owner_check_s)

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
        resume_from: int | str | None = None,
    ) -> None:
        """Run one connection until either side closes it.

        ``resume_from`` is the last sequence number the client saw (``?resume=`` as
        given); one that is malformed or beyond the room's is refused with an
        ``invalid_resume`` error and the client gets a fresh welcome instead.
        """
        announced = self._recent_ends.mark()
        try:
            seat = await self._authenticate(session_id, login_token, seat_token)
        except ZhanyeError as exc:
            # A login that ended says why (kicked out, disabled…), as an open socket is told.
            ended = await self._platform.auth.end_reason(login_token) if login_token else None
            if ended is not None:
                await transport.send(_login_ended(ended).encode())
                await transport.close(CLOSE_REVOKED, ended)
                return
            await transport.send(
                ServerMessage.error("authentication_failed", str(exc), zh=exc.zh).encode()
            )
            await transport.close(CLOSE_UNAUTHORIZED, "authentication failed")
            return
        config = self.config
        buckets = {
            "room": TokenBucket(config.room_rate),
            "ink": TokenBucket(config.ink_rate),
            "board": TokenBucket(config.board_rate),
            "all": TokenBucket(config.message_rate),
        }
        connection = _Connection(seat, transport, buckets)
        self._connections.add(connection)
        if seat.principal is not None:  # ended while it was being authenticated
            missed = self._recent_ends.missed(announced, seat.account_id, connection.login_id)
            if missed is not None:
                connection.end_login(missed)
        try:
            with connection.scope:
                await self._run_connection(connection, resume_from)
        except Exception as exc:
            # A peer that vanishes mid-frame ends its connection, not the host's task.
            if not _is_disconnect(exc):
                raise
            _log.debug("signaling connection dropped: %r", exc)
        finally:
            self._connections.discard(connection)
            if connection.farewell is not None:
                await send_quietly(transport, connection.farewell.encode())
            if connection.close_code is not None:
                await close_quietly(transport, connection.close_code, connection.close_reason)
            if connection.close_code == CLOSE_REVOKED and not connection.left:
                # A login that ended leaves at once: no grace in which its media still flows.
                # Even when this socket's task is cancelled, but not for longer than
                # LEAVE_LIMIT_S: the room's owner may be another process stopping as well
                # (a fleet restart), which never answers; the grace leave is the fallback.
                with anyio.CancelScope(shield=True):
                    with anyio.move_on_after(LEAVE_LIMIT_S) as limit:
                        try:
                            await self._leave_now(seat)
                        except Exception:  # the room may be gone (shutdown)
                            _log.exception("leaving after the login ended failed")
                if limit.cancelled_caught:
                    _log.warning("leaving after the login ended got no answer; leaving later")
                    self._leave_later(seat)
            elif not connection.left:
                self._leave_later(seat)

    async def _run_connection(self, connection: _Connection, resume_from: int | str | None) -> None:
        seat = connection.seat
        async with self._bus.subscribe(seat.session_id) as events:
            sent_seq = await self._greet(connection, resume_from)
            # Refused while the room waits for its host: a customer whose join got there
            # before the host's (the welcome comes before the join, and in a cluster the
            # two joins travel from different processes). They join when it starts.
            waiting = await self._join(seat)
            async with anyio.create_task_group() as tasks:

                async def forward() -> None:
                    nonlocal sent_seq, waiting
                    async for message in events:
                        if waiting and message.type == "room.started":
                            waiting = False
                            tasks.start_soon(self._join, seat)
                        if message.seq is not None:
                            if message.seq <= sent_seq:
                                continue
                            sent_seq = message.seq
                        await connection.transport.send(message.encode())
                    # The bus dropped us (too far behind): the client resumes.
                    connection.close_code, connection.close_reason = 4002, "resync needed"
                    tasks.cancel_scope.cancel()

                tasks.start_soon(forward)
                if self.owner_watch is not None:
                    tasks.start_soon(self._watch_owner, connection)
                if seat.principal is not None and seat.principal.login_id is not None:
                    tasks.start_soon(self._watch_login, connection)
                if seat.role is ParticipantRole.HOST:
                    await tasks.start(self._forward_staff, connection)
                await self._read(connection)
                tasks.cancel_scope.cancel()

    async def _join(self, seat: Seat) -> bool:
        """Put the participant in the room unless they are there (or it ended); True
        when the room refused them because it has not started (no host yet)."""
        room = await self._rooms.room(seat.session_id)
        present = seat.participant_id in {p.id for p in room.present}
        if room.state is RoomState.ENDED or present:
            return False
        results = await self._rooms.apply(seat.session_id, self._rooms.join_command(seat))
        return any(r.type == "error" and r.data.get("code") == "not_started" for r in results)

    async def _watch_owner(self, connection: _Connection) -> None:
        """Scale-out: close the connection once the room's owner is no longer the one
        its welcome named (it died, or lost the room): the client reconnects, the room
        is taken over, and the client offers its media to the new owner."""
        assert self.owner_watch is not None
        await self.owner_watch.moved(connection.seat.session_id, connection.owner)
        connection.close_code, connection.close_reason = 4002, "room moved"
        # A command under way is not cut off: its outcome (stored, or refused by the
        # database because the room moved) is decided and sent before the socket closes.
        with anyio.move_on_after(self.config.finish_command_s):
            async with connection.answering:
                pass
        connection.scope.cancel()

    async def _watch_login(self, connection: _Connection) -> None:
        """End the connection when its login expires, or is found ended by another process."""
        assert connection.seat.principal is not None
        reason = await watch_login(
            self._platform,
            connection.seat.principal,
            self._rooms.now_ms,
            self.config.login_recheck_s,
        )
        connection.end_login(reason)

    async def _forward_staff(self, connection: _Connection, *, task_status: Any) -> None:
        # Staff-only messages carry no room sequence number: they are sent as they come.
        async with self._bus.subscribe(staff_channel(connection.seat.session_id)) as staff:
            task_status.started()
            async for message in staff:
                await connection.transport.send(message.encode())

    async def _greet(self, connection: _Connection, asked: int | str | None) -> int:
        seat = connection.seat
        seq, room = await self._rooms.snapshot(seat.session_id)
        if self._relay is not None:
            # The room's media lives in its owner: the welcome names it (process and
            # fence), so a client whose room moved offers its media to the new owner.
            connection.owner = await self._relay.owner_tag(seat.session_id)
        resume_from = resume_point(asked)
        if asked is not None and (resume_from is None or resume_from > seq):
            refusal = ServerMessage.error(
                "invalid_resume",
                f"cannot resume from {str(asked)[:24]!r}: the room is at {seq}; starting afresh",
            )
            await connection.transport.send(refusal.encode())
            resume_from = None
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
            "instance": connection.owner or self.instance,
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
            async with connection.answering:
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
            self._take(connection, message)
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
            return await self.answer(seat, message)
        except ZhanyeError as exc:
            return [ServerMessage.refusal(exc, message.id)]
        except Exception:
            # A bug must not cost the participant their connection; it is logged.
            _log.exception("signaling message %s failed", message.type)
            return [ServerMessage.error("internal_error", "the server failed", message.id)]

    async def answer(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        """Answer an area message of ``seat`` where its room lives: here, or relayed to
        the room's owner (scale-out); refusals are answered as error frames."""
        if self._relay is not None and message.area in self._areas:
            return await self._relay.answer(seat, message)
        return await self.answer_here(seat, message)

    async def answer_here(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        """Answer an area message in this process (the room's owner); refusals are
        answered as error frames."""
        handler = self._areas.get(message.area)
        if handler is None:
            return [
                ServerMessage.error("unsupported", f"no {message.area!r} messages here", message.id)
            ]
        try:
            return await handler(seat, message)
        except ZhanyeError as exc:
            return [ServerMessage.refusal(exc, message.id)]

    @staticmethod
    def _take(connection: _Connection, message: ClientMessage) -> None:
        """Spend the message's tokens, or refuse it (nothing happens) when out of them."""
        now = anyio.current_time()
        for name in ("all", _bucket_of(message)):
            bucket = connection.buckets.get(name)
            wait = bucket.take(now) if bucket is not None else None
            if wait is not None:
                raise RateLimited(
                    f"too many {message.area} messages; slow down",
                    retry_after_s=round(wait, 3),
                    zh="操作太频繁，请稍后再试",
                )

    # ---- leaving and kick-out ---------------------------------------------------------------

    def _leave_later(self, seat: Seat) -> None:
        if self._tasks is None:
            return
        self._tasks.start_soon(self._leave_after_grace, seat)

    async def _leave_after_grace(self, seat: Seat) -> None:
        await anyio.sleep(self.config.leave_grace_s)
        if self._relay is not None:
            # Scale-out: the client may have come back through another process within
            # the grace; the participant is still there, its leave is that process's
            # to make when that socket drops.
            try:
                if await self._relay.connected_elsewhere(seat.session_id, seat.participant_id):
                    return
            except ZhanyeError as exc:  # Redis away: nobody can be asked; leave as before
                _log.warning("could not ask the other processes before a grace leave: %s", exc)
        await self._leave_now(seat)

    def connected(self, session_id: str, participant_id: str) -> bool:
        """Whether this process has a socket of the participant open in the session."""
        return any(
            c.seat.session_id == session_id and c.seat.participant_id == participant_id
            for c in self._connections
        )

    async def _leave_now(self, seat: Seat) -> None:
        if any(c.seat.participant_id == seat.participant_id for c in self._connections):
            return  # still connected through another socket (another login kept)
        room = await self._rooms.room(seat.session_id)
        if seat.participant_id in {p.id for p in room.present}:
            leave = Leave(seat.participant_id, self._rooms.now_ms())
            await self._rooms.apply(seat.session_id, leave)

    async def _logins_ended(self, ended: LoginsEnded) -> None:
        self._recent_ends.record(ended)
        for connection in list(self._connections):
            if ended.covers(connection.seat.account_id, connection.login_id):
                connection.end_login(ended.reason)

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


def resume_point(asked: int | str | None) -> int | None:
    """A sequence number from ``?resume=``: ASCII digits that fit a stored sequence."""
    if isinstance(asked, int) and not isinstance(asked, bool):
        return asked if 0 <= asked < 2**62 else None
    if isinstance(asked, str) and asked.isascii() and asked.isdigit() and len(asked) <= 18:
        return int(asked)
    return None


def _is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` only says the peer went away (reset, closed mid-frame)."""
    if isinstance(exc, ConnectionError | anyio.BrokenResourceError | anyio.ClosedResourceError):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_disconnect(e) for e in exc.exceptions)
    return type(exc).__name__ in ("ClientConnectionResetError", "WebSocketError")
