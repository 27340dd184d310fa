"""Attacks on a live room's member control, over the real signaling socket and media.

Covered:
- a customer the host muted unmutes themself (``room.set_audio`` on themself): refused
  with ``muted_by_host`` and a Chinese message; they stay muted and inaudible to the host;
- that customer grants themself self-unmute (``room.set_self_unmute``): refused;
- the same customer reconnecting with their seat to shed the host's mute: still muted;
- a seat of one session presented with another session's invite (``/rejoin`` and
  ``/join`` with ``seat_token``) to take over a participant there: refused / a new seat;
- a forged or expired-looking seat token on ``/rejoin``: refused.
"""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import anyio
import pytest

from zhanye_sdk.client import SessionParticipant, ToneTrack, join
from zhanye_sdk.platform import PlatformConfig

from ..live_session import open_live_session
from ..media_world import media_host, tone_level
from ..signaling_server import signaling_server

pytestmark = pytest.mark.anyio

CUSTOMER_HZ = 700.0
PRESENT, ABSENT = 1500.0, 250.0


def customer_level(host: SessionParticipant, seconds: float = 0.6) -> float:
    """How loud the customer's tone is in what the host received over the last moments."""
    now = time.monotonic()
    audio = host.audio_between(now - seconds, now)
    return tone_level(audio, CUSTOMER_HZ) if audio.size >= 4_800 else -1.0


async def until(condition: object, limit_s: float = 15.0) -> None:
    with anyio.fail_after(limit_s):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110
            await anyio.sleep(0.1)


async def test_a_customer_muted_by_the_host_cannot_unmute_themself(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        url = await server.customer_url("客户甲")
        async with join(server.host_url, slots=0, loopback_only=True) as host:
            async with join(
                url, microphone=ToneTrack(CUSTOMER_HZ), slots=0, loopback_only=True
            ) as customer:
                me = customer.participant_id
                await until(lambda: customer_level(host) > PRESENT)

                reply = await host.request("room.set_audio", {"target": me, "on": False})
                assert reply["type"] == "ack", reply
                await until(lambda: 0 <= customer_level(host) < ABSENT)

                # The attack: unmute themself, then try to grant themself the right to.
                refused = await customer.request("room.set_audio", {"target": me, "on": True})
                refused_at = time.monotonic()
                assert refused["type"] == "error", refused
                assert refused["data"]["code"] == "muted_by_host", refused
                assert "主持人" in refused["data"]["message_zh"], refused
                grant = await customer.request("room.set_self_unmute", {"allowed": True})
                assert grant["type"] == "error" and grant["data"]["code"] == "not_allowed", grant
                room = await server.rooms.room(server.session_id)
                assert not room.participants[me].audio_on and not room.self_unmute

                # Still inaudible: the next 1.5 s of audio the host receives has no tone.
                await until(lambda: host.audio_between(refused_at, time.monotonic()).size >= 72_000)
                audio = host.audio_between(refused_at, time.monotonic())
                assert tone_level(audio, CUSTOMER_HZ) < ABSENT

            # Leaving and coming back with the same seat does not shed the host's mute.
            async with join(
                url, microphone=ToneTrack(CUSTOMER_HZ), slots=0, loopback_only=True
            ) as again:
                assert again.participant_id == me
                refused = await again.request("room.set_audio", {"target": me, "on": True})
                assert refused["data"]["code"] == "muted_by_host", refused

                # The host allows self-unmute: now the customer may, and is heard again.
                reply = await host.request("room.set_self_unmute", {"allowed": True})
                assert reply["type"] == "ack", reply
                reply = await again.request("room.set_audio", {"target": me, "on": True})
                assert reply["type"] == "ack", reply
                await until(lambda: customer_level(host) > PRESENT)


async def test_a_seat_never_opens_another_session(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with signaling_server(tmp_path, fast_config) as base, aiohttp.ClientSession() as http:
        first = await open_live_session(http, base, "sp-A1", "客户甲")
        other = await open_live_session(http, base, "sp-A2", "客户乙")
        stolen = first.seat["seat_token"]
        # The right pair gives the same participant back, renewed.
        same = await http.post(
            f"{base}/api/invites/{first.invite['token']}/rejoin", json={"seat_token": stolen}
        )
        assert same.status == 200
        assert (await same.json())["participant_id"] == first.seat["participant_id"]
        # Another session's invite with this seat: refused, with a Chinese message.
        crossed = await http.post(
            f"{base}/api/invites/{other.invite['token']}/rejoin", json={"seat_token": stolen}
        )
        body = await crossed.json()
        assert crossed.status == 403 and body["error"]["message_zh"], body
        forged = await http.post(
            f"{base}/api/invites/{first.invite['token']}/rejoin",
            json={"seat_token": stolen[:-4] + "AAAA"},
        )
        assert forged.status == 403
        # Joining the other session with it makes a new customer there, never a takeover.
        joined = await http.post(
            f"{base}/api/invites/{other.invite['token']}/join",
            json={"name": "冒充者", "recording_acknowledged": True, "seat_token": stolen},
        )
        seat = await joined.json()
        assert joined.status == 201
        assert seat["participant_id"] not in (
            first.seat["participant_id"],
            other.seat["participant_id"],
        )
        assert seat["session_id"] == other.session_id
