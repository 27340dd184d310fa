"""A started cluster for the scale-out tests that run a whole session: a world on the
cluster's PostgreSQL (with the session's material when recorded), host processes,
HAProxy in front, and the checks those tests share."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import anyio
import redis

from zhanye_sdk.client import SessionParticipant
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.store.database import Database

from .cluster_hosts import Hosts, wait_http
from .media_world import tone_level
from .platform_world import build_world
from .sop_world import SopLibrary, build_sop_library


async def start_cluster(
    hosts: Hosts,
    fast_config: PlatformConfig,
    *,
    recorded: bool = True,
    nodes: Sequence[str] = ("a", "b"),
    balance: str = "uri",
) -> tuple[SopLibrary | None, str]:
    """The ``nodes`` processes and the proxy (balancing by ``balance``); when
    ``recorded``, sessions are recorded and the library has a brochure, an SOP template
    and a product page (returned: the library and the product page's material id)."""
    world = await build_world(hosts.db_url, fast_config)
    library, link_id = None, ""
    if recorded:  # the whole session: every area's material
        library = await build_sop_library(world)
        link = await world.platform.materials.add_link(
            world.p("ca_A"), "百万安心疗", "http://127.0.0.1:9/demo/h5/product.html"
        )
        link_id = link.id
    await world.platform.close()
    hosts.recordings = hosts.tmp / "recordings" if recorded else None
    for node in nodes:
        hosts.start(node)
    for port in hosts.ports.values():
        wait_http(f"http://127.0.0.1:{port}")
    hosts.start_proxy(balance)
    async with aiohttp.ClientSession() as http:
        with anyio.fail_after(60):
            while True:  # until the proxy's health checks pass
                try:
                    if (await http.get(f"http://127.0.0.1:{hosts.proxy_port}/")).status == 200:
                        break
                except aiohttp.ClientError:
                    pass
                await anyio.sleep(0.2)
    return library, link_id


def owner_of(store: redis.Redis, session_id: str) -> tuple[str, int]:
    """The room's lease holder and its fence."""
    holder, _, fence = str(store.get(f"zhanye:lease:{session_id}")).rpartition(":")
    return holder, int(fence)


async def column(db: Database, query: Any) -> list[Any]:
    """The first column of a query's rows."""
    async with db.connect() as conn:
        return [r[0] for r in await conn.execute(query)]


def hears(participant: SessionParticipant, hz: float, since: float) -> bool:
    """The last 0.2 s received (after ``since``) carry the tone at ``hz``."""
    now = time.monotonic()
    samples = participant.audio_between(max(since, now - 0.2), now)
    return samples.size >= 48_000 // 10 and tone_level(samples, hz) > 500
