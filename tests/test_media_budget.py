"""Video yields to audio on a lossy (saturated) link: the share of a listener's video
budget follows the loss they report (``VideoBudget``), and in a session whose downlink
loses 20 %, the server lowers the cap of the video it relays to the host (and the slot's
encoder follows) while the host still hears the customer; once the loss ends the cap
grows back."""

from __future__ import annotations

from pathlib import Path

import anyio
import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.client import ToneTrack, join
from zhanye_sdk.media.budget import VideoBudget
from zhanye_sdk.media.impair import LinkImpairment, NetworkImpairment
from zhanye_sdk.platform import PlatformConfig

from .media_world import LOOPBACK_MEDIA, NoiseVideoTrack, media_host, tone_level


def test_the_share_backs_off_under_loss_holds_and_grows_back() -> None:
    budget = VideoBudget(floor=0.1)
    assert budget.update(0.0, 0.3) == pytest.approx(0.85)
    assert budget.update(0.25, 0.0) == pytest.approx(0.85 * 0.875)  # audio's loss counts
    held = budget.share
    assert budget.update(0.05, 0.05) == held  # between 2 % and 10 %: hold
    for _ in range(100):
        budget.update(1.0, 1.0)
    assert budget.share == 0.1
    for _ in range(100):
        budget.update(0.0, 0.0)
    assert budget.share == 1.0
    with pytest.raises(ValueError, match="floor"):
        VideoBudget(floor=0)


@given(st.lists(st.tuples(st.floats(-1, 2), st.floats(-1, 2)), max_size=200))
def test_the_share_stays_between_floor_and_one(reports: list[tuple[float, float]]) -> None:
    budget = VideoBudget(floor=0.2)
    for audio, video in reports:
        assert 0.2 <= budget.update(audio, video) <= 1.0


@pytest.mark.anyio
async def test_a_lossy_downlink_lowers_the_relayed_video_and_audio_goes_on(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    lossy = LinkImpairment(loss=0.2, seed=41)
    media = attrs.evolve(
        LOOPBACK_MEDIA, impairment=NetworkImpairment(downlink=LinkImpairment(seed=41))
    )
    async with media_host(tmp_path, fast_config, media) as server:
        url = await server.customer_url("客户甲")
        async with join(server.host_url, slots=1, loopback_only=True) as host:
            async with join(
                url,
                microphone=ToneTrack(700),
                camera=NoiseVideoTrack(),
                slots=0,
                loopback_only=True,
            ) as me:
                with anyio.fail_after(60):
                    while (v := host.video_of(me.participant_id)) is None or v.frames < 30:  # noqa: ASYNC110
                        await anyio.sleep(0.2)
                peer = server.media.peer(server.session_id, host.participant_id)
                assert peer is not None
                (slot,) = peer.slots.values()
                full = slot.max_bitrate
                assert full == 1_900_000
                peer.impaired[0].change(lossy)
                with anyio.fail_after(30):
                    while slot.max_bitrate is None or slot.max_bitrate > full // 2:  # noqa: ASYNC110
                        await anyio.sleep(0.2)
                lowered = anyio.current_time()
                encoder = getattr(slot._sender, "_RTCRtpSender__encoder", None)
                assert encoder is not None
                # The slot caps its encoder on every frame (a REMB may raise it in between).
                with anyio.fail_after(10):
                    while encoder.target_bitrate > full // 2:  # noqa: ASYNC110
                        await anyio.sleep(0.02)
                await anyio.sleep(max(0.0, lowered + 1.5 - anyio.current_time()))
                heard = host.audio_between(lowered - 1.5, lowered + 1.5)
                assert tone_level(heard, 700) > 1500
                peer.impaired[0].change(LinkImpairment(seed=41))
                with anyio.fail_after(60):
                    while slot.max_bitrate < full * 0.9:  # noqa: ASYNC110
                        await anyio.sleep(0.2)
