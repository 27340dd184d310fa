"""One deployment of the selling platform, assembled from one config.

    config = DeploymentConfig(database_url="postgresql://…", public_url="https://zy.example.com")
    async with Deployment.open(config) as deployment:
        response = await deployment.http(request)            # every /api/* request
        await deployment.serve_socket(transport, path, headers=…, query=…)  # /ws/*

A web framework mounts exactly two things: the HTTP router (``body_limit`` tells it what
a route accepts before it reads the body, ``http`` answers) and the WebSocket entry
(``socket_limit`` tells it the largest frame before it upgrades, ``serve_socket`` runs
the connection). Pages and static files are the host's.

What the deployment is made of is the list in ``Deployment._capabilities``: one line
per capability (``zhanye_sdk.capability``). Assembly merges their HTTP routes into one
router (a second handler for the same method and pattern is refused), registers their
signaling areas, and subscribes each to the lifecycle hub; ``running()`` awaits every
``recover()`` and then runs every ``run()`` in one task group.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import attrs

from zhanye_sdk.api.admin import AdminCapability
from zhanye_sdk.api.http import (
    ApiRequest,
    ApiResponse,
    BodyLimit,
    DuplicateRoute,
    Router,
    bearer_token,
    error_response,
)
from zhanye_sdk.capability import Capability
from zhanye_sdk.clock import Clock
from zhanye_sdk.cluster.capability import ClusterCapability
from zhanye_sdk.cluster.exports import SharedExports
from zhanye_sdk.cluster.setup import Cluster, ClusterConfig
from zhanye_sdk.cobrowse.capability import CobrowseCapability
from zhanye_sdk.cobrowse.service import CobrowseService
from zhanye_sdk.devices.capability import SmsCapability
from zhanye_sdk.devices.gateway import GatewayConfig, LoggingSmsGateway, ModemSmsGateway
from zhanye_sdk.devices.modem import Modem
from zhanye_sdk.devices.sms import SmsGateway
from zhanye_sdk.errors import ZhanyeError
from zhanye_sdk.facade import Platform
from zhanye_sdk.lifecycle import Lifecycle
from zhanye_sdk.materials.capability import MaterialsCapability
from zhanye_sdk.materials.storage import MaterialStorage
from zhanye_sdk.media.capability import MediaCapability, RecordingsCapability
from zhanye_sdk.media.ice import IcePolicy
from zhanye_sdk.media.recorder import RecordingConfig
from zhanye_sdk.media.service import MediaConfig, MediaService
from zhanye_sdk.platform.config import PlatformConfig
from zhanye_sdk.records.capability import RecordsCapability, StatsCapability
from zhanye_sdk.records.jobs import RecordExports
from zhanye_sdk.records.service import RecordService
from zhanye_sdk.rooms.capability import RoomsCapability
from zhanye_sdk.rooms.service import RoomService, SessionConfig
from zhanye_sdk.signaling.account_events import AccountEvents
from zhanye_sdk.signaling.bus import Bus, LocalBus
from zhanye_sdk.signaling.endpoint import SignalingConfig, SignalingEndpoint
from zhanye_sdk.signaling.envelope import MAX_FRAME_BYTES, ClientMessage
from zhanye_sdk.signaling.handshake import handshake_credentials
from zhanye_sdk.signaling.transport import MessageTransport, close_all, close_quietly
from zhanye_sdk.sop.capability import SopCapability
from zhanye_sdk.sop.live import SopLiveConfig, SopLiveService
from zhanye_sdk.sop.speech import Recogniser
from zhanye_sdk.whiteboard.capability import WhiteboardCapability
from zhanye_sdk.whiteboard.service import WhiteboardService

__all__ = ["CLOSE_NO_SUCH_SOCKET", "Deployment", "DeploymentConfig"]

_log = logging.getLogger(__name__)

#: A WebSocket path the deployment does not serve.
CLOSE_NO_SUCH_SOCKET = 4404
_SESSION_SOCKET = "/ws/sessions/"
_ACCOUNT_SOCKET = "/ws/account"
#: An account socket only carries pings.
_ACCOUNT_FRAME_BYTES = 4096


@attrs.frozen
class DeploymentConfig:
    """Everything one deployment is made of, in one place.

    Attributes:
        database_url: the platform's database (``sqlite:///…``, ``postgresql://…``).
        public_url: where customers reach the deployment (SMS invitations link there).
        bus: makes the message bus rooms publish on (``LocalBus`` for one process; a
            scale-out bus for several).
        clock: the time every service reads (tests pass a ``ManualClock``).
        platform: login, password and throttling rules.
        material_storage: where materials are kept (default: the local material folder).
        sessions: room rules (capacity, invite lifetimes…).
        signaling: connection timings and rate limits.
        media: mixing, bitrates, STUN/TURN, the video filter.
        ice: the local addresses WebRTC offers (overrides ``media``'s).
        recordings: the folder sessions are recorded to (overrides ``media.recording``).
        recording_segment_s: the length of one recording segment (with ``recordings``).
        sop: the SOP assistant's settings.
        asr: builds a session's speech recogniser from its phrases (overrides ``sop``'s).
        sms_gateway: sends SMS invitations; default: ``modem_url``'s desk phone, else a
            gateway that only logs.
        modem_url: the GSM desk phone (serial device or pyserial URL) to send SMS through.
        sms_outbox: the desk phone's outbox (SMS queued across restarts).
        sms_signature: what every SMS is signed with.
        cluster: scale-out (several host processes on PostgreSQL + Redis): the Redis
            URL and this process's addresses; replaces ``bus``. None: one process.
    """

    database_url: str = "sqlite:///var/zhanye.db"
    public_url: str = "http://127.0.0.1:8080"
    bus: Callable[[], Bus] = LocalBus
    clock: Clock | None = None
    platform: PlatformConfig | None = None
    material_storage: MaterialStorage | None = None
    sessions: SessionConfig | None = None
    signaling: SignalingConfig | None = None
    media: MediaConfig = MediaConfig()
    ice: IcePolicy | None = None
    recordings: Path | None = None
    recording_segment_s: float = 60.0
    sop: SopLiveConfig = SopLiveConfig()
    asr: Callable[[Sequence[str]], Recogniser] | None = None
    sms_gateway: SmsGateway | None = None
    modem_url: str | None = None
    sms_outbox: Path = Path("var/sms-outbox.db")
    sms_signature: str = "智慧展业"
    cluster: ClusterConfig | None = None

    def media_config(self) -> MediaConfig:
        """``media`` with the ICE addresses and the recordings folder applied."""
        media = self.media
        if self.ice is not None:
            media = attrs.evolve(
                media,
                ice_host_addresses=self.ice.host_addresses,
                loopback_only=self.ice.loopback_only,
            )
        if self.recordings is not None:
            recording = RecordingConfig(self.recordings, segment_s=self.recording_segment_s)
            media = attrs.evolve(media, recording=recording)
        return media

    def sop_config(self) -> SopLiveConfig:
        """``sop`` with the speech recogniser applied."""
        if self.asr is None:
            return self.sop
        return attrs.evolve(self.sop, recogniser=self.asr)


class Deployment:
    """The platform and every capability of one deployment, behind one router and one
    socket entry. Build it with ``Deployment.open`` (or over an open platform with the
    constructor and ``running()``)."""

    def __init__(self, config: DeploymentConfig, platform: Platform) -> None:
        """Assemble (no I/O): services, capabilities, the merged router, signaling areas.

        Raises:
            DuplicateRoute: two capabilities claim the same method and path pattern.
        """
        self.config = config
        self.platform = platform
        self.cluster = Cluster.build(config.cluster, platform.database) if config.cluster else None
        self.bus: Bus = self.cluster.bus if self.cluster else config.bus()
        self.lifecycle = Lifecycle()
        self.rooms = RoomService(
            platform,
            self.bus,
            config.sessions,
            self.lifecycle,
            limiter=self.cluster.limiter if self.cluster else None,
            guard=self.cluster.ownership if self.cluster else None,
        )
        if self.cluster is not None:
            self.cluster.ownership.bind(
                self.rooms.adopt, self.rooms.forget, self._recover_room, self._lose_room
            )
            self.cluster.bus.read_gaps_from(self.rooms.events_since)
        self.signaling = SignalingEndpoint(platform, self.rooms, self.bus, config.signaling)
        if self.cluster is not None:
            # Any process serves any client: a room's work runs in its owner.
            self.cluster.relay.bind(self.rooms.apply_here, self.signaling.answer_here)
            self.rooms.use_relay(self.cluster.relay)
            self.signaling.use_relay(self.cluster.relay)
            self.cluster.relay.bind_sockets(self.signaling.connected)
            self.cluster.logins.attach(platform)
            platform.share_limits(self.cluster.limiter)
        self.account_events = AccountEvents(platform, self.signaling.config)
        self._modem: Modem | None = None
        self.sms_gateway = self._gateway()
        self.cobrowse = CobrowseService(platform, self.rooms, self.bus)
        self.media = MediaService(
            self.rooms, self.bus, config.media_config(), database=platform.database
        )
        self.whiteboards = WhiteboardService(platform, self.rooms, self.bus)
        self.sop_live = SopLiveService(
            platform,
            self.bus,
            rooms=self.rooms,
            whiteboards=self.whiteboards,
            config=config.sop_config(),
            audio=self.media,
        )
        self.records = RecordService(platform, self.rooms)
        self.exports = (
            SharedExports(self.records, platform.clock, platform.database, self.cluster.node_id)
            if self.cluster is not None
            else RecordExports(self.records, platform.clock)
        )
        self.capabilities: tuple[Capability, ...] = tuple(self._capabilities())
        self.router = Router()
        areas: set[str] = set()
        for capability in self.capabilities:
            try:
                self.router.include(capability.router)
            except DuplicateRoute as exc:
                raise DuplicateRoute(f"{capability.name}: {exc}") from None
            for area, handler in capability.signaling_areas.items():
                if area in areas:
                    raise DuplicateRoute(f"{capability.name}: two handlers for {area}.* messages")
                areas.add(area)
                self.signaling.register_area(area, handler)
            self.lifecycle.subscribe(capability.on_lifecycle)
        self._sockets: set[MessageTransport] = set()
        #: Why sockets are being closed (the code and reason), once they are: a socket
        #: that arrives after that is told the same at once.
        self._closing: tuple[int, str] | None = None

    def _capabilities(self) -> list[Capability]:
        """The capabilities of this deployment: the one place a capability is registered.

        The order is the order lifecycle events are delivered in and routes are tried.
        """
        p, rooms = self.platform, self.rooms
        capabilities: list[Capability] = [
            RoomsCapability(
                p,
                rooms,
                self.sms_gateway,
                public_url=self.config.public_url,
                answer_offer=self._answer_join_offer,
            ),
            MediaCapability(self.media),
            RecordingsCapability(p, rooms, self.media),
            CobrowseCapability(p, rooms, self.cobrowse),
            WhiteboardCapability(p, rooms, self.whiteboards),
            SopCapability(p, self.sop_live),
            RecordsCapability(p, self.records, self.exports),
            StatsCapability(p),
            MaterialsCapability(p),
            AdminCapability(p),
        ]
        if self._modem is not None and isinstance(self.sms_gateway, ModemSmsGateway):
            capabilities.append(SmsCapability(self._modem, self.sms_gateway))
        if self.cluster is not None:
            media = self.media
            capabilities.append(ClusterCapability(self.cluster, lambda: media.load().share))
        return capabilities

    async def _answer_join_offer(
        self, session_id: str, seat_token: str, sdp: str
    ) -> dict[str, Any] | None:
        """The media answer to an offer a customer sent with their join, from wherever
        the room lives; None (the page offers over its socket and hears why there) when
        it was refused or failed."""
        try:
            seat = await self.rooms.seat_for_customer(session_id, seat_token)
            message = ClientMessage("media.offer", {"type": "offer", "sdp": sdp}, id="join")
            replies = await self.signaling.answer(seat, message)
        except ZhanyeError:
            return None
        except Exception:
            _log.exception("the offer sent with a join into session %s failed", session_id)
            return None
        answered = [r.data for r in replies if r.type == "media.answer"]
        return answered[0] if answered else None

    async def _recover_room(self, session_id: str) -> None:
        """A room this process took over: every area reloads its state from the database
        (one area's failure is logged and never keeps the others from theirs)."""
        for capability in self.capabilities:
            try:
                await capability.recover_room(session_id)
            except Exception:
                _log.exception("%s did not restore session %s", capability.name, session_id)

    def _lose_room(self, session_id: str) -> None:
        """Another process took a room from this one (it was paused past its lease): its
        media here stops at once and writes nothing more (the recording goes on there)."""
        self.media.lose_room(session_id)

    def _gateway(self) -> SmsGateway:
        config = self.config
        if config.sms_gateway is not None:
            return config.sms_gateway
        if config.modem_url is None:
            return LoggingSmsGateway(signature=config.sms_signature)
        self._modem = Modem(config.modem_url)
        config.sms_outbox.parent.mkdir(parents=True, exist_ok=True)
        return ModemSmsGateway(
            self._modem, config.sms_outbox, GatewayConfig(signature=config.sms_signature)
        )

    # ---- running --------------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def open(
        cls, config: DeploymentConfig, *, platform: Platform | None = None
    ) -> AsyncIterator[Deployment]:
        """Open the database (unless ``platform`` is given), assemble, recover and run.

        Leaving the block stops every capability and closes the database it opened.
        """
        own = platform is None
        if platform is None:
            platform = await cls.open_platform(config)
        try:
            deployment = cls(config, platform)
            async with deployment.running():
                yield deployment
        finally:
            if own:
                with anyio.CancelScope(shield=True):
                    await platform.close()

    @staticmethod
    async def open_platform(config: DeploymentConfig) -> Platform:
        """The platform ``config`` describes: its database (migrated), rules and clock."""
        return await Platform.open(
            config.database_url,
            config=config.platform,
            clock=config.clock,
            material_storage=config.material_storage,
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Deployment]:
        """Recover every capability, then run them all (and the signaling endpoint's
        delayed leaves and room ticks) in one task group until the block is left."""
        for capability in self.capabilities:
            await capability.recover()
        async with anyio.create_task_group() as tasks:
            await tasks.start(self.signaling.run)
            for capability in self.capabilities:
                await tasks.start(capability.run)
            try:
                yield self
            finally:
                with anyio.CancelScope(shield=True):
                    await self.close_sockets(1001, "server restarting")
                tasks.cancel_scope.cancel()
        if self.cluster is not None:
            with anyio.CancelScope(shield=True):
                await self.cluster.close()

    # ---- HTTP -------------------------------------------------------------------------

    def body_limit(self, method: str, path: str) -> BodyLimit:
        """What request body ``method path`` accepts; a host checks it before reading."""
        return self.router.body_limit(method, path)

    async def check_login(self, request: ApiRequest) -> None:
        """Refuse a request without a valid login (before a ``logged_in`` body is read).

        Raises:
            ZhanyeError: 401 (no or a wrong token), 403 (a disabled account).
        """
        await self.platform.auth.authenticate(bearer_token(request))

    async def http(self, request: ApiRequest) -> ApiResponse:
        """Answer one ``/api/*`` request (an error is an error response, never raised)."""
        try:
            return await self.router.dispatch(request)
        except ZhanyeError as exc:
            return error_response(exc)

    # ---- WebSockets -------------------------------------------------------------------

    def socket_limit(self, path: str) -> int | None:
        """The largest frame a socket at ``path`` accepts; None: no socket there."""
        session_id = path.removeprefix(_SESSION_SOCKET)
        if path.startswith(_SESSION_SOCKET) and session_id and "/" not in session_id:
            return MAX_FRAME_BYTES + 1024
        if path == _ACCOUNT_SOCKET:
            return _ACCOUNT_FRAME_BYTES
        return None

    async def serve_socket(
        self,
        transport: MessageTransport,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Run one upgraded WebSocket until either side closes it.

        ``/ws/sessions/{session_id}``: a participant's signaling connection (credentials
        from the handshake, ``?resume=`` to resume). ``/ws/account``: a staff page's
        account events (its login ending). Anything else is closed with 4404.
        """
        headers, query = headers or {}, query or {}
        if self._closing is not None:
            # Upgraded while the server was closing its sockets: it would otherwise stay
            # open, unserved, until its idle timeout held up the shutdown.
            await close_quietly(transport, *self._closing)
            return
        self._sockets.add(transport)
        try:
            if self.socket_limit(path) is None:
                await transport.close(CLOSE_NO_SUCH_SOCKET, "no such socket")
            elif path == _ACCOUNT_SOCKET:
                credentials = handshake_credentials(headers, {})
                await self.account_events.serve(transport, login_token=credentials.login_token)
            else:
                credentials = handshake_credentials(headers, query)
                await self.signaling.serve(
                    transport,
                    session_id=path[len(_SESSION_SOCKET) :],
                    login_token=credentials.login_token,
                    seat_token=credentials.seat_token,
                    resume_from=query.get("resume"),
                )
        finally:
            self._sockets.discard(transport)

    async def close_sockets(self, code: int = 1001, reason: str = "server restarting") -> None:
        """Close every open socket (clients reconnect to another process and resume), all
        at once: a client that does not take the close (gone without a word, or no longer
        reading) has its connection cut after ``transport.CLOSE_LIMIT_S``, so a restart
        is not held up by the silent ones. A socket that arrives from now on is closed
        the same way."""
        self._closing = (code, reason)
        await close_all(self._sockets, code, reason)
