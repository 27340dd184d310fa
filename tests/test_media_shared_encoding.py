"""A conversation costs the server one encode per talker plus one for everyone quiet.

Three real WebRTC peers (the SDK's client) over the web host on loopback, one of them
talking at a time. The quiet ones are served by one shared encoder, hear the talker, and
the talker never hears themselves. When the floor passes, the new talker leaves the
shared mix in the tick they start, the old one joins it after half a second of quiet, and
what the listener who moved hears does not break at the move.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from zhanye_sdk.client import ToneTrack, join
from zhanye_sdk.platform import PlatformConfig

from .media_world import media_host, tone_level
from .test_media_server_path import wait_for

# Continuity is judged in 200 ms windows of wall time: the quiet machine of the alone run.
pytestmark = [pytest.mark.anyio, pytest.mark.alone, pytest.mark.e2e]

TONES = {"host": 500.0, "a": 700.0, "b": 1100.0}
PRESENT, ABSENT = 1500.0, 250.0
AMPLITUDE = 8_000


async def test_the_quiet_share_one_encoder_hear_the_talker_and_the_floor_passes_cleanly(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        microphones = {name: ToneTrack(hz, amplitude=0) for name, hz in TONES.items()}
        microphones["host"].amplitude = AMPLITUDE
        urls = {name: await server.customer_url(f"客户{name}") for name in ("a", "b")}
        async with (
            join(server.host_url, microphone=microphones["host"], slots=0,
                 loopback_only=True) as host,
            join(urls["a"], microphone=microphones["a"], slots=0, loopback_only=True) as a,
            join(urls["b"], microphone=microphones["b"], slots=0, loopback_only=True) as b,
        ):  # fmt: skip
            peers = {"host": host, "a": a, "b": b}
            ids = {name: peer.participant_id for name, peer in peers.items()}

            def shared() -> set[str]:
                found = server.media.shared_listeners(server.session_id)
                return {name for name, pid in ids.items() if pid in found}

            def level(name: str, talker: str, start: float, end: float) -> float:
                return tone_level(peers[name].audio_between(start, end), TONES[talker])

            # The host talks: both customers are quiet and served by one encoder.
            await wait_for(lambda: shared() == {"a", "b"}, 30)
            start = time.monotonic()
            await wait_for(lambda: time.monotonic() - start > 1.2)
            for name in ("a", "b"):
                assert level(name, "host", start, start + 1.0) > PRESENT, name
            assert level("host", "host", start, start + 1.0) < ABSENT

            # Customer a takes the floor while the host still speaks, then the host stops.
            microphones["a"].amplitude = AMPLITUDE
            await wait_for(lambda: "a" not in shared())
            assert shared() == {"b"}
            a_talks = time.monotonic()
            await wait_for(lambda: time.monotonic() - a_talks > 1.0)
            microphones["host"].amplitude = 0
            await wait_for(lambda: shared() == {"host", "b"})
            moved = time.monotonic()
            await wait_for(lambda: time.monotonic() - moved > 1.5)
            end = time.monotonic()

            assert level("a", "a", moved, end) < ABSENT  # a never hears themselves
            for name in ("host", "b"):
                assert level(name, "a", moved + 0.2, end) > PRESENT, name
            # The host heard a through its own encoder, then through the shared one:
            # every 200 ms (in steps of 100) from a's first word to the end carries a's
            # tone, and no frame is missing at the move.
            steps = np.arange(a_talks + 0.5, end - 0.2, 0.1)
            levels = [level("host", "a", t, t + 0.2) for t in steps]
            assert min(levels) > PRESENT / 2, [round(x) for x in levels]
            arrivals = np.array([at for at, _ in host.audio if a_talks + 0.5 <= at < end])
            assert np.diff(arrivals).max() < 0.1, "a gap in the host's audio"
            assert host.audio_between(a_talks + 0.5, end).size >= 0.99 * 48_000 * (
                end - a_talks - 0.5
            )
