"""Call state machine, sans-I/O: AT events in, call events out; time is passed in.

Theory of operation
-------------------
A modem says little about calls: an incoming call is a train of ``RING`` and
``+CLIP`` lines repeated every few seconds, a caller who gives up before anyone
answers sends **nothing at all**, and a handset picked up on the desk phone itself
answers without any command from us. So the tracker folds each RING/+CLIP train
into one :class:`IncomingCall`, and learns the rest from ``AT+CLCC`` polls (the
service sends them when :meth:`CallTracker.poll_due` says so and passes the entries
to :meth:`CallTracker.call_list`). When the device has no ``+CLCC``, a train that
stops ringing for ``ring_timeout`` seconds is a missed call; when it has, the call list
says so, and RING silence ends a call only once two polls went unanswered meanwhile —
after the service itself stalled (a busy computer), the rings it has not read yet and
the next poll's answer still count, and a ringing call is not taken for a missed one.

==========  ===========================================  ==========  ======================
state       input                                        next        events
==========  ===========================================  ==========  ======================
IDLE        RING / +CRING                                RINGING     (announce later)
IDLE        +CLIP, or CLCC incoming entry                RINGING     IncomingCall
RINGING     +CLIP / CLCC entry with the first number     RINGING     IncomingCall
RINGING     tick: ``clip_wait`` passed, not announced    RINGING     IncomingCall(no number)
RINGING     answered() / CLCC active / ^CONN             ACTIVE      CallAnswered
RINGING     CLCC without the call / tick ring_timeout    IDLE        CallEnded(MISSED)
            (no CLCC, or 2 polls unanswered) /
            NO CARRIER / ^CEND / MISSED_CALL
RINGING     hung_up()                                    IDLE        CallEnded(REJECTED)
IDLE        dialed(number)                               DIALING     OutgoingCall
DIALING     CLCC active / ^CONN / connected()            ACTIVE      CallAnswered
DIALING     BUSY / NO ANSWER / NO CARRIER / dial_failed  IDLE        CallEnded(BUSY/…)
            / CLCC without the call / hung_up()
ACTIVE      NO CARRIER / ^CEND / CLCC without the call   IDLE        CallEnded(COMPLETED)
            / hung_up()
==========  ===========================================  ==========  ======================

Any event that ends a call that was never announced announces it first, so every
:class:`CallEnded` follows its :class:`IncomingCall` or :class:`OutgoingCall`.

A tracker follows one line of the desk phone (:class:`~zhanye_sdk.devices.at.Line`):
the SIM's (``gsm``, the default) or the optional landline port's (``pstn``, 一机双号).
It takes only the reports tagged with its line; ``+CLCC`` and the Huawei ``^CEND`` /
``^CONN`` are the radio's. The landline has no call list (it learns a caller gave up
from the rings stopping) and never dials: every outgoing call goes out on the SIM.
Trackers of one phone share an id counter, so call ids stay unique across lines.
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from collections.abc import Iterator, Sequence

import attrs

from zhanye_sdk.devices.at import (
    AtEvent,
    CallDisconnected,
    CallerId,
    CallListEntry,
    Line,
    LineConnected,
    Ring,
    VendorUrc,
)
from zhanye_sdk.errors import InvalidInput

__all__ = [
    "CallAnswered",
    "CallDirection",
    "CallEnded",
    "CallEvent",
    "CallOutcome",
    "CallState",
    "CallTimings",
    "CallTracker",
    "IncomingCall",
    "OutgoingCall",
]


class CallState(enum.Enum):
    """Where the tracker is."""

    IDLE = "idle"
    RINGING = "ringing"
    DIALING = "dialing"
    ACTIVE = "active"


class CallDirection(enum.Enum):
    """Who called."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"


class CallOutcome(enum.Enum):
    """How a call ended."""

    COMPLETED = "completed"
    """It was answered and then ended."""
    MISSED = "missed"
    """An incoming call nobody answered (the caller gave up)."""
    REJECTED = "rejected"
    """An incoming call we hung up before answering."""
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CANCELLED = "cancelled"
    """An outgoing call we hung up before it was answered."""
    FAILED = "failed"


@attrs.frozen
class CallTimings:
    """Timing of the tracker, in seconds.

    Args:
        clip_wait: how long after the first RING to wait for +CLIP before announcing
            the call without a number.
        ring_timeout: silence after the last RING (or CLCC sighting) that makes a
            ringing call missed; RINGs repeat every 3–6 s on real networks.
        poll_interval: AT+CLCC period while ringing or dialing.
        active_poll_interval: AT+CLCC period during a call.
    """

    clip_wait: float = 1.0
    ring_timeout: float = 8.0
    poll_interval: float = 1.0
    active_poll_interval: float = 5.0

    def __attrs_post_init__(self) -> None:
        bad = [f.name for f in attrs.fields(CallTimings) if getattr(self, f.name) <= 0]
        if bad:
            raise InvalidInput(f"call timings must be positive: {', '.join(bad)}")


@attrs.frozen
class IncomingCall:
    """Someone is calling. ``number`` is exactly as the network sent it (type 129:
    national, no ``+``); None when withheld (``withheld``) or unavailable."""

    call_id: int
    number: str | None
    number_type: int | None
    withheld: bool
    at: float
    #: The line it rings on (the landline's callers pop up too).
    line: Line = Line.GSM


@attrs.frozen
class OutgoingCall:
    """We dialled ``number`` (always on the SIM's line)."""

    call_id: int
    number: str
    at: float
    line: Line = Line.GSM


@attrs.frozen
class CallAnswered:
    """The call was connected (answered by us, the handset or the far end)."""

    call_id: int
    at: float
    line: Line = Line.GSM


@attrs.frozen
class CallEnded:
    """A call ended; also the call-history record."""

    call_id: int
    direction: CallDirection
    number: str | None
    outcome: CallOutcome
    started_at: float
    answered_at: float | None
    ended_at: float
    line: Line = Line.GSM

    @property
    def duration(self) -> float:
        """Seconds connected (0 if never answered)."""
        return 0.0 if self.answered_at is None else max(0.0, self.ended_at - self.answered_at)

    @property
    def missed(self) -> bool:
        """An incoming call nobody answered."""
        return self.outcome is CallOutcome.MISSED


CallEvent = IncomingCall | OutgoingCall | CallAnswered | CallEnded


@attrs.define
class _Call:
    call_id: int
    direction: CallDirection
    started_at: float
    last_sign: float
    number: str | None = None
    number_type: int | None = None
    withheld: bool = False
    announced: bool = False
    answered_at: float | None = None
    #: AT+CLCC polls sent since the last sign of the call (none answered with it).
    unanswered_polls: int = 0


class CallTracker:
    """Folds AT events into call events; keeps the call history.

    Args:
        timings: see :class:`CallTimings`.
        history_size: how many ended calls :attr:`history` keeps.
        line: the line followed (see the module doc).
        ids: call ids shared with the phone's other tracker (default: its own, from 1).
    """

    def __init__(
        self,
        timings: CallTimings | None = None,
        *,
        history_size: int = 500,
        line: Line = Line.GSM,
        ids: Iterator[int] | None = None,
    ) -> None:
        self.timings = timings or CallTimings()
        self.history: deque[CallEnded] = deque(maxlen=history_size)
        self.line = line
        #: The landline has no call list: its callers time out by their rings.
        self.clcc_supported = line is Line.GSM
        self._call: _Call | None = None
        self._ids = ids if ids is not None else itertools.count(1)
        self._last_poll = float("-inf")

    @property
    def state(self) -> CallState:
        """The current state."""
        call = self._call
        if call is None:
            return CallState.IDLE
        if call.answered_at is not None:
            return CallState.ACTIVE
        return CallState.RINGING if call.direction is CallDirection.INCOMING else CallState.DIALING

    @property
    def current_number(self) -> str | None:
        """The other party's number on the current call, if known."""
        return self._call.number if self._call is not None else None

    # -- inputs from the modem ----------------------------------------------------

    def handle(self, event: AtEvent, now: float) -> list[CallEvent]:
        """Feed one AT event (others than call URCs, or of another line, are ignored)."""
        if isinstance(event, Ring | CallerId | CallDisconnected | LineConnected):
            if event.line is not self.line:
                return []
        elif self.line is not Line.GSM:
            return []  # the call list and the vendor reports are the radio's
        if isinstance(event, LineConnected):
            return self.connected(now)
        if isinstance(event, Ring):
            return self._ring(now)
        if isinstance(event, CallerId):
            return self._caller_id(event, now)
        if isinstance(event, CallDisconnected):
            outcome = {"BUSY": CallOutcome.BUSY, "NO ANSWER": CallOutcome.NO_ANSWER}.get(
                event.result, CallOutcome.FAILED
            )
            return self._remote_end(now, outcome)
        if isinstance(event, CallListEntry):
            return self._entries([event], now, complete=False)
        if isinstance(event, VendorUrc):
            if event.name in ("^CEND", "MISSED_CALL"):
                return self._remote_end(now, CallOutcome.FAILED)
            if event.name == "^CONN":
                return self.connected(now)
        return []

    def call_list(self, entries: Sequence[CallListEntry], now: float) -> list[CallEvent]:
        """Feed the whole answer of an ``AT+CLCC`` poll (an empty list: no calls); the
        radio's list says nothing about the landline's call."""
        if self.line is not Line.GSM:
            return []
        return self._entries(entries, now, complete=True)

    def poll_due(self, now: float) -> bool:
        """Whether the service should send ``AT+CLCC`` now; call :meth:`polled` when it does."""
        state = self.state
        if not self.clcc_supported or state is CallState.IDLE:
            return False
        interval = (
            self.timings.active_poll_interval
            if state is CallState.ACTIVE
            else self.timings.poll_interval
        )
        return now - self._last_poll >= interval

    def polled(self, now: float) -> None:
        """A poll was sent at ``now``."""
        self._last_poll = now
        if self._call is not None:
            self._call.unanswered_polls += 1

    def tick(self, now: float) -> list[CallEvent]:
        """Let time pass: announce a call whose +CLIP never came, time out a ringing call."""
        call = self._call
        if call is None or call.direction is not CallDirection.INCOMING:
            return []
        if call.answered_at is not None:
            return []
        out: list[CallEvent] = []
        if not call.announced and now - call.started_at >= self.timings.clip_wait:
            out += self._announce(call)
        silent = now - call.last_sign >= self.timings.ring_timeout
        if silent and (not self.clcc_supported or call.unanswered_polls >= 2):
            out += self._end(now, CallOutcome.MISSED)
        return out

    # -- inputs from our own commands -------------------------------------------------

    def dialed(self, number: str, now: float) -> list[CallEvent]:
        """``ATD<number>;`` was accepted. Ends any leftover call first.

        Raises:
            InvalidInput: this tracker follows the landline, which never dials.
        """
        if self.line is not Line.GSM:
            raise InvalidInput(
                "the landline port only takes calls; calls go out on the SIM",
                zh="座机线路只能接听来电，外呼均经手机卡线路",
            )
        out = self._end(now, CallOutcome.FAILED) if self._call is not None else []
        call = _Call(self._new_id(), CallDirection.OUTGOING, now, now, number=number)
        call.announced = True
        self._call = call
        self._last_poll = now
        return [*out, OutgoingCall(call.call_id, number, now, self.line)]

    def dial_failed(self, result: str, now: float) -> list[CallEvent]:
        """``ATD`` ended with ``BUSY`` / ``NO ANSWER`` / ``NO CARRIER`` / an error."""
        outcome = {"BUSY": CallOutcome.BUSY, "NO ANSWER": CallOutcome.NO_ANSWER}.get(
            result, CallOutcome.FAILED
        )
        if self._call is None or self._call.direction is not CallDirection.OUTGOING:
            return []
        return self._end(now, outcome)

    def answered(self, now: float) -> list[CallEvent]:
        """``ATA`` succeeded."""
        return self.connected(now)

    def connected(self, now: float) -> list[CallEvent]:
        """The call is connected (``ATA`` OK, ``CONNECT``, ``^CONN``, CLCC active)."""
        call = self._call
        if call is None or call.answered_at is not None:
            return []
        out = self._announce(call)
        call.answered_at = now
        return [*out, CallAnswered(call.call_id, now, self.line)]

    def hung_up(self, now: float) -> list[CallEvent]:
        """``ATH`` / ``AT+CHUP`` succeeded."""
        call = self._call
        if call is None:
            return []
        if call.answered_at is not None:
            return self._end(now, CallOutcome.COMPLETED)
        if call.direction is CallDirection.INCOMING:
            return self._end(now, CallOutcome.REJECTED)
        return self._end(now, CallOutcome.CANCELLED)

    # -- internals ------------------------------------------------------------------

    def _new_id(self) -> int:
        return next(self._ids)

    def _incoming(self, now: float) -> _Call:
        call = self._call
        if call is None:
            call = _Call(self._new_id(), CallDirection.INCOMING, now, now)
            self._call = call
            self._last_poll = now  # first poll one interval after the first RING
        call.last_sign = max(call.last_sign, now)
        call.unanswered_polls = 0
        return call

    def _ring(self, now: float) -> list[CallEvent]:
        if self._call is not None and self._call.direction is CallDirection.OUTGOING:
            return []  # a waiting call during our own call: not tracked
        if self._call is not None and self._call.answered_at is not None:
            return []
        self._incoming(now)
        return []

    def _caller_id(self, clip: CallerId, now: float) -> list[CallEvent]:
        current = self._call
        if current is not None and (
            current.direction is CallDirection.OUTGOING or current.answered_at is not None
        ):
            return []
        call = self._incoming(now)
        if call.announced:
            return []
        call.number = clip.number
        call.number_type = clip.number_type
        call.withheld = clip.withheld
        return self._announce(call)

    def _announce(self, call: _Call) -> list[CallEvent]:
        if call.announced:
            return []
        call.announced = True
        return [
            IncomingCall(
                call.call_id,
                call.number,
                call.number_type,
                call.withheld,
                call.started_at,
                self.line,
            )
        ]

    def _entries(
        self, entries: Sequence[CallListEntry], now: float, *, complete: bool
    ) -> list[CallEvent]:
        call = self._call
        voice = [e for e in entries if e.mode == 0]
        if call is None:
            ringing = [e for e in voice if e.incoming and e.state in (4, 5)]
            if not ringing:
                return []
            entry = ringing[0]
            call = self._incoming(now)
            call.number, call.number_type = entry.number, entry.number_type
            return self._announce(call)
        direction_incoming = call.direction is CallDirection.INCOMING
        mine = [e for e in voice if e.incoming == direction_incoming]
        if not mine:
            if complete:
                return self._remote_end(now, CallOutcome.FAILED)
            return []
        entry = mine[0]
        call.last_sign = max(call.last_sign, now)
        call.unanswered_polls = 0
        out: list[CallEvent] = []
        if direction_incoming and not call.announced and call.number is None and entry.number:
            call.number, call.number_type = entry.number, entry.number_type
            out += self._announce(call)
        if entry.state == 0 and call.answered_at is None:
            out += self.connected(now)
        return out

    def _remote_end(self, now: float, outcome_if_dialing: CallOutcome) -> list[CallEvent]:
        """The other side (or the network) ended the call."""
        call = self._call
        if call is None:
            return []
        if call.answered_at is not None:
            return self._end(now, CallOutcome.COMPLETED)
        if call.direction is CallDirection.INCOMING:
            return self._end(now, CallOutcome.MISSED)
        return self._end(now, outcome_if_dialing)

    def _end(self, now: float, outcome: CallOutcome) -> list[CallEvent]:
        call = self._call
        if call is None:
            return []
        out: list[CallEvent] = []
        if call.direction is CallDirection.INCOMING:
            out += self._announce(call)
        self._call = None
        ended = CallEnded(
            call.call_id,
            call.direction,
            call.number,
            outcome,
            call.started_at,
            call.answered_at,
            max(now, call.started_at),
            self.line,
        )
        self.history.append(ended)
        return [*out, ended]
