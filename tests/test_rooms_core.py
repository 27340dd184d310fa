"""The room state machine: worked sessions and random command sequences."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from zhanye_sdk.rooms.core import (
    AudioChanged,
    CommandRejected,
    End,
    EndReason,
    Evaluate,
    EvaluationReceived,
    Join,
    Leave,
    ParticipantJoined,
    ParticipantRole,
    Room,
    RoomEnded,
    RoomStarted,
    RoomState,
    SelfUnmuteChanged,
    SetAudio,
    SetMainView,
    SetSelfUnmute,
    SetVideo,
    Terminal,
    Tick,
)

HOST, C1, C2 = "host", "c1", "c2"


def room() -> Room:
    return Room(room_id="r1", meeting_number="12345678", host_id=HOST, empty_timeout_ms=60_000)


def join(pid: str, at: int) -> Join:
    role = ParticipantRole.HOST if pid == HOST else ParticipantRole.CUSTOMER
    return Join(pid, role, pid.upper(), Terminal.PC_WEB, at)


def test_a_whole_session() -> None:
    r = room()
    assert r.handle(join(C1, 0)) == [
        CommandRejected("not_started", "the host has not opened the session yet")
    ]
    events = r.handle(join(HOST, 1_000))
    assert isinstance(events[0], RoomStarted) and r.state is RoomState.LIVE
    assert isinstance(r.handle(join(C1, 2_000))[0], ParticipantJoined)
    # The host mutes the customer; the customer cannot unmute the host.
    assert r.handle(SetAudio(HOST, C1, False, 3_000)) == [AudioChanged(C1, False, HOST, 3_000)]
    assert r.handle(SetAudio(C1, HOST, False, 3_100))[0].code == "not_allowed"  # type: ignore[union-attr]
    assert r.participants[HOST].audio_on
    # The customer turns their own camera off; repeating it changes nothing.
    assert len(r.handle(SetVideo(C1, C1, False, 3_200))) == 1
    assert r.handle(SetVideo(C1, C1, False, 3_300)) == []
    # Drop and rejoin: time accumulates across both stays.
    r.handle(Leave(C1, 5_000))
    rejoined = r.handle(join(C1, 8_000))[0]
    assert isinstance(rejoined, ParticipantJoined) and rejoined.rejoined
    r.handle(SetMainView(HOST, C1, 8_500))
    assert r.recording_main == C1
    end = r.handle(End(HOST, EndReason.STAFF_ENDED, 10_000))
    assert isinstance(end[-1], RoomEnded) and r.end_reason is EndReason.STAFF_ENDED
    assert r.participants[C1].duration_ms(99_999) == 3_000 + 2_000
    assert r.participants[HOST].duration_ms(99_999) == 9_000
    # After the end: only customers evaluate, once, with a score 1–5.
    assert r.handle(join(C2, 11_000))[0].code == "room_ended"  # type: ignore[union-attr]
    assert r.handle(Evaluate(HOST, 5, "", 12_000))[0].code == "not_allowed"  # type: ignore[union-attr]
    assert r.handle(Evaluate(C1, 6, "", 12_000))[0].code == "invalid_score"  # type: ignore[union-attr]
    assert r.handle(Evaluate(C1, 5, " 很专业 ", 12_000)) == [
        EvaluationReceived(C1, 5, "很专业", 12_000)
    ]
    assert r.handle(Evaluate(C1, 4, "", 13_000))[0].code == "already_evaluated"  # type: ignore[union-attr]


def test_a_customer_the_host_muted_waits_for_the_host() -> None:
    r = room()
    r.handle_all([join(HOST, 0), join(C1, 100)])
    r.handle(SetAudio(HOST, C1, False, 200))
    refused = r.handle(SetAudio(C1, C1, True, 300))
    assert [e.code for e in refused] == ["muted_by_host"]  # type: ignore[union-attr]
    assert refused[0].message_zh  # type: ignore[union-attr]
    # Muting themselves again keeps the host's mute; rejoining does not shed it.
    assert r.handle(SetAudio(C1, C1, False, 350)) == []
    r.handle_all([Leave(C1, 400), join(C1, 500)])
    assert r.participants[C1].muted_by_host and not r.participants[C1].audio_on
    assert r.handle(SetSelfUnmute(C1, True, 600))[0].code == "not_allowed"  # type: ignore[union-attr]
    # The host unmutes them: they are free to mute and unmute themselves again.
    r.handle(SetAudio(HOST, C1, True, 700))
    assert r.handle(SetAudio(C1, C1, False, 800)) == [AudioChanged(C1, False, C1, 800)]
    assert r.handle(SetAudio(C1, C1, True, 900)) == [AudioChanged(C1, True, C1, 900)]
    # Or the host allows self-unmute for the room.
    r.handle(SetAudio(HOST, C1, False, 1_000))
    assert r.handle(SetSelfUnmute(HOST, True, 1_100)) == [SelfUnmuteChanged(True, HOST, 1_100)]
    assert r.handle(SetAudio(C1, C1, True, 1_200)) == [AudioChanged(C1, True, C1, 1_200)]
    assert not r.participants[C1].muted_by_host


def test_empty_room_times_out() -> None:
    r = room()
    r.handle_all([join(HOST, 0), join(C1, 10), Leave(C1, 20), Leave(HOST, 30)])
    assert r.handle(Tick(60_029)) == []
    ended = r.handle(Tick(60_030))
    assert ended == [RoomEnded(EndReason.EMPTY_TIMEOUT, 60_030)]


def test_customer_cannot_end_and_system_reasons_need_no_actor() -> None:
    r = room()
    r.handle_all([join(HOST, 0), join(C1, 1)])
    assert r.handle(End(C1, EndReason.STAFF_ENDED, 2))[0].code == "not_allowed"  # type: ignore[union-attr]
    assert r.handle(End(HOST, EndReason.ORG_DISABLED, 2))[0].code == "not_allowed"  # type: ignore[union-attr]
    assert isinstance(r.handle(End(None, EndReason.ORG_DISABLED, 3))[-1], RoomEnded)


def test_full_room_and_bad_names_are_refused() -> None:
    r = Room(room_id="r", meeting_number="1", host_id=HOST, max_customers=1)
    r.handle(join(HOST, 0))
    r.handle(join(C1, 1))
    assert r.handle(join(C2, 2))[0].code == "room_full"  # type: ignore[union-attr]
    assert r.handle(Join(C2, ParticipantRole.HOST, "x", Terminal.APP, 3))[0].code == "wrong_role"  # type: ignore[union-attr]
    assert r.handle(Join("c3", ParticipantRole.CUSTOMER, "  ", Terminal.APP, 3))[0].code in (
        "invalid_name",
        "room_full",
    )  # type: ignore[union-attr]


PEOPLE = [HOST, C1, C2, "c3"]
people = st.sampled_from(PEOPLE)


class RoomMachine(RuleBasedStateMachine):
    """Random commands never break the room's invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.room = room()
        self.now = 0
        self.state_history = [self.room.state]
        self.snapshot = self._snapshot()

    def _snapshot(self) -> object:
        r = self.room
        return (r.state, dict(r.participants), r.end_reason, dict(r.evaluations))

    def _apply(self, command: object) -> None:
        before = self._snapshot()
        events = self.room.handle(command)  # type: ignore[arg-type]
        if any(isinstance(e, CommandRejected) for e in events):
            assert len(events) == 1
            assert self._snapshot() == before, "a refused command changed the room"
        self.state_history.append(self.room.state)

    @rule(delta=st.integers(0, 120_000))
    def time_passes(self, delta: int) -> None:
        self.now += delta
        self._apply(Tick(self.now))

    @rule(pid=people, terminal=st.sampled_from(list(Terminal)))
    def someone_joins(self, pid: str, terminal: Terminal) -> None:
        role = ParticipantRole.HOST if pid == HOST else ParticipantRole.CUSTOMER
        self._apply(Join(pid, role, pid, terminal, self.now))

    @rule(pid=people)
    def someone_leaves(self, pid: str) -> None:
        self._apply(Leave(pid, self.now))

    @rule(by=people, subject=people, on=st.booleans(), audio=st.booleans())
    def member_control(self, by: str, subject: str, on: bool, audio: bool) -> None:
        before = self.room.participants.get(subject)
        cls = SetAudio if audio else SetVideo
        events = self.room.handle(cls(by, subject, on, self.now))
        if events and not isinstance(events[0], CommandRejected):
            assert by == subject or by == HOST
            assert before is not None
            if audio and on and by != HOST:
                assert not before.muted_by_host or self.room.self_unmute

    @rule(by=people, allowed=st.booleans())
    def self_unmute(self, by: str, allowed: bool) -> None:
        self._apply(SetSelfUnmute(by, allowed, self.now))

    @invariant()
    def a_customer_the_host_muted_stays_muted(self) -> None:
        for p in self.room.participants.values():
            if p.muted_by_host:
                assert not p.audio_on and p.role is ParticipantRole.CUSTOMER

    @rule(by=people, subject=people)
    def main_view(self, by: str, subject: str) -> None:
        self._apply(SetMainView(by, subject, self.now))

    @rule(by=st.none() | people, reason=st.sampled_from(list(EndReason)))
    def end(self, by: str | None, reason: EndReason) -> None:
        self._apply(End(by, reason, self.now))

    @precondition(lambda self: self.room.state is RoomState.ENDED)
    @rule(by=people, score=st.integers(-1, 7), comment=st.text(max_size=20))
    def evaluate(self, by: str, score: int, comment: str) -> None:
        self._apply(Evaluate(by, score, comment, self.now))

    @invariant()
    def states_only_move_forward(self) -> None:
        order = [RoomState.WAITING, RoomState.LIVE, RoomState.ENDED]
        ranks = [order.index(s) for s in self.state_history]
        assert ranks == sorted(ranks)

    @invariant()
    def nobody_is_present_after_the_end_and_durations_fit(self) -> None:
        r = self.room
        if r.state is RoomState.ENDED:
            assert not r.present and r.end_reason is not None
        if r.state is RoomState.WAITING:
            assert not r.participants
        if r.started_ms is not None:
            horizon = (r.ended_ms if r.ended_ms is not None else self.now) - r.started_ms
            for p in r.participants.values():
                assert 0 <= p.duration_ms(self.now) <= horizon

    @invariant()
    def evaluations_are_from_customers(self) -> None:
        for pid, (score, _) in self.room.evaluations.items():
            assert self.room.participants[pid].role is ParticipantRole.CUSTOMER
            assert 1 <= score <= 5


TestRoomMachine = RoomMachine.TestCase
