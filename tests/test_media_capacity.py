"""Media capacity: a full process refuses a new participant with a clear 503 instead of
degrading everyone's audio (``MediaConfig.max_participants``) and says how full it is;
the collector's full passes do not stall the mixing ticks for the heap built at startup."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import anyio
import attrs
import av
import pytest

from zhanye_sdk.client import ToneTrack, join
from zhanye_sdk.cluster.nodes import Load, NodeInfo
from zhanye_sdk.errors import AtCapacity
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.wire import converter

from .media_world import LOOPBACK_MEDIA, host_and_customer, media_host, tone_level


async def _frames_grow(participants: list[object], more: int, limit_s: float = 10.0) -> None:
    """Wait (up to ``limit_s``) until every participant has received ``more`` audio frames."""
    start = [len(p.audio) for p in participants]  # type: ignore[attr-defined]
    with anyio.fail_after(limit_s):
        while any(  # noqa: ASYNC110 - polls the clients' received frames
            len(p.audio) - s < more  # type: ignore[attr-defined]
            for p, s in zip(participants, start, strict=True)
        ):
            await anyio.sleep(0.05)


def _leaves(group: BaseExceptionGroup[AtCapacity]) -> list[AtCapacity]:
    found: list[AtCapacity] = []
    for exc in group.exceptions:
        found += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return found


@pytest.mark.anyio
async def test_a_full_process_refuses_the_next_participant_and_keeps_the_others_going(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    media = attrs.evolve(LOOPBACK_MEDIA, max_participants=2)
    async with media_host(tmp_path, fast_config, media) as server:
        first_url = await server.customer_url("客户甲")
        second_url = await server.customer_url("客户乙")
        async with (
            join(server.host_url, microphone=ToneTrack(440), slots=0, loopback_only=True) as host,
            join(first_url, microphone=ToneTrack(550), slots=0, loopback_only=True) as first,
        ):
            await _frames_grow([host, first], 25)
            load = server.media.load()
            assert (load.participants, load.capacity, load.share, load.full) == (2, 2, 1.0, True)

            refusals: list[AtCapacity] = []
            try:
                async with join(second_url, microphone=ToneTrack(660), slots=0, loopback_only=True):
                    pass
            except* AtCapacity as group:
                refusals += _leaves(group)
            assert len(refusals) == 1, "the third participant's media was taken"
            refused = refusals[0]
            assert refused.zh is not None and "服务器当前已满" in refused.zh
            assert "2 participants" in str(refused)
            assert refused.retry_after_s >= 1

            # The two already in keep hearing each other, and a new offer of one of them
            # (a reconnect) is taken: it adds no load.
            await _frames_grow([host, first], 50)
            room = await server.rooms.room(server.session_id)
            assert server.media.load().participants == 2
            assert len(room.present) >= 2
            reply = await first.request(
                "media.offer",
                {"type": "offer", "sdp": first.connection.localDescription.sdp},  # type: ignore[union-attr]
            )
            assert reply["type"] == "media.answer", reply


class _BrokenEncoder:
    """An Opus encoder whose libopus context cannot be opened (seen on a new loss hint)."""

    def encode(self, frame: object, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise av.FFmpegError(22, "avcodec_open2 returned 22")


@pytest.mark.anyio
@pytest.mark.parametrize("direct", [True, False], ids=["direct send", "aiortc sends"])
async def test_a_failing_encoder_of_one_listener_stops_neither_the_room_nor_them(
    tmp_path: Path, fast_config: PlatformConfig, direct: bool
) -> None:
    media = attrs.evolve(LOOPBACK_MEDIA, direct_audio_send=direct)
    async with media_host(tmp_path, fast_config, media) as server:
        async with host_and_customer(server) as (host, customer):
            await _frames_grow([host, customer], 25)
            peer = server.media.peer(server.session_id, customer.participant_id)
            assert peer is not None and peer.audio_out.encoder is not None
            peer.audio_out.encoder = _BrokenEncoder()
            broken_at = time.monotonic()
            # Both keep hearing each other: the customer through a new encoder of the tick
            # (sending directly, its stream must go on) or aiortc's own encoding.
            await _frames_grow([host, customer], 75)
            with anyio.fail_after(10):
                while (  # noqa: ASYNC110 - polls the received audio
                    tone_level(customer.audio_between(broken_at + 0.5, time.monotonic()), 440)
                    < 1000
                ):
                    await anyio.sleep(0.2)
            assert tone_level(host.audio_between(broken_at, time.monotonic()), 550) > 1000
            if direct:
                assert peer.audio_out.encoder is not None
                assert not isinstance(peer.audio_out.encoder, _BrokenEncoder)
                assert peer.audio_out.direct is not None
            else:
                assert peer.audio_out.encoder is None


@pytest.mark.anyio
async def test_an_unlimited_process_reports_its_load_without_refusing(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        async with join(server.host_url, microphone=ToneTrack(440), slots=0, loopback_only=True):
            with anyio.fail_after(10):
                while server.media.load().participants < 1:  # noqa: ASYNC110 - polls
                    await anyio.sleep(0.05)
            load = server.media.load()
            assert (load.rooms, load.capacity, load.share, load.full) == (1, None, 0.0, False)
            assert load.tick_lateness_p99_ms >= 0.0


def test_the_registry_carries_the_media_load_and_reads_nodes_that_do_not_say() -> None:
    info = NodeInfo("n1", "http://127.0.0.1:1", "127.0.0.1", Load(rooms=3, media=1.0))
    again = converter.structure(json.loads(json.dumps(converter.unstructure(info))), NodeInfo)
    assert again.load.media == 1.0 and not again.load.takes_media()
    older = {"node_id": "n0", "http_url": "u", "ice_address": "a", "load": {"rooms": 1}}
    assert converter.structure(older, NodeInfo).load.takes_media()


FULL_PASS = """
import gc
from zhanye_sdk.heap import freeze_startup_heap
startup = [[i] for i in range(1_000_000)]  # what imports and the platform leave behind
before = len(gc.get_objects())
freeze_startup_heap()
print(before, len(gc.get_objects()))
"""


def test_a_frozen_startup_heap_is_out_of_full_collections() -> None:
    # In a fresh process: what a full pass scans (gc.get_objects) before and after.
    out = subprocess.run(
        [sys.executable, "-c", FULL_PASS], capture_output=True, text=True, check=True, timeout=120
    )
    before, after = map(int, out.stdout.split())
    assert before > 1_000_000 and after < 1_000, (before, after)
