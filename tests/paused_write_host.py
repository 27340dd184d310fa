"""The web host (``python -m tests.paused_write_host <hosts.web options>``) with one
stop point in the room service's write path, for the fencing test.

Armed by the file ``<ZHANYE_TEST_PAUSE_DIR>/<node id>.arm``: the next write of a room
command that changes the main view (``room.set_main_view``) — past the lease check
(``RoomService.apply_here`` → ``Ownership.ensure``), its database transaction open,
before the fenced ``UPDATE`` — writes ``<node id>.paused`` (the fence it holds) and
stops the whole process (``SIGSTOP``) until the test sends ``SIGCONT``. After the
resume the write builds its fenced ``UPDATE`` at once (nothing else of the process runs
in between) under the fence it had, then holds it back ``HOLD_S`` before sending it:
the process's timers that fell due while it was stopped (the lease renewal, which finds
the room lost, and the socket's owner watch, which closes the socket of a moved room)
run first, every time, rather than racing the write. The outcome is printed to the
process's log: the database's refusal, or the write. Everything else is the real host:
real PostgreSQL, real Redis.
"""

from __future__ import annotations

import contextvars
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

import hosts.web.__main__ as host_main
from zhanye_sdk.errors import RoomMoved
from zhanye_sdk.rooms.core import MainViewChanged
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.store.database import Database

_stop_here: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "stop_here", default=None
)


#: How long the resumed write's first statement waits, built, before it is sent.
HOLD_S = 3.0


class _HeldBack:
    """A transaction's connection whose first statement, once built, waits ``HOLD_S``."""

    def __init__(self, connection: Any) -> None:
        self._connection, self._held = connection, False

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        if not self._held:
            self._held = True
            await anyio.sleep(HOLD_S)
        return await self._connection.execute(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class _StopOnceBegun:
    """``Database.begin()``'s context, stopping the process once the transaction is open."""

    def __init__(self, context: Any, stop: Callable[[], None]) -> None:
        self._context, self._stop = context, stop

    async def __aenter__(self) -> Any:
        connection = await self._context.__aenter__()
        self._stop()
        return _HeldBack(connection)

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._context.__aexit__(*exc)


def main() -> None:
    folder = Path(os.environ["ZHANYE_TEST_PAUSE_DIR"])
    node = sys.argv[sys.argv.index("--node-id") + 1]
    armed, paused = folder / f"{node}.arm", folder / f"{node}.paused"
    plain_begin, plain_store = Database.begin, RoomService._store

    def begin(self: Database) -> Any:
        context = plain_begin(self)
        stop = _stop_here.get()
        return context if stop is None else _StopOnceBegun(context, stop)

    async def store(self: RoomService, session_id: str, room: Any, events: Any, at: int) -> Any:
        if not (armed.exists() and any(isinstance(e, MainViewChanged) for e in events)):
            return await plain_store(self, session_id, room, events, at)
        armed.unlink()

        def stop() -> None:
            paused.write_text(str(self._fences.get(session_id)))
            os.kill(os.getpid(), signal.SIGSTOP)
            # Resumed: the fenced UPDATE is built and sent right after this returns.
            print(f"resumed: writing session {session_id} under fence {fence()}", flush=True)

        def fence() -> int | None:
            return self._fences.get(session_id)

        token = _stop_here.set(stop)
        try:
            written = await plain_store(self, session_id, room, events, at)
        except RoomMoved:
            print(f"the database refused the write of session {session_id}", flush=True)
            raise
        finally:
            _stop_here.reset(token)
        print(f"the database took the write of session {session_id}", flush=True)
        return written

    Database.begin = begin  # type: ignore[method-assign]
    RoomService._store = store  # type: ignore[method-assign]
    sys.argv[0] = "hosts.web"
    host_main.main()


if __name__ == "__main__":
    main()
