"""Real sessions for the records tests, run through ``RoomService`` as clients would.

Six sessions over the platform world (times from the world's manual clock, one hour
apart)::

    S1  sp_A1   养老险  host + 张三 (rates 5 "讲解清楚")                 ended
    S2  sp_A1   重疾险  host + 李四 (leaves, rejoins; rates 3) + 王五      ended
    S3  sp2_A1  -      host alone                                         ended
    S4  sp_A2   养老险  host + 赵六                                       live
    S5  sp_B1   养老险  nobody joined                                     waiting
    S6  oa_A1   -      host alone                                         ended
"""

from __future__ import annotations

import attrs

from zhanye_sdk.platform import Principal
from zhanye_sdk.rooms.core import Evaluate, Leave
from zhanye_sdk.rooms.service import RoomService, SessionSummary
from zhanye_sdk.signaling.bus import LocalBus

from .platform_world import World


@attrs.define
class RecordsWorld:
    world: World
    rooms: RoomService
    sessions: dict[str, SessionSummary] = attrs.field(factory=dict)
    customers: dict[str, str] = attrs.field(factory=dict)  # name -> participant id
    seats: dict[str, str] = attrs.field(factory=dict)  # name -> seat token

    def id(self, name: str) -> str:
        return self.sessions[name].id

    def number(self, name: str) -> str:
        return self.sessions[name].meeting_number


async def _customer(rw: RecordsWorld, host: Principal, session_id: str, name: str) -> str:
    rooms = rw.rooms
    token = await rooms.invite_token(host, session_id)
    seat = await rooms.join_with_invite(token, name=name, recording_acknowledged=True)
    customer = await rooms.seat_for_customer(session_id, seat.seat_token)
    await rooms.apply(session_id, rooms.join_command(customer))
    rw.customers[name] = seat.participant_id
    rw.seats[name] = seat.seat_token
    return seat.participant_id


async def build_records(world: World, rooms: RoomService | None = None) -> RecordsWorld:
    rooms = rooms or RoomService(world.platform, LocalBus())
    rw = RecordsWorld(world, rooms)
    clock = world.clock

    async def start(name: str, who: str, project: str | None = None) -> tuple[Principal, str]:
        host = world.p(who)
        summary = await rooms.start(host, project=project)
        rw.sessions[name] = summary
        return host, summary.id

    async def open_(host: Principal, sid: str) -> None:
        await rooms.apply(sid, rooms.join_command(await rooms.seat_for_staff(host, sid)))

    async def rate(sid: str, customer: str, score: int, comment: str) -> None:
        pid = rw.customers[customer]
        result = await rooms.apply(sid, Evaluate(pid, score, comment, rooms.now_ms()))
        assert result[0].type != "error", result

    # S1
    host, sid = await start("S1", "sp_A1", "养老险")
    await open_(host, sid)
    await _customer(rw, host, sid, "张三")
    clock.advance(90)
    await rooms.end(host, sid)
    await rate(sid, "张三", 5, "讲解清楚")
    clock.advance(3600 - 90)

    # S2: 李四 leaves after a minute and comes back a minute later; 王五 never rates.
    host, sid = await start("S2", "sp_A1", "重疾险")
    await open_(host, sid)
    li = await _customer(rw, host, sid, "李四")
    clock.advance(60)
    await _customer(rw, host, sid, "王五")
    await rooms.apply(sid, Leave(li, rooms.now_ms()))
    clock.advance(60)
    await rooms.apply(sid, rooms.join_command(await rooms.seat_for_customer(sid, rw.seats["李四"])))
    # A customer who opens the invite but never comes in is not a participant.
    await rooms.join_with_invite(
        await rooms.invite_token(host, sid), name="孙七", recording_acknowledged=True
    )
    clock.advance(60)
    await rooms.end(host, sid)
    await rate(sid, "李四", 3, "")
    clock.advance(3600 - 180)

    # S3
    host, sid = await start("S3", "sp2_A1")
    await open_(host, sid)
    clock.advance(30)
    await rooms.end(host, sid)
    clock.advance(3600 - 30)

    # S4: still live
    host, sid = await start("S4", "sp_A2", "养老险")
    await open_(host, sid)
    await _customer(rw, host, sid, "赵六")
    clock.advance(3600)

    # S5: never opened
    await start("S5", "sp_B1", "养老险")
    clock.advance(3600)

    # S6: an org admin's own session
    host, sid = await start("S6", "oa_A1")
    await open_(host, sid)
    clock.advance(10)
    await rooms.end(host, sid)
    clock.advance(50)
    return rw
