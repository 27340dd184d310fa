"""The account socket: a staff page learns at once when its login ends.

A page that is not in a session holds no signaling connection, yet must be told the
moment its login ends (kicked out, disabled, deleted, logged out elsewhere, expired)
and why. Each staff page opens one account socket with its login token (in the
handshake, like signaling). Theory of operation:

1. authenticate — a login that has ended already gets ``account.login_ended`` with
   its reason and the socket closes 4403 when the reason can be told (disabled,
   expired; or announced while this socket was being authenticated), else
   ``authentication_failed`` and 4401;
2. send ``account.welcome``;
3. answer ``session.ping`` with ``session.pong``; close after ``idle_timeout_s`` without
   a frame (pages ping);
4. when the login ends — announced by the platform, or its expiry, or found revoked by
   a re-check — send ``account.login_ended`` ``{reason, message, message_zh}`` and
   close with 4403 and the reason.
"""

from __future__ import annotations

import logging

import anyio
import attrs

from zhanye_sdk.errors import ZhanyeError
from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.login_end import LoginsEnded, ended_data
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.signaling.endpoint import (
    CLOSE_REVOKED,
    CLOSE_UNAUTHORIZED,
    MessageTransport,
    SignalingConfig,
)
from zhanye_sdk.signaling.envelope import ServerMessage, SignalingProtocolError, parse_client_frame
from zhanye_sdk.signaling.login_watch import RecentEnds, watch_login
from zhanye_sdk.signaling.transport import close_quietly, send_quietly

__all__ = ["AccountEvents"]

_log = logging.getLogger(__name__)


@attrs.define(eq=False)
class _Watcher:
    principal: Principal
    scope: anyio.CancelScope = attrs.field(factory=anyio.CancelScope)
    reason: str | None = None

    def end(self, reason: str) -> None:
        self.reason = reason
        self.scope.cancel()


def _ended_frame(reason: str) -> str:
    return ServerMessage("account.login_ended", ended_data(reason)).encode()


class AccountEvents:
    """Serves account sockets for the staff pages of one platform."""

    def __init__(self, platform: Platform, config: SignalingConfig | None = None) -> None:
        """``config``: the signaling timings (idle timeout, login re-check) apply here too."""
        self._platform = platform
        self.config = config or SignalingConfig()
        self._watchers: set[_Watcher] = set()
        # Announcements while a socket is between its handshake and its watcher: the
        # socket checks them once it watches.
        self._recent = RecentEnds()
        platform.on_logins_ended(self._logins_ended)

    async def _logins_ended(self, ended: LoginsEnded) -> None:
        self._recent.record(ended)
        for watcher in list(self._watchers):
            if ended.covers(watcher.principal.account_id, watcher.principal.login_id):
                watcher.end(ended.reason)

    def connection_count(self) -> int:
        """Open account sockets (tests, monitoring)."""
        return len(self._watchers)

    async def serve(self, transport: MessageTransport, *, login_token: str | None) -> None:
        """Run one account socket until the page closes it or its login ends."""
        announced = self._recent.mark()
        try:
            principal = await self._platform.auth.authenticate(login_token or "")
        except ZhanyeError as exc:
            reason = await self._platform.auth.end_reason(login_token or "")
            if reason is not None:
                await send_quietly(transport, _ended_frame(reason))
                await close_quietly(transport, CLOSE_REVOKED, reason)
                return
            refusal = ServerMessage.error("authentication_failed", str(exc), zh=exc.zh)
            await send_quietly(transport, refusal.encode())
            await close_quietly(transport, CLOSE_UNAUTHORIZED, "authentication failed")
            return
        watcher = _Watcher(principal)
        self._watchers.add(watcher)
        missed = self._recent.missed(announced, principal.account_id, principal.login_id)
        if missed is not None:
            watcher.end(missed)
        try:
            with watcher.scope:
                await transport.send(
                    ServerMessage("account.welcome", {"account_id": principal.account_id}).encode()
                )
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(self._expiry, watcher)
                    await self._read(transport)
                    tasks.cancel_scope.cancel()
        except Exception as exc:  # a peer that vanished mid-frame ends only its socket
            _log.debug("account socket dropped: %r", exc)
        finally:
            self._watchers.discard(watcher)
            if watcher.reason is not None:
                await send_quietly(transport, _ended_frame(watcher.reason))
                await close_quietly(transport, CLOSE_REVOKED, watcher.reason)
            else:
                await close_quietly(transport, 1000, "closed")

    async def _expiry(self, watcher: _Watcher) -> None:
        now_ms = self._platform.auth.now_ms
        reason = await watch_login(
            self._platform, watcher.principal, now_ms, self.config.login_recheck_s
        )
        watcher.end(reason)

    async def _read(self, transport: MessageTransport) -> None:
        while True:
            with anyio.move_on_after(self.config.idle_timeout_s) as idle:
                frame = await transport.receive()
            if idle.cancelled_caught or frame is None:
                return
            try:
                message = parse_client_frame(frame)
            except SignalingProtocolError as exc:
                await transport.send(ServerMessage.error(exc.code, str(exc), exc.re_id).encode())
                continue
            if message.type == "session.ping":
                await transport.send(ServerMessage("session.pong", {}, re=message.id).encode())
            else:
                await transport.send(
                    ServerMessage.error(
                        "unsupported", "account sockets only answer pings", message.id
                    ).encode()
                )
