"""Which rooms this process owns: leases taken on first use, renewed, given up.

The room service asks ``ensure(session_id)`` before it touches a room's state. If this
process holds the room's lease, that is all. Otherwise it takes the lease (waiting
out a dead owner's TTL), claims the room in the database with the lease's fence and
has the room service reload it from the database under that fence (``adopt``): the
room resumes where its last owner's last committed event left it.

``maintain()`` renews every held lease a third of the way through its TTL. A renewal
Redis refuses means another process took the room: this one forgets it. A renewal
that cannot reach Redis keeps the room running on its fence (the database still
refuses the writes of a process whose fence was superseded).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import anyio

from zhanye_sdk.cluster.fencing import claim_room, stored_fence
from zhanye_sdk.cluster.lease import LeaseState, LeaseView
from zhanye_sdk.cluster.leases import RedisLeases, Unreachable
from zhanye_sdk.errors import RoomMoved
from zhanye_sdk.store.database import Database

__all__ = ["Ownership"]

_log = logging.getLogger(__name__)


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


class Ownership:
    """This process's room leases (``leases.node`` is its node id).

    ``adopt(session_id, fence)`` is the room service's: it drops the room from memory
    and writes under ``fence`` from then on; ``forget(session_id)`` drops a room lost.
    ``wait_s`` bounds how long ``ensure`` waits for a silent owner's lease to expire.
    """

    def __init__(
        self,
        leases: RedisLeases,
        database: Database,
        *,
        wait_s: float | None = None,
    ) -> None:
        self.leases = leases
        self._db = database
        self._wait_s = wait_s if wait_s is not None else 2 * leases.ttl_ms / 1000 + 1
        self._views: dict[str, LeaseView] = {}
        self._adopt: Callable[[str, int], None] = lambda _s, _f: None
        self._forget: Callable[[str], None] = lambda _s: None
        self._restore: Callable[[str], Awaitable[None]] | None = None
        self._lost: Callable[[str], None] = lambda _s: None
        self._locks: dict[str, anyio.Lock] = {}

    def bind(
        self,
        adopt: Callable[[str, int], None],
        forget: Callable[[str], None],
        restore: Callable[[str], Awaitable[None]] | None = None,
        lost: Callable[[str], None] | None = None,
    ) -> None:
        """Connect the room service (made after the ownership) and the deployment's
        ``restore(session_id)``, awaited after every take-over before the room serves
        (every area reloads the room's state from the database), and ``lost``, told when
        another process took a room from this one (its media must stop writing)."""
        self._adopt, self._forget, self._restore = adopt, forget, restore
        if lost is not None:
            self._lost = lost

    @property
    def node(self) -> str:
        """This process's node id."""
        return self.leases.node

    def owned(self) -> list[str]:
        """The rooms this process holds."""
        return [s for s, v in self._views.items() if v.state is not LeaseState.LOST]

    async def ensure(self, session_id: str) -> None:
        """Make sure this process owns the room, taking it over if its owner is gone.

        Raises:
            RoomMoved: another live process holds the room.
        """
        view = self._views.get(session_id)
        if view is not None and view.may_write(_now_ms()):
            return
        lock = self._locks.setdefault(session_id, anyio.Lock())
        async with lock:
            view = self._views.get(session_id)
            if view is not None and view.may_write(_now_ms()):
                return
            await self._take(session_id)
            if self._restore is not None:
                await self._restore(session_id)

    async def _take(self, session_id: str) -> None:
        with anyio.move_on_after(self._wait_s):
            while True:
                sent = _now_ms()
                try:
                    fence = await self.leases.acquire(
                        session_id, await stored_fence(self._db, session_id)
                    )
                except Unreachable as exc:
                    raise RoomMoved(session_id) from exc
                if fence is not None:
                    await claim_room(self._db, session_id, fence)
                    view = LeaseView(ttl_ms=self.leases.ttl_ms)
                    view.granted(fence, sent)
                    self._views[session_id] = view
                    self._adopt(session_id, fence)
                    _log.info("node %s owns session %s (fence %d)", self.node, session_id, fence)
                    return
                await anyio.sleep(0.1)  # held: its owner renews it, or it expires
        raise RoomMoved(session_id)

    async def renew_all(self) -> None:
        """Renew every held lease that is due; forget the rooms another process took."""
        for session_id, view in list(self._views.items()):
            if not view.renewal_due(_now_ms()):
                continue
            sent = _now_ms()
            try:
                renewed = await self.leases.renew(session_id, view.fence)
            except Unreachable:
                view.unreachable()
                continue
            if renewed:
                view.granted(view.fence, sent)
            else:
                view.refused()
                _log.warning("node %s lost session %s to another process", self.node, session_id)
                self.forget(session_id)
                self._lost(session_id)

    def forget(self, session_id: str) -> None:
        """Stop owning a room (lost, ended or moved)."""
        self._views.pop(session_id, None)
        self._forget(session_id)

    async def release(self, session_id: str) -> None:
        """Give a room up (it ended, or this process drains)."""
        view = self._views.pop(session_id, None)
        if view is None:
            return
        try:
            await self.leases.release(session_id, view.fence)
        except Unreachable:
            pass  # it expires by itself
        self._forget(session_id)

    async def maintain(self) -> None:
        """Renew leases until cancelled."""
        while True:
            await anyio.sleep(self.leases.ttl_ms / 6000)
            try:
                await self.renew_all()
            except Exception:  # one bad renewal round never stops the next
                _log.exception("lease renewal failed")
