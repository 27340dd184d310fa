"""A customer's offer sent with their join: the seat comes back with the media's answer, so
the media starts while the session's socket is still opening (one round trip instead of
three on the customer's first load).

Until the customer's socket puts them in the room, the salesperson does not hear them and
they are not in anyone's slots; the peer waits ``arrival_grace_s`` for that socket, then
goes. (The page's side is ``test_media_join_pipeline``; through another process,
``test_cluster_relay``.)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import attrs
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from zhanye_sdk.client import ToneTrack, join
from zhanye_sdk.media.ice import limit_host_addresses
from zhanye_sdk.platform import PlatformConfig

from .media_world import LOOPBACK_MEDIA, MediaHost, media_host, tone_level

pytestmark = pytest.mark.anyio

HOST_HZ, CUSTOMER_HZ = 440.0, 660.0
GRACE_S = 3.0


async def _join_with_offer(server: MediaHost, pc: RTCPeerConnection) -> dict[str, Any]:
    await pc.setLocalDescription(await pc.createOffer())
    token = await server.invite_token()
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{server.base}/api/invites/{token}/join",
            json={
                "name": "客户赵先生",
                "recording_acknowledged": True,
                "offer": pc.localDescription.sdp,
            },
        )
        assert response.status == 201
        seat: dict[str, Any] = await response.json()
    return seat


async def test_the_join_answers_the_offer_and_the_peer_waits_for_its_socket(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    media = attrs.evolve(LOOPBACK_MEDIA, arrival_grace_s=GRACE_S)
    async with media_host(tmp_path, fast_config, media) as server:
        async with join(
            server.host_url, microphone=ToneTrack(HOST_HZ), slots=0, loopback_only=True
        ) as host:
            limit_host_addresses(("127.0.0.1",))
            pc = RTCPeerConnection()
            heard: list[tuple[float, np.ndarray[Any, Any]]] = []

            @pc.on("track")
            def on_track(track: Any) -> None:
                async def listen() -> None:
                    while True:
                        try:
                            frame = await track.recv()
                        except MediaStreamError:
                            return  # the server dropped the peer
                        heard.append((time.monotonic(), frame.to_ndarray().reshape(-1)[::2]))

                tasks.start_soon(listen)

            try:
                async with anyio.create_task_group() as tasks:
                    pc.addTrack(ToneTrack(CUSTOMER_HZ))
                    seat = await _join_with_offer(server, pc)
                    answered_at = time.monotonic()
                    media_answer = seat["media"]
                    assert media_answer["type"] == "answer"
                    await pc.setRemoteDescription(
                        RTCSessionDescription(media_answer["sdp"], "answer")
                    )

                    def hears_host() -> bool:
                        recent = [s for at, s in heard if at > time.monotonic() - 0.4]
                        if sum(s.size for s in recent) < 9_600:
                            return False
                        return tone_level(np.concatenate(recent), HOST_HZ) > 500

                    # The customer hears the salesperson before any socket of theirs…
                    with anyio.fail_after(GRACE_S):
                        while not hears_host():  # noqa: ASYNC110
                            await anyio.sleep(0.05)
                    # …who does not hear them: they are not in the room yet.
                    start = time.monotonic()
                    await anyio.sleep(max(0.0, answered_at + GRACE_S - 0.5 - time.monotonic()))
                    customer_level = tone_level(
                        host.audio_between(start, time.monotonic()), CUSTOMER_HZ
                    )
                    assert customer_level < 200, customer_level
                    peer = server.media.peer(server.session_id, seat["participant_id"])
                    assert peer is not None
                    # No socket came: the peer goes once the grace is over.
                    with anyio.fail_after(5):
                        while server.media.peer(server.session_id, seat["participant_id"]):  # noqa: ASYNC110
                            await anyio.sleep(0.1)
                    tasks.cancel_scope.cancel()
            finally:
                await pc.close()
                limit_host_addresses(None)


async def test_a_join_with_a_bad_offer_still_seats_the_customer(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    """A refused offer costs the customer nothing: the seat comes without media, and the
    page offers over its socket, where it hears why."""
    async with media_host(tmp_path, fast_config) as server, aiohttp.ClientSession() as http:
        token = await server.invite_token()
        response = await http.post(
            f"{server.base}/api/invites/{token}/join",
            json={"name": "客户", "recording_acknowledged": True, "offer": "v=0 nonsense"},
        )
        seat = await response.json()
        assert response.status == 201 and "media" not in seat and seat["seat_token"]
        assert server.media.peer(server.session_id, seat["participant_id"]) is None
