"""A host process stops in the middle of a session; a new one recovers every area.

The first process runs a real session: a recorded call (two WebRTC peers), the
brochure shared on the whiteboard with a stroke on page 1, a product page pushed by
co-browsing, and the SOP assistant following the board and the transcript. It stops
with the session live. The session then ends in a process that runs no capability (an
admin elsewhere ends it). A new process over the same database and recordings starts:
each session service's ``recover()`` (awaited before it serves) finishes what the stopped
one left — the recording is finalised, the open co-browse share is closed, the annotated
page is rendered, the SOP execution table and QA report are written — and the session
record is complete.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zhanye_sdk import Platform
from zhanye_sdk.media.records import RecordingStatus
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.records.service import RecordService
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.signaling.envelope import ClientMessage
from zhanye_sdk.sop.matcher import TranscriptSegment

from .media_world import BASE, MediaHost, serve, start_session
from .platform_world import build_world
from .sop_world import build_sop_library
from .test_media_recording import peer, recording_media, wait_for
from .webhost import DEPLOYMENT

pytestmark = pytest.mark.anyio

STROKE = {
    "id": "s1",
    "page": 1,
    "tool": "pen",
    "colour": "#ff0000",
    "width": 30,
    "points": [100, 100, 500, 400, 300, 500],
}


async def test_a_new_process_recovers_every_area_and_the_record_is_complete(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    media = recording_media(tmp_path)
    world = await build_world(f"sqlite:///{tmp_path}/media.db", fast_config)
    salesperson = world.p("sp_A1")
    try:
        library = await build_sop_library(world)
        link = await world.platform.materials.add_link(
            world.p("ca_A"), "百万安心疗", "http://127.0.0.1:9/demo/h5/product.html"
        )
        async with serve(world.platform, media) as app:
            server = MediaHost(app[BASE], world, app[DEPLOYMENT].rooms, app[DEPLOYMENT].media)
            await start_session(server)
            sid = server.session_id
            url_a = await server.customer_url("客户甲")
            async with peer("host", server.host_url) as host, peer("a", url_a) as a:  # type: ignore[attr-defined]
                await wait_for(lambda: len(host.audio) > 50 and len(a.audio) > 50)
                await wait_for(lambda: len(server.media.recording_manifest(sid)) >= 2)
                seat = await app[DEPLOYMENT].rooms.seat_for_staff(salesperson, sid)
                live = app[DEPLOYMENT].sop_live
                await live.start(salesperson, sid, library.template.id)
                board = app[DEPLOYMENT].whiteboards
                share = {"op_id": "o1", "kind": "file", "source": library.material_id}
                await board.apply(seat, "share.open", share)
                document = f"file-{library.material_id}"
                stroke = {"op_id": "o2", "stroke": {**STROKE, "document": document}}
                await board.apply(seat, "whiteboard.stroke", stroke)
                pushed = ClientMessage("cobrowse.share", {"material_id": link.id}, id="c1")
                [ack] = await app[DEPLOYMENT].cobrowse.handle(seat, pushed)
                assert ack.type == "ack", ack
                for utterance, text, at, role in (
                    ("u1", "您好，今天介绍一款宝险产品", 0, "salesperson"),
                    ("u2", "这个产品保本保息吗", 4000, "customer"),
                    ("u3", "放心，保本保息", 8000, "salesperson"),
                ):
                    segment = TranscriptSegment(utterance, text, at, at + 1000, f"{role}-1")
                    await live.receive(sid, segment, role=role)
                progress = live.progress(sid)
                assert progress is not None and progress["executed"] == [[library.flow_id, "intro"]]
            # The host process stops here, in the middle of the session.
        # Another process, running no capability, ends the session meanwhile.
        await RoomService(world.platform, LocalBus()).end(salesperson, sid)
    finally:
        await world.platform.close()

    platform = await Platform.open(
        f"sqlite:///{tmp_path}/media.db", config=fast_config, clock=world.clock
    )
    try:
        async with serve(platform, media) as app:
            # Serving starts only after every service's recover() returned.
            records = app[DEPLOYMENT].media.records
            assert records is not None
            recording = await records.get(sid)
            assert recording is not None
            assert recording.recording_status is RecordingStatus.READY
            assert len(recording.manifest.entries) >= 2
            [pushed_log] = await app[DEPLOYMENT].cobrowse.stored_log(sid)
            assert pushed_log["name"] == "百万安心疗" and pushed_log["ended_ms"] is not None

            record = await RecordService(platform, app[DEPLOYMENT].rooms).get(salesperson, sid)
            assert {(m.kind, m.content, m.material_id) for m in record.shared_materials} == {
                ("link", link.url, link.id),
                ("file", "", library.material_id),
            }
            assert [(p.document, p.page, p.strokes) for p in record.annotated_pages] == [
                (document, 1, 1)
            ]
            assert [(s.level1, s.status) for s in record.sop_steps] == [
                ("产品介绍", "executed"),
                ("风险揭示", "missed_required"),
                ("犹豫期说明", "missed_required"),
            ]
            assert record.qa_report is not None
            assert [v.rule_name for v in record.qa_report.violations] == ["承诺保本"]
            assert record.recording_status == "ready"
            # Nothing is left to recover a second time.
            assert app[DEPLOYMENT].sop_live.assistant(sid) is None
    finally:
        await platform.close()
