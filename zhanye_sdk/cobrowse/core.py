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

Masked nodes (fields the page or the link material marks as sensitive, and everything
inside them) carry no values: an input value, text or attribute that targets a masked
node is refused unless it is the mask placeholder, or an attribute harmless by name.

Limits protect the room and the store: an event larger than ``max_event_bytes`` or a
burst above the sender's rate is refused with ``needs_snapshot`` set (the agent splits
bursts into events under the limit, so this is a last resort). Snapshots arrive whole or
in chunks (each under ``max_event_bytes``), reassembled here; a snapshot is at most
``max_snapshot_bytes``, snapshots come at most ``snapshot_burst`` at once and then
``snapshots_per_minute`` (``RateLimited``), and one share stores at most
``max_share_bytes`` in all (``InvalidInput``). Time is passed in; there is no clock here.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import attrs

from zhanye_sdk.errors import AreaRefusal, InvalidInput, RateLimited

__all__ = [
    "PAGE_EVENT_KINDS",
    "CobrowseLimits",
    "CobrowseLog",
    "CobrowseRefused",
    "ControlLease",
    "MASK",
    "SAFE_MASKED_ATTRS",
    "LoggedEvent",
    "Resync",
]

PAGE_EVENT_KINDS = frozenset(
    {"mutation", "input", "scroll", "pointer", "click", "navigate", "viewport"}
)
OPERATOR_KINDS = frozenset({"input", "click", "scroll"})
#: Answers one assessment submission may carry.
MAX_ANSWERS = 200
#: What a masked value becomes on the wire (one per character or one for any value).
MASK = "•"
#: Attributes a masked node may carry: they style or label the field, never hold its value.
SAFE_MASKED_ATTRS = frozenset(
    {
        "id",
        "class",
        "style",
        "type",
        "name",
        "placeholder",
        "disabled",
        "readonly",
        "required",
        "maxlength",
        "minlength",
        "inputmode",
        "autocomplete",
        "role",
        "tabindex",
        "for",
        "hidden",
        "lang",
        "dir",
        "data-zhanye-mask",
    }
)


class CobrowseRefused(AreaRefusal):
    """An event or action was refused; nothing changed.

    ``code``: ``not_sharing``, ``not_sharer``, ``not_operator``, ``stale_epoch``,
    ``masked``, ``too_large``, ``rate_limited``, ``log_full``, ``bad_event``, ``not_host``.
    With ``needs_snapshot`` the customer's agent should send a fresh snapshot.
    """

    def __init__(
        self, code: str, message: str, *, needs_snapshot: bool = False, zh: str | None = None
    ) -> None:
        super().__init__(code, message, zh=zh, details={"needs_snapshot": needs_snapshot})
        self.code = code
        self.needs_snapshot = needs_snapshot


@attrs.frozen
class CobrowseLimits:
    """Bounds of one shared page."""

    max_event_bytes: int = 64 * 1024
    max_snapshot_bytes: int = 2 * 1024 * 1024
    max_log_events: int = 20_000
    events_per_second: float = 400.0
    burst: int = 2_000
    trail_points: int = 200
    #: Snapshots accepted at once, then at this rate (a page load, a reconnect each).
    snapshot_burst: int = 6
    snapshots_per_minute: float = 12.0
    #: Everything one share stores (snapshots and events), in bytes.
    max_share_bytes: int = 32 * 1024 * 1024


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


@attrs.define
class _Assembly:
    """A snapshot arriving in chunks."""

    id: str
    total: int
    parts: list[str] = attrs.field(factory=list)
    size: int = 0


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


def _among(node: object, masked: set[int]) -> bool:
    """Whether ``node`` names a masked node (anything but a whole number names none)."""
    return type(node) is int and node in masked


def _is_mask(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip(MASK) == "")


def _leak(code: str = "masked") -> CobrowseRefused:
    return CobrowseRefused(
        code,
        "a masked node's value, text or attributes must never be sent",
        zh="敏感字段的内容不能发送",
    )


def _check_masked_item(item: dict[str, Any]) -> None:
    """A node of a masked subtree: no value, no text, only harmless attributes."""
    if not _is_mask(item.get("value")) or not _is_mask(item.get("text")):
        raise _leak()
    attributes = item.get("attrs") or {}
    if not isinstance(attributes, dict) or any(
        name not in SAFE_MASKED_ATTRS for name in attributes
    ):
        raise _leak()


def _check_tree(root: object, masked: set[int], inherited: bool) -> None:
    """Walk a serialised subtree (iteratively: pages nest deeply) checking masked nodes.

    Every node inside a masked element must be masked too.
    """
    stack: list[tuple[object, bool]] = [(root, inherited)]
    while stack:
        item, under_mask = stack.pop()
        if not isinstance(item, dict):
            raise CobrowseRefused("bad_event", "a page node is an object")
        node_id = item.get("id")
        here = _among(node_id, masked) or bool(item.get("masked"))
        if under_mask and not here:
            raise _leak()
        if here:
            _check_masked_item(item)
        children = item.get("children") or []
        if not isinstance(children, list):
            raise CobrowseRefused("bad_event", "a node's children are a list")
        stack.extend((child, here) for child in children)


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
    stored_bytes: int = 0
    _tokens: float = 0.0
    _tokens_at: int | None = None
    _snapshot_tokens: float = 0.0
    _snapshot_tokens_at: int | None = None
    _assembly: _Assembly | None = None

    def __attrs_post_init__(self) -> None:
        if self.lease is None:
            self.lease = ControlLease(self.sharer_id, 1)
        self._tokens = float(self.limits.burst)
        self._snapshot_tokens = float(self.limits.snapshot_burst)

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

    def _take_snapshot_token(self, at: int) -> None:
        per_ms = self.limits.snapshots_per_minute / 60_000
        if self._snapshot_tokens_at is not None:
            refill = max(0, at - self._snapshot_tokens_at) * per_ms
            self._snapshot_tokens = min(
                float(self.limits.snapshot_burst), self._snapshot_tokens + refill
            )
        self._snapshot_tokens_at = at
        if self._snapshot_tokens < 1:
            wait_s = (1 - self._snapshot_tokens) / per_ms / 1000 if per_ms > 0 else 60.0
            raise RateLimited(
                "too many snapshots of the shared page; try again shortly",
                retry_after_s=round(max(wait_s, 0.1), 1),
                zh="页面同步过于频繁，请稍后再试",
            )
        self._snapshot_tokens -= 1

    def _check_budget(self, size: int) -> None:
        if self.stored_bytes + size > self.limits.max_share_bytes:
            raise InvalidInput(
                f"this shared page has stored its {self.limits.max_share_bytes} bytes; "
                "push the page again",
                zh="本次共享页面的数据已达上限，请业务员重新推送页面",
            )

    def take_snapshot(self, by: str, snapshot: dict[str, Any], at: int) -> LoggedEvent:
        """A full snapshot from the customer's page: it becomes the new base of the log.

        Raises:
            CobrowseRefused: not the sharer, not sharing, malformed, or a masked leak.
            InvalidInput: too large, or the share's storage budget is spent.
            RateLimited: too many snapshots in a short time.
        """
        self._check_sharer(by)
        self._take_snapshot_token(at)
        return self._install(snapshot, at)

    def snapshot_chunk(
        self, by: str, snapshot_id: str, index: int, total: int, text: str, at: int
    ) -> LoggedEvent | None:
        """One chunk of a snapshot sent in pieces (the JSON text, split).

        Chunks come in order; chunk 0 starts a snapshot (and drops any unfinished one).
        Returns the snapshot's event once the last chunk is in, else ``None``.

        Raises:
            CobrowseRefused, InvalidInput, RateLimited: as ``take_snapshot``, and
            ``InvalidInput`` for a chunk out of order or over the size limits.
        """
        self._check_sharer(by)
        max_chunks = self.limits.max_snapshot_bytes // 1024 + 1
        if not 0 <= index < total <= max_chunks or not isinstance(text, str):
            raise InvalidInput(
                f"a snapshot is 1–{max_chunks} chunks, numbered from 0",
                zh="页面同步数据有误，请重新加载页面",
            )
        if len(text) > self.limits.max_event_bytes or (
            len(text.encode()) > self.limits.max_event_bytes
        ):
            self._assembly = None
            raise InvalidInput(
                f"snapshot chunks are at most {self.limits.max_event_bytes} bytes",
                zh="页面同步数据过大",
            )
        if index == 0:
            self._assembly = None
            self._take_snapshot_token(at)
            self._assembly = _Assembly(snapshot_id, total)
        assembly = self._assembly
        if (
            assembly is None
            or assembly.id != snapshot_id
            or assembly.total != total
            or len(assembly.parts) != index
        ):
            self._assembly = None
            raise InvalidInput(
                "snapshot chunk out of order; send the snapshot again",
                zh="页面同步中断，请重新同步",
            )
        assembly.parts.append(text)
        assembly.size += len(text.encode())
        if assembly.size > self.limits.max_snapshot_bytes:
            self._assembly = None
            raise self._too_large()
        if len(assembly.parts) < total:
            return None
        self._assembly = None
        try:
            snapshot = json.loads("".join(assembly.parts))
        except ValueError as exc:
            raise InvalidInput(
                "the snapshot's chunks do not make JSON", zh="页面同步数据有误"
            ) from exc
        return self._install(snapshot, at)

    def _too_large(self) -> InvalidInput:
        return InvalidInput(
            f"snapshots are at most {self.limits.max_snapshot_bytes} bytes",
            zh=f"页面过大（超过 {self.limits.max_snapshot_bytes // (1024 * 1024)} MB），无法同屏",
        )

    def _install(self, snapshot: object, at: int) -> LoggedEvent:
        if not isinstance(snapshot, dict) or "root" not in snapshot:
            raise CobrowseRefused("bad_event", "a snapshot is an object with a root node")
        size = _size(snapshot)
        if size > self.limits.max_snapshot_bytes:
            raise self._too_large()
        self._check_budget(size)
        masked = _masked_ids(snapshot)
        _check_tree(snapshot["root"], masked, False)
        self.stored_bytes += size
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
        size = _size(data)
        if size > self.limits.max_event_bytes:
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
        if kind == "mutation":
            newly = data.get("masked", [])
            if not isinstance(newly, list) or not all(type(i) is int for i in newly):
                raise CobrowseRefused("bad_event", "mutation.masked must be a list of node ids")
        self._guard_masked(kind, data)
        if kind != "pointer":
            self._check_budget(size)
        self._take_token(at)
        if kind != "pointer":
            self.stored_bytes += size
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
        if kind == "input" and (_among(node, self.masked) or data.get("masked")):
            if not _is_mask(data.get("value")):
                raise CobrowseRefused("masked", "a masked field's value must never be sent")
        if kind != "mutation":
            return
        masked = self.masked | set(data.get("masked", []))
        for name in ("adds", "attrs", "texts"):
            if not isinstance(data.get(name, []), list):
                raise CobrowseRefused("bad_event", f"mutation.{name} must be a list")
        for entry in data.get("attrs", []):
            if not isinstance(entry, dict):
                raise CobrowseRefused("bad_event", "a mutation entry is an object")
            if _among(entry.get("node"), masked) and entry.get("name") not in SAFE_MASKED_ATTRS:
                if entry.get("value") is not None:
                    raise _leak()
        for entry in data.get("texts", []):
            if not isinstance(entry, dict):
                raise CobrowseRefused("bad_event", "a mutation entry is an object")
            if _among(entry.get("node"), masked) and not _is_mask(entry.get("text")):
                raise _leak()
        for entry in data.get("adds", []):
            if not isinstance(entry, dict):
                continue  # an old agent's shape; nothing in it names a masked node
            _check_tree(entry.get("node"), masked, _among(entry.get("parent"), masked))

    # ---- control ----------------------------------------------------------------------

    def submission(self, by: str, answers: object) -> list[dict[str, str]]:
        """The answers of an assessment the customer submitted on the shared page,
        checked: at most ``MAX_ANSWERS`` of ``{name, label, value, node?}`` with text of
        bounded length. Answers of masked fields (by node, or sent as the mask) are
        dropped: they must never be kept, whatever the agent sent.

        Raises:
            CobrowseRefused: not the sharer or not sharing (``not_sharer``,
                ``not_sharing``), or malformed answers (``bad_event``).
        """
        self._check_sharer(by)
        if not isinstance(answers, list) or len(answers) > MAX_ANSWERS:
            raise CobrowseRefused(
                "bad_event",
                f"answers must be a list of at most {MAX_ANSWERS}",
                zh=f"测评答案格式有误（最多 {MAX_ANSWERS} 项）",
            )
        kept: list[dict[str, str]] = []
        for item in answers:
            if not isinstance(item, dict):
                raise CobrowseRefused("bad_event", "each answer must be an object")
            fields: dict[str, str] = {}
            for key, limit in (("name", 64), ("label", 200), ("value", 1000)):
                value = item.get(key, "")
                if not isinstance(value, str) or len(value) > limit:
                    raise CobrowseRefused(
                        "bad_event",
                        f"answer {key} must be text of at most {limit} characters",
                        zh="测评答案格式有误",
                    )
                fields[key] = value.strip()
            if (
                _among(item.get("node"), self.masked)
                or item.get("masked")
                or _is_mask(fields["value"])
            ):
                continue
            if not fields["name"] and not fields["label"]:
                continue
            fields["label"] = fields["label"] or fields["name"]
            kept.append(fields)
        return kept

    @classmethod
    def restored(
        cls,
        host_id: str,
        sharer_id: str,
        url: str,
        stored: list[LoggedEvent],
        now: int,
        limits: CobrowseLimits | None = None,
    ) -> CobrowseLog:
        """The log of a share another process kept, rebuilt from its ``stored`` events
        (snapshots and page events; pointer moves are never stored) at ``now``.

        Control goes back to the customer (the lease's holder was only in the dead
        process's memory). The next sequence number skips past every pointer move the
        old log may have numbered since its last stored event (at most what its rate
        limit let through), so no client takes a new event for one it already has.
        """
        log = cls(host_id, sharer_id, url, limits or CobrowseLimits())
        last_at = now
        for event in stored:
            log.seq = event.seq
            last_at = event.at
            if event.kind == "snapshot":
                log.snapshot = event.data
                log.snapshot_seq = event.seq
                log.masked = _masked_ids(event.data)
                log.events.clear()
            else:
                if event.kind == "mutation":
                    log.masked.update(event.data.get("masked", []))
                log.events.append(event)
            log.stored_bytes += _size(event.data)
        elapsed_s = max(0, now - last_at) / 1000
        log.seq += log.limits.burst + int(log.limits.events_per_second * elapsed_s) + 1
        return log

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
        if _among(data.get("node"), self.masked):
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
