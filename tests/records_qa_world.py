"""A session with a quality inspection report, for the records tests (API, export, page).

``sp_A1`` hosts it with the SOP assistant on the brochure of ``sop_world``; the company
also checks silences over 5 s. What is said (from the session's start)::

    00:00  sales-1  您好，今天介绍一款宝险产品   (the intro node)
    00:04  cust-1   这个产品保本保息吗           (a customer may ask)
    00:15  sales-1  放心，保本保息               (9 s of silence before; a critical promise)

The report: silence −5 at 00:06, 承诺保本 −30 at 00:15, the required 风险揭示 and
犹豫期说明 never said (−10 each): score 45, failed.

As in a live session (the scripted feed, the room's audio taps), the segments' times
are on the platform's clock: the session's start plus the offsets above.
"""

from __future__ import annotations

from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.sop import QaRule
from zhanye_sdk.sop.live import SopLiveService
from zhanye_sdk.sop.matcher import TranscriptSegment

from .platform_world import World
from .sop_world import build_sop_library

QA_SCORE = 45
LINES = [
    ("u1", "您好，今天介绍一款宝险产品", 0, 3000, "sales-1", "salesperson"),
    ("u2", "这个产品保本保息吗", 4000, 6000, "cust-1", "customer"),
    ("u3", "放心，保本保息", 15000, 17000, "sales-1", "salesperson"),
]


async def build_qa_record(world: World, rooms: RoomService) -> str:
    """Run the session through the SOP assistant and end it; its id."""
    return (await build_qa_session(world, rooms))[0]


async def build_qa_session(world: World, rooms: RoomService) -> tuple[str, int]:
    """Run the session through the SOP assistant and end it; its id and start (ms)."""
    library = await build_sop_library(world)
    await world.platform.sop.save_rule(
        world.p("ca_A"),
        QaRule("s", "冷场", "silence", role="any", max_silence_ms=5000, deduction=5),
    )
    host = world.p("sp_A1")
    live = SopLiveService(world.platform, LocalBus(), rooms=rooms)
    session_id = (await rooms.start(host, project="年金险")).id
    seat = await rooms.seat_for_staff(host, session_id)
    await rooms.apply(session_id, rooms.join_command(seat))
    started_ms = rooms.now_ms()
    await live.start(host, session_id, library.template.id)
    await live.show(session_id, library.material_id, 1)
    for utterance, text, start, end, speaker, role in LINES:
        segment = TranscriptSegment(utterance, text, started_ms + start, started_ms + end, speaker)
        await live.receive(session_id, segment, role=role)
    world.clock.advance(20)
    await live.finish(session_id)
    await rooms.end(host, session_id)
    return session_id, started_ms
