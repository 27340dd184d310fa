"""Failover time: ``kill -9`` of a live call's owner until both peers hear each other again.

Each run is what ``tests/test_cluster_failover.py`` does, without the other areas: two
web host processes (``python -m hosts.web --redis …``) on a throwaway PostgreSQL and
Redis behind HAProxy, the salesperson and a customer joined through the proxy with the
SDK's participant client, each sending a tone (440 Hz, 660 Hz). Once both hear the
other (tone FFT), the process holding the room's lease is killed. Measured from the
kill: the survivor holding the lease, the first client welcomed back, and both peers
hearing each other again (the last 0.2 s received carry the other's tone). Fresh
processes and database each run; recording off (the CPU is shared).

Run: ``python -m benchmarks.bench_failover [runs]`` (writes
``benchmarks/results/failover.md`` and ``failover.png``).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script (make bench) or as ``python -m benchmarks.…``: both find the
# project and the harness.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
import anyio
import redis
from harness import Table, bar_plot

from tests.cluster_hosts import Hosts
from tests.live_session import open_live_session
from tests.postgres import ThrowawayPostgres
from tests.redis_server import ThrowawayRedis
from tests.test_cluster_failover import (
    CUSTOMER_HZ,
    HOST_HZ,
    hears,
    owner_of,
    start_cluster,
    two_peers,
)
from zhanye_sdk.platform import PasswordHashing, PlatformConfig

RUNS = 10
CONFIG = PlatformConfig(passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1))


async def one_run(postgres: ThrowawayPostgres, redis_url: str, folder: Path) -> dict[str, float]:
    """Seconds from the kill to: lease taken, first welcome back, audio back."""
    hosts = Hosts(folder, postgres.new_database(), redis_url)
    try:
        await start_cluster(hosts, CONFIG, recorded=False)
        store = redis.Redis.from_url(redis_url, decode_responses=True)
        base = f"http://127.0.0.1:{hosts.proxy_port}"
        async with aiohttp.ClientSession() as http:
            live = await open_live_session(http, base, "sp-A1", "张三")
        sid = live.session_id
        async with two_peers(live) as (host, customer):
            started = time.monotonic()
            with anyio.fail_after(60):
                while not (hears(host, CUSTOMER_HZ, started) and hears(customer, HOST_HZ, started)):  # noqa: ASYNC110, E501 - media tasks fill the lists
                    await anyio.sleep(0.05)
            owner, fence = owner_of(store, sid)
            hosts.kill(owner)
            killed = time.monotonic()
            lease = welcome = None
            with anyio.fail_after(60):
                while not (hears(host, CUSTOMER_HZ, killed) and hears(customer, HOST_HZ, killed)):
                    now = time.monotonic()
                    if lease is None and store.get(f"zhanye:lease:{sid}") is not None:
                        if owner_of(store, sid)[1] > fence:
                            lease = now - killed
                    if welcome is None and max(host.welcomed_at, customer.welcomed_at) > killed:
                        welcome = (
                            min(t for t in (host.welcomed_at, customer.welcomed_at) if t > killed)
                            - killed
                        )
                    await anyio.sleep(0.02)
            audio = time.monotonic() - killed
        store.close()
        return {"lease": lease or audio, "welcome": welcome or audio, "audio": audio}
    finally:
        hosts.stop()


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(runs: int) -> None:
    postgres, redis_server = ThrowawayPostgres(), ThrowawayRedis()
    postgres.start()
    redis_server.start()
    results: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="zhanye-failover-") as tmp:
            for n in range(runs):
                folder = Path(tmp) / f"run-{n}"
                folder.mkdir()
                result = await one_run(postgres, redis_server.url(), folder)
                print(f"run {n + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.items()))
                results.append(result)
    finally:
        redis_server.stop()
        postgres.stop()
    table = Table(
        "failover",
        "Failover: kill -9 of the owner → audio back (two processes behind HAProxy)",
        ["from the kill to", "p50", "p99", "min", "max"],
    )
    names = {
        "lease": "the survivor holds the lease",
        "welcome": "the first client welcomed back",
        "audio": "both peers hear each other again",
    }
    for key, name in names.items():
        samples = [r[key] for r in results]
        table.add(
            name,
            f"{statistics.median(samples):.2f} s",
            f"{_percentile(samples, 0.99):.2f} s",
            f"{min(samples):.2f} s",
            f"{max(samples):.2f} s",
        )
    table.notes += [
        f"{runs} runs, each with fresh processes and database; the lease TTL is 5 s "
        "(the default): the dead owner's lease must expire before anyone takes the room.",
        "Clients reconnect by themselves (0.2 s, 0.5 s, 1 s, then every 2 s); the first "
        "one back waits in the survivor's welcome until it holds the room; both then "
        "offer their media again (a new process answers) and ICE + DTLS connect on "
        "loopback.",
        "Target (issue #16): audio back within 10 s of the kill.",
    ]
    table.write()
    bar_plot(
        "failover",
        "Failover per run: seconds from kill -9",
        [str(n + 1) for n in range(runs)],
        {name: [r[key] for r in results] for key, name in names.items()},
        ylabel="seconds after the kill",
    )


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else RUNS)
