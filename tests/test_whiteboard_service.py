"""Whiteboard and sharing over real WebSockets: ops sequenced, stored, fanned out, rendered."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from fractions import Fraction
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from hosts.web.server import ROOMS, WHITEBOARDS, build_app
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.signaling.endpoint import SignalingConfig
from zhanye_sdk.whiteboard.service import WhiteboardService
from zhanye_sdk.whiteboard.wire import view_data

from . import material_files
from .live_session import Peer, connect_both, open_live_session
from .platform_world import World, build_world
from .webhost import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(
    tmp_path: Any, fast_config: PlatformConfig
) -> AsyncIterator[tuple[str, World, web.Application]]:
    world = await build_world(f"sqlite:///{tmp_path}/wb.db", fast_config)
    config = SignalingConfig(idle_timeout_s=5, leave_grace_s=0.3, tick_interval_s=0.2)
    app = build_app(world.platform, signaling_config=config)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", world, app
    finally:
        await runner.cleanup()
        await world.platform.close()


async def applied(peer: Peer) -> dict[str, Any]:
    data: dict[str, Any] = (await peer.next("whiteboard.applied"))["data"]
    return data


def stroke(sid: str, x: int, colour: str, width: int = 30) -> dict[str, Any]:
    return {
        "id": sid,
        "document": "",
        "page": 1,
        "tool": "pen",
        "colour": colour,
        "width": width,
        "points": [x, 100, 500, x, 700, 500],
    }


async def test_share_draw_undo_render_and_resync(
    server: tuple[str, World, web.Application],
) -> None:
    base, world, app = server
    material = await world.platform.materials.upload_file(
        world.p("sp_A1"), "保险合同.pdf", material_files.pdf(3)
    )
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        auth, sid, seat, ws = live.auth, live.session_id, live.seat, live.ws_url
        host, customer = await connect_both(http, live)
        empty = await customer.reply_to(await customer.send("whiteboard.sync"))
        assert empty["type"] == "whiteboard.snapshot" and empty["data"]["strokes"] == []

        # The host shares the PDF: both sides get its three pages.
        reply = await host.reply_to(
            await host.send("share.open", {"op_id": "o1", "kind": "file", "source": material.id})
        )
        assert reply["type"] == "ack", reply
        for peer in (host, customer):
            shared = (await applied(peer))["effects"][0]
            assert shared["kind"] == "document_shared"
            assert shared["document"]["name"] == "保险合同.pdf"
            assert len(shared["document"]["pages"]) == 3
        doc = shared["document"]["id"]
        width, height = shared["document"]["pages"][0]

        # Both draw; each stroke reaches both sides, in one order.
        host_stroke = stroke("h1", 200, "#ff0000") | {"document": doc}
        customer_stroke = stroke("c1", 600, "#0000ff") | {"document": doc}
        await host.send("whiteboard.stroke", {"op_id": "h1", "stroke": host_stroke})
        await customer.send("whiteboard.stroke", {"op_id": "c1", "stroke": customer_stroke})
        seen = {p: [await applied(p), await applied(p)] for p in (host, customer)}
        assert seen[host] == seen[customer]
        assert {e["effects"][0]["stroke"]["author"] for e in seen[host]} == {
            world.ids["sp_A1"],
            seat["participant_id"],
        }

        # The customer may not turn pages; the host may.
        refused = await customer.reply_to(
            await customer.send("share.turn", {"op_id": "t0", "document": doc, "page": 2})
        )
        assert refused["type"] == "error" and refused["data"]["code"] == "not_presenter"
        # Garbage is refused with a message saying what is wrong, and changes nothing.
        garbage = await customer.reply_to(
            await customer.send("whiteboard.stroke", {"op_id": "g", "stroke": {"id": 5}})
        )
        assert garbage["type"] == "error" and "stroke" in garbage["data"]["message"]

        # The customer's undo takes away the customer's stroke only.
        await customer.reply_to(await customer.send("whiteboard.undo", {"op_id": "u1"}))
        assert (await applied(host))["effects"] == [{"kind": "strokes_hidden", "strokes": ["c1"]}]
        await host.reply_to(
            await host.send("share.turn", {"op_id": "t1", "document": doc, "page": 2})
        )
        assert (await applied(customer))["effects"][0]["kind"] == "strokes_hidden"
        assert (await applied(customer))["effects"] == [
            {"kind": "page_turned", "document": doc, "page": 2}
        ]

        # A late joiner (the customer reconnecting) gets the picture as it is.
        late = Peer(await http.ws_connect(f"{ws}?seat={seat['seat_token']}"))
        await late.next("session.welcome")
        snapshot = (await late.reply_to(await late.send("whiteboard.sync")))["data"]
        assert [s["id"] for s in snapshot["strokes"]] == ["h1"]
        assert snapshot["pages"][doc] == 2 and snapshot["current"] == doc

        # Page image and the annotated page, for the customer by seat token.
        query = f"seat={seat['seat_token']}"
        page_url = f"{base}/api/sessions/{sid}/board/documents/{doc}/pages/1"
        plain = await http.get(f"{page_url}?{query}")
        assert plain.status == 200 and (await plain.read()).startswith(b"\x89PNG")
        png = await http.get(f"{page_url}/annotated.png?{query}")
        assert png.status == 200
        picture = Image.open(io.BytesIO(await png.read())).convert("RGB")
        assert picture.size == (width, height)
        assert picture.getpixel((200, 400)) == (255, 0, 0)  # the host's stroke
        assert picture.getpixel((600, 400)) != (0, 0, 255)  # the undone one is gone
        pdf = await http.get(
            f"{base}/api/sessions/{sid}/board/documents/{doc}/annotated.pdf", headers=auth
        )
        body = await pdf.read()
        assert body.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", body)) == 3
        outsider = await http.get(f"{page_url}?seat=forged")
        assert outsider.status in (401, 403, 404)

        events = await (
            await http.get(f"{base}/api/sessions/{sid}/board/events", headers=auth)
        ).json()
        assert [e["type"] for e in events["events"]] == [
            "share.open",
            "whiteboard.stroke",
            "whiteboard.stroke",
            "whiteboard.undo",
            "share.turn",
        ]

        # The session record lists the shared file.
        record = await (await http.get(f"{base}/api/records/{sid}", headers=auth)).json()
        assert {"kind": "file", "name": "保险合同.pdf", "content": material.id} in record[
            "shared_materials"
        ]
        assert record["shared_file"] is True

        # A new service over the same database (a restart) rebuilds the same board.
        live: WhiteboardService = app[WHITEBOARDS]
        restarted = WhiteboardService(world.platform, app[ROOMS], LocalBus())
        assert view_data(await restarted.snapshot(sid)) == view_data(await live.snapshot(sid))
        for peer in (host, customer, late):
            await peer.socket.close()


def long_webm(seconds: int = 10) -> bytes:
    """A WebM (VP8) of ``seconds`` seconds, 64×64 at 10 frames per second."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="webm") as output:
        stream = output.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.time_base = Fraction(1, 10)
        for n in range(seconds * 10):
            picture = np.full((64, 64, 3), (n * 7) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = n
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return out.getvalue()


async def test_shared_video_play_pause_seek_reach_everyone(
    server: tuple[str, World, web.Application],
) -> None:
    base, world, _ = server
    material = await world.platform.materials.upload_video(
        world.p("sp_A1"), "产品介绍.webm", long_webm(3)
    )
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户乙")
        sid, seat = live.session_id, live.seat
        host, customer = await connect_both(http, live)

        await host.reply_to(
            await host.send("share.open", {"op_id": "v1", "kind": "video", "source": material.id})
        )
        shared = (await applied(customer))["effects"][0]
        assert shared["document"]["kind"] == "video"
        doc = shared["document"]["id"]
        for op_id, action, position in (
            ("p", "play", 0),
            ("s", "seek", 2000),
            ("z", "pause", 2100),
        ):
            reply = await host.reply_to(
                await host.send(
                    "share.video", {"op_id": op_id, "action": action, "position_ms": position}
                )
            )
            assert reply["type"] == "ack", reply
            change = (await applied(customer))["effects"][0]
            assert change["kind"] == "video_changed"
            assert change["video"]["position_ms"] == position
        assert change["video"]["playing"] is False
        # The customer cannot drive the video.
        refused = await customer.reply_to(
            await customer.send("share.video", {"op_id": "c", "action": "play", "position_ms": 0})
        )
        assert refused["data"]["code"] == "not_presenter"
        snapshot = (await customer.reply_to(await customer.send("whiteboard.sync")))["data"]
        assert snapshot["video"]["position_ms"] == 2100 and "now_ms" in snapshot

        # The host hands over (切换操作方): now the customer drives and the host cannot.
        stranger = await host.reply_to(
            await host.send("share.presenter", {"op_id": "h0", "participant": "nobody"})
        )
        assert stranger["type"] == "error" and "not a participant" in stranger["data"]["message"]
        handover = {"op_id": "h1", "participant": seat["participant_id"]}
        assert (await host.reply_to(await host.send("share.presenter", handover)))["type"] == "ack"
        play = {"op_id": "c2", "action": "play", "position_ms": 500}
        assert (await customer.reply_to(await customer.send("share.video", play)))["type"] == "ack"
        again = await host.reply_to(
            await host.send("share.video", {"op_id": "h2", "action": "pause", "position_ms": 0})
        )
        assert again["data"]["code"] == "not_presenter"

        # The video streams with byte ranges, so players can seek.
        url = f"{base}/api/sessions/{sid}/board/documents/{doc}/video?seat={seat['seat_token']}"
        ranged = await http.get(url, headers={"Range": "bytes=0-99"})
        assert ranged.status == 206 and len(await ranged.read()) == 100
        assert ranged.headers["Content-Type"] == "video/webm"
        for peer in (host, customer):
            await peer.socket.close()
