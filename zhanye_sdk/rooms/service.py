"""``RoomService``: sessions over the room core, persisted, with invites and seats.

Every state change goes through ``apply``: under the room's lock the command is fed
to the sans-I/O ``Room``; the events get consecutive sequence numbers and are stored
with the room's snapshot in one transaction, then published on the bus. A host
process that restarts reloads rooms from their snapshots and carries on.

After each change is stored and published, its meaning for the session's capabilities is
published as typed lifecycle events on ``lifecycle`` (``zhanye_sdk.lifecycle``): the
session started, a participant entered or left, the session ended. Capabilities
subscribe their ``on_lifecycle`` there; none matches message strings on the bus.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import anyio
import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.clock import from_ms, to_ms
from zhanye_sdk.devices.sms import SendResult, SmsGateway
from zhanye_sdk.errors import (
    AreaRefusal,
    ConflictError,
    InvalidInput,
    PermissionDenied,
    RateLimited,
    RoomMoved,
)
from zhanye_sdk.facade import Platform
from zhanye_sdk.lifecycle import (
    Lifecycle,
    LifecycleEvent,
    ParticipantEntered,
    SessionEnded,
    SessionStarted,
)
from zhanye_sdk.lifecycle import ParticipantLeft as ParticipantLeftEvent
from zhanye_sdk.platform.permissions import NotAccessible, Operation, require
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.platform.validation import check_name, normalize_phone
from zhanye_sdk.ratelimit import BucketPolicy, Limiter, LocalLimiter
from zhanye_sdk.rooms.core import (
    Command,
    CommandRejected,
    End,
    EndReason,
    EvaluationReceived,
    Event,
    Join,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantRole,
    Room,
    RoomEnded,
    RoomStarted,
    RoomState,
    Terminal,
    Tick,
)
from zhanye_sdk.rooms.invite_codes import is_code, new_code
from zhanye_sdk.rooms.tokens import InvalidRoomToken, RoomTokens
from zhanye_sdk.rooms.wire import event_message
from zhanye_sdk.signaling.bus import Bus
from zhanye_sdk.signaling.envelope import ServerMessage
from zhanye_sdk.store.schema import (
    organizations,
    platform_secrets,
    session_events,
    session_participants,
    sessions,
    short_invites,
)
from zhanye_sdk.wire import converter

_log = logging.getLogger(__name__)

__all__ = [
    "CustomerSeat",
    "RoomService",
    "SessionConfig",
    "SessionSummary",
    "RoomGuard",
    "RoomRelay",
    "Seat",
    "UnfinishedSession",
]


class RoomGuard(Protocol):
    """Scale-out: makes sure this process owns a room before its state is touched
    (``cluster.ownership.Ownership``)."""

    async def ensure(self, session_id: str) -> None:
        """Return once this process owns the room; raise ``RoomMoved`` otherwise."""
        ...


class RoomRelay(Protocol):
    """Scale-out: sends a room's commands to the process that owns it
    (``cluster.relay.Relay``), which applies them with ``RoomService.apply_here``."""

    def holds(self, session_id: str) -> bool:
        """Whether this process owns the room now."""
        ...

    async def apply(self, session_id: str, command: Command) -> list[ServerMessage]:
        """Apply ``command`` in the room's owner (this process or another)."""
        ...

    async def place_new(self, session_id: str) -> None:
        """Give a new room to the least-loaded live process."""
        ...

    async def settle(self, session_id: str) -> None:
        """Make sure a live process owns the room (take it over when its owner died)."""
        ...


@attrs.frozen
class SessionConfig:
    """Limits and timings of sessions."""

    empty_timeout_s: float = 600
    max_customers: int = 8
    max_sms_invites: int = 20
    invite_ttl_s: float = 24 * 3600
    seat_ttl_s: float = 24 * 3600
    #: How long a customer's seat still opens the room after the session ended (to
    #: rate it, or to come back to the closing page); then it ends with the session.
    seat_after_end_s: float = 600
    #: How many invite joins a session, and one client address, may make: ``burst`` at
    #: once, then ``rate`` a second (every join stores a participant).
    joins_per_session: BucketPolicy = BucketPolicy(rate=0.2, burst=30)
    joins_per_address: BucketPolicy = BucketPolicy(rate=0.1, burst=10)
    #: How many short invite codes one client address may look up: 30 at once, then one
    #: every 2 s (a code has ~58 bits: guessing stays hopeless).
    code_lookups: BucketPolicy = BucketPolicy(rate=0.5, burst=30)
    #: Short enough that, with a /j/<code> link and the 【signature】, it is one SMS part.
    sms_invite_template: str = "{host}邀您远程会话(会议号{meeting})：{link}"


class UnfinishedSession(ConflictError):
    """The staff member has a session that has not ended: rejoin it or start a new one."""

    def __init__(self, session_id: str, meeting_number: str) -> None:
        super().__init__(
            f"you have an unfinished session {meeting_number}; rejoin it or start a new one",
            zh=f"您有未结束的会话（会议号 {meeting_number}），请重新进入该会话，或开始新会话",
        )
        self.session_id = session_id
        self.meeting_number = meeting_number


@attrs.frozen
class SessionSummary:
    """A session as lists and the workbench show it."""

    id: str
    meeting_number: str
    state: RoomState
    company_id: str
    org_id: str
    host_account_id: str
    host_name: str
    project: str | None
    terminal: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    last_seq: int
    #: The title given when it was started (会议主题), if any.
    title: str | None = None


@attrs.frozen
class Seat:
    """Who a signaling connection speaks for, in which room."""

    session_id: str
    participant_id: str
    role: ParticipantRole
    name: str
    terminal: Terminal
    account_id: str | None = None
    principal: Principal | None = None


@attrs.frozen
class CustomerSeat:
    """What a customer gets on opening an invite: their seat and its token."""

    session_id: str
    meeting_number: str
    participant_id: str
    seat_token: str
    host_name: str


def _touched(room: Room, events: list[Event]) -> list[str]:
    """Participants whose stored row (name, terminal, duration, rating) the events change."""
    if any(isinstance(e, RoomEnded) for e in events):
        return list(room.participants)
    touched: dict[str, None] = {}
    for event in events:
        if isinstance(event, ParticipantJoined):
            touched[event.participant.id] = None
        elif isinstance(event, ParticipantLeft | EvaluationReceived):
            touched[event.participant] = None
    return list(touched)


def _lifecycle_event(session_id: str, event: Event) -> LifecycleEvent | None:
    """What a stored room event means for the session's capabilities (``None``: nothing)."""
    if isinstance(event, RoomStarted):
        return SessionStarted(session_id, event.at)
    if isinstance(event, ParticipantJoined):
        participant = event.participant
        return ParticipantEntered(
            session_id, participant.id, participant.role.value, event.at, event.rejoined
        )
    if isinstance(event, ParticipantLeft):
        return ParticipantLeftEvent(session_id, event.participant, event.at)
    if isinstance(event, RoomEnded):
        return SessionEnded(session_id, event.reason.value, event.at)
    return None


def _summary(row: Any) -> SessionSummary:
    return SessionSummary(
        id=row.id,
        meeting_number=row.meeting_number,
        state=RoomState(row.state),
        company_id=row.company_id,
        org_id=row.org_id,
        host_account_id=row.host_account_id,
        host_name=row.host_name,
        project=row.project,
        terminal=row.terminal,
        created_at=from_ms(row.created_ms),
        started_at=from_ms(row.started_ms) if row.started_ms is not None else None,
        ended_at=from_ms(row.ended_ms) if row.ended_ms is not None else None,
        end_reason=row.end_reason,
        last_seq=int(row.last_seq),
        title=row.title,
    )


class RoomService:
    """Starts sessions, admits participants and applies room commands."""

    def __init__(
        self,
        platform: Platform,
        bus: Bus,
        config: SessionConfig | None = None,
        lifecycle: Lifecycle | None = None,
        *,
        limiter: Limiter | None = None,
        guard: RoomGuard | None = None,
    ) -> None:
        self._platform = platform
        #: Where this service publishes each session's lifecycle events.
        self.lifecycle = lifecycle or Lifecycle()
        self._guard = guard
        self._relay: RoomRelay | None = None
        self._db = platform.database
        self._clock = platform.clock
        self._bus = bus
        self.config = config or SessionConfig()
        self._rooms: dict[str, Room] = {}
        self._fences: dict[str, int] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._tokens: RoomTokens | None = None
        # Join and code-lookup budgets: in Redis when several processes serve.
        self._join_limiter = limiter or LocalLimiter()
        platform.count_live_sessions_with(self._count_live)
        platform.on_org_disabled(self._end_org_sessions)

    def use_relay(self, relay: RoomRelay) -> None:
        """Scale-out: apply commands in the room's owner, wherever it runs, and keep in
        memory only the rooms this process owns."""
        self._relay = relay

    def elsewhere(self, session_id: str) -> bool:
        """Scale-out: whether another process (may) own the room. Its state then lives
        there: read it from the store each time, never keep it in memory."""
        return self._relay is not None and not self._relay.holds(session_id)

    def now_ms(self) -> int:
        """The service clock's time in milliseconds."""
        return to_ms(self._clock.now())

    async def tokens(self) -> RoomTokens:
        """The token signer, with the key stored in the database (made on first use)."""
        if self._tokens is None:
            async with self._db.begin() as conn:
                row = (
                    await conn.execute(
                        sa.select(platform_secrets.c.value).where(
                            platform_secrets.c.name == "room_token_key"
                        )
                    )
                ).first()
                if row is None:
                    key = RoomTokens.new_key()
                    try:
                        await conn.execute(
                            platform_secrets.insert().values(name="room_token_key", value=key)
                        )
                    except IntegrityError:  # another process made it first
                        pass
                    else:
                        row = (key,)
            if row is None:
                async with self._db.connect() as conn:
                    row = (
                        await conn.execute(
                            sa.select(platform_secrets.c.value).where(
                                platform_secrets.c.name == "room_token_key"
                            )
                        )
                    ).one()
            self._tokens = RoomTokens(bytes.fromhex(row[0]))
        return self._tokens

    # ---- starting and finding sessions -------------------------------------------------

    async def unfinished(self, actor: Principal) -> SessionSummary | None:
        """The actor's session that has not ended, if any (for "rejoin or start new")."""
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(sessions)
                    .where(sessions.c.host_account_id == actor.account_id)
                    .where(sessions.c.state != RoomState.ENDED.value)
                    .order_by(sessions.c.created_ms.desc())
                )
            ).first()
        return None if row is None else _summary(row)

    async def start(
        self,
        actor: Principal,
        *,
        project: str | None = None,
        terminal: Terminal = Terminal.PC_WEB,
        start_new: bool = False,
        org_id: str | None = None,
        title: str | None = None,
    ) -> SessionSummary:
        """Open a new session hosted by the actor (开始会话), under a ``project`` and a
        ``title`` (会议主题), both optional.

        Salespeople and org admins host in their organization. A company admin hosts
        in an organization of their company: ``org_id``, or else the company's first
        enabled one (its service hours apply, and its admins see the record).

        Raises:
            UnfinishedSession: the actor has a session that has not ended; call again
                with ``start_new=True`` to end it and start afresh, or rejoin it.
            OutsideServiceHours: the actor's organization does not serve now.
        """
        require(actor, Operation.SESSION_START)
        org_id = await self._host_org(actor, org_id)
        previous = await self.unfinished(actor)
        if previous is not None:
            if not start_new:
                raise UnfinishedSession(previous.id, previous.meeting_number)
            ended = End(actor.account_id, EndReason.STAFF_ENDED, self.now_ms())
            await self.apply(previous.id, ended)
        await self._platform.organizations.check_open(org_id)
        account = await self._platform.accounts.get(actor, actor.account_id)
        if project is not None:
            project = check_name(project, what="project") if project.strip() else None
        if title is not None:
            title = check_name(title, what="title") if title.strip() else None
        now = self.now_ms()
        session_id = secrets.token_hex(16)
        room = Room(
            room_id=session_id,
            meeting_number="",
            host_id=actor.account_id,
            empty_timeout_ms=int(self.config.empty_timeout_s * 1000),
            max_customers=self.config.max_customers,
            last_ms=now,
        )
        for _ in range(20):
            number = f"{secrets.randbelow(90_000_000) + 10_000_000}"
            room = attrs.evolve(room, meeting_number=number)
            try:
                async with self._db.begin() as conn:
                    await conn.execute(
                        sessions.insert().values(
                            id=session_id,
                            meeting_number=number,
                            company_id=actor.company_id,
                            org_id=org_id,
                            host_account_id=actor.account_id,
                            host_name=account.name,
                            project=project,
                            title=title,
                            terminal=Terminal(terminal).value,
                            state=RoomState.WAITING.value,
                            created_ms=now,
                            last_seq=0,
                            room_snapshot=json.dumps(converter.unstructure(room)),
                            sms_invites=0,
                        )
                    )
                break
            except IntegrityError:
                continue  # the meeting number was taken; draw another
        else:
            raise ConflictError(
                "could not allocate a meeting number; try again",
                zh="暂时无法分配会议号，请稍后重试",
            )
        if self._relay is not None:
            await self._relay.place_new(session_id)
        else:
            self._rooms[session_id] = room
        return await self._load_summary(session_id)

    async def _host_org(self, actor: Principal, org_id: str | None) -> str:
        """The organization a session of the actor belongs to."""
        if actor.company_id is None:
            raise PermissionDenied(
                "only staff of a company host sessions",
                zh="平台管理员不能发起会话；请使用公司内的账号发起",
            )
        if actor.role is not Role.COMPANY_ADMIN:
            if actor.org_id is None or (org_id is not None and org_id != actor.org_id):
                raise PermissionDenied(
                    "staff host sessions only in their own organization",
                    zh="只能在本机构发起会话",
                )
            return actor.org_id
        query = (
            sa.select(organizations.c.id)
            .where(organizations.c.company_id == actor.company_id)
            .where(organizations.c.disabled.is_(False))
        )
        if org_id is not None:
            query = query.where(organizations.c.id == org_id)
        async with self._db.connect() as conn:
            row = (
                await conn.execute(query.order_by(organizations.c.created_ms, organizations.c.id))
            ).first()
        if row is None:
            if org_id is not None:
                raise NotAccessible("organization", org_id)
            raise ConflictError(
                "the company has no enabled organization to hold the session",
                zh="公司下还没有可用的机构，请先在“机构设置”中创建或启用一个机构，再发起会话",
            )
        return str(row.id)

    async def _load_summary(self, session_id: str) -> SessionSummary:
        async with self._db.connect() as conn:
            row = (
                await conn.execute(sa.select(sessions).where(sessions.c.id == session_id))
            ).first()
        if row is None:
            raise NotAccessible("session", session_id)
        return _summary(row)

    async def get(self, actor: Principal, session_id: str) -> SessionSummary:
        """A session the actor may see: their own; their org's or company's for admins."""
        summary = await self._load_summary(session_id)
        if not self.visible(actor, summary):
            raise NotAccessible("session", session_id)
        return summary

    @staticmethod
    def visible(actor: Principal, summary: SessionSummary) -> bool:
        """Record visibility of the manual (§4.4): own; the org's; the company's."""
        if summary.host_account_id == actor.account_id or actor.role is Role.SUPER_ADMIN:
            return True
        if actor.role is Role.COMPANY_ADMIN:
            return summary.company_id == actor.company_id
        if actor.role is Role.ORG_ADMIN:
            return summary.company_id == actor.company_id and summary.org_id == actor.org_id
        return False

    async def room(self, session_id: str) -> Room:
        """The live room state (loaded from its snapshot after a restart).

        A room another process owns is read from its last stored snapshot each time
        (never kept: it changes elsewhere).
        """
        if self.elsewhere(session_id):
            return (await self._stored_room(session_id))[1]
        room = self._rooms.get(session_id)
        if room is None:
            async with self._db.connect() as conn:
                row = (
                    await conn.execute(
                        sa.select(sessions.c.room_snapshot).where(sessions.c.id == session_id)
                    )
                ).first()
            if row is None:
                raise NotAccessible("session", session_id)
            loaded = converter.structure(json.loads(row.room_snapshot), Room)
            # Another caller may have loaded it meanwhile and already applied a command
            # to it: keep that one, never replace it with this older reading.
            room = self._rooms.setdefault(session_id, loaded)
        return room

    async def _stored_room(self, session_id: str) -> tuple[int, Room]:
        """The room's last stored snapshot and the sequence number it reflects (one row,
        written in the same transaction as the events: always consistent)."""
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(sessions.c.last_seq, sessions.c.room_snapshot).where(
                        sessions.c.id == session_id
                    )
                )
            ).first()
        if row is None:
            raise NotAccessible("session", session_id)
        return int(row.last_seq), converter.structure(json.loads(row.room_snapshot), Room)

    # ---- invites and seats -----------------------------------------------------------------

    async def _host_session(self, actor: Principal, session_id: str) -> SessionSummary:
        summary = await self.get(actor, session_id)
        if summary.host_account_id != actor.account_id:
            raise PermissionDenied(
                "only the session's host invites customers", zh="只有会话主持人可以邀请客户"
            )
        if summary.state is RoomState.ENDED:
            raise ConflictError("the session has ended", zh="会话已结束；如需继续，请发起新会话")
        return summary

    async def invite_token(self, actor: Principal, session_id: str) -> str:
        """A signed, expiring invite token for the session (the link's secret part)."""
        await self._host_session(actor, session_id)
        expires = self.now_ms() + int(self.config.invite_ttl_s * 1000)
        return (await self.tokens()).make("invite", session_id, expires)

    async def short_invite(self, actor: Principal, session_id: str) -> str:
        """A short code for a fresh invite (the ``/j/<code>`` link), expiring with it."""
        token = await self.invite_token(actor, session_id)
        claims = (await self.tokens()).check(token, "invite", self.now_ms(), session_id)
        async with self._db.begin() as conn:
            await conn.execute(
                short_invites.delete().where(short_invites.c.expires_ms <= self.now_ms())
            )
            while True:
                code = new_code()
                taken = (
                    await conn.execute(
                        sa.select(short_invites.c.code).where(short_invites.c.code == code)
                    )
                ).first()
                if taken is None:
                    break
            await conn.execute(
                short_invites.insert().values(
                    code=code, session_id=session_id, token=token, expires_ms=claims.expires_ms
                )
            )
        return code

    async def resolve_invite(self, link: str, client: str | None) -> str:
        """The signed invite token behind ``link``: a signed token itself, or a short code.

        Code lookups count against ``client``'s budget (its network address).

        Raises:
            RateLimited: too many code lookups from this client lately.
            InvalidRoomToken: the code is unknown or expired (the same refusal as a bad token).
        """
        if not is_code(link):
            return link
        now = self.now_ms()
        wait = await self._join_limiter.take(
            f"code-lookup:{client or '?'}", self.config.code_lookups, now / 1000
        )
        if wait is not None:
            raise RateLimited(
                "too many invite links tried from this address; wait and try again",
                retry_after_s=wait,
                zh="尝试打开的邀请链接过多，请稍后再试",
            )
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(short_invites.c.token).where(
                        short_invites.c.code == link, short_invites.c.expires_ms > now
                    )
                )
            ).first()
        if row is None:
            raise InvalidRoomToken(
                "this link is invalid or has expired",
                zh="该链接无效或已过期，请向业务员索取新的邀请链接",
            )
        return str(row.token)

    async def send_sms_invites(
        self,
        actor: Principal,
        session_id: str,
        numbers: Sequence[str],
        link: str,
        gateway: SmsGateway,
    ) -> list[SendResult]:
        """Text the invite link to several numbers through an ``SmsGateway``.

        Raises:
            InvalidInput: a number is neither a mainland mobile nor an E.164 number.
            ConflictError: the session's SMS invite limit would be exceeded.
        """
        summary = await self._host_session(actor, session_id)
        if isinstance(numbers, str) or not numbers:
            raise InvalidInput("give one or more phone numbers", zh="请至少填写一个手机号")
        cleaned = list(dict.fromkeys(normalize_phone(n) for n in numbers))
        async with self._db.begin() as conn:
            sent = (
                await conn.execute(
                    sa.select(sessions.c.sms_invites).where(sessions.c.id == session_id)
                )
            ).scalar_one()
            if sent + len(cleaned) > self.config.max_sms_invites:
                raise ConflictError(
                    f"a session sends at most {self.config.max_sms_invites} SMS invites; "
                    f"{sent} sent already",
                    zh=f"每个会话最多发送 {self.config.max_sms_invites} 条短信邀请，"
                    f"已发送 {sent} 条",
                )
            await conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id)
                .values(sms_invites=sent + len(cleaned))
            )
        text = self.config.sms_invite_template.format(
            host=summary.host_name, meeting=summary.meeting_number, link=link
        )
        return await gateway.send(cleaned, text)

    async def join_with_invite(
        self,
        invite_token: str,
        *,
        name: str,
        recording_acknowledged: bool,
        terminal: Terminal = Terminal.PC_WEB,
        phone: str | None = None,
        seat_token: str | None = None,
        client_address: str | None = None,
    ) -> CustomerSeat:
        """Open an invite: the customer gets a seat (no account needed).

        ``seat_token`` is the seat this device had in the session before (the page keeps
        it): while it is valid the customer gets that seat back, as the same participant
        whose time in the room goes on, not a second customer.

        Raises:
            InvalidRoomToken: the invite is malformed, forged or expired.
            InvalidInput: no name, or the recording notice was not acknowledged.
            RateLimited: too many joins for this session or from this address.
        """
        now = self.now_ms()
        claims = (await self.tokens()).check(invite_token, "invite", now)
        name = check_name(name, limit=32)
        if not recording_acknowledged:
            raise InvalidInput(
                "the recording notice must be acknowledged to join",
                zh="请先阅读并勾选同意录制提示，再加入会话",
            )
        phone = normalize_phone(phone) if phone else None
        if seat_token:
            returning = await self._returning_seat(claims.room_id, seat_token, now)
            if returning is not None:
                return returning
        # Only new seats are budgeted: each one stores a participant.
        await self._take_join(claims.room_id, client_address, now)
        summary = await self._load_summary(claims.room_id)
        if summary.state is RoomState.ENDED:
            raise ConflictError("the session has ended", zh="会话已结束；如需继续，请发起新会话")
        participant_id = secrets.token_hex(8)
        async with self._db.begin() as conn:
            await conn.execute(
                session_participants.insert().values(
                    session_id=summary.id,
                    participant_id=participant_id,
                    role=ParticipantRole.CUSTOMER.value,
                    name=name,
                    terminal=Terminal(terminal).value,
                    phone=phone,
                    recording_ack_ms=now,
                    duration_ms=0,
                )
            )
        seat = (await self.tokens()).make(
            "seat", summary.id, now + int(self.config.seat_ttl_s * 1000), participant_id
        )
        return CustomerSeat(
            summary.id, summary.meeting_number, participant_id, seat, summary.host_name
        )

    async def rejoin_with_invite(self, invite_token: str, seat_token: str) -> CustomerSeat:
        """The seat a customer had in the invite's session, renewed (reopening the link).

        Also after the session ended, so that the customer can still rate it.

        Raises:
            InvalidRoomToken: either token is malformed, forged, expired or for another
                session, or the seat is unknown.
        """
        now = self.now_ms()
        claims = (await self.tokens()).check(invite_token, "invite", now)
        seat = await self._returning_seat(claims.room_id, seat_token, now)
        if seat is None:
            raise InvalidRoomToken(
                "this seat is not valid for the session; join again",
                zh="无法恢复您之前的席位，请重新填写信息加入会话",
            )
        return seat

    async def _returning_seat(
        self, session_id: str, seat_token: str, now: int
    ) -> CustomerSeat | None:
        """The customer's earlier seat in the session, with a fresh token; None if not valid."""
        tokens = await self.tokens()
        try:
            claims = tokens.check(seat_token, "seat", now, room_id=session_id)
        except InvalidRoomToken:
            return None
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(session_participants.c.participant_id)
                    .where(session_participants.c.session_id == session_id)
                    .where(session_participants.c.participant_id == claims.participant_id)
                    .where(session_participants.c.role == ParticipantRole.CUSTOMER.value)
                )
            ).first()
        if row is None:
            return None
        summary = await self._load_summary(session_id)
        renewed = tokens.make(
            "seat", session_id, now + int(self.config.seat_ttl_s * 1000), row.participant_id
        )
        return CustomerSeat(
            summary.id, summary.meeting_number, row.participant_id, renewed, summary.host_name
        )

    async def _take_join(self, session_id: str, client_address: str | None, now_ms: int) -> None:
        keys = [(f"join:session:{session_id}", self.config.joins_per_session)]
        if client_address:
            keys.append((f"join:address:{client_address}", self.config.joins_per_address))
        for key, policy in keys:
            wait = await self._join_limiter.take(key, policy, now_ms / 1000)
            if wait is not None:
                raise RateLimited(
                    "too many joins; try again shortly",
                    retry_after_s=wait,
                    zh="加入请求过于频繁，请稍后再试",
                )

    async def seat_for_staff(self, actor: Principal, session_id: str) -> Seat:
        """The host's seat in their session."""
        summary = await self.get(actor, session_id)
        if summary.host_account_id != actor.account_id:
            raise PermissionDenied(
                "only the session's host joins it as staff",
                zh="只有会话主持人可以以业务员身份进入该会话",
            )
        return Seat(
            session_id,
            actor.account_id,
            ParticipantRole.HOST,
            summary.host_name,
            Terminal(summary.terminal),
            account_id=actor.account_id,
            principal=actor,
        )

    async def seat_for_customer(self, session_id: str, seat_token: str) -> Seat:
        """A customer's seat from their seat token (refused for any other room, and once
        the session has been over for ``seat_after_end_s``)."""
        now = self.now_ms()
        claims = (await self.tokens()).check(seat_token, "seat", now, room_id=session_id)
        summary = await self._load_summary(session_id)
        if (
            summary.ended_at is not None
            and to_ms(summary.ended_at) + int(self.config.seat_after_end_s * 1000) <= now
        ):
            raise InvalidRoomToken(
                "the session has ended; this seat is closed",
                zh="会话已结束，该链接已失效；如需继续，请联系业务员重新邀请",
            )
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(session_participants)
                    .where(session_participants.c.session_id == session_id)
                    .where(session_participants.c.participant_id == claims.participant_id)
                )
            ).first()
        if row is None:
            raise NotAccessible("seat", str(claims.participant_id))
        return Seat(
            session_id,
            row.participant_id,
            ParticipantRole.CUSTOMER,
            row.name,
            Terminal(row.terminal),
        )

    def join_command(self, seat: Seat) -> Join:
        """The command that puts a seat's participant in the room now."""
        return Join(seat.participant_id, seat.role, seat.name, seat.terminal, self.now_ms())

    # ---- applying commands -------------------------------------------------------------------

    async def apply(self, session_id: str, command: Command) -> list[ServerMessage]:
        """Feed one command to the room; store and publish what happened.

        Returns the messages for the caller: events with their sequence numbers, or a
        single error message when the room refused the command (not stored). With
        several processes the room's owner applies it (relayed to it over Redis).

        Raises:
            RoomUnreachable: scale-out: the owner did not answer in time.
        """
        if self._relay is not None:
            return await self._relay.apply(session_id, command)
        return await self.apply_here(session_id, command)

    async def apply_here(self, session_id: str, command: Command) -> list[ServerMessage]:
        """``apply`` in this process (which owns the room, or takes it when a guard is set)."""
        lock = self._locks.setdefault(session_id, anyio.Lock())
        async with lock:
            if self._guard is not None:
                await self._guard.ensure(session_id)
            room = await self.room(session_id)
            events = room.handle(command)
            if len(events) == 1 and isinstance(events[0], CommandRejected):
                rejected = events[0]
                zh = rejected.message_zh or None
                refusal = AreaRefusal(rejected.code, rejected.message, zh=zh)
                return [ServerMessage.refusal(refusal)]
            try:
                messages = await self._store(session_id, room, events, command.at)
            except BaseException:
                # The command changed the room in memory but nothing was stored:
                # reload the stored state on next use rather than act on a fork.
                self._rooms.pop(session_id, None)
                raise
        for message in messages:
            await self._bus.publish(session_id, message)
        for event in events:
            lifecycle = _lifecycle_event(session_id, event)
            if lifecycle is not None:
                await self.lifecycle.publish(lifecycle)
        return messages

    @property
    def clustered(self) -> bool:
        """Several processes serve the platform: a live room may be another's to run
        (a process restores a room when it takes it over, not when it starts)."""
        return self._guard is not None

    async def is_live(self, session_id: str) -> bool:
        """The session has not ended, as stored (read from the database, not memory)."""
        async with self._db.connect() as conn:
            state = (
                await conn.execute(sa.select(sessions.c.state).where(sessions.c.id == session_id))
            ).scalar_one_or_none()
        return state is not None and state != RoomState.ENDED.value

    def adopt(self, session_id: str, fence: int) -> None:
        """Write the room under ``fence`` from now on (scale-out: this process claimed
        it with that fencing token, ``cluster/fencing.py``); its state is reloaded
        from the database on next use."""
        self._fences[session_id] = fence
        self._rooms.pop(session_id, None)

    def forget(self, session_id: str) -> None:
        """Drop a room this process no longer owns (scale-out) from memory."""
        self._fences.pop(session_id, None)
        self._rooms.pop(session_id, None)

    async def _store(
        self, session_id: str, room: Room, events: list[Event], at: int
    ) -> list[ServerMessage]:
        async with self._db.begin() as conn:
            # Take the sequence numbers and check the owner's fence in one statement:
            # concurrent writers of one room queue on its row instead of both reading
            # the same last_seq (which failed on the (session_id, seq) key), and a
            # process whose fence was superseded writes nothing.
            claimed = (
                await conn.execute(
                    sessions.update()
                    .where(sessions.c.id == session_id)
                    .where(sessions.c.owner_fence == self._fences.get(session_id, 0))
                    .values(last_seq=sessions.c.last_seq + len(events))
                    .returning(sessions.c.last_seq)
                )
            ).scalar_one_or_none()
            if claimed is None:
                self._fences.pop(session_id, None)
                raise RoomMoved(session_id)
            last = int(claimed) - len(events)
            messages = []
            for offset, event in enumerate(events, start=1):
                kind, data = event_message(event)
                messages.append(ServerMessage(kind, data, seq=last + offset))
            if messages:
                await conn.execute(
                    session_events.insert(),
                    [
                        {
                            "session_id": session_id,
                            "seq": m.seq,
                            "type": m.type,
                            "data": json.dumps(m.data, ensure_ascii=False),
                            "at_ms": at,
                        }
                        for m in messages
                    ],
                )
            await conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id)
                .values(
                    state=room.state.value,
                    started_ms=room.started_ms,
                    ended_ms=room.ended_ms,
                    end_reason=room.end_reason.value if room.end_reason else None,
                    room_snapshot=json.dumps(converter.unstructure(room), ensure_ascii=False),
                )
            )
            now = room.last_ms
            for participant_id in _touched(room, events):
                participant = room.participants[participant_id]
                score = room.evaluations.get(participant.id)
                values = {
                    "name": participant.name,
                    "terminal": participant.terminal.value,
                    "first_joined_ms": participant.first_joined_ms,
                    "duration_ms": participant.duration_ms(now),
                    "score": score[0] if score else None,
                    "comment": score[1] if score else None,
                }
                updated = await conn.execute(
                    session_participants.update()
                    .where(session_participants.c.session_id == session_id)
                    .where(session_participants.c.participant_id == participant.id)
                    .values(**values)
                )
                if not updated.rowcount:
                    await conn.execute(
                        session_participants.insert().values(
                            session_id=session_id,
                            participant_id=participant.id,
                            role=participant.role.value,
                            **values,
                        )
                    )
        return messages

    async def events_since(self, session_id: str, seq: int) -> list[ServerMessage]:
        """Every stored event after ``seq``, in order (for resuming clients)."""
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(session_events)
                .where(session_events.c.session_id == session_id)
                .where(session_events.c.seq > seq)
                .order_by(session_events.c.seq)
            )
            return [ServerMessage(r.type, json.loads(r.data), seq=int(r.seq)) for r in rows]

    async def snapshot(self, session_id: str) -> tuple[int, dict[str, Any]]:
        """The room's state as data and the sequence number it reflects."""
        if self._relay is not None:
            # A socket joins: a room whose owner died is taken over now, not on the
            # first command (its participants may all look present still).
            await self._relay.settle(session_id)
        if self.elsewhere(session_id):
            seq, stored = await self._stored_room(session_id)
            return seq, converter.unstructure(stored)
        lock = self._locks.setdefault(session_id, anyio.Lock())
        async with lock:
            if self._guard is not None:
                await self._guard.ensure(session_id)
            room = await self.room(session_id)
            summary = await self._load_summary(session_id)
            return summary.last_seq, converter.unstructure(room)

    async def end(self, actor: Principal, session_id: str) -> list[ServerMessage]:
        """End a session: its host (员工结束) or an admin over it (管理员结束)."""
        summary = await self.get(actor, session_id)
        now = self.now_ms()
        if summary.host_account_id == actor.account_id:
            return await self.apply(session_id, End(actor.account_id, EndReason.STAFF_ENDED, now))
        if actor.role is Role.SALESPERSON:
            raise PermissionDenied(
                "only the host or an admin ends a session", zh="只有主持人或管理员可以结束会话"
            )
        return await self.apply(session_id, End(None, EndReason.ADMIN, now))

    async def tick(self) -> None:
        """Let time pass in every live room this process holds (empty-room timeouts)."""
        now = self.now_ms()
        for session_id, room in list(self._rooms.items()):
            if room.state is RoomState.LIVE:
                try:
                    await self.apply_here(session_id, Tick(now))
                except RoomMoved:
                    pass  # another process owns it now; it is gone from memory

    async def _live_ids(self, org_id: str) -> list[str]:
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(sessions.c.id)
                .where(sessions.c.org_id == org_id)
                .where(sessions.c.state != RoomState.ENDED.value)
            )
            return [r.id for r in rows]

    async def _count_live(self, org_id: str) -> int:
        return len(await self._live_ids(org_id))

    async def _end_org_sessions(self, org_id: str) -> None:
        for session_id in await self._live_ids(org_id):
            await self.apply(session_id, End(None, EndReason.ORG_DISABLED, self.now_ms()))
