"""The web host (``python -m tests.slow_command_host <hosts.web options>``) whose room
owner takes its time over one command, for the stopping-owner test.

Armed by the file ``<ZHANYE_TEST_SLOW_DIR>/<node id>.slow``: the next main-view change
(``room.set_main_view``) this process applies as the room's owner waits 60 s before it
is applied, after printing ``applying slowly``. Everything else is the real host: real
PostgreSQL, real Redis.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio

import hosts.web.__main__ as host_main
from zhanye_sdk.rooms.core import SetMainView
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.envelope import ServerMessage


def main() -> None:
    folder = Path(os.environ["ZHANYE_TEST_SLOW_DIR"])
    node = sys.argv[sys.argv.index("--node-id") + 1]
    armed = folder / f"{node}.slow"
    plain_apply_here = RoomService.apply_here

    async def apply_here(self: RoomService, session_id: str, command: Any) -> list[ServerMessage]:
        if armed.exists() and isinstance(command, SetMainView):
            armed.unlink()
            print(f"applying slowly: session {session_id}", flush=True)
            await anyio.sleep(60)
        return await plain_apply_here(self, session_id, command)

    RoomService.apply_here = apply_here  # type: ignore[method-assign]
    sys.argv[0] = "hosts.web"
    host_main.main()


if __name__ == "__main__":
    main()
