"""Claiming a room in the database with a fencing token (the store's side of a lease).

A process that won a room's lease in Redis claims the room here before it restores
or writes anything: the claim raises the room's stored fence to the lease's, and the
database refuses it when the stored fence is already as high. From then on every
write of the room's events (``RoomService._store``) must carry exactly that fence,
so a process that lost the room, however long it was paused, can never write again.
"""

from __future__ import annotations

import sqlalchemy as sa

from zhanye_sdk.errors import NotFound, RoomMoved
from zhanye_sdk.store.database import Database
from zhanye_sdk.store.schema import sessions

__all__ = ["claim_room", "stored_fence"]


async def stored_fence(db: Database, session_id: str) -> int:
    """The room's current fence (the floor for the next lease's token).

    Raises:
        NotFound: there is no such session.
    """
    async with db.connect() as conn:
        fence = (
            await conn.execute(sa.select(sessions.c.owner_fence).where(sessions.c.id == session_id))
        ).scalar_one_or_none()
    if fence is None:
        raise NotFound(f"no session {session_id}")
    return int(fence)


async def claim_room(db: Database, session_id: str, fence: int) -> int:
    """Make ``fence`` the room's fence; returns the last stored sequence number.

    Raises:
        RoomMoved: the stored fence is ``fence`` or higher (someone newer owns it).
    """
    async with db.begin() as conn:
        last = (
            await conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id)
                .where(sessions.c.owner_fence < fence)
                .values(owner_fence=fence)
                .returning(sessions.c.last_seq)
            )
        ).scalar_one_or_none()
    if last is None:
        raise RoomMoved(session_id)
    return int(last)
