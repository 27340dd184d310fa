"""Signaling fan-out through the real WebSocket path: 1 sender → N receivers on loopback.

Our figure: the SDK's whole path — the host's command is parsed, applied to the room,
stored with its sequence number (SQLite, WAL) and published on the bus, and every
receiver's connection forwards it. Baseline, measured in the same run: a bare aiohttp
WebSocket relay that forwards each frame to the other sockets and does nothing else
(the floor for any design that sends through WebSockets).

Reported: events delivered per second (summed over receivers) and the latency from the
sender's frame to each receiver's copy, p50 and p99.
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

RECEIVERS = (1, 5, 10)
MESSAGES = 300
PACE = 0.02  # seconds between commands when measuring latency


async def measure(
    sender: Any, receivers: list[Any], send_frame: Any, is_event: Any, pace: float
) -> tuple[float, list[float]]:
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    expected = MESSAGES * len(receivers)

    async def drain(ws: Any) -> None:
        async for message in ws:
            key = is_event(json.loads(message.data))
            if key is not None and key in sent_at:
                latencies.append(time.perf_counter() - sent_at[key])
                if len(latencies) >= expected:
                    done.set()

    tasks = [asyncio.create_task(drain(ws)) for ws in receivers]
    start = time.perf_counter()
    for i in range(MESSAGES):
        sent_at[i] = time.perf_counter()
        await send_frame(i)
        await asyncio.sleep(pace)
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - start
    for task in tasks:
        task.cancel()
    return expected / elapsed, latencies


async def run_relay(port: int, n: int, pace: float) -> tuple[float, list[float]]:
    async with aiohttp.ClientSession() as http:
        url = f"ws://127.0.0.1:{port}/relay"
        sender = await http.ws_connect(url)
        receivers = [await http.ws_connect(url) for _ in range(n)]
        await asyncio.sleep(0.2)

        async def send(i: int) -> None:
            await sender.send_str(json.dumps({"i": i}))

        result = await measure(sender, receivers, send, lambda f: f.get("i"), pace)
        for ws in [sender, *receivers]:
            await ws.close()
        return result


async def run_sdk(port: int, n: int, pace: float) -> tuple[float, list[float]]:
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        login = await (
            await http.post(
                f"{base}/api/login", json={"login": "host", "password": "Kv8-secret-pass"}
            )
        ).json()
        auth = {"Authorization": f"Bearer {login['token']}"}
        session = await (
            await http.post(f"{base}/api/sessions", json={"start_new": True}, headers=auth)
        ).json()
        sid = session["id"]
        invite = await (
            await http.post(f"{base}/api/sessions/{sid}/invite-link", headers=auth)
        ).json()
        ws_url = f"ws://127.0.0.1:{port}/ws/sessions/{sid}"
        sender = await http.ws_connect(f"{ws_url}?token={login['token']}")
        await sender.receive()
        host_id = login["account"]["id"]
        receivers = []
        for k in range(n):
            seat = await (
                await http.post(
                    f"{base}/api/invites/{invite['token']}/join",
                    json={"name": f"客户{k}", "recording_acknowledged": True},
                )
            ).json()
            receivers.append(await http.ws_connect(f"{ws_url}?seat={seat['seat_token']}"))
        await asyncio.sleep(0.5)

        async def send(i: int) -> None:
            frame = {
                "v": 1,
                "type": "room.set_audio",
                "id": f"b{i}",
                "data": {"target": host_id, "on": i % 2 == 1},
            }
            await sender.send_str(json.dumps(frame))

        async def keep_sender_drained() -> None:
            async for _ in sender:
                pass

        drainer = asyncio.create_task(keep_sender_drained())
        counters: dict[int, int] = {}

        async def run() -> tuple[float, list[float]]:
            sent_at: dict[int, float] = {}
            latencies: list[float] = []
            done = asyncio.Event()
            expected = MESSAGES * n

            async def drain(index: int, ws: Any) -> None:
                counters[index] = 0
                async for message in ws:
                    frame = json.loads(message.data)
                    if frame.get("type") == "room.audio_changed":
                        i = counters[index]
                        counters[index] += 1
                        latencies.append(time.perf_counter() - sent_at[i])
                        if len(latencies) >= expected:
                            done.set()

            tasks = [asyncio.create_task(drain(k, ws)) for k, ws in enumerate(receivers)]
            start = time.perf_counter()
            for i in range(MESSAGES):
                sent_at[i] = time.perf_counter()
                await send(i)
                await asyncio.sleep(pace)
            await asyncio.wait_for(done.wait(), 300)
            elapsed = time.perf_counter() - start
            for task in tasks:
                task.cancel()
            return expected / elapsed, latencies

        result = await run()
        drainer.cancel()
        for ws in [sender, *receivers]:
            await ws.close()
        return result


def main() -> None:
    folder = tempfile.mkdtemp()
    relay = Server(relay_app)
    relay.start()
    sdk = Server(lambda: sdk_app(folder))
    sdk.start()
    table = Table(
        "signaling",
        "Signaling fan-out, 1 sender → N receivers over loopback WebSockets",
        [
            "N",
            "SDK events/s",
            "relay events/s",
            "relay / SDK",
            "SDK p50 ms",
            "SDK p99 ms",
            "relay p50 ms",
            "relay p99 ms",
        ],
    )
    plot: dict[str, list[float]] = {"SDK p50": [], "SDK p99": [], "relay p50": [], "relay p99": []}
    for n in RECEIVERS:
        # Throughput from a back-to-back burst; latency at a steady 50 commands a second.
        sdk_rate, _ = asyncio.run(run_sdk(sdk.port, n, 0))
        relay_rate, _ = asyncio.run(run_relay(relay.port, n, 0))
        _, sdk_lat = asyncio.run(run_sdk(sdk.port, n, PACE))
        _, relay_lat = asyncio.run(run_relay(relay.port, n, PACE))
        table.add(
            n,
            sdk_rate,
            relay_rate,
            relay_rate / sdk_rate,
            pct(sdk_lat, 0.5),
            pct(sdk_lat, 0.99),
            pct(relay_lat, 0.5),
            pct(relay_lat, 0.99),
        )
        for key, value in zip(
            plot,
            (pct(sdk_lat, 0.5), pct(sdk_lat, 0.99), pct(relay_lat, 0.5), pct(relay_lat, 0.99)),
            strict=True,
        ):
            plot[key].append(value)
    table.notes.append(
        f"Events/s: {MESSAGES} member-control commands sent back to back, each stored in SQLite"
        " (its event, sequence number and the room's snapshot) before it is published."
        f" Latency: the same commands at a steady {1 / PACE:.0f} per second, far above a real"
        " session's rate, from the sender's frame to each receiver's copy."
    )
    table.notes.append(
        "One run per size; the server runs in its own thread and event loop, the clients in"
        " another, on the same 2-core machine."
    )
    table.write()
    bar_plot(
        "signaling",
        "Signaling fan-out latency (lower is better)",
        [f"N={n}" for n in RECEIVERS],
        plot,
        ylabel="ms",
        log=True,
    )
    sdk.stop()
    relay.stop()


if __name__ == "__main__":
    main()
