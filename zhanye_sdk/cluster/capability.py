"""The scale-out capability: heartbeat, lease renewals, draining, ended rooms released."""

from __future__ import annotations

from collections.abc import Callable

import anyio
from anyio.abc import TaskStatus

from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.cluster.nodes import Load
from zhanye_sdk.cluster.setup import Cluster
from zhanye_sdk.lifecycle import LifecycleEvent, SessionEnded

__all__ = ["ClusterCapability"]


class ClusterCapability(BaseCapability):
    """Heartbeat, lease renewals, and a room's lease given up when the room ends."""

    name = "cluster"

    def __init__(self, cluster: Cluster, media_share: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.cluster = cluster
        #: This process's media load for the registry (``MediaService.load().share``).
        self.media_share = media_share

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """Give an ended room's lease up."""
        if isinstance(event, SessionEnded):
            await self.cluster.ownership.release(event.session_id)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Announce this process and renew its leases until cancelled."""
        cluster = self.cluster
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(
                    cluster.registry.heartbeat,
                    lambda: cluster.info(
                        Load(
                            rooms=len(cluster.ownership.owned()),
                            media=self.media_share() if self.media_share else 0.0,
                        )
                    ),
                )
                tasks.start_soon(cluster.ownership.maintain)
                await tasks.start(cluster.relay.run)
                await tasks.start(cluster.logins.run)
                task_status.started()
        finally:
            with anyio.CancelScope(shield=True):
                await cluster.drain()
                try:
                    await cluster.registry.withdraw(cluster.node_id)
                except Exception:  # noqa: BLE001 - Redis may be gone; the key expires
                    pass
