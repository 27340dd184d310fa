"""The room: a sans-I/O state machine for one session (会话).

Theory of operation
-------------------
A ``Room`` receives commands (``Join``, ``SetAudio``, ``End``…), each naming who
issues it and when (``at``, milliseconds; the room has no clock of its own), and
answers with the events that happened. A command that is not allowed produces a
single ``CommandRejected`` event and changes nothing. The room never does I/O.

States::

    waiting --Join(host)--> live --End / Tick(empty too long)--> ended

* waiting: created; nobody has joined. Customers may not join before the host.
* live: the host has joined at least once. Participants join, leave and rejoin;
  time in the room accumulates across rejoins.
* ended: nothing changes any more, except customers leaving an evaluation (1–5 and
  a comment), once each.

Member control (manual §5.5): the host mutes/unmutes and turns video off/on for
anyone; a customer only for themselves. A customer the host has muted stays muted:
they may not unmute themselves (``muted_by_host``) until the host unmutes them or
allows self-unmute for the room (``SetSelfUnmute``; off by default, so a host who
silences a customer decides when they speak again). Main view (§5.6): every participant picks
whose video is large on their own screen; the host's choice also drives the
recording layout (``recording_main``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any

import attrs

__all__ = [
    "AudioChanged",
    "Command",
    "CommandRejected",
    "End",
    "EndReason",
    "Evaluate",
    "EvaluationReceived",
    "Event",
    "Join",
    "Leave",
    "MainViewChanged",
    "Participant",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantRole",
    "Room",
    "RoomEnded",
    "RoomStarted",
    "RoomState",
    "SelfUnmuteChanged",
    "SetAudio",
    "SetMainView",
    "SetSelfUnmute",
    "SetVideo",
    "Terminal",
    "Tick",
    "VideoChanged",
]


class RoomState(enum.StrEnum):
    """Where a session is in its life."""

    WAITING = "waiting"
    LIVE = "live"
    ENDED = "ended"


class ParticipantRole(enum.StrEnum):
    """A participant is the staff member hosting the session, or a customer."""

    HOST = "host"
    CUSTOMER = "customer"


class Terminal(enum.StrEnum):
    """The kind of client a participant joined from (终端)."""

    PC_WEB = "pc-web"
    MOBILE_WEB = "mobile-web"  # a phone's browser (手机)
    TABLET_WEB = "tablet-web"  # a tablet's browser (平板)
    MINI_PROGRAM = "mini-program"
    APP = "app"


class EndReason(enum.StrEnum):
    """How a session ended (会议结束方式)."""

    STAFF_ENDED = "staff_ended"  # 员工结束
    EMPTY_TIMEOUT = "empty_timeout"  # 超时结束
    ADMIN = "admin"  # 管理员结束
    ORG_DISABLED = "org_disabled"  # 机构禁用


@attrs.frozen
class Participant:
    """One participant as the room knows them."""

    id: str
    role: ParticipantRole
    name: str
    terminal: Terminal
    audio_on: bool = True
    video_on: bool = True
    #: Muted by the host: unmuting themselves needs the host's leave (``self_unmute``).
    muted_by_host: bool = False
    present: bool = True
    main_view: str | None = None
    first_joined_ms: int = 0
    last_left_ms: int | None = None
    joined_since_ms: int | None = None
    accumulated_ms: int = 0

    def duration_ms(self, now_ms: int) -> int:
        """Time spent in the room so far, across every rejoin."""
        if self.joined_since_ms is None:
            return self.accumulated_ms
        return self.accumulated_ms + max(0, now_ms - self.joined_since_ms)


# ---- commands -------------------------------------------------------------------------


@attrs.frozen
class Join:
    """``participant`` enters (or re-enters) the room."""

    participant: str
    role: ParticipantRole
    name: str
    terminal: Terminal
    at: int


@attrs.frozen
class Leave:
    """``participant`` leaves (closed the page, or the connection dropped for good)."""

    participant: str
    at: int


@attrs.frozen
class SetAudio:
    """``by`` turns ``target``'s microphone on or off."""

    by: str
    target: str
    on: bool
    at: int


@attrs.frozen
class SetVideo:
    """``by`` turns ``target``'s camera on or off."""

    by: str
    target: str
    on: bool
    at: int


@attrs.frozen
class SetSelfUnmute:
    """The host lets customers they muted unmute themselves (``allowed``), or not."""

    by: str
    allowed: bool
    at: int


@attrs.frozen
class SetMainView:
    """``by`` shows ``target``'s video large on their own screen."""

    by: str
    target: str
    at: int


@attrs.frozen
class End:
    """End the session. ``by`` is the host for ``staff_ended``; None for the system."""

    by: str | None
    reason: EndReason
    at: int


@attrs.frozen
class Tick:
    """Time has passed (the service sends one every few seconds)."""

    at: int


@attrs.frozen
class Evaluate:
    """A customer rates the ended session: ``score`` 1–5 and a comment."""

    by: str
    score: int
    comment: str
    at: int


Command = Join | Leave | SetAudio | SetVideo | SetSelfUnmute | SetMainView | End | Tick | Evaluate

# ---- events ---------------------------------------------------------------------------


@attrs.frozen
class RoomStarted:
    """The host joined for the first time: the session is live."""

    at: int


@attrs.frozen
class ParticipantJoined:
    """Someone joined; ``rejoined`` when they had been in the room before."""

    participant: Participant
    rejoined: bool
    at: int


@attrs.frozen
class ParticipantLeft:
    """Someone left."""

    participant: str
    at: int


@attrs.frozen
class AudioChanged:
    """A microphone was turned on or off, by ``by``."""

    participant: str
    on: bool
    by: str
    at: int


@attrs.frozen
class VideoChanged:
    """A camera was turned on or off, by ``by``."""

    participant: str
    on: bool
    by: str
    at: int


@attrs.frozen
class SelfUnmuteChanged:
    """The host allowed (or stopped allowing) muted customers to unmute themselves."""

    allowed: bool
    by: str
    at: int


@attrs.frozen
class MainViewChanged:
    """``viewer`` now shows ``target`` large."""

    viewer: str
    target: str
    at: int


@attrs.frozen
class RoomEnded:
    """The session ended."""

    reason: EndReason
    at: int


@attrs.frozen
class EvaluationReceived:
    """A customer's rating."""

    participant: str
    score: int
    comment: str
    at: int


@attrs.frozen
class CommandRejected:
    """A command was refused; nothing changed. ``code`` is machine-readable; ``message``
    is English and ``message_zh`` Chinese (empty where none is written yet)."""

    code: str
    message: str
    message_zh: str = ""


Event = (
    RoomStarted
    | ParticipantJoined
    | ParticipantLeft
    | AudioChanged
    | VideoChanged
    | SelfUnmuteChanged
    | MainViewChanged
    | RoomEnded
    | EvaluationReceived
    | CommandRejected
)

MAX_NAME = 32
MAX_COMMENT = 500


class _Refused(Exception):
    def __init__(self, code: str, message: str, zh: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.zh = zh


@attrs.define
class Room:
    """One session's state. Feed commands with ``handle``; read the state from attributes."""

    room_id: str
    meeting_number: str
    host_id: str
    empty_timeout_ms: int = 10 * 60 * 1000
    max_customers: int = 8
    state: RoomState = RoomState.WAITING
    participants: dict[str, Participant] = attrs.field(factory=dict)
    started_ms: int | None = None
    ended_ms: int | None = None
    end_reason: EndReason | None = None
    empty_since_ms: int | None = None
    last_ms: int = 0
    evaluations: dict[str, tuple[int, str]] = attrs.field(factory=dict)
    #: Customers the host muted may unmute themselves (the host's choice; off at first).
    self_unmute: bool = False

    # ---- reading ----------------------------------------------------------------

    @property
    def present(self) -> list[Participant]:
        """Participants in the room now, in joining order."""
        return [p for p in self.participants.values() if p.present]

    @property
    def recording_main(self) -> str | None:
        """Whose video the recording shows large: the host's choice, else the host."""
        host = self.participants.get(self.host_id)
        if host is None:
            return None
        target = host.main_view or self.host_id
        chosen = self.participants.get(target)
        return target if chosen is not None and chosen.present else self.host_id

    def customer_count(self) -> int:
        """How many different customers have joined."""
        return sum(p.role is ParticipantRole.CUSTOMER for p in self.participants.values())

    # ---- commands ---------------------------------------------------------------

    def handle(self, command: Command) -> list[Event]:
        """Apply one command; return what happened (``CommandRejected`` if refused)."""
        if command.at < self.last_ms:
            # Time never runs backwards inside the room; late commands count as "now".
            command = attrs.evolve(command, at=self.last_ms)
        try:
            handler = _HANDLERS[type(command)]
        except KeyError:
            return [
                CommandRejected(
                    "unknown_command", f"{type(command).__name__} is not a room command"
                )
            ]
        try:
            events = handler(self, command)
        except _Refused as refused:
            return [CommandRejected(refused.code, str(refused), refused.zh)]
        self.last_ms = max(self.last_ms, command.at)
        return events

    def handle_all(self, commands: Iterable[Command]) -> list[Event]:
        """Apply commands in order; return every event."""
        events: list[Event] = []
        for command in commands:
            events.extend(self.handle(command))
        return events

    # ---- handlers (each raises _Refused before changing anything) ------------------

    def _require_live(self) -> None:
        if self.state is RoomState.ENDED:
            raise _Refused("room_ended", "the session has ended")

    def _member(self, participant_id: str) -> Participant:
        participant = self.participants.get(participant_id)
        if participant is None or not participant.present:
            raise _Refused("not_in_room", f"{participant_id!r} is not in the room")
        return participant

    def _join(self, c: Join) -> list[Event]:
        self._require_live()
        name = c.name.strip()
        if not name or len(name) > MAX_NAME:
            raise _Refused("invalid_name", f"a name must be 1–{MAX_NAME} characters")
        is_host = c.participant == self.host_id
        if is_host != (c.role is ParticipantRole.HOST):
            raise _Refused("wrong_role", "only the session's staff member joins as host")
        if self.state is RoomState.WAITING and not is_host:
            raise _Refused("not_started", "the host has not opened the session yet")
        existing = self.participants.get(c.participant)
        if existing is not None and existing.present:
            raise _Refused("already_in_room", f"{c.participant!r} is already in the room")
        if existing is None and not is_host and self.customer_count() >= self.max_customers:
            raise _Refused("room_full", f"a session takes at most {self.max_customers} customers")
        events: list[Event] = []
        if self.state is RoomState.WAITING:
            self.state = RoomState.LIVE
            self.started_ms = c.at
            events.append(RoomStarted(c.at))
        if existing is None:
            joined = Participant(
                id=c.participant,
                role=c.role,
                name=name,
                terminal=c.terminal,
                first_joined_ms=c.at,
                joined_since_ms=c.at,
            )
        else:
            joined = attrs.evolve(
                existing, present=True, terminal=c.terminal, name=name, joined_since_ms=c.at
            )
        self.participants[c.participant] = joined
        self.empty_since_ms = None
        events.append(ParticipantJoined(joined, existing is not None, c.at))
        return events

    def _leave(self, c: Leave) -> list[Event]:
        participant = self._member(c.participant)
        since = participant.joined_since_ms if participant.joined_since_ms is not None else c.at
        self.participants[c.participant] = attrs.evolve(
            participant,
            present=False,
            last_left_ms=c.at,
            joined_since_ms=None,
            accumulated_ms=participant.accumulated_ms + max(0, c.at - since),
        )
        if self.state is RoomState.LIVE and not self.present:
            self.empty_since_ms = c.at
        return [ParticipantLeft(c.participant, c.at)]

    def _may_control(self, by: str, target: str) -> Participant:
        self._require_live()
        self._member(by)
        subject = self._member(target)
        if by != target and by != self.host_id:
            raise _Refused(
                "not_allowed", "a customer may only control their own microphone and camera"
            )
        return subject

    def _set_audio(self, c: SetAudio) -> list[Event]:
        subject = self._may_control(c.by, c.target)
        by_host = c.by == self.host_id and c.target != self.host_id
        if c.on and subject.muted_by_host and not by_host and not self.self_unmute:
            raise _Refused(
                "muted_by_host",
                "the host has muted you; ask the host to unmute you",
                "主持人已将您静音，需由主持人为您解除静音",
            )
        # The host muting someone (not themselves) holds until the host lifts it.
        muted_by_host = (not c.on and by_host) or (subject.muted_by_host and not c.on)
        if subject.audio_on == c.on and subject.muted_by_host == muted_by_host:
            return []
        self.participants[c.target] = attrs.evolve(
            subject, audio_on=c.on, muted_by_host=muted_by_host
        )
        return [AudioChanged(c.target, c.on, c.by, c.at)]

    def _set_self_unmute(self, c: SetSelfUnmute) -> list[Event]:
        self._require_live()
        self._member(c.by)
        if c.by != self.host_id:
            raise _Refused(
                "not_allowed",
                "only the host decides whether muted customers may unmute themselves",
                "只有主持人可以设置客户能否自行解除静音",
            )
        if self.self_unmute == c.allowed:
            return []
        self.self_unmute = c.allowed
        return [SelfUnmuteChanged(c.allowed, c.by, c.at)]

    def _set_video(self, c: SetVideo) -> list[Event]:
        subject = self._may_control(c.by, c.target)
        if subject.video_on == c.on:
            return []
        self.participants[c.target] = attrs.evolve(subject, video_on=c.on)
        return [VideoChanged(c.target, c.on, c.by, c.at)]

    def _set_main_view(self, c: SetMainView) -> list[Event]:
        self._require_live()
        viewer = self._member(c.by)
        self._member(c.target)
        if viewer.main_view == c.target:
            return []
        self.participants[c.by] = attrs.evolve(viewer, main_view=c.target)
        return [MainViewChanged(c.by, c.target, c.at)]

    def _end(self, c: End) -> list[Event]:
        self._require_live()
        if c.reason is EndReason.STAFF_ENDED and c.by != self.host_id:
            raise _Refused("not_allowed", "only the host ends the session")
        if c.reason is not EndReason.STAFF_ENDED and c.by is not None:
            raise _Refused("not_allowed", f"{c.reason.value} is decided by the system")
        return self._finish(c.reason, c.at)

    def _finish(self, reason: EndReason, at: int) -> list[Event]:
        events: list[Event] = []
        for participant in self.present:
            events.extend(self._leave(Leave(participant.id, at)))
        self.state = RoomState.ENDED
        self.ended_ms = at
        self.end_reason = reason
        self.empty_since_ms = None
        events.append(RoomEnded(reason, at))
        return events

    def _tick(self, c: Tick) -> list[Event]:
        if (
            self.state is RoomState.LIVE
            and self.empty_since_ms is not None
            and c.at - self.empty_since_ms >= self.empty_timeout_ms
        ):
            return self._finish(EndReason.EMPTY_TIMEOUT, c.at)
        return []

    def _evaluate(self, c: Evaluate) -> list[Event]:
        if self.state is not RoomState.ENDED:
            raise _Refused("not_ended", "evaluations open when the session ends")
        who = self.participants.get(c.by)
        if who is None or who.role is not ParticipantRole.CUSTOMER:
            raise _Refused("not_allowed", "only customers of this session evaluate it")
        if c.by in self.evaluations:
            raise _Refused("already_evaluated", "this customer has evaluated the session already")
        if not 1 <= c.score <= 5:
            raise _Refused("invalid_score", "the score must be 1–5")
        comment = c.comment.strip()
        if len(comment) > MAX_COMMENT:
            raise _Refused("invalid_comment", f"a comment must be at most {MAX_COMMENT} characters")
        self.evaluations[c.by] = (c.score, comment)
        return [EvaluationReceived(c.by, c.score, comment, c.at)]


_HANDLERS: dict[type, Callable[[Room, Any], list[Event]]] = {
    Join: Room._join,
    Leave: Room._leave,
    SetAudio: Room._set_audio,
    SetVideo: Room._set_video,
    SetSelfUnmute: Room._set_self_unmute,
    SetMainView: Room._set_main_view,
    End: Room._end,
    Tick: Room._tick,
    Evaluate: Room._evaluate,
}
