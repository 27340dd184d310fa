"""Video under packet loss, with what aiortc offers on both ends (the server and the SDK's
participant client): 5 % loss each way on every server link, a noisy camera relayed to
the host. The picture keeps flowing (also after a spell of long loss bursts); the server
asks for lost video packets (RTCP NACK) and the camera's sender repeats them on the RTX
stream; the server sends its bitrate estimate (REMB), which the camera's encoder takes as
its target, within VP8's 1.5 Mbit/s (under the manual's 2 Mbit/s); the host's own
receiver NACKs what it misses of the relay. The RTCP and RTP kinds are read off the
impaired links (their headers are not encrypted). aiortc asks for a keyframe (PLI) only
on a decoding error or a gap of hundreds of packets, which NACK here never leaves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

from zhanye_sdk.client import join
from zhanye_sdk.media.impair import LinkImpairment, NetworkImpairment
from zhanye_sdk.platform import PlatformConfig

from .media_world import LOOPBACK_MEDIA, NoiseVideoTrack, media_host

pytestmark = pytest.mark.anyio

NACK, REMB = "rtcp 205 1", "rtcp 206 15"


def sender_encoder(connection: Any) -> Any:
    for transceiver in connection.getTransceivers():
        if transceiver.kind == "video" and transceiver.sender.track is not None:
            return getattr(transceiver.sender, "_RTCRtpSender__encoder", None)
    return None


async def test_video_recovers_from_loss_with_nack_rtx_and_follows_the_estimate(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    impairment = NetworkImpairment(
        uplink=LinkImpairment(loss=0.05, seed=31), downlink=LinkImpairment(loss=0.05, seed=32)
    )
    media = attrs.evolve(LOOPBACK_MEDIA, impairment=impairment)
    async with media_host(tmp_path, fast_config, media) as server:
        url = await server.customer_url("客户甲")
        async with join(server.host_url, slots=1, loopback_only=True) as host:
            async with join(url, camera=NoiseVideoTrack(), slots=0, loopback_only=True) as me:
                with anyio.fail_after(60):
                    while (v := host.video_of(me.participant_id)) is None or v.frames < 90:  # noqa: ASYNC110
                        await anyio.sleep(0.2)
                peer = server.media.peer(server.session_id, me.participant_id)
                host_peer = server.media.peer(server.session_id, host.participant_id)
                assert peer is not None and host_peer is not None and me.connection is not None
                uplink, downlink = peer.impaired
                video = next(t for t in peer.connection.getTransceivers() if t.kind == "video")
                rtx = [c.payloadType for c in video._codecs if c.mimeType.lower() == "video/rtx"]
                encoder = sender_encoder(me.connection)
                # A spell of long bursts on the way up (30 %, 8 packets on average): the
                # picture goes on after it.
                uplink.change(LinkImpairment(loss=0.3, burst=8.0, seed=33))
                await anyio.sleep(5)
                frames = host.video_of(me.participant_id).frames  # type: ignore[union-attr]
                uplink.change(LinkImpairment(loss=0.05, seed=34))
                with anyio.fail_after(60):
                    while host.video_of(me.participant_id).frames < frames + 60:  # type: ignore[union-attr]  # noqa: ASYNC110
                        await anyio.sleep(0.2)
    # The server asked for lost packets of the camera, and they came back as RTX.
    assert downlink.kinds[NACK] > 0, downlink.kinds
    assert rtx and sum(uplink.kinds[f"rtp {pt}"] for pt in rtx) > 0, (rtx, uplink.kinds)
    # The server's estimate reached the camera, whose encoder follows it within its caps.
    assert downlink.kinds[REMB] > 0, downlink.kinds
    assert encoder is not None and encoder.target_bitrate != 500_000  # aiortc's start
    assert 250_000 <= encoder.target_bitrate <= 1_500_000
    # The host's receiver asked the server for what it lost of the relayed picture.
    assert host_peer.impaired[0].kinds[NACK] > 0, host_peer.impaired[0].kinds
