"""Room leases and fencing tokens: the rules, as pure state machines (time passed in).

Three parties keep one room to one writer:

* ``LeaseTable`` is the lease authority (what the Redis scripts of
  ``cluster/leases.py`` do, on the authority's clock): a room's lease has one holder
  until it expires; every new holder gets a fence one higher than any before, never
  lower than the floor the store reports.
* ``LeaseView`` is what a holder believes, on its own clock. It counts its lease from
  the moment it *sent* the request, shortened by the worst clock drift and a margin,
  so while it believes it holds, the authority agrees. A renewal that cannot reach
  the authority (an outage) does not end its belief in the fence: the room keeps
  running, and the store decides.
* ``FenceGate`` is the store's rule (the conditional write of ``rooms/service.py``
  and ``cluster/fencing.py``): a new holder first *claims* the room with its fence,
  which must be higher than the stored one; a write must carry the stored fence and
  continue the event log exactly where it ends. A holder that lost its room, however
  long it slept, can never write again, and no committed event is lost.
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["FenceGate", "Grant", "LeaseState", "LeaseTable", "LeaseView", "WriteRefused"]


@attrs.frozen
class Grant:
    """A lease the authority handed out: ``node`` holds ``room`` under ``fence``."""

    room: str
    node: str
    fence: int
    expires_ms: int


@attrs.define
class LeaseTable:
    """The lease authority's rules for every room (authority clock in milliseconds)."""

    ttl_ms: int
    leases: dict[str, Grant] = attrs.Factory(dict)
    fences: dict[str, int] = attrs.Factory(dict)
    #: A fresh authority knows nothing of leases still believed in by their holders:
    #: it hands out no new lease for one TTL after it first answers (holders renew).
    fresh: bool = True
    quiet_until_ms: int = 0

    def _wake(self, now_ms: int) -> None:
        if self.fresh:
            self.fresh = False
            self.quiet_until_ms = now_ms + self.ttl_ms

    def holder(self, room: str, now_ms: int) -> Grant | None:
        """The room's unexpired lease, if any."""
        grant = self.leases.get(room)
        if grant is None or grant.expires_ms <= now_ms:
            return None
        return grant

    def acquire(self, room: str, node: str, now_ms: int, floor: int = 0) -> Grant | None:
        """A new lease for ``node`` when nobody holds the room; its fence is above
        every fence handed out before and above ``floor`` (the store's fence, which
        survives the authority losing its memory)."""
        self._wake(now_ms)
        if now_ms < self.quiet_until_ms or self.holder(room, now_ms) is not None:
            return None
        fence = max(self.fences.get(room, 0), floor) + 1
        self.fences[room] = fence
        grant = Grant(room, node, fence, now_ms + self.ttl_ms)
        self.leases[room] = grant
        return grant

    def renew(self, room: str, node: str, fence: int, now_ms: int) -> Grant | None:
        """Extend ``node``'s lease under ``fence``; None when it is not the holder.

        After the authority lost its memory (a restart), the last holder gets its
        lease back under the same fence as long as nobody took the room meanwhile.
        """
        self._wake(now_ms)
        grant = self.holder(room, now_ms)
        if grant is None:
            if self.fences.get(room, 0) > fence:
                return None
            self.fences[room] = fence
        elif grant.node != node or grant.fence != fence:
            return None
        renewed = Grant(room, node, fence, now_ms + self.ttl_ms)
        self.leases[room] = renewed
        return renewed

    def release(self, room: str, node: str, fence: int) -> bool:
        """Give the room up (draining); only its holder can."""
        grant = self.leases.get(room)
        if grant is None or grant.node != node or grant.fence != fence:
            return False
        del self.leases[room]
        return True

    def forget(self) -> None:
        """The authority lost its memory (Redis restarted empty)."""
        self.leases.clear()
        self.fences.clear()
        self.fresh = True


class LeaseState(enum.Enum):
    """What a holder knows of its lease."""

    NONE = "none"
    HELD = "held"
    #: Renewals cannot reach the authority: the room keeps running on its fence;
    #: the store refuses the writes if someone else claimed it meanwhile.
    UNREACHABLE = "unreachable"
    LOST = "lost"


@attrs.define
class LeaseView:
    """One holder's belief about one room's lease, on the holder's own clock.

    ``drift`` bounds how much faster or slower than the authority's this clock may
    run (0.01 = 1 %); ``margin_ms`` covers the time a request spends on the way.
    """

    ttl_ms: int
    drift: float = 0.01
    margin_ms: int = 200
    state: LeaseState = LeaseState.NONE
    fence: int = 0
    valid_until_ms: int = 0
    renewed_at_ms: int = 0

    def _valid_for(self) -> int:
        return int(self.ttl_ms * (1 - self.drift)) - self.margin_ms

    def granted(self, fence: int, sent_ms: int) -> None:
        """The authority granted or renewed the lease; ``sent_ms`` is when the
        request left (local clock), the latest moment the authority can have started
        counting."""
        if fence < self.fence:
            return  # an answer to an older request, overtaken
        valid_until = sent_ms + self._valid_for()
        if self.state in (LeaseState.NONE, LeaseState.LOST) or fence > self.fence:
            # A new lease: nothing of an earlier one counts (a clock may read below 0).
            self.valid_until_ms, self.renewed_at_ms = valid_until, sent_ms
        else:
            self.valid_until_ms = max(self.valid_until_ms, valid_until)
            self.renewed_at_ms = max(self.renewed_at_ms, sent_ms)
        self.state = LeaseState.HELD
        self.fence = fence

    def refused(self) -> None:
        """The authority says someone else holds the room: stop for good."""
        self.state = LeaseState.LOST

    def unreachable(self) -> None:
        """A renewal could not reach the authority (outage or timeout)."""
        if self.state is LeaseState.HELD:
            self.state = LeaseState.UNREACHABLE

    def fenced_out(self) -> None:
        """The store refused a write: a newer holder claimed the room."""
        self.state = LeaseState.LOST

    def holds(self, now_ms: int) -> bool:
        """The authority's lease is certainly still ours at ``now_ms``."""
        return self.state is LeaseState.HELD and now_ms < self.valid_until_ms

    def may_write(self, now_ms: int) -> bool:
        """Whether to attempt writes: while the lease holds, or while the authority
        is out of reach (the store's fence still guards every write)."""
        return self.holds(now_ms) or self.state is LeaseState.UNREACHABLE

    def renewal_due(self, now_ms: int) -> bool:
        """Renew a third of the way through the lease (two more chances before it ends)."""
        if self.state not in (LeaseState.HELD, LeaseState.UNREACHABLE):
            return False
        return now_ms >= self.renewed_at_ms + self.ttl_ms // 3


class WriteRefused(Exception):
    """The store refused a claim or a write (a stale fence or a sequence gap)."""


@attrs.define
class FenceGate:
    """The store's rule for one room: claims raise the fence, writes must carry it."""

    fence: int = 0
    last_seq: int = 0

    def claim(self, fence: int) -> int:
        """A new holder takes the room; returns the last sequence number to restore to.

        Raises:
            WriteRefused: ``fence`` is not above the stored one.
        """
        if fence <= self.fence:
            raise WriteRefused(f"fence {fence} is not above {self.fence}")
        self.fence = fence
        return self.last_seq

    def write(self, fence: int, count: int) -> int:
        """Append ``count`` events under ``fence``; returns the first new sequence number.

        Raises:
            WriteRefused: ``fence`` is not the stored one.
        """
        if fence != self.fence:
            raise WriteRefused(f"fence {fence} is not the room's fence {self.fence}")
        first = self.last_seq + 1
        self.last_seq += count
        return first
