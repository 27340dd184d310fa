"""Where a customer's first load spends its time: page and server timestamps of one trial.

Runs bench_first_load's set-up (one host, the salesperson's hall) and N throttled first
loads, with hooks in the page (an init script wrapping RTCPeerConnection, WebSocket,
fetch and getUserMedia) and in the server (the media service, its peers, relay slots
and RTP senders). Prints every event in ms from navigation start, page and server
merged on the wall clock. A diagnostic tool: ``python benchmarks/trace_first_load.py [N]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_first_load as bench  # noqa: E402

from zhanye_sdk.media import peer as peer_module  # noqa: E402
from zhanye_sdk.media import service as service_module  # noqa: E402
from zhanye_sdk.media import tracks as tracks_module  # noqa: E402

SERVER: list[tuple[float, str]] = []


def note(name: str) -> None:
    SERVER.append((time.time() * 1000, name))


def install_server_hooks() -> None:
    from aiortc.rtcdtlstransport import RTCDtlsTransport

    service = service_module.MediaService
    handle = service.handle

    async def traced_handle(self: Any, seat: Any, message: Any) -> Any:
        note(f"srv.{message.type} in")
        result = await handle(self, seat, message)
        note(f"srv.{message.type} out")
        return result

    service.handle = traced_handle  # type: ignore[method-assign]

    from zhanye_sdk.api.sessions import SessionApi

    join = SessionApi.join

    async def traced_join(self: Any, request: Any, token: str) -> Any:
        note("srv.join in")
        result = await join(self, request, token)
        note("srv.join out")
        return result

    SessionApi.join = traced_join  # type: ignore[method-assign]

    peer_class = peer_module.MediaPeer
    init = peer_class.__init__

    def traced_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        pc = self.connection
        note("srv.peer created")

        @pc.on("iceconnectionstatechange")
        def _ice() -> None:
            note(f"srv.ice {pc.iceConnectionState}")

        @pc.on("connectionstatechange")
        def _conn() -> None:
            note(f"srv.pc {pc.connectionState}")

        @pc.on("icegatheringstatechange")
        def _gather() -> None:
            note(f"srv.gather {pc.iceGatheringState}")

    peer_class.__init__ = traced_init  # type: ignore[method-assign]

    answer = peer_class.answer

    async def traced_answer(self: Any, sdp: str) -> str:
        note("srv.answer start")
        result = await answer(self, sdp)
        note("srv.answer done")
        return str(result)

    peer_class.answer = traced_answer  # type: ignore[method-assign]

    slot = tracks_module.RelayVideoTrack
    show = slot.show
    recv = slot.recv

    def traced_show(self: Any, source: str | None) -> None:
        if source is not None and self.source is None:
            note(f"srv.slot {self.mid} shows someone")
        show(self, source)

    async def traced_recv(self: Any) -> Any:
        frame = await recv(self)
        count = getattr(self, "_trace_count", 0)
        if count < 3:
            note(f"srv.slot {self.mid} frame {count} to encoder")
        self._trace_count = count + 1
        return frame

    slot.show = traced_show  # type: ignore[method-assign]
    slot.recv = traced_recv  # type: ignore[method-assign]

    send_rtp = RTCDtlsTransport._send_rtp

    async def traced_send_rtp(self: Any, data: bytes) -> None:
        count = getattr(self, "_trace_rtp", 0)
        if count in (0, 10, 50):
            note(f"srv.rtp packet {count} out")
        self._trace_rtp = count + 1
        await send_rtp(self, data)

    RTCDtlsTransport._send_rtp = traced_send_rtp  # type: ignore[method-assign]

    state = RTCDtlsTransport._set_state

    def traced_state(self: Any, value: Any) -> None:
        note(f"srv.dtls {value}")
        state(self, value)

    RTCDtlsTransport._set_state = traced_state  # type: ignore[method-assign]

    from aiortc.codecs.vpx import Vp8Encoder

    encode = Vp8Encoder.encode

    def traced_encode(self: Any, frame: Any, force_keyframe: bool = False) -> Any:
        payloads, timestamp = encode(self, frame, force_keyframe)
        count = getattr(self, "_trace_frames", 0)
        if count < 3:
            size = sum(len(p) for p in payloads)
            note(f"srv.vp8 frame {count}: {frame.width}x{frame.height} {size} B")
        self._trace_frames = count + 1
        return payloads, timestamp

    Vp8Encoder.encode = traced_encode  # type: ignore[method-assign]

    from aioice.ice import Connection

    ice_send = Connection.send
    ice_recv = Connection.recv

    async def traced_ice_send(self: Any, data: bytes) -> None:
        if 19 < data[0] < 64:
            note(f"srv.dtls out {len(data)} B")
        await ice_send(self, data)

    async def traced_ice_recv(self: Any) -> bytes:
        data = await ice_recv(self)
        if 19 < data[0] < 64:
            note(f"srv.dtls in {len(data)} B")
        return bytes(data)

    Connection.send = traced_ice_send  # type: ignore[method-assign]
    Connection.recv = traced_ice_recv  # type: ignore[method-assign]


async def watch_loop() -> None:
    """Notes every event-loop stall over 30 ms (the server's loop was busy)."""
    import asyncio

    while True:
        before = time.monotonic()
        await asyncio.sleep(0.005)
        late = (time.monotonic() - before - 0.005) * 1000
        if late > 30:
            note(f"srv.loop stalled {late:.0f} ms")


PAGE_HOOKS = """
(() => {
  const T = (window.__trace = []);
  const mark = (name) => T.push([performance.timeOrigin + performance.now(), name]);
  const PC = window.RTCPeerConnection;
  const Traced = function (...args) {
    const pc = new PC(...args);
    (window.__pcs = window.__pcs || []).push(pc);
    mark("pc new");
    pc.addEventListener("icegatheringstatechange", () => mark("gather " + pc.iceGatheringState));
    pc.addEventListener("iceconnectionstatechange", () => mark("ice " + pc.iceConnectionState));
    pc.addEventListener("connectionstatechange", () => mark("pc " + pc.connectionState));
    pc.addEventListener("track", (e) => mark("track " + e.track.kind + " " + e.transceiver.mid));
    return pc;
  };
  Traced.prototype = PC.prototype;
  window.RTCPeerConnection = Traced;
  for (const name of ["createOffer", "setLocalDescription", "setRemoteDescription"]) {
    const original = PC.prototype[name];
    PC.prototype[name] = async function (...args) {
      mark(name + " start");
      try { return await original.apply(this, args); } finally { mark(name + " done"); }
    };
  }
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => {
    mark("getUserMedia start");
    try { return await gum(c); } finally { mark("getUserMedia done"); }
  };
  const originalFetch = window.fetch;
  window.fetch = async (input, init) => {
    const url = String(input.url || input);
    const short = url.replace(/^.*\\/api\\//, "api/").slice(0, 40);
    mark("fetch " + short);
    try { return await originalFetch(input, init); } finally { mark("fetch done " + short); }
  };
  const WS = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new WS(...args);
    mark("ws new");
    ws.addEventListener("open", () => mark("ws open"));
    ws.addEventListener("message", (e) => {
      const frame = JSON.parse(e.data);
      const shown = ["session.welcome", "media.answer", "media.slots", "room.participant_joined"];
      if (shown.includes(frame.type)) mark("ws in " + frame.type);
    });
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      const type = JSON.parse(data).type;
      if (type.startsWith("media.")) mark("ws out " + type);
      return send(data);
    };
    return ws;
  };
  window.WebSocket.prototype = WS.prototype;
  for (const name of ["OPEN", "CLOSED", "CONNECTING", "CLOSING"]) window.WebSocket[name] = WS[name];
  for (const name of ["loadedmetadata", "loadeddata", "playing", "resize"]) {
    document.addEventListener(name, (e) => {
      if (e.target.tagName === "VIDEO" && !e.target.style.transform) mark("video " + name);
    }, true);
  }
  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest("button[type=submit]")) mark("click submit");
  }, true);
})();
"""


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    install_server_hooks()
    profile = bench.PROFILES["1 Mbit/s, 100 ms, CPU×4"]
    if len(sys.argv) > 2:  # bits latency cpu
        bits, latency, cpu = (int(x) for x in sys.argv[2].split(","))
        profile = (bits, latency, cpu)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        host = bench.Host(folder, bench.MODES["SDK"]).start()
        host.loop.call_soon_threadsafe(lambda: host.loop.create_task(watch_loop()))
        if os.environ.get("TRACE_SLOW"):
            import logging

            logging.basicConfig()
            host.loop.set_debug(True)
            host.loop.slow_callback_duration = 0.05
        staff = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=bench.CHROMIUM_ARGS
        )
        phone = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=bench.CHROMIUM_ARGS
        )
        try:
            _, link = bench.open_hall(staff, host)
            for _ in range(trials):
                SERVER.clear()
                page_events: list[list[Any]] = []
                sample = bench.first_load(
                    phone, link, profile, init_script=PAGE_HOOKS, trace=page_events
                )
                origin = sample["origin_ms"]
                print("rtt", sample.get("rtt"))
                events = [(t, n) for t, n in page_events] + SERVER
                print(f"--- video at {sample['seconds']:.2f} s; load {bench.os.getloadavg()}")
                for at, name in sorted(events):
                    if at >= origin:
                        print(f"{at - origin:8.0f}  {name}")
        finally:
            staff.close()
            phone.close()
            host.stop()


if __name__ == "__main__":
    main()
