"""A customer's page away past the leave grace (a lift, a tunnel) is heard again when back.

Their socket stayed away longer than the room's leave grace: they left the room and the
server closed their media. Back, the page rejoins, and the server asks it to offer again
(``media.renegotiate`` naming them); before, they were seated but unheard for the rest of
the session.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from zhanye_sdk.client import SessionParticipant, ToneTrack, join

from .media_world import MediaHost, start_session, tone_level
from .test_media_browser import (  # noqa: F401
    BROWSER_HZ,
    SALES_HZ,
    enter_session,
    host,
    invite_path,
    media_browser,
    salesperson_outcome,
)
from .webhost import DEPLOYMENT, RunningHost

pytestmark = pytest.mark.e2e


async def salesperson(
    server: MediaHost, present: dict[str, SessionParticipant], done: threading.Event
) -> None:
    async with join(
        server.host_url, microphone=ToneTrack(SALES_HZ), slots=0, loopback_only=True
    ) as me:
        present["me"] = me
        await asyncio.to_thread(done.wait, 90)


def hears_the_browser_since(me: SessionParticipant, since: float) -> bool:
    now = time.monotonic()
    audio = me.audio_between(max(since, now - 1.0), now)
    return audio.size >= 24_000 and tone_level(audio, BROWSER_HZ) > 500


def test_a_page_away_past_the_leave_grace_is_heard_again_when_back(
    media_browser: Any,  # noqa: F811
    host: RunningHost,  # noqa: F811
) -> None:
    deployment = host.app[DEPLOYMENT]
    server = MediaHost(host.url, host.extra, deployment.rooms, deployment.media)
    host.run(start_session(server))
    path = host.run(invite_path(server))
    present: dict[str, SessionParticipant] = {}
    done = threading.Event()
    result = asyncio.run_coroutine_threadsafe(salesperson(server, present, done), host.loop)

    def hears_since(since: float, within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if "me" in present and hears_the_browser_since(present["me"], since):
                return True
            time.sleep(0.2)
        return False

    context = media_browser.new_context(viewport={"width": 375, "height": 812})
    try:
        page = context.new_page()
        enter_session(page, f"{host.url}{path}")
        assert hears_since(0, 40), "the salesperson never heard the customer"

        def present_ids() -> set[str]:
            return {p.id for p in host.run(server.rooms.room(server.session_id)).present}

        customer = next(p for p in present_ids() if p != host.extra.ids["sp_A1"])

        context.set_offline(True)  # no new socket gets through
        assert deployment.signaling.drop(server.session_id, customer) == 1
        # Past the grace (1 s here): the customer left the room.
        deadline = time.monotonic() + 15
        while customer in present_ids():
            assert time.monotonic() < deadline, "the customer never left the room"
            time.sleep(0.2)
        time.sleep(1.0)
        context.set_offline(False)
        deadline = time.monotonic() + 20
        while customer not in present_ids():
            assert time.monotonic() < deadline, "the page never came back"
            time.sleep(0.2)
        back = time.monotonic()
        # Asked to offer again at once; not only after its dead connection times out
        # (Chromium calls it failed about 20 s after the server closed it).
        assert hears_since(back + 0.5, 10), "back in the room, the customer is not heard"
        print(f"heard again {time.monotonic() - back:.1f} s after coming back")
    finally:
        salesperson_outcome(result, done)
        context.close()
