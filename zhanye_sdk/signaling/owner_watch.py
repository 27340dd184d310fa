"""Scale-out: one watch of a room's owner per room and process, shared by its sockets here.

A socket's welcome names the process that owned the room (``node:fence``); when the
owner changes (it died, or lost the room) the socket is closed, so its client
reconnects and offers its media to the new owner. The owner is read from Redis once
per interval for each room that has sockets on this process, however many sockets it
has: a room with a salesperson, a customer on two tabs and a few observers costs one
read a second, not one per socket. The first socket of a room to wait does the
reading; when it goes, another takes over; the room is dropped with its last socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import attrs

from zhanye_sdk.errors import ZhanyeError

__all__ = ["OwnerWatch"]


@attrs.define
class _Room:
    """One room's watch: the sockets waiting, the last owner read, and by which poll."""

    sockets: int = 0
    reading: bool = False
    #: Polls started so far, and the one whose result ``owner`` is (0: none yet).
    started: int = 0
    read_by: int = 0
    owner: str | None = None
    polled: anyio.Event = attrs.field(factory=anyio.Event)


class OwnerWatch:
    """Tells each socket when its room's owner is no longer the one it was welcomed by.

    ``read_owner(session_id)`` is the relay's ``owner_tag`` (``node:fence``, None when
    nobody holds the room; a ``ZhanyeError`` when Redis is away: the room keeps running
    where it is); ``holds(session_id)`` whether this process owns the room (a Redis that
    came back empty shows no holder while this process renews its lease).
    """

    def __init__(
        self,
        read_owner: Callable[[str], Awaitable[str | None]],
        holds: Callable[[str], bool],
        interval_s: float,
    ) -> None:
        self._read_owner, self._holds, self._interval_s = read_owner, holds, interval_s
        self._rooms: dict[str, _Room] = {}
        #: Owner reads made, every room together.
        self.reads = 0

    @property
    def rooms(self) -> int:
        """Rooms watched now (one read per interval each)."""
        return len(self._rooms)

    async def moved(self, session_id: str, owner: str | None) -> None:
        """Return once the room's owner is no longer ``owner`` (the welcome's)."""
        room = self._rooms.setdefault(session_id, _Room())
        room.sockets += 1
        # Only a read started after this socket's welcome speaks for it (an older one
        # may predate a change the welcome already saw).
        since = room.started
        try:
            while True:
                if room.read_by > since and self._changed(session_id, room.owner, owner):
                    return
                if room.reading:
                    await room.polled.wait()
                    continue
                await self._poll(session_id, room)
        finally:
            room.sockets -= 1
            if not room.sockets and self._rooms.get(session_id) is room:
                del self._rooms[session_id]

    async def _poll(self, session_id: str, room: _Room) -> None:
        room.reading = True
        try:
            await anyio.sleep(self._interval_s)
            room.started += 1
            poll = room.started
            self.reads += 1
            try:
                room.owner, room.read_by = await self._read_owner(session_id), poll
            except ZhanyeError:
                pass  # Redis is away: the room keeps running where it is
        finally:
            # Wake the other sockets: to judge the read, or to read themselves when
            # this socket went away mid-read.
            room.reading = False
            room.polled.set()
            room.polled = anyio.Event()

    def _changed(self, session_id: str, now: str | None, welcomed: str | None) -> bool:
        if now is None and self._holds(session_id):
            return False  # a Redis that came back empty: this process renews the lease
        return now != welcomed
