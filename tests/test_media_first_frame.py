"""The first picture comes quickly: the server's part of a customer's first load.

The browser offers with the DTLS role left open (``actpass``); the server answers as the
DTLS *server* (``a=setup:passive``), so the browser starts the handshake the moment its
own ICE check succeeds and the server sends media after one and a half round trips,
instead of starting the handshake itself once ICE has completed (the browser's
nomination, half a round trip later) and needing two round trips more.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from zhanye_sdk.client import FlatVideoTrack, join
from zhanye_sdk.platform import PlatformConfig

from .media_world import media_host


def setup_lines(sdp: str) -> set[str]:
    return {line.strip() for line in sdp.splitlines() if line.startswith("a=setup:")}


@pytest.mark.anyio
async def test_the_server_answers_as_dtls_server_and_the_picture_still_arrives(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        async with join(
            server.host_url,
            camera=FlatVideoTrack(90, width=320, height=240),
            slots=1,
            loopback_only=True,
        ) as host:
            # An offer that leaves the role open (aiortc offers actpass, as browsers do).
            assert setup_lines(host.answer_sdp) == {"a=setup:passive"}, host.answer_sdp
            url = await server.customer_url("客户王女士")
            async with join(url, slots=1, loopback_only=True) as customer:
                assert setup_lines(customer.answer_sdp) == {"a=setup:passive"}
                with anyio.fail_after(20):
                    while True:
                        source = next((s for s in customer.slots.values() if s), None)
                        video = customer.video_of(source) if source else None
                        if video is not None and video.frames >= 3:
                            break
                        await anyio.sleep(0.05)
                peer = server.media.peer(server.session_id, customer.participant_id)
                assert peer is not None
                dtls = peer.connection.getTransceivers()[0].sender.transport
                # The customer's side began the handshake; the server answered it.
                assert dtls._role == "server"
