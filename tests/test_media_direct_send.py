"""The mix each listener hears leaves through the tick's direct link (RTP, SRTP and the
send in one native call), and each participant's audio is read off the socket by the
tick, with real peers: they hear each other, their stats and sender reports count what
was sent and received, and a packet they lost comes back when they ask for it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from aiortc import RTCSessionDescription

from zhanye_sdk.client import ToneTrack
from zhanye_sdk.media import opus
from zhanye_sdk.media.connection import media_connection
from zhanye_sdk.media.ice import limit_host_addresses
from zhanye_sdk.media.impair import LinkImpairment, NetworkImpairment, impair_ice_transport
from zhanye_sdk.media.peer import MediaPeer
from zhanye_sdk.platform import PlatformConfig

from .media_world import LOOPBACK_MEDIA, host_and_customer, media_host, tone_level


async def _heard(listener: Any, hz: int, since: float, limit_s: float = 10.0) -> None:
    """Wait until ``listener`` has heard the tone of ``hz`` since ``since``."""
    with anyio.fail_after(limit_s):
        while True:
            audio = listener.audio_between(since, time.monotonic())
            if audio.size >= 4800 and tone_level(audio[-4800:], hz) > 1000:
                return
            await anyio.sleep(0.1)


def _audio_sender(peer: Any) -> Any:
    return next(
        t.sender for t in peer.connection.getTransceivers() if t.sender.track is peer.audio_out
    )


def _stats(report: Any, kind: str) -> list[Any]:
    return [s for s in report.values() if s.type == kind and getattr(s, "kind", None) == "audio"]


@pytest.mark.anyio
async def test_each_listener_hears_the_mix_through_the_direct_link_and_its_reports(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        async with host_and_customer(server) as (host, customer):
            start = time.monotonic()
            await _heard(host, 550, start)
            await _heard(customer, 440, start)
            await anyio.sleep(1.5)
            peers = [
                server.media.peer(server.session_id, p.participant_id) for p in (host, customer)
            ]
            for peer in peers:
                assert peer is not None
                direct = peer.audio_out.direct
                assert direct is not None, "the mix went through aiortc's sender"
                assert direct.link.packets_sent > 50
                assert direct.link.send_failures == 0
                # ... and the tick read the participant's audio off the socket itself.
                assert peer.direct_in is not None, "the audio went through aiortc's receiver"
                assert peer.direct_in.link.packets > 50
                assert peer.direct_in.link.refused == 0
                # aiortc's receive statistics (its receiver reports, the network monitor)
                # count what the reader took, at the kernel's arrival times.
                inbound = _stats(await peer.connection.getStats(), "inbound-rtp")
                assert inbound and inbound[0].packetsReceived >= peer.direct_in.link.packets - 5
                # aiortc's stats of the server's sender count what the link sent (a tick
                # may send while the statistics are gathered).
                sent_before = direct.link.packets_sent
                outbound = _stats(await peer.connection.getStats(), "outbound-rtp")
                assert outbound
                assert sent_before <= outbound[0].packetsSent <= direct.link.packets_sent
            # The participant learns the sent count from the server's RTCP sender report.
            await anyio.sleep(2.0)
            sent_by_server = peers[1].audio_out.direct.link.packets_sent  # type: ignore[union-attr]
            assert customer.connection is not None
            reported = _stats(await customer.connection.getStats(), "remote-outbound-rtp")
            assert reported, "no sender report reached the participant"
            assert 0 < reported[0].packetsSent <= sent_by_server
            assert sent_by_server - reported[0].packetsSent < 150  # one report interval or two
            inbound = _stats(await customer.connection.getStats(), "inbound-rtp")
            assert inbound and inbound[0].packetsReceived >= reported[0].packetsSent - 5


@pytest.mark.anyio
async def test_a_packet_the_listener_lost_is_sent_again_by_the_link(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        async with host_and_customer(server) as (host, customer):
            await _heard(customer, 440, time.monotonic())
            peer = server.media.peer(server.session_id, customer.participant_id)
            assert peer is not None and peer.audio_out.direct is not None
            assert customer.connection is not None and customer._playout is not None  # noqa: SLF001
            # The customer's downlink loses 10 % of the packets (after the connection is up).
            ice = customer.connection.getTransceivers()[0].receiver.transport.transport
            impair_ice_transport(ice, NetworkImpairment(uplink=LinkImpairment(loss=0.1, seed=3)))
            with anyio.fail_after(15):
                while customer._playout.retransmitted < 5:  # noqa: SLF001, ASYNC110
                    await anyio.sleep(0.2)
            assert peer.audio_repeats_asked >= customer._playout.retransmitted  # noqa: SLF001
            del host


@pytest.mark.anyio
@pytest.mark.parametrize("receive", [True, False], ids=["read directly", "read by aiortc"])
async def test_with_direct_send_off_aiortc_sends_and_the_peers_still_hear_each_other(
    tmp_path: Path, fast_config: PlatformConfig, receive: bool
) -> None:
    media = attrs.evolve(LOOPBACK_MEDIA, direct_audio_send=False, direct_audio_receive=receive)
    async with media_host(tmp_path, fast_config, media) as server:
        async with host_and_customer(server) as (host, customer):
            start = time.monotonic()
            await _heard(host, 550, start)
            await _heard(customer, 440, start)
            await anyio.sleep(1.5)
            peer = server.media.peer(server.session_id, customer.participant_id)
            assert peer is not None and peer.audio_out.direct is None
            assert (peer.direct_in is not None) == receive
            report = await peer.connection.getStats()
            outbound = _stats(report, "outbound-rtp")
            assert outbound and outbound[0].packetsSent > 50
            inbound = _stats(report, "inbound-rtp")
            assert inbound and inbound[0].packetsReceived > 50


@pytest.mark.anyio
async def test_an_offer_sending_two_audio_streams_is_read_by_aiortc() -> None:
    """The reader takes audio by payload type; with two sending audio m-lines it could
    not tell the streams apart, so aiortc keeps reading (and routes them by SSRC)."""
    limit_host_addresses(("127.0.0.1",))
    opus.install()
    peer = MediaPeer("p1", loopback_only=True, resilience=True)
    participant = media_connection()
    try:
        for hz in (440, 550):
            participant.addTransceiver(ToneTrack(hz), direction="sendrecv")
        await participant.setLocalDescription(await participant.createOffer())
        answer = await peer.answer(participant.localDescription.sdp)
        await participant.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        with anyio.fail_after(10):
            while peer.state != "connected":  # noqa: ASYNC110 - polls the connection
                await anyio.sleep(0.05)
        peer.open_direct()
        assert peer.audio_out.direct is not None  # sending is per listener: still direct
        assert peer.direct_in is None
    finally:
        await peer.close()
        await participant.close()
