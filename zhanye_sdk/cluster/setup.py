"""Assembling the scale-out pieces of one host process from a ``redis://`` URL.

``Cluster.build`` refuses a database other than PostgreSQL (several processes cannot
share a SQLite file safely), then makes the Redis bus, the shared rate limits, the
room leases and the node registry; ``cluster.capability.ClusterCapability`` runs them
in the deployment.
"""

from __future__ import annotations

import os
import secrets
import socket

import attrs

from zhanye_sdk.cluster.leases import RedisLeases
from zhanye_sdk.cluster.nodes import Load, NodeInfo, NodeRegistry
from zhanye_sdk.cluster.ownership import Ownership
from zhanye_sdk.cluster.ratelimit import RedisLimiter
from zhanye_sdk.cluster.redis_bus import RedisBus
from zhanye_sdk.cluster.relay import Relay
from zhanye_sdk.cluster.relay_logins import LoginsRelay
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.store.database import Database

__all__ = ["Cluster", "ClusterConfig"]


@attrs.frozen
class ClusterConfig:
    """One process's place in a scale-out deployment.

    Attributes:
        redis_url: the Redis server (``redis://host:port/db``).
        node_id: this process's id (default: host name, pid and a random suffix).
        http_url: where the reverse proxy reaches this process.
        ice_address: the address this process's WebRTC candidates use.
        lease_ttl_ms: how long a room's lease lasts without renewal (failover time).
    """

    redis_url: str
    node_id: str | None = None
    http_url: str = "http://127.0.0.1:8080"
    ice_address: str = "127.0.0.1"
    lease_ttl_ms: int = 5000


@attrs.define
class Cluster:
    """The Redis-backed pieces of one host process."""

    config: ClusterConfig
    node_id: str
    bus: RedisBus
    limiter: RedisLimiter
    ownership: Ownership
    registry: NodeRegistry
    relay: Relay
    logins: LoginsRelay
    draining: bool = False

    @classmethod
    def build(cls, config: ClusterConfig, database: Database) -> Cluster:
        """The pieces for ``config`` over ``database`` (no I/O yet).

        Raises:
            InvalidInput: the database is not PostgreSQL.
        """
        if database.dialect != "postgresql":
            raise InvalidInput(
                "several host processes need a postgresql:// database; SQLite serves one "
                "process only (drop the Redis URL, or move the data to PostgreSQL)",
                zh="多进程部署需要 PostgreSQL 数据库；SQLite 只能用于单进程部署",
            )
        node_id = config.node_id or (f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}")
        leases = RedisLeases(config.redis_url, node_id, ttl_ms=config.lease_ttl_ms)
        ownership = Ownership(leases, database)
        registry = NodeRegistry(config.redis_url, ttl_ms=config.lease_ttl_ms)
        return cls(
            config=config,
            node_id=node_id,
            bus=RedisBus(config.redis_url),
            limiter=RedisLimiter(config.redis_url),
            ownership=ownership,
            registry=registry,
            relay=Relay(config.redis_url, ownership, registry),
            logins=LoginsRelay(config.redis_url, node_id),
        )

    def info(self, load: Load) -> NodeInfo:
        """What the registry says of this process."""
        return NodeInfo(
            self.node_id,
            self.config.http_url,
            self.config.ice_address,
            load,
            draining=self.draining,
        )

    async def drain(self) -> None:
        """SIGTERM: take no new room, give every room up (survivors take them over)."""
        self.draining = True
        for session_id in self.ownership.owned():
            await self.ownership.release(session_id)

    async def close(self) -> None:
        """Close every Redis connection."""
        for closable in (
            self.bus,
            self.limiter,
            self.ownership.leases,
            self.registry,
            self.relay,
            self.logins,
        ):
            await closable.close()
