"""Scale-out figures: signaling latency through Redis vs in-process, and failover time.

Latency: one message at a time, from ``publish`` to the subscriber's receipt, over
``LocalBus`` (one process) and over ``RedisBus`` between two buses with their own
Redis connections (what two host processes do), against a throwaway Debian
``redis-server`` on loopback. Events/s: a burst of events published at once, until
the subscriber has them all, on both buses. Failover: from a room owner's last lease
renewal to the moment a survivor polling every 50 ms holds the lease (the default 5 s
TTL bounds it).

End to end (two ``python -m hosts.web --redis …`` processes on a throwaway PostgreSQL):
the salesperson's room command (``room.set_audio``) → its ack, with the salesperson's
socket on the room's owner and then on the other process (relayed over Redis), and
command → the event reaching the customer's socket on the owner. Commands are spaced
to stay within a connection's room budget (10 a second).

Run: ``python -m benchmarks.bench_cluster`` (writes ``benchmarks/results/cluster.md``).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

# Run as a script (make bench) or as ``python -m benchmarks.…``: both find the
# project and the harness.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import anyio
from harness import RESULTS

from zhanye_sdk.cluster.leases import RedisLeases
from zhanye_sdk.cluster.redis_bus import RedisBus
from zhanye_sdk.signaling.bus import Bus, LocalBus
from zhanye_sdk.signaling.envelope import ServerMessage

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


async def events_per_s(publisher: Bus, subscriber: Bus, count: int = 1000) -> float:
    """Events a second from bursts of ``count`` publishes (within a subscriber's
    buffer) to the subscriber's receipt; the median of five bursts."""
    rates = []
    async with subscriber.subscribe("burst") as events:
        iterator = events.__aiter__()
        for burst in range(5):
            start = time.perf_counter()
            for n in range(count):
                seq = burst * count + n + 1
                await publisher.publish("burst", ServerMessage("room.tick", {"n": n}, seq=seq))
            for _ in range(count):
                await iterator.__anext__()
            rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


async def end_to_end(rounds: int = 60) -> dict[str, tuple[list[float], list[float]]]:
    """Ack and event latencies of room commands, socket on the owner vs relayed."""
    import tempfile

    import aiohttp
    import redis as redis_sync

    from tests.cluster_hosts import Hosts, wait_http
    from tests.live_session import Peer, open_live_session
    from tests.platform_world import build_world
    from tests.postgres import ThrowawayPostgres
    from tests.redis_server import ThrowawayRedis
    from zhanye_sdk.platform.config import PlatformConfig
    from zhanye_sdk.platform.passwords import PasswordHashing

    postgres, redis_server = ThrowawayPostgres(), ThrowawayRedis()
    postgres.start()
    redis_server.start()
    hosts = Hosts(
        Path(tempfile.mkdtemp(prefix="bench-cluster-")), postgres.new_database(), redis_server.url()
    )
    found: dict[str, tuple[list[float], list[float]]] = {}
    try:
        fast = PlatformConfig(
            passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
        )
        world = await build_world(hosts.db_url, fast)
        await world.platform.close()
        for node in ("a", "b"):
            hosts.start(node)
        for node in hosts.ports:
            wait_http(hosts.url(node))
        async with aiohttp.ClientSession() as http:
            live = await open_live_session(http, hosts.url("a"), "sp-A1", "张三")
            store = redis_sync.Redis.from_url(hosts.redis_url, decode_responses=True)
            owner = str(store.get(f"zhanye:lease:{live.session_id}")).rpartition(":")[0]
            other = "b" if owner == "a" else "a"

            def ws(node: str) -> str:
                return hosts.url(node).replace("http", "ws") + f"/ws/sessions/{live.session_id}"

            target = live.seat["participant_id"]
            sockets = {}
            for label, node in (("socket on the owner", owner), ("socket relayed", other)):
                # The host joins first (the room starts), on each process in turn; the
                # first socket stays open (one participant, two sockets).
                sockets[label] = Peer(
                    await http.ws_connect(f"{ws(node)}?token={live.login['token']}")
                )
                await sockets[label].next("session.welcome")
                if label == "socket on the owner":
                    customer = Peer(
                        await http.ws_connect(f"{ws(owner)}?seat={live.seat['seat_token']}")
                    )
                    await customer.next("session.welcome")
                    while True:  # the customer is in the room
                        joined = await sockets[label].next("room.participant_joined")
                        if joined["data"]["participant"]["id"] == target:
                            break
                host = sockets[label]
                acks: list[float] = []
                events: list[float] = []
                for n in range(rounds):
                    start = time.perf_counter()
                    muted = {"target": target, "on": n % 2 == 1}
                    frame_id = await host.send("room.set_audio", muted)
                    reply = await host.reply_to(frame_id)
                    assert reply["type"] == "ack", reply
                    acks.append(time.perf_counter() - start)
                    while True:
                        frame = await customer.next()
                        if frame["type"] == "room.audio_changed":
                            events.append(time.perf_counter() - start)
                            break
                    await anyio.sleep(0.12)
                found[label] = (acks, events)
            store.close()
    finally:
        hosts.stop()
        redis_server.stop()
        postgres.stop()
    return found


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


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e3, ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1e3


def _pair(label: str, acks: list[float], events: list[float]) -> str:
    (a50, a99), (e50, e99) = _ms(acks), _ms(events)
    return f"| {label} | {a50:.1f} ms | {a99:.1f} ms | {e50:.1f} ms | {e99:.1f} ms |"


async def main() -> None:
    from tests.redis_server import ThrowawayRedis

    server = ThrowawayRedis()
    server.start()
    try:
        local = LocalBus()
        local_samples = await latencies(local, local)
        a, b = RedisBus(server.url()), RedisBus(server.url())
        redis_samples = await latencies(a, b)
        local_rate = await events_per_s(local, local)
        redis_rate = await events_per_s(a, b)
        await a.close()
        await b.close()
        takeover = await failover_s(server.url())
    finally:
        server.stop()
    commands = await end_to_end()
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
            "Events a second, bursts of 1000 published at once until all are received "
            "(median of 5):",
            "",
            "| bus | events/s |",
            "|---|---|",
            f"| LocalBus (one process) | {local_rate:,.0f} |",
            f"| RedisBus (two connections, as two processes) | {redis_rate:,.0f} |",
            "",
            "Room commands end to end (two host processes, PostgreSQL, Redis; "
            "the customer's socket on the owner):",
            "",
            "| salesperson's socket | command → ack p50 | p99 "
            "| command → customer's event p50 | p99 |",
            "|---|---|---|---|---|",
            *[_pair(label, acks, events) for label, (acks, events) in commands.items()],
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
