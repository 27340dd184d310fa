"""Loss, burst loss, delay and jitter injected on the server's media path (tests, benchmarks).

The per-packet decisions have the statistics asked for and repeat exactly for a seed; on
a real session both directions lose what they were told to, as the peers' own RTP
statistics count it, and a delay shows in the measured round trip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.client import ToneTrack, join
from zhanye_sdk.media.impair import LinkChannel, LinkImpairment, NetworkImpairment
from zhanye_sdk.platform import PlatformConfig

from .media_world import LOOPBACK_MEDIA, media_host

N = 40_000


def fates(impairment: LinkImpairment, n: int = N) -> list[float | None]:
    channel = LinkChannel(impairment)
    return [channel.decide() for _ in range(n)]


def bursts(lost: np.ndarray) -> np.ndarray:
    """Lengths of the runs of lost packets."""
    edges = np.diff(np.concatenate([[0], lost.astype(np.int8), [0]]))
    return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def test_independent_loss_has_the_asked_rate_and_no_memory() -> None:
    lost = np.array([f is None for f in fates(LinkImpairment(loss=0.3, seed=1))])
    assert abs(lost.mean() - 0.3) < 0.01
    after_loss = lost[1:][lost[:-1]].mean()
    assert abs(after_loss - 0.3) < 0.02, after_loss


def test_burst_loss_keeps_the_rate_and_comes_in_bursts_of_the_asked_length() -> None:
    lost = np.array([f is None for f in fates(LinkImpairment(loss=0.2, burst=5, seed=2))])
    assert abs(lost.mean() - 0.2) < 0.02
    assert abs(bursts(lost).mean() - 5) < 0.5
    independent = np.array([f is None for f in fates(LinkImpairment(loss=0.2, seed=2))])
    assert bursts(independent).mean() < 1.4


def test_delay_and_jitter_have_the_asked_mean_and_spread() -> None:
    delays = np.array(fates(LinkImpairment(delay_ms=80, jitter_ms=15, seed=3)), dtype=float)
    assert abs(delays.mean() - 0.080) < 0.001
    assert abs(delays.std() - 0.015) < 0.001
    assert delays.min() >= 0


@given(seed=st.integers(0, 2**31), loss=st.floats(0, 0.9), jitter=st.floats(0, 50))
def test_a_seed_repeats_every_decision(seed: int, loss: float, jitter: float) -> None:
    impairment = LinkImpairment(loss=loss, burst=10, delay_ms=20, jitter_ms=jitter, seed=seed)
    assert fates(impairment, 300) == fates(impairment, 300)
    other = attrs.evolve(impairment, seed=seed + 1)
    if loss > 0.05 or jitter > 0.1:
        assert fates(impairment, 300) != fates(other, 300)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"loss": 1.5}, "loss must be between 0 and 1"),
        ({"delay_ms": -1}, "delay_ms must not be negative"),
        ({"loss": 0.5, "burst": 0.5}, "burst must be at least"),
        ({"loss": 0.9, "burst": 2}, "burst must be at least"),
        ({"loss": 1.0, "burst": 3}, "no bursts"),
    ],
)
def test_impossible_links_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LinkImpairment(**kwargs)


async def rtp_loss(connection: Any, kind: str = "audio") -> tuple[int, int]:
    """(received, lost) of a connection's inbound RTP of ``kind``."""
    report = await connection.getStats()
    received = lost = 0
    for s in report.values():
        if s.type == "inbound-rtp" and s.kind == kind:
            received += int(s.packetsReceived)
            lost += int(s.packetsLost)
    return received, lost


async def round_trip(connection: Any) -> float | None:
    report = await connection.getStats()
    rtts = [
        s.roundTripTime
        for s in report.values()
        if s.type == "remote-inbound-rtp" and s.roundTripTime is not None
    ]
    return max(rtts) if rtts else None


@pytest.mark.anyio
async def test_both_directions_of_a_session_lose_and_delay_what_they_are_told(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    impairment = NetworkImpairment(
        uplink=LinkImpairment(loss=0.3, delay_ms=60, seed=4),
        downlink=LinkImpairment(loss=0.1, burst=3, delay_ms=60, seed=5),
    )
    # Without resilience: no NACK, whose repeats the receivers' stats count as received.
    media = attrs.evolve(LOOPBACK_MEDIA, impairment=impairment, audio_resilience=False)
    async with media_host(tmp_path, fast_config, media) as server:
        async with join(
            server.host_url, microphone=ToneTrack(500), slots=0, loopback_only=True
        ) as me:
            peer = server.media.peer(server.session_id, me.participant_id)
            assert peer is not None and me.connection is not None
            with anyio.fail_after(60):
                while True:
                    await anyio.sleep(0.5)
                    up = await rtp_loss(peer.connection)
                    down = await rtp_loss(me.connection)
                    rtt = await round_trip(me.connection)
                    if sum(up) >= 400 and sum(down) >= 400 and rtt is not None:
                        break
    up_loss = up[1] / sum(up)
    down_loss = down[1] / sum(down)
    assert 0.2 < up_loss < 0.4, up
    assert 0.03 < down_loss < 0.2, down
    # Both ways held back 60 ms: the participant's measured round trip is at least 120 ms.
    assert rtt >= 0.11, rtt
    uplink, downlink = peer.impaired
    assert abs(uplink.dropped / uplink.packets - 0.3) < 0.1
    assert abs(downlink.dropped / downlink.packets - 0.1) < 0.08
