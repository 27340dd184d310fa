"""Co-browse fan-out through the real WebSocket path, and the cost of big snapshots.

One customer's page events go to the salesperson and 9 other participants (10
receivers) on loopback: the SDK path (envelope, co-browse log with masking and rate
checks, storage of the event, bus, every connection) beside a bare WebSocket relay
measured in the same run. Also: the size of a 10,000-node page snapshot and the time
from sending it to every receiver having it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Table, bar_plot  # noqa: E402
from loopback import Server, pct, relay_app, sdk_app  # noqa: E402

RECEIVERS = 10
EVENTS = 400
PACE = 0.02


def page(nodes: int) -> dict[str, Any]:
    """A snapshot shaped like the agent's: a body with ``nodes`` elements, two masked."""
    children = [
        {
            "id": 10 + i,
            "tag": "span",
            "attrs": {"class": "item"},
            "children": [{"id": 100_000 + i, "text": f"第{i}项"}],
        }
        for i in range(nodes)
    ]
    body = {"id": 3, "tag": "body", "attrs": {}, "children": children}
    root = {"id": 1, "tag": "html", "attrs": {"lang": "zh-CN"}, "children": [body]}
    return {
        "root": root,
        "masked": [7, 8],
        "url": "https://example.com/p",
        "viewport": {"w": 375, "h": 812},
    }


async def open_session(
    http: aiohttp.ClientSession, base: str, ws_base: str
) -> tuple[Any, Any, list[Any]]:
    login = await (
        await http.post(f"{base}/api/login", json={"login": "host", "password": "Kv8-secret-pass"})
    ).json()
    auth = {"Authorization": f"Bearer {login['token']}"}
    link = await (
        await http.post(
            f"{base}/api/materials/links",
            json={"name": "产品", "url": "https://example.com/p"},
            headers=auth,
        )
    ).json()
    sid = (
        await (
            await http.post(f"{base}/api/sessions", json={"start_new": True}, headers=auth)
        ).json()
    )["id"]
    invite = await (await http.post(f"{base}/api/sessions/{sid}/invite-link", headers=auth)).json()
    url = f"{ws_base}/ws/sessions/{sid}"
    host = await http.ws_connect(f"{url}?token={login['token']}")
    customers: dict[str, Any] = {}
    for k in range(RECEIVERS):
        seat = await (
            await http.post(
                f"{base}/api/invites/{invite['token']}/join",
                json={"name": f"客户{k}", "recording_acknowledged": True},
            )
        ).json()
        customers[seat["participant_id"]] = await http.ws_connect(
            f"{url}?seat={seat['seat_token']}"
        )
    await asyncio.sleep(0.5)
    share = {"material_id": link["id"]}
    await host.send_str(json.dumps({"v": 1, "type": "cobrowse.share", "id": "s", "data": share}))
    # The server picks the customer whose page is shared; find out whom.
    while True:
        frame = json.loads((await host.receive(timeout=30)).data)
        if frame["type"] == "cobrowse.started":
            sharer = customers.pop(frame["data"]["sharer"])
            return host, sharer, [host, *customers.values()]


async def run_sdk(port: int, pace: float) -> tuple[float, list[float], int, float]:
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        host, sharer, receivers = await open_session(http, base, ws_base)
        snapshot = page(10_000)
        size = len(json.dumps(snapshot, ensure_ascii=False).encode())
        latencies: list[float] = []
        got_snapshot: list[float] = []
        all_have_snapshot = asyncio.Event()
        sent_at: dict[int, float] = {}
        done = asyncio.Event()

        async def drain(ws: Any) -> None:
            async for message in ws:
                frame = json.loads(message.data)
                if frame.get("type") != "cobrowse.page":
                    continue
                data = frame["data"]
                if data["kind"] == "snapshot":
                    got_snapshot.append(time.perf_counter())
                    if len(got_snapshot) == len(receivers):
                        all_have_snapshot.set()
                elif data["kind"] == "input":
                    latencies.append(time.perf_counter() - sent_at[data["data"]["node"]])
                    if len(latencies) >= EVENTS * len(receivers):
                        done.set()

        async def drain_sharer() -> None:
            async for _ in sharer:
                pass

        tasks = [asyncio.create_task(drain(ws)) for ws in receivers]
        tasks.append(asyncio.create_task(drain_sharer()))
        start = time.perf_counter()
        frame = {"v": 1, "type": "cobrowse.snapshot", "id": "snap", "data": {"snapshot": snapshot}}
        await sharer.send_str(json.dumps(frame, ensure_ascii=False))
        await asyncio.wait_for(all_have_snapshot.wait(), 120)
        snapshot_ms = (max(got_snapshot) - start) * 1000
        start = time.perf_counter()
        for i in range(EVENTS):
            sent_at[10 + i] = time.perf_counter()
            data = {"kind": "input", "data": {"node": 10 + i, "value": f"值{i}"}}
            await sharer.send_str(
                json.dumps({"v": 1, "type": "cobrowse.event", "id": f"e{i}", "data": data})
            )
            await asyncio.sleep(pace)
        await asyncio.wait_for(done.wait(), 300)
        rate = len(latencies) / (time.perf_counter() - start)
        for task in tasks:
            task.cancel()
        for ws in [host, sharer, *receivers]:
            await ws.close()
        return rate, latencies, size, snapshot_ms


async def run_relay(port: int, pace: float) -> tuple[float, list[float]]:
    async with aiohttp.ClientSession() as http:
        url = f"ws://127.0.0.1:{port}/relay"
        sender = await http.ws_connect(url)
        receivers = [await http.ws_connect(url) for _ in range(RECEIVERS)]
        await asyncio.sleep(0.2)
        sent_at: dict[int, float] = {}
        latencies: list[float] = []
        done = asyncio.Event()

        async def drain(ws: Any) -> None:
            async for message in ws:
                latencies.append(time.perf_counter() - sent_at[json.loads(message.data)["i"]])
                if len(latencies) >= EVENTS * RECEIVERS:
                    done.set()

        tasks = [asyncio.create_task(drain(ws)) for ws in receivers]
        start = time.perf_counter()
        for i in range(EVENTS):
            sent_at[i] = time.perf_counter()
            await sender.send_str(json.dumps({"i": i, "kind": "input", "value": f"值{i}"}))
            await asyncio.sleep(pace)
        await asyncio.wait_for(done.wait(), 120)
        rate = len(latencies) / (time.perf_counter() - start)
        for task in tasks:
            task.cancel()
        for ws in [sender, *receivers]:
            await ws.close()
        return rate, latencies


def main() -> None:
    folder = tempfile.mkdtemp()
    relay = Server(relay_app)
    relay.start()
    sdk = Server(lambda: sdk_app(folder))
    sdk.start()
    burst_rate, _, size, snapshot_ms = asyncio.run(run_sdk(sdk.port, 0))
    _, latencies, _, _ = asyncio.run(run_sdk(sdk.port, PACE))
    relay_rate, _ = asyncio.run(run_relay(relay.port, 0))
    _, relay_latencies = asyncio.run(run_relay(relay.port, PACE))
    table = Table(
        "cobrowse",
        f"Co-browse fan-out, 1 customer page → {RECEIVERS} receivers over loopback WebSockets",
        ["path", "events/s delivered", "p50 ms", "p99 ms"],
    )
    table.add(
        "SDK (log, masking, storage, bus)", burst_rate, pct(latencies, 0.5), pct(latencies, 0.99)
    )
    table.add(
        "bare relay (baseline)", relay_rate, pct(relay_latencies, 0.5), pct(relay_latencies, 0.99)
    )
    table.add("relay / SDK", relay_rate / burst_rate, "", "")
    table.notes.append(
        f"Events/s: {EVENTS} input events sent back to back, counted at every receiver;"
        f" latency: the same at a steady {1 / PACE:.0f} per second, from the customer's"
        " frame to each receiver."
    )
    table.notes.append(
        f"A 10,000-node snapshot is {size / 1024:.0f} KiB of JSON; from sending it to all"
        f" {RECEIVERS} receivers having it took {snapshot_ms:.0f} ms"
        " (stored once, forwarded to each)."
    )
    table.write()
    bar_plot(
        "cobrowse",
        "Co-browse event latency (lower is better)",
        ["p50", "p99"],
        {
            "SDK": [pct(latencies, 0.5), pct(latencies, 0.99)],
            "relay": [pct(relay_latencies, 0.5), pct(relay_latencies, 0.99)],
        },
        ylabel="ms",
        log=True,
    )
    sdk.stop()
    relay.stop()


if __name__ == "__main__":
    main()
