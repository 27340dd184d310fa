"""Call state machine: AT events and time in, call events out."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from zhanye_sdk.devices import calls
from zhanye_sdk.devices.at import CallDisconnected, CallerId, CallListEntry, Ring, VendorUrc
from zhanye_sdk.devices.calls import (
    CallAnswered,
    CallDirection,
    CallEnded,
    CallOutcome,
    CallState,
    CallTimings,
    CallTracker,
    IncomingCall,
    OutgoingCall,
)

T = CallTimings(clip_wait=1.0, ring_timeout=8.0, poll_interval=1.0, active_poll_interval=5.0)


def incoming_entry(state: int = 4, number: str = "13800138000") -> CallListEntry:
    return CallListEntry(1, True, state, 0, False, number, 129)


def test_all_is_exported() -> None:
    for name in calls.__all__:
        assert hasattr(calls, name)


def test_ring_clip_train_is_one_incoming_call_with_the_number_as_sent() -> None:
    tracker = CallTracker(T)
    events = []
    for k in range(4):
        events += tracker.handle(Ring(), 3.0 * k)
        events += tracker.handle(CallerId("13800138000", 129), 3.0 * k + 0.05)
        events += tracker.tick(3.0 * k + 1.5)
    assert events == [IncomingCall(1, "13800138000", 129, False, 0.0)]
    assert tracker.state is CallState.RINGING


def test_withheld_number() -> None:
    tracker = CallTracker(T)
    tracker.handle(Ring(), 0.0)
    (event,) = tracker.handle(CallerId(None, 128, 1), 0.1)
    assert isinstance(event, IncomingCall) and event.withheld and event.number is None


def test_ring_without_clip_is_announced_after_clip_wait() -> None:
    tracker = CallTracker(T)
    assert tracker.handle(Ring(), 0.0) == []
    assert tracker.tick(0.5) == []
    (event,) = tracker.tick(1.0)
    assert isinstance(event, IncomingCall) and event.number is None and not event.withheld


def test_answered_then_ended_with_duration() -> None:
    tracker = CallTracker(T)
    tracker.handle(Ring(), 0.0)
    tracker.handle(CallerId("13800138000", 129), 0.0)
    assert tracker.answered(4.0) == [CallAnswered(1, 4.0)]
    assert tracker.state is CallState.ACTIVE
    (ended,) = tracker.handle(CallDisconnected("NO CARRIER"), 64.5)
    assert isinstance(ended, CallEnded)
    assert ended.outcome is CallOutcome.COMPLETED and ended.duration == 60.5
    assert list(tracker.history) == [ended]


def test_caller_gives_up_no_urc_clcc_poll_detects_missed_call() -> None:
    tracker = CallTracker(T)
    tracker.handle(Ring(), 0.0)
    tracker.handle(CallerId("13800138000", 129), 0.0)
    assert not tracker.poll_due(0.5)
    assert tracker.poll_due(1.0)
    tracker.polled(1.0)
    assert tracker.call_list([incoming_entry()], 1.1) == []
    tracker.polled(2.1)
    (ended,) = tracker.call_list([], 2.2)
    assert isinstance(ended, CallEnded) and ended.missed and ended.number == "13800138000"
    assert ended.duration == 0.0 and tracker.state is CallState.IDLE


def test_ring_timeout_fallback_when_clcc_is_not_supported() -> None:
    tracker = CallTracker(T)
    tracker.clcc_supported = False
    tracker.handle(Ring(), 0.0)
    tracker.handle(CallerId("021-555", 129), 0.1)
    tracker.handle(Ring(), 3.0)
    assert not tracker.poll_due(5.0)
    assert tracker.tick(10.9) == []
    (ended,) = tracker.tick(11.0)
    assert isinstance(ended, CallEnded) and ended.missed


def test_a_stalled_service_does_not_take_a_ringing_call_for_a_missed_one() -> None:
    # The computer was busy for longer than the ring timeout: the RINGs and the call
    # list's answer are still unread when the service ticks again.
    tracker = CallTracker(T)
    tracker.handle(Ring(), 0.0)
    (call,) = tracker.handle(CallerId("13800138000", 129), 0.0)
    tracker.polled(1.0)
    assert tracker.call_list([incoming_entry()], 1.0) == []
    assert tracker.tick(30.0) == []  # 29 s without a sign, but no poll went unanswered
    tracker.polled(30.0)
    assert tracker.call_list([incoming_entry()], 30.1) == []
    assert tracker.state is CallState.RINGING
    # The caller gives up: the next answer no longer lists the call.
    (ended,) = tracker.call_list([], 31.0)
    assert isinstance(ended, CallEnded) and ended.missed and ended.call_id == call.call_id


def test_ring_silence_ends_the_call_once_the_call_list_stops_answering() -> None:
    tracker = CallTracker(T)
    tracker.handle(CallerId("13800138000", 129), 0.0)
    tracker.polled(1.0)  # unanswered (timed out)
    assert tracker.tick(9.0) == []
    tracker.polled(9.0)  # unanswered again
    (ended,) = tracker.tick(9.1)
    assert isinstance(ended, CallEnded) and ended.missed


def test_handset_pickup_seen_by_clcc_answers_the_call() -> None:
    tracker = CallTracker(T)
    tracker.handle(Ring(), 0.0)
    tracker.handle(CallerId("13800138000", 129), 0.0)
    events = tracker.call_list([incoming_entry(state=0)], 2.0)
    assert events == [CallAnswered(1, 2.0)]
    assert tracker.tick(100.0) == []  # no ring timeout once answered
    (ended,) = tracker.call_list([], 30.0)
    assert isinstance(ended, CallEnded) and ended.outcome is CallOutcome.COMPLETED


def test_rejected_by_us() -> None:
    tracker = CallTracker(T)
    tracker.handle(CallerId("13800138000", 129), 0.0)
    (ended,) = tracker.hung_up(1.0)
    assert isinstance(ended, CallEnded) and ended.outcome is CallOutcome.REJECTED


def test_missed_call_urc_without_clip_announces_first() -> None:
    tracker = CallTracker(T)
    tracker.handle(Ring(), 0.0)
    events = tracker.handle(VendorUrc("simcom", "MISSED_CALL", ("10:23AM 1380",), ""), 0.5)
    assert isinstance(events[0], IncomingCall)
    assert isinstance(events[1], CallEnded) and events[1].missed


def test_outgoing_call_busy_and_connected() -> None:
    tracker = CallTracker(T)
    (dialled,) = tracker.dialed("10086", 0.0)
    assert dialled == OutgoingCall(1, "10086", 0.0)
    (ended,) = tracker.handle(CallDisconnected("BUSY"), 2.0)
    assert isinstance(ended, CallEnded) and ended.outcome is CallOutcome.BUSY
    tracker.dialed("10086", 10.0)
    outgoing = CallListEntry(1, False, 0, 0, False, "10086", 129)
    assert tracker.call_list([outgoing], 12.0) == [CallAnswered(2, 12.0)]
    (ended,) = tracker.hung_up(20.0)
    assert isinstance(ended, CallEnded)
    assert ended.direction is CallDirection.OUTGOING and ended.duration == 8.0


def test_unsolicited_clcc_entry_starts_a_call() -> None:
    tracker = CallTracker(T)
    (event,) = tracker.handle(incoming_entry(), 0.0)
    assert isinstance(event, IncomingCall) and event.number == "13800138000"


def test_two_trains_are_two_calls() -> None:
    tracker = CallTracker(T)
    tracker.handle(CallerId("1", 129), 0.0)
    tracker.polled(5.0)  # the call list never answers
    tracker.polled(10.0)
    tracker.tick(20.0)
    (second,) = tracker.handle(CallerId("2", 129), 21.0)
    assert isinstance(second, IncomingCall) and second.call_id == 2 and second.number == "2"


# ---------------------------------------------------------------- state machine


class CallMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tracker = CallTracker(T)
        self.now = 0.0
        self.started: dict[int, object] = {}
        self.ended: set[int] = set()
        self.answered: set[int] = set()

    def _take(self, events: list[object]) -> None:
        for event in events:
            if isinstance(event, IncomingCall | OutgoingCall):
                assert event.call_id not in self.started
                self.started[event.call_id] = event
            elif isinstance(event, CallAnswered):
                assert event.call_id in self.started and event.call_id not in self.ended
                assert event.call_id not in self.answered
                self.answered.add(event.call_id)
            elif isinstance(event, CallEnded):
                assert event.call_id in self.started, "ended before being announced"
                assert event.call_id not in self.ended
                assert event.duration >= 0
                assert (event.answered_at is not None) == (event.call_id in self.answered)
                if event.outcome is CallOutcome.MISSED:
                    assert event.answered_at is None
                self.ended.add(event.call_id)

    @rule(dt=st.floats(0, 12))
    def wait(self, dt: float) -> None:
        self.now += dt
        self._take(self.tracker.tick(self.now))

    @rule()
    def ring(self) -> None:
        self._take(self.tracker.handle(Ring(), self.now))

    @rule(
        number=st.sampled_from(["13800138000", "+8613900000000", None]),
        validity=st.sampled_from([None, 0, 1, 2]),
    )
    def clip(self, number: str | None, validity: int | None) -> None:
        self._take(self.tracker.handle(CallerId(number, 129, validity), self.now))

    @rule(result=st.sampled_from(["NO CARRIER", "BUSY", "NO ANSWER"]))
    def disconnected(self, result: str) -> None:
        self._take(self.tracker.handle(CallDisconnected(result), self.now))

    @rule(state=st.sampled_from([None, 0, 2, 3, 4]), incoming=st.booleans())
    def poll(self, state: int | None, incoming: bool) -> None:
        entries = [] if state is None else [CallListEntry(1, incoming, state, 0, False, "1", 129)]
        self.tracker.polled(self.now)
        self._take(self.tracker.call_list(entries, self.now))

    @rule()
    def answer(self) -> None:
        self._take(self.tracker.answered(self.now))

    @rule()
    def hangup(self) -> None:
        self._take(self.tracker.hung_up(self.now))

    @rule()
    def dial(self) -> None:
        self._take(self.tracker.dialed("10086", self.now))

    @rule(name=st.sampled_from(["^CEND", "^CONN", "MISSED_CALL", "^RSSI"]))
    def vendor(self, name: str) -> None:
        self._take(self.tracker.handle(VendorUrc("x", name, (), name), self.now))

    @invariant()
    def at_most_one_open_call(self) -> None:
        open_calls = set(self.started) - self.ended
        assert len(open_calls) <= 1
        if self.tracker.state is CallState.IDLE:
            assert not open_calls

    @precondition(lambda self: self.tracker.state is CallState.RINGING)
    @rule()
    def caller_gives_up_silently(self) -> None:
        # no URC at all, and the call list does not answer: enough time without RING
        # and two unanswered polls end it as missed
        self.tracker.polled(self.now)
        self.tracker.polled(self.now)
        self.now += T.ring_timeout + 0.01
        self._take(self.tracker.tick(self.now))
        assert self.tracker.state is CallState.IDLE


TestCallMachine = CallMachine.TestCase
TestCallMachine.settings = settings(max_examples=60, stateful_step_count=30)


# ---------------------------------------------------------------- two lines (一机双号)


def test_each_line_takes_only_its_own_reports_and_ids_stay_unique() -> None:
    import itertools

    from zhanye_sdk.devices.at import Line, LineConnected

    ids = itertools.count(1)
    gsm, pstn = CallTracker(T, ids=ids), CallTracker(T, line=Line.PSTN, ids=ids)
    both = (gsm, pstn)

    def feed(event: object, now: float) -> list[object]:
        return [e for tracker in both for e in tracker.handle(event, now)]  # type: ignore[arg-type]

    assert feed(Ring(line=Line.PSTN), 0.0) == []
    (landline,) = feed(CallerId("02188886666", 129, line=Line.PSTN), 0.5)
    assert isinstance(landline, IncomingCall) and landline.line is Line.PSTN
    assert gsm.state is CallState.IDLE and pstn.state is CallState.RINGING
    feed(Ring(), 1.0)
    (mobile,) = feed(CallerId("13800138000", 129), 1.0)
    assert isinstance(mobile, IncomingCall) and mobile.line is Line.GSM
    assert mobile.call_id != landline.call_id
    # The radio's call list and vendor reports never touch the landline's call.
    assert feed(CallListEntry(1, True, 0, 0, False, "13800138000", 129), 2.0) == [
        CallAnswered(mobile.call_id, 2.0, Line.GSM)
    ]
    assert pstn.call_list([], 2.0) == [] and pstn.state is CallState.RINGING
    assert feed(LineConnected(Line.PSTN), 3.0) == [CallAnswered(landline.call_id, 3.0, Line.PSTN)]
    (ended,) = feed(CallDisconnected("NO CARRIER", Line.PSTN), 9.0)
    assert isinstance(ended, CallEnded) and ended.line is Line.PSTN and ended.duration == 6.0
    assert gsm.state is CallState.ACTIVE
    # The landline never dials: calls go out on the SIM.
    try:
        pstn.dialed("10086", 10.0)
    except calls.InvalidInput as refused:
        assert refused.zh == "座机线路只能接听来电，外呼均经手机卡线路"
    else:
        raise AssertionError("the landline dialled")


class TwoLineMachine(RuleBasedStateMachine):
    """Random reports of both lines fed to both trackers, as the modem does: each line
    has at most one open call, every call event carries its tracker's line, and ids
    never repeat across lines."""

    def __init__(self) -> None:
        super().__init__()
        import itertools

        from zhanye_sdk.devices.at import Line

        ids = itertools.count(1)
        self.trackers = {
            Line.GSM: CallTracker(T, ids=ids),
            Line.PSTN: CallTracker(T, line=Line.PSTN, ids=ids),
        }
        self.now = 0.0
        self.started: dict[int, object] = {}
        self.ended: set[int] = set()

    def _feed(self, event: object) -> None:
        for line, tracker in self.trackers.items():
            self._take(line, tracker.handle(event, self.now))  # type: ignore[arg-type]

    def _take(self, line: object, events: list[object]) -> None:
        for event in events:
            assert event.line is line
            call_id = event.call_id
            if isinstance(event, IncomingCall | OutgoingCall):
                assert call_id not in self.started
                self.started[call_id] = line
            else:
                assert self.started.get(call_id) is line
            if isinstance(event, CallEnded):
                assert call_id not in self.ended
                self.ended.add(call_id)

    @rule(dt=st.floats(0, 12))
    def wait(self, dt: float) -> None:
        self.now += dt
        for line, tracker in self.trackers.items():
            self._take(line, tracker.tick(self.now))

    @rule(pstn=st.booleans(), number=st.sampled_from(["02188886666", "13800138000", None]))
    def ring_and_clip(self, pstn: bool, number: str | None) -> None:
        from zhanye_sdk.devices.at import Line

        line = Line.PSTN if pstn else Line.GSM
        self._feed(Ring(line=line))
        self._feed(CallerId(number, 129, line=line))

    @rule(pstn=st.booleans())
    def far_end_hangs_up(self, pstn: bool) -> None:
        from zhanye_sdk.devices.at import Line

        self._feed(CallDisconnected("NO CARRIER", Line.PSTN if pstn else Line.GSM))

    @rule()
    def picked_up(self) -> None:
        from zhanye_sdk.devices.at import LineConnected

        self._feed(LineConnected())

    @rule(state=st.sampled_from([None, 0, 4]))
    def poll(self, state: int | None) -> None:
        from zhanye_sdk.devices.at import Line

        entries = [] if state is None else [incoming_entry(state)]
        self._take(Line.GSM, self.trackers[Line.GSM].call_list(entries, self.now))

    @rule(pstn=st.booleans())
    def desk_hangs_up(self, pstn: bool) -> None:
        from zhanye_sdk.devices.at import Line

        line = Line.PSTN if pstn else Line.GSM
        self._take(line, self.trackers[line].hung_up(self.now))

    @invariant()
    def one_open_call_per_line(self) -> None:
        for line, tracker in self.trackers.items():
            open_calls = [c for c, at in self.started.items() if at is line and c not in self.ended]
            assert len(open_calls) <= 1
            if tracker.state is CallState.IDLE:
                assert not open_calls


TestTwoLineMachine = TwoLineMachine.TestCase
TestTwoLineMachine.settings = settings(max_examples=60, stateful_step_count=30)
