"""Rooms and participants that 1, 2 and 3 host processes hold together, at a fixed load per room.

Each configuration is the scale-out deployment of ``docs/scale-out.md``: ``N`` web host
processes (``hosts.web --redis …``, the real entry point, with one read-only
``/bench/stats`` route added) on one throwaway PostgreSQL and one Redis, behind HAProxy
balancing round-robin (any process serves any socket: signaling is relayed to the
room's owner, the media connects to the owner). One process is the baseline, measured
in the same run.

The fixed load of a room: a salesperson and a customer, each a real WebRTC peer (the
SDK's participant client: signaling over WebSocket through the proxy, ICE, DTLS-SRTP,
Opus over RTP; pre-encoded packets out and frames counted in, as in
``bench_media_capacity``, so the load generator is cheap), audio only; and the
salesperson's room command ``room.set_main_view`` twice a second (a fenced write to
PostgreSQL, an event to both sockets), timed command → ack. New rooms are started
through the proxy (placed on the least-loaded process) two at a time; after each step
the run settles and measures a window: every process's mixing-tick lateness (p99 over
every room's ticks of every process), the frames per second each listener received,
and the commands' ack p99. A configuration stops at the first step where the tick
lateness p99 exceeds 5 ms, a listener gets fewer than 49.5 frames/s, or the ack p99
exceeds 100 ms; the rooms of the step before are its capacity.

All host processes share CPU 0 and the load generator has CPU 1 (PostgreSQL, Redis and
HAProxy run where the scheduler puts them): 2 and 3 processes do not get more cores,
so the ratio to one process is the cost of scale-out's overhead (the relay, Redis
pub/sub, leases and heartbeats, and several interpreters sharing one core), not the
gain of more machines. Hosts and load generator take the round-robin real-time class
when allowed (as ``bench_media_capacity``): the machine is shared.

Run: ``python benchmarks/bench_cluster_capacity.py [--quick]`` (writes
``benchmarks/results/cluster_capacity.md`` and ``cluster_capacity.png``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_media_capacity import _client_codecs, _leaf, _prioritise, _tracks  # noqa: E402

PASSWORD = "Kv8-secret-pass"
SERVER_CPU, CLIENT_CPU = 0, 1
P99_LIMIT_MS = 5.0
FPS_LIMIT = 49.5
ACK_P99_LIMIT_MS = 100.0
COMMANDS_PER_S = 2.0
QUIET_WAIT_S = 30.0


# ---- a host process (subprocess, pinned): hosts.web with a stats route ---------------------


def serve(host_args: list[str]) -> None:
    """``python -m hosts.web <host_args>`` on ``SERVER_CPU``, with ``/bench/stats`` and the
    per-address join budget lifted (every client of the benchmark comes from 127.0.0.1)."""
    import threading

    from aiohttp import web

    import hosts.web.__main__ as host_main
    from zhanye_sdk import SessionConfig
    from zhanye_sdk.ratelimit import BucketPolicy

    os.sched_setaffinity(0, {SERVER_CPU})
    _prioritise(loop_first=True)
    unlimited = BucketPolicy(rate=1e9, burst=1e9)
    plain_config, plain_app = host_main.DeploymentConfig, host_main.web_app

    def config(**kwargs: Any) -> Any:
        sessions = SessionConfig(joins_per_session=unlimited, joins_per_address=unlimited)
        return plain_config(**kwargs, sessions=sessions)

    def app_with_stats(deployment: Any) -> web.Application:
        app = plain_app(deployment)
        loop_thread = threading.get_ident()
        marks: dict[str, float] = {}

        def rooms() -> list[Any]:
            return list(deployment.media._media_rooms.values())

        async def stats(request: web.Request) -> web.Response:
            assert threading.get_ident() == loop_thread
            now = {"wall": time.monotonic(), "cpu": time.process_time()}
            if request.query.get("reset"):
                for room in rooms():
                    room.lateness_s.clear()
                marks.update(now)
                marks["skipped"] = sum(r.clock.skipped for r in rooms())
                return web.json_response({})
            wall = now["wall"] - marks["wall"]
            return web.json_response(
                {
                    "lateness_ms": [1e3 * x for r in rooms() for x in r.lateness_s],
                    "cpu": (now["cpu"] - marks["cpu"]) / wall,
                    "rooms": len(rooms()),
                    "peers": sum(len(r.peers) for r in rooms()),
                    "skipped": sum(r.clock.skipped for r in rooms()) - marks["skipped"],
                }
            )

        app.router.add_get("/bench/stats", stats)
        return app

    host_main.DeploymentConfig = config  # type: ignore[attr-defined]
    host_main.web_app = app_with_stats  # type: ignore[attr-defined]
    sys.argv = ["hosts.web", *host_args]
    host_main.main()


# ---- the cluster ------------------------------------------------------------------------


def start_hosts(count: int, db_url: str, redis_url: str, folder: Path, tag: str) -> Any:
    """``count`` host processes (node ids ``<tag>-<k>``) and HAProxy, round-robin."""
    from tests.cluster_hosts import Hosts, free_port, wait_http

    hosts = Hosts(folder, db_url, redis_url)
    for k in range(count):
        node, port = f"{tag}-{k}", free_port()
        hosts.processes[node] = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--db", db_url, "--redis", redis_url,
             "--node-id", node, "--port", str(port), "--no-asr"],
            cwd=ROOT,
            stdout=(folder / f"{node}.log").open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        hosts.ports[node] = port
    for node in hosts.ports:
        wait_http(hosts.url(node), 180)
    hosts.start_proxy("roundrobin")
    return hosts


async def create_accounts(db_url: str, count: int) -> None:
    from zhanye_sdk import Platform, PlatformConfig
    from zhanye_sdk.platform import PasswordHashing

    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )
    platform = await Platform.open(db_url, config=config)
    try:
        from harness import seed_salespeople

        await seed_salespeople(platform, count, PASSWORD)
    finally:
        await platform.close()


# ---- the load ---------------------------------------------------------------------------


class Room:
    """One room's two peers and its salesperson's commands (started, ack latency)."""

    def __init__(self, host: Any, customer: Any) -> None:
        self.host, self.customer = host, customer
        self.acks: list[tuple[float, float]] = []
        self.failures = 0

    @property
    def peers(self) -> list[Any]:
        return [self.host, self.customer]

    async def commands(self) -> None:
        """``room.set_main_view`` every 1/COMMANDS_PER_S seconds, on absolute deadlines."""
        targets = [self.customer.participant_id, self.host.participant_id]
        start = time.monotonic()
        for n in range(1_000_000):
            delay = start + n / COMMANDS_PER_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.monotonic()
            try:
                reply = await self.host.request(
                    "room.set_main_view", {"target": targets[n % 2]}, limit_s=10
                )
            except Exception:
                self.failures += 1
                continue
            if reply["type"] == "error":
                self.failures += 1
            else:
                self.acks.append((sent, time.monotonic() - sent))


async def add_room(http: Any, base: str, k: int, stack: AsyncExitStack, tracks: Any) -> Room:
    """Salesperson sp{k} starts a session through the proxy; both peers join with audio."""
    from zhanye_sdk.client import join

    microphone, _ = tracks
    login = await (
        await http.post(f"{base}/api/login", json={"login": f"sp{k}", "password": PASSWORD})
    ).json()
    auth = {"Authorization": f"Bearer {login['token']}"}
    sid = (await (await http.post(f"{base}/api/sessions", json={}, headers=auth)).json())["id"]
    ws = base.replace("http", "ws") + f"/ws/sessions/{sid}"
    host = await stack.enter_async_context(
        join(f"{ws}?token={login['token']}", microphone=microphone(), slots=0, loopback_only=True)
    )
    invite = await (await http.post(f"{base}/api/sessions/{sid}/invite-link", headers=auth)).json()
    seat = await (
        await http.post(
            f"{base}/api/invites/{invite['token']}/join",
            json={"name": f"客户{k}", "recording_acknowledged": True},
        )
    ).json()
    customer = await stack.enter_async_context(
        join(
            f"{ws}?seat={seat['seat_token']}", microphone=microphone(), slots=0, loopback_only=True
        )
    )
    return Room(host, customer)


#: Processes of this run: the load generator and the PostgreSQL server (daemonized, so
#: not our child); everything they started is ours too.
ROOTS: set[int] = {os.getpid()}


def realtime_neighbours() -> int:
    """Other processes in a real-time class now (another benchmark in SCHED_RR takes a
    core ahead of everything of normal priority, and shares it with ours). Ours (the
    hosts, and PostgreSQL, Redis and HAProxy, which inherit the load generator's class)
    are the descendants of ``ROOTS``."""
    parents: dict[int, int] = {}
    realtime: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            kernel = not (stat.parent / "cmdline").read_bytes()  # the kernel's own threads
        except OSError:
            continue
        pid = int(stat.parent.name)
        # fields[0] is stat field 3 (the state): the parent is field 4, the policy 41.
        parents[pid] = int(fields[1])
        if not kernel and int(fields[38]) in (1, 2):
            realtime.append(pid)

    def ours(pid: int) -> bool:
        while pid > 1:
            if pid in ROOTS:
                return True
            pid = parents.get(pid, 0)
        return False

    return sum(1 for pid in realtime if not ours(pid))


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0


async def measure(http: Any, hosts: Any, rooms: list[Room], window_s: float) -> dict[str, Any]:
    """One window over every process and peer: the step's figures and whether it is kept.

    Waits first (up to ``QUIET_WAIT_S``) while another process runs in a real-time class
    (another engineer's benchmark): it would take the hosts' core from them."""
    deadline = time.monotonic() + QUIET_WAIT_S
    while realtime_neighbours() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    for node in hosts.ports:
        await http.get(f"{hosts.url(node)}/bench/stats?reset=1")
    for room in rooms:
        for peer in room.peers:
            peer.audio.clear()
        room.failures = 0
    start = time.monotonic()
    await asyncio.sleep(window_s)
    per_node = [
        await (await http.get(f"{hosts.url(node)}/bench/stats")).json() for node in hosts.ports
    ]
    wall = time.monotonic() - start
    fps = [sum(1 for at, _ in p.audio if at >= start) / wall for room in rooms for p in room.peers]
    acks = [1e3 * s for room in rooms for at, s in room.acks if at >= start]
    lateness = [x for n in per_node for x in n["lateness_ms"]]
    step = {
        "rooms": len(rooms),
        "participants": sum(n["peers"] for n in per_node),
        "rooms_per_process": [n["rooms"] for n in per_node],
        "cpu": sum(n["cpu"] for n in per_node),
        "p99_ms": _p99(lateness),
        "max_ms": max(lateness, default=0.0),
        "skipped": sum(n["skipped"] for n in per_node),
        "fps_min": min(fps),
        "ack_p50_ms": statistics.median(acks) if acks else float("inf"),
        "ack_p99_ms": _p99(acks) if acks else float("inf"),
        "refused": sum(room.failures for room in rooms),
        "load": os.getloadavg()[0],
        "rt_neighbours": realtime_neighbours(),
        "second_look": False,
    }
    step["kept"] = (
        step["p99_ms"] <= P99_LIMIT_MS
        and step["fps_min"] >= FPS_LIMIT
        and step["ack_p99_ms"] <= ACK_P99_LIMIT_MS
        and step["refused"] == 0
    )
    return step


async def ramp(hosts: Any, plan: dict[str, Any], tracks: Any) -> list[dict[str, Any]]:
    """Add rooms through the proxy, ``plan["step"]`` at a time, until a criterion fails."""
    import aiohttp

    base = f"http://127.0.0.1:{hosts.proxy_port}"
    async with aiohttp.ClientSession() as http:
        with_deadline = time.monotonic() + 60
        while time.monotonic() < with_deadline:  # the proxy's health checks pass
            try:
                if (await http.get(f"{base}/")).status == 200:
                    break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        steps: list[dict[str, Any]] = []
        rooms: list[Room] = []
        commands: list[asyncio.Task[None]] = []
        async with AsyncExitStack() as stack:
            try:
                while len(rooms) < plan["max_rooms"]:
                    wanted = plan["start"] if not rooms else len(rooms) + plan["step"]
                    try:
                        while len(rooms) < wanted:
                            room = await add_room(http, base, len(rooms), stack, tracks)
                            rooms.append(room)
                            commands.append(asyncio.create_task(room.commands()))
                    except Exception as exc:
                        print(f"room {len(rooms)} could not join: {_leaf(exc)!r}", flush=True)
                        break
                    await asyncio.sleep(plan["settle_s"])
                    step = await measure(http, hosts, rooms, plan["window_s"])
                    looks = 1
                    # A shared machine: a second look before stopping, and up to two more
                    # while another benchmark in a real-time class took the core.
                    while not step["kept"] and (looks < 2 or step["rt_neighbours"]) and looks < 4:
                        print(json.dumps(step), flush=True)
                        step = await measure(http, hosts, rooms, plan["window_s"])
                        step["second_look"] = True
                        looks += 1
                    print(json.dumps(step), flush=True)
                    steps.append(step)
                    if not step["kept"]:
                        break
            finally:
                for task in commands:
                    task.cancel()
                await asyncio.gather(*commands, return_exceptions=True)
    return steps


def run(
    count: int, plan: dict[str, Any], postgres: Any, redis_server: Any, round_: int
) -> list[dict[str, Any]]:
    """One configuration: fresh database, Redis database and node ids, ``count``
    processes."""
    from zhanye_sdk.media.ice import limit_host_addresses

    db_url = postgres.new_database()
    asyncio.run(create_accounts(db_url, plan["max_rooms"]))
    with tempfile.TemporaryDirectory(prefix=f"bench-cluster-capacity-{count}-") as tmp:
        redis_url = redis_server.url(3 * round_ + count)  # (16 databases: 4 rounds)
        hosts = start_hosts(count, db_url, redis_url, Path(tmp), f"r{round_}p{count}")
        try:
            limit_host_addresses(("127.0.0.1",))
            return asyncio.run(ramp(hosts, plan, _tracks(_client_codecs())))
        finally:
            hosts.stop()


def capacity(steps: list[dict[str, Any]]) -> tuple[int, int]:
    """Rooms and participants of the last step kept."""
    kept = [s for s in steps if s["kept"]]
    return (kept[-1]["rooms"], kept[-1]["participants"]) if kept else (0, 0)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="bigger steps, shorter windows")
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--max-rooms", type=int, default=30)
    parser.add_argument("--runs", type=int, default=2, choices=range(1, 5))
    args = parser.parse_args()
    plan = (
        {"start": 2, "step": 2, "settle_s": 3.0, "window_s": 4.0}
        if args.quick
        else {"start": 2, "step": 1, "settle_s": 4.0, "window_s": 6.0}
    )
    plan["max_rooms"] = args.max_rooms
    os.sched_setaffinity(0, {CLIENT_CPU})
    niced = _prioritise()
    from harness import Table, bar_plot

    from tests.postgres import ThrowawayPostgres
    from tests.redis_server import ThrowawayRedis

    counts = [int(c) for c in args.processes.split(",")]
    load_before, started = os.getloadavg(), time.monotonic()
    postgres, redis_server = ThrowawayPostgres(), ThrowawayRedis()
    postgres.start()
    redis_server.start()
    ROOTS.add(int((postgres.dir / "data" / "postmaster.pid").read_text().split()[0]))
    runs: list[dict[int, list[dict[str, Any]]]] = []
    try:
        for round_ in range(args.runs):
            runs.append({})
            for count in counts:
                print(f"== run {round_ + 1}: {count} process(es)", flush=True)
                runs[-1][count] = run(count, plan, postgres, redis_server, round_)
    finally:
        redis_server.stop()
        postgres.stop()
    load_after, minutes = os.getloadavg(), (time.monotonic() - started) / 60
    table = Table(
        "cluster_capacity",
        "Rooms (1 salesperson + 1 customer, audio, 2 commands/s) that 1, 2 and 3 host "
        "processes hold, sharing one core",
        [
            "run",
            "processes",
            "rooms",
            "participants",
            "rooms per process",
            "hosts' CPU",
            "frames/s min",
            "tick lateness p99 ms",
            "lateness max ms",
            "skipped ticks",
            "ack p50 ms",
            "ack p99 ms",
            "load (1 min)",
            "other real-time processes (window's end)",
            "kept",
        ],
    )
    for round_, results in enumerate(runs, start=1):
        for count, steps in results.items():
            for s in steps:
                table.add(
                    round_,
                    count,
                    s["rooms"],
                    s["participants"],
                    "/".join(str(r) for r in s["rooms_per_process"]),
                    f"{s['cpu']:.0%}",
                    s["fps_min"],
                    s["p99_ms"],
                    s["max_ms"],
                    s["skipped"],
                    s["ack_p50_ms"],
                    s["ack_p99_ms"],
                    s["load"],
                    s["rt_neighbours"],
                    ("yes" if s["kept"] else "no") + (" (again)" if s["second_look"] else ""),
                )
    held = {c: [capacity(results[c]) for results in runs] for c in counts}
    base = statistics.median(rooms for rooms, _ in held[counts[0]])
    for count in counts:
        rooms = statistics.median(r for r, _ in held[count])
        people = statistics.median(p for _, p in held[count])
        each = ", ".join(f"{r}" for r, _ in held[count])
        ratio = f"{rooms / base:.2f}×" if base else "n/a"
        table.notes.append(
            f"{count} process{'es' if count > 1 else ''}: **{rooms:g} rooms, {people:g} "
            f"participants** (median of {len(runs)} runs; rooms per run: {each}), {ratio} "
            f"of {counts[0]} process{'es' if counts[0] > 1 else ''} in the same runs."
        )
    table.notes += [
        f"Kept: tick lateness p99 ≤ {P99_LIMIT_MS} ms over every room of every process, "
        f"every listener ≥ {FPS_LIMIT} frames/s, the salesperson's `room.set_main_view` "
        f"(sent {COMMANDS_PER_S:.0f}×/s per room through the proxy, relayed to the owner "
        f"when its socket is elsewhere) acked with p99 ≤ {ACK_P99_LIMIT_MS:.0f} ms and none "
        "refused. A step whose window fails is measured once more (the machine is shared: "
        "a neighbour's burst should not end a run), and up to twice more while another "
        "process ran in a real-time class; when the last window fails too, the "
        "configuration ends and its capacity is the step before.",
        f"Every host process on CPU {SERVER_CPU}, the load generator on CPU {CLIENT_CPU}: "
        "2 and 3 processes share the one core that 1 process has, so the ratio is the "
        "cost of scale-out's overhead (relay, Redis pub/sub, leases, heartbeats, one "
        "interpreter per process), not the gain of more cores or machines. PostgreSQL, "
        "Redis and HAProxy are started by the load generator and share its core and "
        "priority.",
        f"Rooms are started through HAProxy (round-robin), {plan['step']} per step from "
        f"{plan['start']}; each step settles {plan['settle_s']:.0f} s and measures "
        f"{plan['window_s']:.0f} s{' (--quick)' if args.quick else ''}; {minutes:.1f} min "
        "in all.",
        f"A shared machine (2 cores, other engineers' tests and benchmarks, one of them in "
        f"SCHED_RR): load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} "
        f"after; hosts' event loops in SCHED_RR, load generator at {niced}. Noisy: compare "
        "the ratios of one run, "
        "and runs with each other. Before each window the run waits (up to "
        f"{QUIET_WAIT_S:.0f} s) while another process runs in a real-time class (another "
        "benchmark: it takes the hosts' core ahead of them); the column 'other real-time "
        "processes' says whether one ran anyway at the window's end.",
        "Placement: a new room goes to the process reporting the fewest participants in "
        "its heartbeat (every TTL/3, 1.7 s); rooms started within one heartbeat may land "
        "on the same process (the 'rooms per process' column).",
    ]
    table.write()
    bar_plot(
        "cluster_capacity",
        "Rooms of 2 (audio, 2 commands/s) held on one shared core",
        [f"{c} process{'es' if c > 1 else ''}" for c in counts],
        {f"run {n + 1}": [float(held[c][n][0]) for c in counts] for n in range(len(runs))},
        ylabel="rooms held at the criterion",
    )


if __name__ == "__main__":
    main()
