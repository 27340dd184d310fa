"""The co-browse log of one shared page: a sans-I/O state machine.

Theory of operation
-------------------
The customer's browser runs the agent (``hosts``/SDK static ``cobrowse-agent.js``). It
sends a full snapshot of the page (nodes with ids, masked node ids listed), then page
events: DOM mutations, input values, scroll, pointer moves and clicks, navigation,
viewport size. Masking happens in the customer's browser before anything is sent; the
log refuses any value for a node the snapshot marked as masked, as a second line.

The server gives every accepted event the next sequence number and keeps the latest
snapshot plus a bounded tail of events. A client that reconnects sends the last
sequence number it applied and gets exactly the events after it, or — when that point
has fallen out of the tail — a reset: the snapshot and the events since. Nothing is
skipped and nothing arrives twice.

Control (切换操作方): exactly one participant operates the page at a time, under a
lease with an epoch. The host grants control to themselves or back to the customer;
the customer can always take it back. An operator input (typing, clicking on the
customer's page) must come from the lease holder with the current epoch and must not
target a masked node; anything else is refused with a clear code and never applied.

Limits protect the room: an event larger than ``max_event_bytes`` or a burst above the
sender's rate is refused with ``needs_snapshot`` set, so the agent sends a fresh
snapshot instead of a flood. Time is passed in; there is no clock here.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import attrs

from zhanye_sdk.errors import ZhanyeError

__all__ = [
    "PAGE_EVENT_KINDS",
    "CobrowseLimits",
    "CobrowseLog",
    "CobrowseRefused",
    "ControlLease",
    "LoggedEvent",
    "Resync",
]

PAGE_EVENT_KINDS = frozenset(
    {"mutation", "input", "scroll", "pointer", "click", "navigate", "viewport"}
)
OPERATOR_KINDS = frozenset({"input", "click", "scroll"})


class CobrowseRefused(ZhanyeError):
    """An event or action was refused; nothing changed.

    ``code``: ``not_sharing``, ``not_sharer``, ``not_operator``, ``stale_epoch``,
    ``masked``, ``too_large``, ``rate_limited``, ``log_full``, ``bad_event``, ``not_host``.
    With ``needs_snapshot`` the customer's agent should send a fresh snapshot.
    """

    def __init__(
        self, code: str, message: str, *, needs_snapshot: bool = False, zh: str | None = None
    ) -> None:
        super().__init__(message, zh=zh)
        self.code = code
        self.needs_snapshot = needs_snapshot


@attrs.frozen
class CobrowseLimits:
    """Bounds of one shared page."""

    max_event_bytes: int = 64 * 1024
    max_snapshot_bytes: int = 4 * 1024 * 1024
    max_log_events: int = 20_000
    events_per_second: float = 400.0
    burst: int = 2_000
    trail_points: int = 200


@attrs.frozen
class ControlLease:
    """Who operates the page now, and the lease's epoch (it grows at every hand-over)."""

    holder: str
    epoch: int


@attrs.frozen
class LoggedEvent:
    """An accepted page event with its sequence number."""

    seq: int
    kind: str
    data: dict[str, Any]
    at: int


@attrs.frozen
class Resync:
    """What a reconnecting client needs: a reset (snapshot) or not, then events in order."""

    reset: bool
    snapshot: dict[str, Any] | None
    snapshot_seq: int
    events: tuple[LoggedEvent, ...]


def _size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _masked_ids(snapshot: dict[str, Any]) -> set[int]:
    masked = snapshot.get("masked", [])
    if not isinstance(masked, list) or not all(type(i) is int for i in masked):
        raise CobrowseRefused("bad_event", "snapshot.masked must be a list of node ids")
    return set(masked)


@attrs.define
class CobrowseLog:
    """One shared page: sharer (customer), host, snapshot, event tail, lease, trail."""

    host_id: str
    sharer_id: str
    url: str
    limits: CobrowseLimits = CobrowseLimits()
    seq: int = 0
    snapshot: dict[str, Any] | None = None
    snapshot_seq: int = 0
    events: deque[LoggedEvent] = attrs.field(factory=deque)
    masked: set[int] = attrs.field(factory=set)
    lease: ControlLease = attrs.field(default=None)
    trail: deque[dict[str, Any]] = attrs.field(factory=deque)
    ended: bool = False
    _tokens: float = 0.0
    _tokens_at: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.lease is None:
            self.lease = ControlLease(self.sharer_id, 1)
        self._tokens = float(self.limits.burst)

    # ---- from the customer's agent -----------------------------------------------------

    def _check_sharer(self, by: str) -> None:
        if self.ended:
            raise CobrowseRefused("not_sharing", "sharing of this page has ended")
        if by != self.sharer_id:
            raise CobrowseRefused("not_sharer", "only the customer's page reports page events")

    def _take_token(self, at: int) -> None:
        if self._tokens_at is not None:
            elapsed = max(0, at - self._tokens_at) / 1000
            refill = elapsed * self.limits.events_per_second
            self._tokens = min(float(self.limits.burst), self._tokens + refill)
        self._tokens_at = at
        if self._tokens < 1:
            raise CobrowseRefused(
                "rate_limited", "too many page events; send a fresh snapshot", needs_snapshot=True
            )
        self._tokens -= 1

    def take_snapshot(self, by: str, snapshot: dict[str, Any], at: int) -> LoggedEvent:
        """A full snapshot from the customer's page: it becomes the new base of the log."""
        self._check_sharer(by)
        if not isinstance(snapshot, dict) or "root" not in snapshot:
            raise CobrowseRefused("bad_event", "a snapshot is an object with a root node")
        if _size(snapshot) > self.limits.max_snapshot_bytes:
            raise CobrowseRefused(
                "too_large", f"snapshots are at most {self.limits.max_snapshot_bytes} bytes"
            )
        masked = _masked_ids(snapshot)
        self.seq += 1
        self.snapshot = snapshot
        self.snapshot_seq = self.seq
        self.masked = masked
        self.events.clear()
        self._tokens = float(self.limits.burst)
        return LoggedEvent(self.seq, "snapshot", snapshot, at)

    def record(self, by: str, kind: str, data: dict[str, Any], at: int) -> LoggedEvent:
        """One page event from the customer's page; returns it with its sequence number."""
        self._check_sharer(by)
        if self.snapshot is None:
            raise CobrowseRefused("bad_event", "send a snapshot first", needs_snapshot=True)
        if kind not in PAGE_EVENT_KINDS or not isinstance(data, dict):
            raise CobrowseRefused("bad_event", f"unknown page event {kind!r}")
        if _size(data) > self.limits.max_event_bytes:
            raise CobrowseRefused(
                "too_large",
                f"page events are at most {self.limits.max_event_bytes} bytes; send a snapshot",
                needs_snapshot=True,
            )
        if len(self.events) >= self.limits.max_log_events:
            # The log is never trimmed (a reset replays all of it): ask for a new base.
            raise CobrowseRefused(
                "log_full", "the page changed a lot; send a fresh snapshot", needs_snapshot=True
            )
        self._guard_masked(kind, data)
        if kind == "mutation":
            newly = data.get("masked", [])
            if not isinstance(newly, list) or not all(type(i) is int for i in newly):
                raise CobrowseRefused("bad_event", "mutation.masked must be a list of node ids")
        self._take_token(at)
        if kind == "mutation":
            self.masked.update(data.get("masked", []))
        if kind in ("pointer", "click"):
            self.trail.append({"kind": kind, **{k: data.get(k) for k in ("x", "y")}, "at": at})
            while len(self.trail) > self.limits.trail_points:
                self.trail.popleft()
        self.seq += 1
        event = LoggedEvent(self.seq, kind, data, at)
        self.events.append(event)
        return event

    def _guard_masked(self, kind: str, data: dict[str, Any]) -> None:
        node = data.get("node")
        if kind == "input" and (node in self.masked or data.get("masked")):
            if data.get("value") not in (None, "", "•"):
                raise CobrowseRefused("masked", "a masked field's value must never be sent")

    # ---- control ----------------------------------------------------------------------

    def hand_over(self, by: str, to: str) -> ControlLease:
        """Give control to ``to``: the host decides; the customer may only take it back."""
        if self.ended:
            raise CobrowseRefused("not_sharing", "sharing of this page has ended")
        if to not in (self.host_id, self.sharer_id):
            raise CobrowseRefused("bad_event", "control goes to the host or the customer")
        if by != self.host_id and not (by == self.sharer_id and to == self.sharer_id):
            raise CobrowseRefused("not_host", "only the host hands control over")
        if self.lease.holder != to:
            self.lease = ControlLease(to, self.lease.epoch + 1)
        return self.lease

    def operate(self, by: str, epoch: int, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """Check an operator input for the customer's page; returns it to forward.

        Raises:
            CobrowseRefused: ``not_operator``, ``stale_epoch``, ``masked`` or ``bad_event``.
        """
        if self.ended:
            raise CobrowseRefused("not_sharing", "sharing of this page has ended")
        if by != self.lease.holder or by == self.sharer_id:
            raise CobrowseRefused("not_operator", "you do not hold control of this page")
        if epoch != self.lease.epoch:
            raise CobrowseRefused("stale_epoch", "control changed hands; try again")
        if kind not in OPERATOR_KINDS or not isinstance(data, dict):
            raise CobrowseRefused("bad_event", f"unknown operator input {kind!r}")
        if type(data.get("node")) is not int and kind != "scroll":
            raise CobrowseRefused("bad_event", "an operator input names a node id")
        if data.get("node") in self.masked:
            raise CobrowseRefused("masked", "masked fields cannot be controlled remotely")
        return {"kind": kind, "data": data, "epoch": epoch}

    # ---- resync -----------------------------------------------------------------------

    def resync(self, last_seq: int | None) -> Resync:
        """Events after ``last_seq``, or a reset when it is older than the log (or None)."""
        fresh = (
            last_seq is not None
            and self.snapshot is not None
            and self.snapshot_seq <= last_seq <= self.seq
        )
        if fresh:
            assert last_seq is not None
            tail = tuple(e for e in self.events if e.seq > last_seq)
            return Resync(False, None, self.snapshot_seq, tail)
        return Resync(True, self.snapshot, self.snapshot_seq, tuple(self.events))

    def end(self) -> None:
        """Stop sharing; later events and inputs are refused."""
        self.ended = True
