"""Relaying a room's work to the process that owns it, over Redis.

Any host process accepts any client's socket and any HTTP request. What must happen in
the room's owner (a room command, a whiteboard op, a WebRTC offer) is sent to it: each
process listens on its own request channel ``<prefix>node:<id>`` (a pub/sub channel, a
namespace apart from the registry's keys) and answers on the asker's channel, the reply
carrying the request's id. The room's events come back the way they reach every
process anyway: ``RedisBus``, with catch-up from the event log.

Who owns a room is its lease (``leases.holder``). ``owner(session_id)`` answers None when
this process holds the lease, or takes it when nobody does (a new room, a room whose
owner died and whose lease ran out — through ``Ownership.ensure``, whatever waiting and
fencing that does); otherwise it names the holder. A request that reaches no listener
(``PUBLISH`` counts them: the holder is dead, its lease not yet expired) is routed again
until the lease runs out and this process takes the room over. A request that reached
the owner is never sent twice (a command is not idempotent): without a reply in time the
caller gets ``RoomUnreachable``, and so it does at once from an owner that stops while
running it. While Redis is away nothing can be sent: the request
waits for it (``timeout_s``) and is sent once it is back.

Requests: ``apply`` (a room command), ``answer`` (a client's area message for a seat),
``take`` (a new room placed on this process), ``ping`` (is the holder alive: a socket
joining a room whose owner died takes it over, ``settle``), ``connected`` (has this
process a socket of a participant open: a participant whose socket dropped on one
process and who came back through another within the grace period does not leave).
Refusals travel back with their code and Chinese text and are raised again as the same
kind of error.
"""

from __future__ import annotations

import json
import logging
import secrets
import typing
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectSendStream
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from zhanye_sdk.cluster.channel import listen
from zhanye_sdk.cluster.leases import Unreachable
from zhanye_sdk.cluster.nodes import NodeRegistry
from zhanye_sdk.cluster.ownership import Ownership
from zhanye_sdk.error_codes import describe
from zhanye_sdk.errors import (
    AccountDisabled,
    AreaRefusal,
    AuthenticationFailed,
    ConflictError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    RoomMoved,
    RoomUnreachable,
    ZhanyeError,
)
from zhanye_sdk.rooms.core import Command
from zhanye_sdk.rooms.service import Seat
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage
from zhanye_sdk.wire import converter

__all__ = ["Relay", "decode_command", "encode_command", "raise_reported"]

_log = logging.getLogger(__name__)
_OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)

_COMMANDS: dict[str, type[Any]] = {kind.__name__: kind for kind in typing.get_args(Command)}

ApplyHere = Callable[[str, Command], Awaitable[list[ServerMessage]]]
AnswerHere = Callable[[Seat, ClientMessage], Awaitable[list[ServerMessage]]]


def encode_command(command: Command) -> dict[str, Any]:
    """A room command as JSON data (its class name beside its fields)."""
    return {"kind": type(command).__name__, "fields": converter.unstructure(command)}


def decode_command(data: dict[str, Any]) -> Command:
    """The command ``encode_command`` made.

    Raises:
        InvalidInput: not a room command.
    """
    kind = _COMMANDS.get(str(data.get("kind")))
    if kind is None:
        raise InvalidInput(f"no room command {data.get('kind')!r}")
    command: Command = converter.structure(data.get("fields"), kind)
    return command


_BY_CODE: dict[str, type[ZhanyeError]] = {
    "account_disabled": AccountDisabled,
    "authentication_failed": AuthenticationFailed,
    "not_found": NotFound,
    "permission_denied": PermissionDenied,
    "conflict": ConflictError,
    "invalid_input": InvalidInput,
    "error": ZhanyeError,
}


def raise_reported(report: dict[str, Any]) -> typing.NoReturn:
    """Raise again, in this process, the refusal the owner reported (``describe(…).data()``)."""
    code = str(report.get("code", "error"))
    message = str(report.get("message", ""))
    zh = report.get("message_zh")
    zh = str(zh) if zh is not None else None
    if code in ("rate_limited", "login_throttled"):
        raise RateLimited(message, retry_after_s=float(report.get("retry_after_s", 1)), zh=zh)
    kind = _BY_CODE.get(code)
    if kind is not None:
        raise kind(message, zh=zh)
    details = {k: v for k, v in report.items() if k not in ("code", "message", "message_zh")}
    raise AreaRefusal(code, message, zh=zh, details=details)


#: How long a stopping process tries to answer the requests it was running.
_LAST_REPLY_S = 1.0


class _RedisAway(RoomUnreachable):
    """Redis could not be reached: nothing was sent (the asker may wait and try again)."""


class Relay:
    """This process's side of relaying: asks owners, and answers as an owner.

    ``bind`` connects what an owner runs (the room service's and the signaling
    endpoint's local paths, made after the relay). ``run`` listens until cancelled.
    ``timeout_s`` bounds the wait for an owner's reply, ``route_s`` the wait for a room
    whose holder is gone to become free.
    """

    def __init__(
        self,
        url: str,
        ownership: Ownership,
        registry: NodeRegistry,
        *,
        prefix: str = "zhanye:",
        timeout_s: float = 15.0,
        route_s: float | None = None,
    ) -> None:
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=None, decode_responses=True
        )
        self._ownership = ownership
        self._registry = registry
        self._prefix = prefix
        self.timeout_s = timeout_s
        self._route_s = route_s if route_s is not None else 2 * ownership.leases.ttl_ms / 1000 + 2
        self._pending: dict[str, MemoryObjectSendStream[dict[str, Any]]] = {}
        self._apply: ApplyHere | None = None
        self._answer: AnswerHere | None = None
        self._sockets: Callable[[str, str], bool] | None = None
        self._listening = anyio.Event()

    @property
    def node(self) -> str:
        """This process's node id."""
        return self._ownership.node

    def channel(self, node: str) -> str:
        """The request channel of ``node``."""
        return f"{self._prefix}node:{node}"

    def bind(self, apply: ApplyHere, answer: AnswerHere) -> None:
        """What this process runs for a room it owns: a command, a client's area message."""
        self._apply, self._answer = apply, answer

    def bind_sockets(self, connected: Callable[[str, str], bool]) -> None:
        """How this process tells whether it has a socket of (session, participant) open."""
        self._sockets = connected

    async def connected_elsewhere(self, session_id: str, participant_id: str) -> bool:
        """Whether another live process (the registry's) has a socket of the participant
        open. Processes that do not answer count as not having one.

        Raises:
            RoomUnreachable: Redis cannot be reached.
        """
        try:
            nodes = [n.node_id for n in await self._registry.nodes() if n.node_id != self.node]
        except _OUTAGE as exc:
            raise _RedisAway(session_id) from exc
        found: list[bool] = []
        away: list[_RedisAway] = []
        body = {"session_id": session_id, "participant_id": participant_id}

        async def ask(node: str) -> None:
            try:
                delivered, result = await self.call(node, "connected", body)
            except _RedisAway as exc:
                away.append(exc)
                return
            except ZhanyeError as exc:
                _log.info("node %s did not say whether it has %s: %s", node, participant_id, exc)
                return
            found.append(bool(delivered and result))

        async with anyio.create_task_group() as tasks:
            for node in nodes:
                tasks.start_soon(ask, node)
        if any(found):
            return True
        if away:
            raise away[0]
        return False

    # ---- routing ------------------------------------------------------------------------

    def holds(self, session_id: str) -> bool:
        """Whether this process holds the room's lease (as far as it knows)."""
        return session_id in self._ownership.owned()

    async def owner(self, session_id: str, *, skip: frozenset[str] = frozenset()) -> str | None:
        """The node to send the room's work to; None: this process (it owns the room now).

        ``skip``: nodes found gone (no listener) — wait for their lease to run out, then
        take the room over.

        Raises:
            RoomUnreachable: Redis cannot be reached, or the room stayed held by a node
                that is gone for longer than a lease lasts.
        """
        with anyio.move_on_after(self._route_s):
            while True:
                if self.holds(session_id):
                    await self._ownership.ensure(session_id)
                    return None
                try:
                    holder = await self._ownership.leases.holder(session_id)
                except Unreachable as exc:
                    raise _RedisAway(session_id) from exc
                if holder is None or holder[0] == self.node:
                    try:
                        await self._ownership.ensure(session_id)
                    except RoomMoved:
                        continue  # another process took it first: ask it
                    return None
                if holder[0] not in skip:
                    return holder[0]
                await anyio.sleep(0.1)  # a dead holder's lease: it runs out by itself
        raise RoomUnreachable(session_id)

    async def on_owner(
        self,
        session_id: str,
        kind: str,
        body: dict[str, Any],
        here: Callable[[], Awaitable[Any]],
    ) -> Any:
        """Run ``here()`` when this process owns the room, else ``kind`` on its owner.

        Raises:
            RoomUnreachable: no owner answered (see ``owner``).
            ZhanyeError: the owner's refusal, raised again here.
        """
        skip: frozenset[str] = frozenset()
        deadline = anyio.current_time() + self.timeout_s
        while True:
            try:
                node = await self.owner(session_id, skip=skip)
                if node is None:
                    return await here()
                delivered, reply = await self.call(node, kind, body)
            except _RedisAway:
                # Redis is away: nothing was sent; wait for it (a while), then give up.
                if anyio.current_time() >= deadline:
                    raise
                await anyio.sleep(0.25)
                continue
            if delivered:
                return reply
            if reply is None:
                skip = skip | {node}  # nobody listens there: the holder is gone

    # ---- asking -------------------------------------------------------------------------

    async def call(self, node: str, kind: str, body: dict[str, Any]) -> tuple[bool, Any]:
        """Send a request to ``node``: (False, None) when no process listened there,
        (False, "moved") when it no longer owns the room (nothing was done), else
        (True, its result).

        Raises:
            RoomUnreachable: no reply within ``timeout_s`` (or Redis is unreachable).
            ZhanyeError: the owner's refusal.
        """
        with anyio.move_on_after(self.timeout_s):
            await self._listening.wait()
        if not self._listening.is_set():
            raise _RedisAway(str(body.get("session_id", "")))
        request_id = secrets.token_hex(8)
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](1)
        self._pending[request_id] = send
        request = {"id": request_id, "from": self.node, "kind": kind, "body": body}
        try:
            try:
                listeners = await self._redis.publish(self.channel(node), json.dumps(request))
            except _OUTAGE as exc:
                raise _RedisAway(str(body.get("session_id", ""))) from exc
            if not listeners:
                return False, None
            with anyio.move_on_after(self.timeout_s):
                reply = await receive.receive()
                if reply.get("moved"):
                    return False, "moved"
                if "error" in reply:
                    raise_reported(reply["error"])
                return True, reply.get("result")
            _log.warning("node %s did not answer %s within %.0f s", node, kind, self.timeout_s)
            raise RoomUnreachable(str(body.get("session_id", "")))
        finally:
            self._pending.pop(request_id, None)
            send.close()
            receive.close()

    async def apply(self, session_id: str, command: Command) -> list[ServerMessage]:
        """A room command, applied by the room's owner (here or there)."""
        assert self._apply is not None, "bind() first"
        apply = self._apply
        result = await self.on_owner(
            session_id,
            "apply",
            {"session_id": session_id, "command": encode_command(command)},
            lambda: apply(session_id, command),
        )
        return _messages(result)

    async def answer(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        """A client's area message for ``seat``, answered by the room's owner."""
        assert self._answer is not None, "bind() first"
        answer = self._answer
        body = {
            "session_id": seat.session_id,
            "seat": converter.unstructure(seat),
            "message": converter.unstructure(message),
        }
        result = await self.on_owner(seat.session_id, "answer", body, lambda: answer(seat, message))
        return _messages(result)

    async def owner_tag(self, session_id: str) -> str | None:
        """``node:fence`` of the room's lease holder; None when nobody holds it.

        Raises:
            RoomUnreachable: Redis cannot be reached.
        """
        try:
            holder = await self._ownership.leases.holder(session_id)
        except Unreachable as exc:
            raise RoomUnreachable(session_id) from exc
        return None if holder is None else f"{holder[0]}:{holder[1]}"

    async def settle(self, session_id: str) -> None:
        """Make sure a live process owns the room: this one takes it over when nobody
        holds it, or when its holder is gone (once the lease runs out).

        Raises:
            RoomUnreachable: see ``owner``.
        """
        node = await self.owner(session_id)
        if node is None:
            return
        delivered, _ = await self.call(node, "ping", {"session_id": session_id})
        if not delivered:
            await self.owner(session_id, skip=frozenset({node}))

    async def place_new(self, session_id: str) -> None:
        """A new room goes to the least-loaded live process that is not draining (this
        one when the registry cannot be read or lists none)."""
        try:
            chosen = await self._registry.least_loaded()
        except _OUTAGE as exc:
            _log.warning("node registry unreachable, session %s stays here: %s", session_id, exc)
            chosen = None
        await self.place(session_id, chosen.node_id if chosen is not None else self.node)

    async def place(self, session_id: str, node: str) -> None:
        """Have ``node`` own a new room (it takes the lease); here when it does not answer."""
        if node != self.node:
            try:
                delivered, _ = await self.call(node, "take", {"session_id": session_id})
            except (RoomUnreachable, ZhanyeError) as exc:
                _log.warning("node %s did not take session %s: %s", node, session_id, exc)
                delivered = False
            if delivered:
                return
        await self._ownership.ensure(session_id)

    # ---- answering ----------------------------------------------------------------------

    async def _serve(self, request: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"id": request.get("id"), "reply": True}
        body = request.get("body") or {}
        try:
            reply["result"] = await self._run(str(request.get("kind")), body)
        except RoomMoved:
            reply["moved"] = True
        except ZhanyeError as exc:
            reply["error"] = describe(exc).data()
        except Exception:
            _log.exception("relayed %s failed", request.get("kind"))
            reply["error"] = describe(ZhanyeError("the owner failed")).data()
        except anyio.get_cancelled_exc_class():
            # This process is stopping: the asker hears it now rather than at its time
            # limit (whether the work was done is not known: the room is unreachable).
            unreachable = RoomUnreachable(str(body.get("session_id", "")))
            reply["error"] = describe(unreachable).data()
            with anyio.CancelScope(shield=True), anyio.move_on_after(_LAST_REPLY_S):
                await self._reply(request, reply)
            raise
        await self._reply(request, reply)

    async def _reply(self, request: dict[str, Any], reply: dict[str, Any]) -> None:
        try:
            await self._redis.publish(self.channel(str(request.get("from"))), json.dumps(reply))
        except _OUTAGE as exc:
            _log.warning("reply to %s lost: %s", request.get("from"), exc)

    async def _run(self, kind: str, body: dict[str, Any]) -> Any:
        session_id = str(body.get("session_id"))
        if kind == "ping":
            return None  # alive (a room that moved meanwhile: the asker routes again)
        if kind == "connected":
            sockets = self._sockets
            return sockets is not None and sockets(session_id, str(body.get("participant_id")))
        if kind == "take":
            await self._ownership.ensure(session_id)
            return None
        # Only as the owner: a room that moved meanwhile is refused (the asker routes
        # again), never relayed on from here.
        if not self.holds(session_id):
            raise RoomMoved(session_id)
        await self._ownership.ensure(session_id)
        if kind == "apply":
            assert self._apply is not None
            messages = await self._apply(session_id, decode_command(body["command"]))
        elif kind == "answer":
            assert self._answer is not None
            seat = converter.structure(body["seat"], Seat)
            message = converter.structure(body["message"], ClientMessage)
            messages = await self._answer(seat, message)
        else:
            raise InvalidInput(f"no relayed request {kind!r}")
        return [m.encode() for m in messages]

    def _deliver(self, reply: dict[str, Any]) -> None:
        waiting = self._pending.get(str(reply.get("id")))
        if waiting is not None:
            try:
                waiting.send_nowait(reply)
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass  # the asker gave up

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on this process's channel until cancelled (reconnecting after an outage)."""
        async with anyio.create_task_group() as tasks:

            async def handle(raw: Any) -> None:
                try:
                    data = json.loads(raw)
                except (TypeError, ValueError):
                    return
                if not isinstance(data, dict):
                    return
                if data.get("reply"):
                    self._deliver(data)
                else:
                    tasks.start_soon(self._serve, data)

            await listen(
                self._redis,
                self.channel(self.node),
                handle,
                name="relay",
                subscribed=self._listening.set,
                task_status=task_status,
            )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


def _messages(result: Any) -> list[ServerMessage]:
    if isinstance(result, list):
        return [m if isinstance(m, ServerMessage) else ServerMessage.decode(m) for m in result]
    return []
