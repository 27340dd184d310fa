"""Scale-out figures: signaling latency through Redis vs in-process, and failover time.

Latency: one message at a time, from ``publish`` to the subscriber's receipt, over
``LocalBus`` (one process) and over ``RedisBus`` between two buses with their own
Redis connections (what two host processes do), against a throwaway Debian
``redis-server`` on loopback. Failover: from a room owner's last lease renewal to the
moment a survivor polling every 50 ms holds the lease (the default 5 s TTL bounds it).

Run: ``python -m benchmarks.bench_cluster`` (writes ``benchmarks/results/cluster.md``).
"""

from __future__ import annotations

import statistics
import time

import anyio

from zhanye_sdk.cluster.leases import RedisLeases
from zhanye_sdk.cluster.redis_bus import RedisBus
from zhanye_sdk.signaling.bus import Bus, LocalBus
from zhanye_sdk.signaling.envelope import ServerMessage

from .harness import RESULTS

COUNT = 2000


async def latencies(publisher: Bus, subscriber: Bus) -> list[float]:
    """Seconds from publish to receipt, one message in flight at a time."""
    seen: list[float] = []
    async with subscriber.subscribe("room") as events:
        iterator = events.__aiter__()
        for n in range(COUNT):
            start = time.perf_counter()
            await publisher.publish("room", ServerMessage("room.tick", {"n": n}, seq=n + 1))
            await iterator.__anext__()
            seen.append(time.perf_counter() - start)
    return seen


async def failover_s(url: str, ttl_ms: int = 5000) -> float:
    owner, survivor = RedisLeases(url, "a", ttl_ms=ttl_ms), RedisLeases(url, "b", ttl_ms=ttl_ms)
    fence = None
    while fence is None:  # a fresh Redis waits one TTL before its first lease
        fence = await owner.acquire("room")
        await anyio.sleep(0.05)
    assert await owner.renew("room", fence)
    last_renewal = time.perf_counter()  # the owner dies here
    while await survivor.acquire("room", floor=fence) is None:  # noqa: ASYNC110 - polls Redis
        await anyio.sleep(0.05)
    taken = time.perf_counter() - last_renewal
    await owner.close()
    await survivor.close()
    return taken


def _row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1e6
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1e6
    return f"| {name} | {p50:.0f} µs | {p99:.0f} µs |"


async def main() -> None:
    from tests.redis_server import ThrowawayRedis

    server = ThrowawayRedis()
    server.start()
    try:
        local = LocalBus()
        local_samples = await latencies(local, local)
        a, b = RedisBus(server.url()), RedisBus(server.url())
        redis_samples = await latencies(a, b)
        await a.close()
        await b.close()
        takeover = await failover_s(server.url())
    finally:
        server.stop()
    text = "\n".join(
        [
            "# Scale-out: signaling latency and failover",
            "",
            f"{COUNT} messages, one in flight, publish → subscriber; Redis 7 on loopback.",
            "",
            "| bus | p50 | p99 |",
            "|---|---|---|",
            _row("LocalBus (one process)", local_samples),
            _row("RedisBus (two connections, as two processes)", redis_samples),
            "",
            f"Failover (owner's last renewal → survivor holds the lease, TTL 5 s, "
            f"50 ms polling): {takeover:.2f} s.",
            "",
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cluster.md").write_text(text)
    print(text)


if __name__ == "__main__":
    anyio.run(main)
