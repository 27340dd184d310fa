"""Whiteboard and sharing over real WebSockets: ops sequenced, stored, fanned out, rendered."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from fractions import Fraction
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web
from PIL import Image

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.signaling.endpoint import SignalingConfig
from zhanye_sdk.store.schema import whiteboard_pages, whiteboard_records
from zhanye_sdk.whiteboard.service import AnnotatedPage, WhiteboardService
from zhanye_sdk.whiteboard.wire import view_data

from . import material_files
from .live_session import Peer, connect_both, open_live_session
from .platform_world import World, build_world
from .webhost import DEPLOYMENT, build_app, free_port

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


async def test_board_files_open_with_a_view_ticket_never_the_login_token(
    server: tuple[str, World, web.Application],
) -> None:
    """Staff open page images by a short-lived ticket for one session's board; the login
    token in a URL opens nothing, and a ticket opens nothing else."""
    base, world, _ = server
    material = await world.platform.materials.upload_file(
        world.p("sp_A1"), "保险合同.pdf", material_files.pdf(1)
    )
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        other = await open_live_session(http, base, "sp-A2", "客户乙")
        auth, sid = live.auth, live.session_id
        host, _customer = await connect_both(http, live)
        reply = await host.reply_to(
            await host.send("share.open", {"op_id": "o1", "kind": "file", "source": material.id})
        )
        assert reply["type"] == "ack", reply
        doc = (await applied(host))["effects"][0]["document"]["id"]
        page_url = f"{base}/api/sessions/{sid}/board/documents/{doc}/pages/1"

        token = auth["Authorization"].removeprefix("Bearer ")
        assert (await http.get(f"{page_url}?token={token}")).status == 401
        issued = await http.post(f"{base}/api/sessions/{sid}/board/ticket", headers=auth)
        assert issued.status == 200
        ticket = (await issued.json())["ticket"]
        assert token not in ticket
        opened = await http.get(f"{page_url}?ticket={ticket}")
        assert opened.status == 200 and (await opened.read()).startswith(b"\x89PNG")

        # Not for another session, not for the staff-only endpoints, not forged, not
        # as a bearer token, and a customer's seat cannot obtain one.
        elsewhere = f"{base}/api/sessions/{other.session_id}/board?ticket={ticket}"
        assert (await http.get(elsewhere)).status in (401, 403, 404)
        events = f"{base}/api/sessions/{sid}/board/events?ticket={ticket}"
        assert (await http.get(events)).status == 401
        assert (await http.get(f"{page_url}?ticket={ticket[:-2]}xx")).status in (401, 403)
        as_login = {"Authorization": f"Bearer {ticket}"}
        assert (await http.get(f"{base}/api/sessions/{sid}/board", headers=as_login)).status == 401
        seat_ticket = await http.post(
            f"{base}/api/sessions/{sid}/board/ticket?seat={live.seat['seat_token']}"
        )
        assert seat_ticket.status == 401

        # It expires.
        world.clock.advance(4 * 3600 + 1)
        assert (await http.get(f"{page_url}?ticket={ticket}")).status in (401, 403)


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
        [shared] = [m for m in record["shared_materials"] if m["kind"] == "file"]
        assert (shared["name"], shared["material_id"], shared["content_kind"]) == (
            "保险合同.pdf",
            material.id,
            "pdf",
        )
        assert record["shared_file"] is True

        # A new service over the same database (a restart) rebuilds the same board.
        live: WhiteboardService = app[DEPLOYMENT].whiteboards
        restarted = WhiteboardService(world.platform, app[DEPLOYMENT].rooms, LocalBus())
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


async def test_only_the_host_hands_over_and_takes_back_the_presenter_role(
    server: tuple[str, World, web.Application],
) -> None:
    """切换操作方 from the attacker's side: a customer cannot make themselves presenter,
    nor keep the role or pass it on once given it; the host takes it back at any time."""
    base, world, _ = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        host, customer = await connect_both(http, live)
        me = live.seat["participant_id"]
        host_id = world.ids["sp_A1"]
        ok = await host.reply_to(await host.send("share.open", {"op_id": "o", "kind": "blank"}))
        assert ok["type"] == "ack", ok
        doc = (await applied(customer))["effects"][0]["document"]["id"]

        async def ask(peer: Peer, op_id: str, participant: str) -> dict[str, Any]:
            return await peer.reply_to(
                await peer.send("share.presenter", {"op_id": op_id, "participant": participant})
            )

        async def presenter() -> str:
            snapshot = await customer.reply_to(await customer.send("whiteboard.sync"))
            return str(snapshot["data"]["presenter"])

        # The customer grabs the role: refused, nothing stored.
        grab = await ask(customer, "c1", me)
        assert grab["type"] == "error" and grab["data"]["code"] == "not_host", grab
        assert await presenter() == host_id
        # The host hands it over: the customer now turns pages, the host cannot.
        assert (await ask(host, "h1", me))["type"] == "ack"
        assert (await applied(customer))["effects"] == [
            {"kind": "presenter_changed", "participant": me}
        ]
        turn = {"op_id": "c2", "document": doc, "page": 1}
        assert (await customer.reply_to(await customer.send("share.turn", turn)))["type"] == "ack"
        # Holding it gives no power over it: not to give it back to anyone else, nor to
        # refuse it being taken back.
        for op_id, target in (("c3", host_id), ("c4", me)):
            refused = await ask(customer, op_id, target)
            assert refused["data"]["code"] == "not_host", refused
        assert (await ask(host, "h2", host_id))["type"] == "ack"
        assert await presenter() == host_id
        refused = await customer.reply_to(
            await customer.send("share.turn", {"op_id": "c5", "document": doc, "page": 1})
        )
        assert refused["data"]["code"] == "not_presenter"
        # The refusals left no trace in the record's event log.
        events = await (
            await http.get(f"{base}/api/sessions/{live.session_id}/board/events", headers=live.auth)
        ).json()
        assert [(e["type"], e["author"]) for e in events["events"]] == [
            ("share.open", host_id),
            ("share.presenter", host_id),
            ("share.turn", me),
            ("share.presenter", host_id),
        ]
        for peer in (host, customer):
            await peer.socket.close()


async def rendered(whiteboards: WhiteboardService, session_id: str) -> list[AnnotatedPage]:
    """The session's annotated pages, once the service has rendered them (after its end)."""
    with anyio.fail_after(10):
        while not (pages := await whiteboards.annotated_pages(session_id)):  # noqa: ASYNC110
            await anyio.sleep(0.05)
    return pages


async def test_the_record_keeps_every_annotated_page_when_the_session_ends(
    server: tuple[str, World, web.Application],
) -> None:
    base, world, app = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        auth, sid = live.auth, live.session_id
        host, customer = await connect_both(http, live)
        share = {"op_id": "o", "kind": "blank", "pages": 3}
        assert (await host.reply_to(await host.send("share.open", share)))["type"] == "ack"
        doc = (await applied(host))["effects"][0]["document"]["id"]
        # Strokes on pages 1 and 3; page 2 is drawn on and then cleared, so only pages
        # 1 and 3 have strokes at the end.
        drawn = [
            ("h1", host, 1, 200, "#ff0000"),
            ("c1", customer, 1, 600, "#0000ff"),
            ("h2", host, 2, 300, "#00ff00"),
            ("c3", customer, 3, 900, "#0000ff"),
        ]
        for sid_, peer, page, x, colour in drawn:
            body = {
                "op_id": sid_,
                "stroke": stroke(sid_, x, colour) | {"document": doc, "page": page},
            }
            assert (await peer.reply_to(await peer.send("whiteboard.stroke", body)))[
                "type"
            ] == "ack"
        clear = {"op_id": "x", "document": doc, "page": 2}
        assert (await host.reply_to(await host.send("whiteboard.clear", clear)))["type"] == "ack"
        whiteboards: WhiteboardService = app[DEPLOYMENT].whiteboards
        assert await whiteboards.annotated_pages(sid) == []  # not before the end

        ended = await host.reply_to(await host.send("room.end"))
        assert ended["type"] == "ack", ended
        pages = await rendered(whiteboards, sid)
        assert [(p.document, p.page, p.strokes) for p in pages] == [(doc, 1, 2), (doc, 3, 1)]

        # The record carries them; each is the page as it was left, strokes included.
        record = await (await http.get(f"{base}/api/records/{sid}", headers=auth)).json()
        listed = record["annotated_pages"]
        assert [(a["page"], a["strokes"], a["name"]) for a in listed] == [
            (1, 2, "白板"),
            (3, 1, "白板"),
        ]
        first = await http.get(f"{base}{listed[0]['url']}", headers=auth)
        assert first.status == 200 and first.headers["Content-Type"] == "image/png"
        picture = Image.open(io.BytesIO(await first.read())).convert("RGB")
        assert picture.size == (1280, 720)
        assert picture.getpixel((200, 400)) == (255, 0, 0)
        assert picture.getpixel((600, 400)) == (0, 0, 255)
        assert picture.getpixel((900, 400)) == (255, 255, 255)  # page 3's stroke is not here
        third = Image.open(
            io.BytesIO(await (await http.get(f"{base}{listed[1]['url']}", headers=auth)).read())
        )
        assert third.convert("RGB").getpixel((900, 400)) == (0, 0, 255)
        # Staff only: the customer's seat token does not open the record's pictures.
        seat_query = f"?seat={live.seat['seat_token']}"
        assert (await http.get(f"{base}{listed[0]['url']}{seat_query}")).status in (401, 403)
        missing = await http.get(f"{base}/api/sessions/{sid}/board/record/{doc}/2", headers=auth)
        assert missing.status == 404

        # Rendered once: a second service (a restart) finds them stored and does not
        # render again; the stored bytes stay the same.
        before = await whiteboards.annotated_png(sid, doc, 1)
        again = WhiteboardService(world.platform, app[DEPLOYMENT].rooms, LocalBus())
        assert await again.finalise(sid) == pages
        assert await again.annotated_png(sid, doc, 1) == before
        for peer in (host, customer):
            await peer.socket.close()


async def test_sessions_that_ended_unrendered_are_rendered_when_the_service_starts(
    server: tuple[str, World, web.Application],
) -> None:
    base, world, app = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        host, customer = await connect_both(http, live)
        await host.reply_to(await host.send("share.open", {"op_id": "o", "kind": "blank"}))
        doc = (await applied(host))["effects"][0]["document"]["id"]
        body = {"op_id": "h1", "stroke": stroke("h1", 200, "#ff0000") | {"document": doc}}
        await host.reply_to(await host.send("whiteboard.stroke", body))
        # The session ends while the running service forgets the board (as if the
        # process had stopped before rendering).
        whiteboards: WhiteboardService = app[DEPLOYMENT].whiteboards
        await host.reply_to(await host.send("room.end"))
        await rendered(whiteboards, live.session_id)
        async with world.platform.database.begin() as conn:
            await conn.execute(whiteboard_pages.delete())
            await conn.execute(whiteboard_records.delete())
        fresh = WhiteboardService(world.platform, app[DEPLOYMENT].rooms, LocalBus())
        async with anyio.create_task_group() as tasks:
            await tasks.start(fresh.run)
            await fresh.recover()
            await rendered(fresh, live.session_id)
            tasks.cancel_scope.cancel()
        assert [p.page for p in await fresh.annotated_pages(live.session_id)] == [1]
        for peer in (host, customer):
            await peer.socket.close()
