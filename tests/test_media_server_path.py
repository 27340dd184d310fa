"""The server's per-participant media path, kept cheap (``benchmarks/results/media_capacity*.md``).

Two real WebRTC peers (aiortc clients) over the web host on loopback:

* each participant's audio is decoded in the server's jitter buffer as the room's tick
  releases it (no decoder thread, no timer per buffer or packet), and what the others
  hear is still that participant's tone;
* a room's network summary is written to the session record at the first report and
  when the room ends, not at every report (``MediaConfig.network_record_s``), and the
  record then holds every report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import anyio
import attrs
import pytest

from zhanye_sdk.client import ToneTrack, join
from zhanye_sdk.media.service import MediaConfig
from zhanye_sdk.platform import PlatformConfig

from .media_world import LOOPBACK_MEDIA, media_host, tone_level

pytestmark = pytest.mark.anyio

TONES = {"host": 500.0, "a": 700.0}
PRESENT = 1500.0


async def wait_for(condition: Callable[[], bool], limit_s: float = 20) -> None:
    """Poll state that media tasks change (there is no event to wait on)."""
    with anyio.fail_after(limit_s):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.05)


async def test_audio_is_decoded_on_the_tick_and_the_summary_written_at_first_and_last(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    media = attrs.evolve(LOOPBACK_MEDIA, network_record_s=3600.0)
    async with media_host(tmp_path, fast_config, media) as server:
        url_a = await server.customer_url("客户甲")
        host_peer = join(server.host_url, microphone=ToneTrack(TONES["host"]), slots=0,
                         loopback_only=True)  # fmt: skip
        async with (
            host_peer as host,
            join(url_a, microphone=ToneTrack(TONES["a"]), slots=0, loopback_only=True) as a,
        ):
            peers = {"host": host, "a": a}
            ids = {name: p.participant_id for name, p in peers.items()}

            # Each hears the other's tone, decoded by the server's jitter buffers.
            def hears_other() -> bool:
                now = time.monotonic()
                for name, p in peers.items():
                    other = "a" if name == "host" else "host"
                    audio = p.audio_between(now - 0.6, now)
                    if audio.size < 24_000 or tone_level(audio, TONES[other]) < PRESENT:
                        return False
                return True

            await wait_for(hears_other)
            room = server.media._media_rooms[server.session_id]  # noqa: SLF001
            for participant, peer in room.peers.items():
                assert peer.playouts, participant
                decoded = sum(p.decoded for p in peer.playouts)
                # Every frame the mixer took came from the playout's own decoder: nothing
                # went to aiortc's thread, and the tick releases it (no timer waits).
                assert decoded > 0 and decoded == peer.audio_frames, (decoded, peer.audio_frames)
                assert all(p.timers_pending == 0 for p in peer.playouts)
                # Released, decoded and queued for the mix in one native call each tick
                # (only the first frame, which makes the decoder, goes frame by frame).
                into = sum(p.decoded_into for p in peer.playouts)
                assert decoded - into <= len(peer.playouts), (decoded, into)
                # The listener's mix encoded, wrapped and sent in one call each tick: every
                # packet on its direct link went that way.
                track = peer.audio_out
                assert track.direct is not None and track.encode_sent > 0
                assert track.encoder.clean_complexity == MediaConfig().clean_link_complexity
                assert track.direct.link.packets_sent == track.encode_sent

            # The network summary: written once early, not at each of the reports since.
            def reports(participant: str) -> int:
                return sum(
                    1
                    for m in host.messages
                    if m.get("type") == "media.network" and m["data"]["participant"] == participant
                )

            async def recorded() -> dict[str, int]:
                assert server.media.records is not None
                record = await server.media.records.get(server.session_id)
                summary = (record.network_summary if record else None) or {}
                return {p: int(e["reports"]) for p, e in summary.items()}

            await wait_for(lambda: all(reports(i) >= 5 for i in ids.values()))
            early = await recorded()
            assert early and all(n <= 2 for n in early.values()), early

            # The room ends: the record gets the whole summary.
            assert (await host.request("room.end"))["type"] == "ack"
            with anyio.fail_after(20):
                while (final := await recorded()) == early or not final:  # noqa: ASYNC110
                    await anyio.sleep(0.1)
            assert all(final[i] >= 5 for i in ids.values()), final
