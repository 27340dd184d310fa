"""What one area of a deployment brings to it: the capability protocol.

A capability (rooms, media, co-browse, whiteboard, SOP, records, materials, recordings,
statistics, administration, the merchant desk) is a small adapter in its area's folder
(``<area>/capability.py``) that bundles the area's service with its endpoints. The
``Deployment`` (or ``Desk``) that lists it:

1. routes client messages of each of its ``signaling_areas`` (``"whiteboard"`` for
   ``whiteboard.*``) to the handler given there;
2. merges its ``router`` into the one HTTP router, refusing a second handler for the same
   method and path pattern (``DuplicateRoute``) when it assembles;
3. hands it every typed lifecycle event (``on_lifecycle``), in the order capabilities are
   listed;
4. awaits its ``recover()`` before serving anything (work a stopped process left);
5. runs its ``run()`` in the deployment's task group until the deployment closes.

Services never import their capability (services import no endpoint); only the
deployment does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import anyio
from anyio.abc import TaskStatus

from zhanye_sdk.api.http import Router
from zhanye_sdk.lifecycle import LifecycleEvent
from zhanye_sdk.signaling.endpoint import AreaHandler

__all__ = ["BaseCapability", "Capability"]


class Capability(Protocol):
    """One area of a deployment, as the deployment assembles and runs it."""

    @property
    def name(self) -> str:
        """A short name for logs and errors (``"whiteboard"``)."""
        ...

    @property
    def signaling_areas(self) -> Mapping[str, AreaHandler]:
        """Message type prefix (the part before the dot) → its handler."""
        ...

    @property
    def router(self) -> Router:
        """The HTTP routes this area owns (may be empty)."""
        ...

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """React to a session's lifecycle event (a failure is logged, never spreads)."""
        ...

    async def recover(self) -> None:
        """Finish what a stopped process left; awaited before anything is served."""
        ...

    async def recover_room(self, session_id: str) -> None:
        """Reload one room's state from the database: this process just took the room
        over from another (scale-out failover), before the room serves anyone."""
        ...

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Background work until cancelled; signals ``task_status`` once it can serve.

        A capability without background work signals at once and returns.
        """
        ...


class BaseCapability:
    """A capability that does nothing: subclasses override what their area needs."""

    name = "capability"

    def __init__(self) -> None:
        self.router = Router()

    @property
    def signaling_areas(self) -> Mapping[str, AreaHandler]:
        """No signaling messages."""
        return {}

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """Ignore lifecycle events."""

    async def recover(self) -> None:
        """Nothing to recover."""

    async def recover_room(self, session_id: str) -> None:
        """Nothing kept per room."""

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """No background work: ready at once."""
        task_status.started()
