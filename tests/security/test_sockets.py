"""Attacks on the signaling sockets, from the client's side, over real WebSockets.

Attacks covered:
1. A flood of room commands (mute toggles as fast as the socket takes them): refused
   with ``rate_limited`` beyond the connection's budget, the stored events stay bounded,
   and an unrelated participant in the same room still gets events promptly.
2. A flood of live ink (whiteboard.ink) from one socket: refused beyond the budget;
   the other participant receives a bounded number of ink frames.
3. A flood of invite joins from one address: at most the budget is admitted, the rest
   get 429 ``rate_limited``, never a 500.
4. ``?resume=`` beyond any sequence number (or thousands of digits): refused with an
   ``invalid_resume`` error and a fresh welcome; the connection works.
5. Sockets closed abruptly mid-frame (staff, customer, account sockets): no unhandled
   exception, no traceback in the host's log, and the host keeps serving.
6. The token bucket itself (hypothesis): never grants more than its burst plus its rate
   over the elapsed time.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.ratelimit import BucketPolicy, TokenBucket
from zhanye_sdk.signaling.endpoint import SignalingConfig, resume_point
from zhanye_sdk.store.schema import session_events

from ..live_session import Peer, open_live_session
from ..platform_world import World, build_world
from ..webhost import serving

pytestmark = pytest.mark.anyio

ROOM_RATE = BucketPolicy(rate=10, burst=30)
INK_RATE = BucketPolicy(rate=20, burst=40)


@pytest.fixture
async def server(tmp_path: Any, fast_config: PlatformConfig) -> AsyncIterator[tuple[str, World]]:
    world = await build_world(f"sqlite:///{tmp_path}/sockets.db", fast_config)
    config = SignalingConfig(
        idle_timeout_s=20,
        leave_grace_s=0.3,
        tick_interval_s=0.5,
        room_rate=ROOM_RATE,
        ink_rate=INK_RATE,
    )
    async with serving(world.platform, signaling_config=config) as url:
        yield url, world


async def _seat(http: aiohttp.ClientSession, base: str, invite: str, name: str) -> dict[str, Any]:
    async with http.post(
        f"{base}/api/invites/{invite}/join", json={"name": name, "recording_acknowledged": True}
    ) as r:
        body: dict[str, Any] = await r.json()
        assert r.status == 201, body
        return body


async def _latency(host: Peer, observer: Peer, observer_id: str, on: bool) -> float:
    """Seconds from the host turning the observer's video ``on`` to the observer seeing it."""
    started = time.monotonic()
    await host.send("room.set_video", {"target": observer_id, "on": on})
    while True:
        frame = await observer.next("room.video_changed")
        if frame["data"]["participant"] == observer_id and frame["data"]["on"] is on:
            return time.monotonic() - started


@pytest.mark.alone
async def test_a_command_flood_is_bounded_and_does_not_slow_others(
    server: tuple[str, World],
) -> None:
    base, world = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "攻击者")
        observer_seat = await _seat(http, base, live.invite["token"], "旁观客户")
        host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
        await host.next("session.welcome")
        flooder = Peer(await http.ws_connect(f"{live.ws_url}?seat={live.seat['seat_token']}"))
        await flooder.next("session.welcome")
        observer = Peer(await http.ws_connect(f"{live.ws_url}?seat={observer_seat['seat_token']}"))
        await observer.next("session.welcome")
        observer_id = observer_seat["participant_id"]
        flooder_id = live.seat["participant_id"]
        before = [await _latency(host, observer, observer_id, i % 2 == 1) for i in range(6)]

        flood = 3000

        async def toggle() -> None:
            for i in range(flood):
                frame = {
                    "v": 1,
                    "type": "room.set_audio",
                    "id": f"f{i}",
                    "data": {"target": flooder_id, "on": i % 2 == 0},
                }
                await flooder.socket.send_str(json.dumps(frame))

        started = time.monotonic()
        flooding = asyncio.create_task(toggle())
        during = [await _latency(host, observer, observer_id, i % 2 == 1) for i in range(6)]
        await flooding
        # Every flood frame is answered (ack or refusal) before the connection moves on.
        replies: dict[str, int] = {}
        while sum(replies.values()) < flood:
            frame = await flooder.next()
            if str(frame.get("re", "")).startswith("f"):
                key = frame["type"] if frame["type"] != "error" else frame["data"]["code"]
                replies[key] = replies.get(key, 0) + 1
        elapsed = time.monotonic() - started

        assert replies.get("rate_limited", 0) > flood // 2, replies
        async with world.platform.database.connect() as conn:
            stored = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(session_events)
                    .where(session_events.c.session_id == live.session_id)
                    .where(session_events.c.type == "room.audio_changed")
                )
            ).scalar_one()
        bound = ROOM_RATE.burst + ROOM_RATE.rate * elapsed + 5
        assert stored <= bound, (stored, bound, elapsed)
        # Generous: the observer's events may slow a little, not by seconds.
        assert max(during) < max(1.5, 10 * max(before)), (before, during)


async def test_an_ink_flood_is_refused_beyond_the_budget(server: tuple[str, World]) -> None:
    base, _ = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
        await host.next("session.welcome")
        customer = Peer(await http.ws_connect(f"{live.ws_url}?seat={live.seat['seat_token']}"))
        await customer.next("session.welcome")
        flood = 1000
        started = time.monotonic()
        for i in range(flood):
            stroke = {
                "id": f"s{i}",
                "document": "d",
                "page": 0,
                "tool": "pen",
                "colour": "#d0021b",
                "width": 4,
                "points": [10, 10, 500, 20, 20, 500],
            }
            frame = {"v": 1, "type": "whiteboard.ink", "id": f"i{i}", "data": {"stroke": stroke}}
            await host.socket.send_str(json.dumps(frame))
        answers: dict[str, int] = {}
        while sum(answers.values()) < flood:
            frame = await host.next()
            if str(frame.get("re", "")).startswith("i"):
                key = frame["type"] if frame["type"] != "error" else frame["data"]["code"]
                answers[key] = answers.get(key, 0) + 1
        elapsed = time.monotonic() - started
        # A ping after the flood: every relayed ink frame reached the customer before it.
        # The flood spent the socket's budget of all messages too: the ping waits as a
        # client is told to.
        while True:
            ping = await host.reply_to(
                await host.send("room.set_main_view", {"target": host_id(live)})
            )
            if ping["type"] != "error":
                break
            assert ping["data"]["code"] == "rate_limited", ping
            await asyncio.sleep(ping["data"]["retry_after_s"])
        await customer.next("room.main_view_changed")
    relayed = [f for f in customer.frames if f["type"] == "whiteboard.ink"]
    assert answers.get("rate_limited", 0) >= flood // 2, answers
    assert len(relayed) == answers.get("ack", 0)
    assert len(relayed) <= INK_RATE.burst + INK_RATE.rate * elapsed + 5, (len(relayed), elapsed)


def host_id(live: Any) -> str:
    return str(live.login["account"]["id"])


async def test_an_invite_join_flood_is_refused_beyond_the_budget(
    server: tuple[str, World],
) -> None:
    base, _ = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")

        async def join(i: int) -> int:
            async with http.post(
                f"{base}/api/invites/{live.invite['token']}/join",
                json={"name": f"刷单{i}", "recording_acknowledged": True},
            ) as r:
                body = await r.json()
                if r.status == 429:
                    assert body["error"]["code"] == "rate_limited"
                return r.status

        statuses = await asyncio.gather(*(join(i) for i in range(40)))
    assert 500 not in statuses
    # One join was open_live_session's own; the address may make 10 at once.
    assert statuses.count(201) <= 9, statuses
    assert statuses.count(429) >= 31, statuses


@pytest.mark.parametrize("resume", ["99999999999999999999999999", "9" * 5000, "12345"])
async def test_resume_beyond_any_sequence_is_refused_cleanly(
    server: tuple[str, World], resume: str, caplog: pytest.LogCaptureFixture
) -> None:
    base, _ = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        customer = Peer(
            await http.ws_connect(f"{live.ws_url}?seat={live.seat['seat_token']}&resume={resume}")
        )
        refusal = await customer.next("error")
        assert refusal["data"]["code"] == "invalid_resume"
        welcome = await customer.next("session.welcome")
        assert welcome["data"]["resumed"] is False
        pong = await customer.reply_to(await customer.send("session.ping"))
        assert pong["type"] == "session.pong"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def _upgrade_request(port: int, path: str, protocol: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: zhanye.v1, {protocol}\r\n\r\n"
    ).encode()


async def _raw_handshake(port: int, path: str, protocol: str) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_upgrade_request(port, path, protocol))
    await writer.drain()
    status = await reader.readline()
    assert b"101" in status, status
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    await asyncio.sleep(0.2)  # let the server greet
    return writer


async def test_sockets_closed_abruptly_mid_frame_log_nothing_unhandled(
    server: tuple[str, World], caplog: pytest.LogCaptureFixture
) -> None:
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    caplog.set_level(logging.WARNING)
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        path = f"/ws/sessions/{live.session_id}"
        host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
        await host.next("session.welcome")
        views = [live.seat["participant_id"], live.login["account"]["id"]]
        for _ in range(3):
            for where, protocol in (
                (path, f"bearer.{live.login['token']}"),
                (path, f"seat.{live.seat['seat_token']}"),
                ("/ws/account", f"bearer.{live.login['token']}"),
            ):
                # Gone right after asking for the upgrade, before the server's greeting…
                _, early = await asyncio.open_connection("127.0.0.1", port)
                early.write(_upgrade_request(port, where, protocol))
                await early.drain()
                early.transport.abort()
                # …or in the middle of a frame, while room events keep coming.
                writer = await _raw_handshake(port, where, protocol)
                # A masked text frame announcing 1000 bytes, cut off after 10.
                writer.write(bytes([0x81, 0xFE, 0x03, 0xE8]) + os.urandom(4) + b"x" * 10)
                await writer.drain()
                writer.transport.abort()
                for i in range(6):
                    await host.send("room.set_main_view", {"target": views[i % 2]})
        await asyncio.sleep(1.0)
        gc.collect()
        await asyncio.sleep(0.1)
        # The host still serves.
        pong = await host.reply_to(await host.send("session.ping"))
        assert pong["type"] == "session.pong"
        await host.socket.close()
    problems = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR
        or r.exc_info
        or "never retrieved" in r.getMessage()
        or "Traceback" in r.getMessage()
    ]
    assert not problems, [r.getMessage() for r in problems]


@given(
    rate=st.floats(0.5, 100),
    burst=st.integers(1, 50),
    steps=st.lists(st.floats(0, 2), max_size=300),
)
def test_a_bucket_never_grants_more_than_its_budget(
    rate: float, burst: int, steps: list[float]
) -> None:
    bucket = TokenBucket(BucketPolicy(rate=rate, burst=burst))
    now = 1000.0
    granted = 0
    for step in steps:
        now += step
        wait = bucket.take(now)
        if wait is None:
            granted += 1
        else:
            assert wait > 0
    assert granted <= burst + rate * (now - 1000.0) + 1e-6


@given(st.one_of(st.text(max_size=40), st.integers(), st.none()))
def test_any_resume_value_is_a_sequence_number_or_refused(asked: Any) -> None:
    point = resume_point(asked)
    assert point is None or 0 <= point < 2**62
