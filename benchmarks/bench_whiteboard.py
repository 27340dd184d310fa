"""Whiteboard ops fanned out 1 → N over loopback WebSockets, and the snapshot of 5,000 strokes.

Fan-out: the host sends finished strokes (20 points each) through the real web host;
each is checked, applied to the session's board, stored in SQLite with its sequence
number and published; we time from the host's frame to each receiver's
``whiteboard.applied`` carrying it. Baseline in the same run: the bare aiohttp relay of
``loopback.py`` forwarding the same frames and doing nothing else.

Snapshot: what a late joiner downloads for a page of 5,000 strokes (20 points each),
as JSON and gzip-compressed, and how long the server takes to build it.

Record: the same page rendered to PNG as it is kept with the session's record at its
end (native rasterizer; every fourth stroke drawn with a pen's varying pressure, so it
is split into runs of different widths).
"""

from __future__ import annotations

import asyncio
import gzip
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

from zhanye_sdk.whiteboard.core import (  # noqa: E402
    AddStroke,
    Board,
    DocumentKind,
    OpenShare,
    PageSize,
    SharedDocument,
    Stroke,
    Tool,
)
from zhanye_sdk.whiteboard.render import png_bytes, render_page  # noqa: E402
from zhanye_sdk.whiteboard.wire import view_data  # noqa: E402

RECEIVERS = (1, 5, 10)
OPS = 200
PACE = 0.02


def points(n: int, count: int = 20) -> list[int]:
    x, y = 40 + (n * 37) % 1200, 40 + (n * 53) % 640
    return [v for k in range(count) for v in (x + 3 * k, y + (k * k) % 9, 500)]


def stroke_frame(i: int) -> str:
    stroke = {
        "id": f"s{i}",
        "document": "blank-1",
        "page": 1,
        "tool": "pen",
        "colour": "#e11d48",
        "width": 4,
        "points": points(i),
    }
    data = {"op_id": f"s{i}", "stroke": stroke}
    return json.dumps({"v": 1, "type": "whiteboard.stroke", "id": f"b{i}", "data": data})


async def run_sdk(port: int, n: int) -> list[float]:
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        login = await (
            await http.post(
                f"{base}/api/login", json={"login": "host", "password": "Kv8-secret-pass"}
            )
        ).json()
        auth = {"Authorization": f"Bearer {login['token']}"}
        sid = (
            await (
                await http.post(f"{base}/api/sessions", json={"start_new": True}, headers=auth)
            ).json()
        )["id"]
        invite = await (
            await http.post(f"{base}/api/sessions/{sid}/invite-link", headers=auth)
        ).json()
        ws_url = f"ws://127.0.0.1:{port}/ws/sessions/{sid}"
        sender = await http.ws_connect(f"{ws_url}?token={login['token']}")
        opened = {"op_id": "open", "kind": "blank"}
        await sender.send_str(json.dumps({"v": 1, "type": "share.open", "id": "o", "data": opened}))
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
        sent_at: dict[str, float] = {}
        latencies: list[float] = []
        done = asyncio.Event()

        async def drain(ws: Any) -> None:
            async for message in ws:
                frame = json.loads(message.data)
                if frame.get("type") == "whiteboard.applied":
                    op_id = frame["data"]["op_id"]
                    if op_id in sent_at:
                        latencies.append(time.perf_counter() - sent_at[op_id])
                        if len(latencies) >= OPS * n:
                            done.set()

        async def keep_sender_drained() -> None:
            async for _ in sender:
                pass

        tasks = [asyncio.create_task(drain(ws)) for ws in receivers]
        tasks.append(asyncio.create_task(keep_sender_drained()))
        for i in range(OPS):
            sent_at[f"s{i}"] = time.perf_counter()
            await sender.send_str(stroke_frame(i))
            await asyncio.sleep(PACE)
        await asyncio.wait_for(done.wait(), 120)
        for task in tasks:
            task.cancel()
        for ws in [sender, *receivers]:
            await ws.close()
        return latencies


async def run_relay(port: int, n: int) -> list[float]:
    async with aiohttp.ClientSession() as http:
        url = f"ws://127.0.0.1:{port}/relay"
        sender = await http.ws_connect(url)
        receivers = [await http.ws_connect(url) for _ in range(n)]
        await asyncio.sleep(0.2)
        sent_at: dict[str, float] = {}
        latencies: list[float] = []
        done = asyncio.Event()

        async def drain(ws: Any) -> None:
            async for message in ws:
                key = json.loads(message.data)["data"]["op_id"]
                latencies.append(time.perf_counter() - sent_at[key])
                if len(latencies) >= OPS * n:
                    done.set()

        tasks = [asyncio.create_task(drain(ws)) for ws in receivers]
        for i in range(OPS):
            sent_at[f"s{i}"] = time.perf_counter()
            await sender.send_str(stroke_frame(i))
            await asyncio.sleep(PACE)
        await asyncio.wait_for(done.wait(), 120)
        for task in tasks:
            task.cancel()
        for ws in [sender, *receivers]:
            await ws.close()
        return latencies


def snapshot_figures(count: int = 5000) -> tuple[int, int, float]:
    board = Board("host")
    page = SharedDocument("blank-1", DocumentKind.BLANK, "白板", (PageSize(1280, 720),))
    board.apply(OpenShare(page), "host", 0, "open")
    for n in range(count):
        stroke = Stroke(f"s{n}", "host", "blank-1", 1, Tool.PEN, "#e11d48", 4, tuple(points(n)))
        board.apply(AddStroke(stroke), "host", n, f"s{n}")
    start = time.perf_counter()
    text = json.dumps(view_data(board.snapshot()), separators=(",", ":"))
    elapsed = time.perf_counter() - start
    data = text.encode()
    return len(data), len(gzip.compress(data)), elapsed


def record_figures(count: int = 5000) -> tuple[float, int]:
    """Seconds to render the 5,000-stroke page and encode it as PNG, and the PNG's size."""
    strokes = []
    for n in range(count):
        pts = points(n)
        if n % 4 == 0:
            # A pen pressed harder along the stroke: 200 → 960, a level change every
            # point or two.
            pts = [v if i % 3 != 2 else 200 + 40 * (i // 3) for i, v in enumerate(pts)]
        strokes.append(Stroke(f"s{n}", "host", "blank-1", 1, Tool.PEN, "#e11d48", 4, tuple(pts)))
    start = time.perf_counter()
    png = png_bytes(render_page(PageSize(1280, 720), strokes))
    return time.perf_counter() - start, len(png)


def main() -> None:
    folder = tempfile.mkdtemp()
    relay = Server(relay_app)
    relay.start()
    sdk = Server(lambda: sdk_app(folder))
    sdk.start()
    table = Table(
        "whiteboard",
        "Whiteboard stroke fan-out, 1 sender → N receivers over loopback WebSockets",
        ["N", "SDK p50 ms", "SDK p99 ms", "relay p50 ms", "relay p99 ms"],
    )
    plot: dict[str, list[float]] = {"SDK p50": [], "SDK p99": [], "relay p50": [], "relay p99": []}
    for n in RECEIVERS:
        sdk_lat = asyncio.run(run_sdk(sdk.port, n))
        relay_lat = asyncio.run(run_relay(relay.port, n))
        row = (pct(sdk_lat, 0.5), pct(sdk_lat, 0.99), pct(relay_lat, 0.5), pct(relay_lat, 0.99))
        table.add(n, *row)
        for key, value in zip(plot, row, strict=True):
            plot[key].append(value)
    size, packed, seconds = snapshot_figures()
    table.notes.append(
        f"{OPS} strokes of 20 points at {1 / PACE:.0f} per second; each is validated, applied "
        "to the board, stored in SQLite (WAL) and published before any receiver gets it."
    )
    table.notes.append(
        f"Snapshot of a page with 5,000 strokes (20 points each): {size / 1e6:.2f} MB JSON, "
        f"{packed / 1e6:.2f} MB gzip, built and encoded in {seconds * 1000:.0f} ms."
    )
    render_s, png_size = record_figures()
    table.notes.append(
        f"That page rendered for the session record (native rasterizer, a quarter of the "
        f"strokes with varying pen pressure) and encoded as PNG: {render_s * 1000:.0f} ms, "
        f"{png_size / 1e3:.0f} kB."
    )
    table.notes.append("One run per size; server and clients share the same 2-core machine.")
    table.write()
    bar_plot(
        "whiteboard",
        "Whiteboard fan-out latency (lower is better)",
        [f"N={n}" for n in RECEIVERS],
        plot,
        ylabel="ms",
        log=True,
    )
    sdk.stop()
    relay.stop()


if __name__ == "__main__":
    main()
