"""Three real WebRTC peers (aiortc clients) in one session, over the web host on loopback.

Every participant hears the other two and not themselves (FFT of what each receives),
sees the others' video in its slots, and muting one removes its tone within 0.5 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import attrs
import av
import pytest

from zhanye_sdk.client import FlatVideoTrack, SessionParticipant, ToneTrack, join
from zhanye_sdk.media.monitor import grade
from zhanye_sdk.platform import PlatformConfig

from .media_world import LOOPBACK_MEDIA, MediaHost, NoiseVideoTrack, media_host, tone_level

pytestmark = pytest.mark.anyio

TONES = {"host": 500.0, "a": 700.0, "b": 1100.0}
LUMA = {"host": 50, "a": 120, "b": 200}
PRESENT, ABSENT = 1500.0, 250.0


async def wait_for(condition: Callable[[], bool], limit_s: float = 15) -> None:
    """Poll state that media threads and tasks change (there is no event to wait on)."""
    with anyio.fail_after(limit_s):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.05)


def levels(peer: SessionParticipant, start: float, end: float) -> dict[str, float]:
    audio = peer.audio_between(start, end)
    return {name: tone_level(audio, hz) for name, hz in TONES.items()}


def levels_if_any(peer: SessionParticipant, start: float, end: float) -> dict[str, float]:
    """``levels``, or every tone at 0 when less than 0.1 s arrived (nothing heard then)."""
    if peer.audio_between(start, end).size < 4_800:
        return dict.fromkeys(TONES, 0.0)
    return levels(peer, start, end)


def windows(peer: SessionParticipant, start: float, end: float, size: float = 0.6) -> list[float]:
    """Starts of consecutive ``size`` s windows of what ``peer`` received between two instants."""
    starts = []
    at = start
    while at + size <= end:
        starts.append(at)
        at += size
    return starts


async def until_heard(
    peers: dict[str, SessionParticipant], expected: dict[str, set[str]], since: float
) -> None:
    """Wait (at most 20 s) until each listener's last 0.6 s holds every tone it should hear.

    A busy machine delays or thins audio for a moment; the claim is that it is heard,
    not that the one window sampled first was full.
    """

    def heard_by(name: str) -> bool:
        now = time.monotonic()
        if now - 0.6 < since:
            return False
        heard = levels_if_any(peers[name], now - 0.6, now)
        return all(heard[other] > PRESENT for other in expected[name])

    done: set[str] = set()
    with anyio.fail_after(20):
        while len(done) < len(peers):
            done |= {name for name in peers if name not in done and heard_by(name)}
            await anyio.sleep(0.1)


@pytest.mark.alone
async def test_three_peers_hear_each_other_not_themselves_and_mute(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        url_a = await server.customer_url("客户甲")
        url_b = await server.customer_url("客户乙")

        def peer(name: str, url: str) -> object:
            return join(
                url,
                microphone=ToneTrack(TONES[name]),
                camera=FlatVideoTrack(LUMA[name]),
                slots=2,
                loopback_only=True,
            )

        async with peer("host", server.host_url) as host:  # type: ignore[attr-defined]
            async with peer("a", url_a) as a, peer("b", url_b) as b:  # type: ignore[attr-defined]
                peers = {"host": host, "a": a, "b": b}
                ids = {name: p.participant_id for name, p in peers.items()}

                def settled() -> bool:
                    return all(
                        len(p.audio) >= 75
                        and all(
                            (v := p.video_of(ids[o])) is not None and v.frames >= 5
                            for o in peers
                            if o != name
                        )
                        for name, p in peers.items()
                    )

                await wait_for(settled)
                settled_at = time.monotonic()
                # The mix-minus is mono, and so is what the server's tick codes for each
                # listener (a stereo stream would code it twice): they hear it all the same.
                encoders = [
                    peer.audio_out.encoder
                    for room in server.media._media_rooms.values()  # noqa: SLF001
                    for peer in room.peers.values()
                ]
                assert len(encoders) == 3
                assert all(getattr(e, "channels", None) == 1 for e in encoders), encoders
                others = {name: set(peers) - {name} for name in peers}
                await until_heard(peers, others, settled_at)
                # Nobody ever hears themselves: every window since, not only the last one.
                now = time.monotonic()
                for name, p in peers.items():
                    for start in windows(p, settled_at - 0.6, now):
                        heard = levels_if_any(p, start, start + 0.6)
                        assert heard[name] < ABSENT, (name, start - settled_at, heard)
                    for other in others[name]:
                        video = p.video_of(ids[other])
                        assert video is not None
                        assert abs(video.mean_luma - LUMA[other]) < 12, (name, other, video)

                # Network quality of everyone reaches the room (loopback: good), and the record.
                def reports() -> list[dict[str, Any]]:
                    return [m["data"] for m in host.messages if m["type"] == "media.network"]

                await wait_for(
                    lambda: all(
                        len([n for n in reports() if n["participant"] == p]) >= 3
                        for p in ids.values()
                    )
                )
                # Sender reports (the upload counter) come about once a second: look at all.
                network = reports()
                # Loopback loses nothing; its RTT and jitter depend on the machine's load, so
                # the grade is checked against the measured figures (thresholds: monitor tests).
                for n in network:
                    assert n["loss"] < 0.02, n
                    assert n["quality"] == grade(n["rtt_ms"], n["jitter_ms"], n["loss"]), n
                for participant in ids.values():
                    mine = [n for n in network if n["participant"] == participant]
                    assert any(n["up_kbps"] > 10 for n in mine), mine
                    assert any(n["down_kbps"] > 10 for n in mine), mine
                assert server.media.records is not None
                record = await server.media.records.get(server.session_id)
                assert record is not None and record.network_summary is not None
                assert set(record.network_summary) <= set(ids.values())

                # The host mutes customer a: within 0.5 s nobody hears a's tone any more.
                reply = await host.request("room.set_audio", {"target": ids["a"], "on": False})
                muted_at = time.monotonic()
                assert reply["type"] == "ack", reply
                await anyio.sleep(0.9)
                for name in ("host", "b"):
                    heard = levels(peers[name], muted_at + 0.5, muted_at + 0.9)
                    assert heard["a"] < ABSENT, (name, heard)
                # The others go on hearing each other (and a hears both) ...
                expected = {"host": {"b"}, "b": {"host"}, "a": {"host", "b"}}
                await until_heard(peers, expected, muted_at + 0.5)
                # ... and a stays silent for them in every window from 0.5 s on.
                now = time.monotonic()
                for name in ("host", "b"):
                    for start in windows(peers[name], muted_at + 0.5, now):
                        heard = levels_if_any(peers[name], start, start + 0.6)
                        assert heard["a"] < ABSENT, (name, start - muted_at, heard)


async def test_a_bad_offer_is_refused_and_changes_nothing(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        async with join(server.host_url, slots=1, loopback_only=True) as host:
            bad = await host.request("media.offer", {"sdp": "v=0 nonsense"})
            assert bad["type"] == "error" and bad["data"]["code"] == "invalid_input", bad
            missing = await host.request("media.offer", {})
            assert missing["data"]["code"] == "invalid_input"
            candidate = await host.request("media.candidate", {"candidate": 5})
            assert candidate["data"]["code"] == "invalid_input"
            # The first, good peer still delivers audio (silence: nobody else speaks).
            count = len(host.audio)
            await wait_for(lambda: len(host.audio) > count + 10, limit_s=5)


def darken(participant: str, frame: av.VideoFrame) -> av.VideoFrame:
    """A stand-in beauty filter: paints the picture dark grey (Y = 30)."""
    assert threading.current_thread() is not threading.main_thread()  # off the event loop
    out = av.VideoFrame(frame.width, frame.height, "yuv420p")
    for plane, value in zip(out.planes, (30, 128, 128), strict=True):
        plane.update(bytes([value]) * plane.buffer_size)
    out.pts, out.time_base = frame.pts, frame.time_base
    return out


async def test_the_video_filter_hook_changes_what_others_see(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    media = attrs.evolve(LOOPBACK_MEDIA, video_filter=darken)
    async with media_host(tmp_path, fast_config, media) as server:
        url_a = await server.customer_url("客户甲")
        async with join(
            server.host_url, camera=FlatVideoTrack(200), slots=1, loopback_only=True
        ) as host:
            async with join(url_a, slots=1, loopback_only=True) as a:
                await wait_for(
                    lambda: (v := a.video_of(host.participant_id)) is not None and v.frames >= 5
                )
                seen = a.video_of(host.participant_id)
                assert seen is not None and abs(seen.mean_luma - 30) < 8, seen


async def relayed_video_bytes(server: MediaHost, participant: str) -> int:
    """Video bytes the server has sent to one participant (its senders' RTP counters)."""
    peer = server.media.peer(server.session_id, participant)
    assert peer is not None
    report = await peer.connection.getStats()
    return sum(
        int(s.bytesSent) for s in report.values() if s.type == "outbound-rtp" and s.kind == "video"
    )


@pytest.mark.alone  # a bit rate against the wall clock: a busy machine's bursts weigh in it
async def test_relayed_video_keeps_to_the_listeners_budget(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    # Two noisy cameras relayed to the host, whose video budget is 600 kbit/s: uncapped,
    # each relayed stream gets aiortc's 500 kbit/s, then the receiver's estimate (1.5 Mbit/s
    # on loopback).
    media = attrs.evolve(LOOPBACK_MEDIA, audio_kbps=48, video_kbps=600)
    async with media_host(tmp_path, fast_config, media) as server:
        url_a = await server.customer_url("客户甲")
        url_b = await server.customer_url("客户乙")
        async with join(server.host_url, slots=2, loopback_only=True) as host:
            # What participants send is capped in the answer (browsers honour b=AS).
            answer = host.answer_sdp
            audio, video = answer.split("m=audio", 1)[1].split("m=video", 1)
            assert "b=AS:48" in audio and "b=AS:600" in video, answer
            async with (
                join(url_a, camera=NoiseVideoTrack(), slots=1, loopback_only=True) as a,
                join(url_b, camera=NoiseVideoTrack(), slots=1, loopback_only=True) as b,
            ):
                await wait_for(
                    lambda: all(
                        (v := host.video_of(p.participant_id)) is not None and v.frames >= 15
                        for p in (a, b)
                    ),
                    limit_s=30,
                )
                await anyio.sleep(1.0)  # past the first frames at the encoder's default
                sent = await relayed_video_bytes(server, host.participant_id)
                start = time.monotonic()
                # The budget is an average: over 3 s a run on a busy machine measured 818
                # kbit/s (a burst such as a keyframe of the noisy picture weighs a lot there).
                await anyio.sleep(6.0)
                sent = await relayed_video_bytes(server, host.participant_id) - sent
                kbps = sent * 8 / 1000 / (time.monotonic() - start)
                assert 150 < kbps < 600 * 1.25, kbps
                peer = server.media.peer(server.session_id, host.participant_id)
                assert peer is not None
                assert [slot.max_bitrate for slot in peer.slots.values()] == [300_000] * 2


def frames_of(peer: SessionParticipant, participant: str) -> tuple[str, int] | None:
    """The slot that shows ``participant`` to ``peer`` and how many frames it has received."""
    for mid, source in peer.slots.items():
        if source == participant and mid in peer.video:
            return mid, peer.video[mid].frames
    return None


async def picture_stops(
    viewers: dict[str, SessionParticipant], participant: str, since: float
) -> None:
    """From 0.5 s after ``since`` no frame of ``participant`` reaches any viewer (for 1 s)."""
    await anyio.sleep(max(0.0, since + 0.5 - time.monotonic()))
    before = {name: frames_of(v, participant) for name, v in viewers.items()}
    await anyio.sleep(1.0)
    for name, viewer in viewers.items():
        seen = before[name]
        assert seen is not None, (name, viewer.slots)
        assert frames_of(viewer, participant) == seen, (name, "still receives", participant)


async def picture_flows(viewers: dict[str, SessionParticipant], participant: str) -> None:
    """Every viewer receives new frames of ``participant`` (waited for, with a bound)."""
    before = {name: frames_of(v, participant) for name, v in viewers.items()}

    def flowing() -> bool:
        for name, viewer in viewers.items():
            now = frames_of(viewer, participant)
            was = before[name]
            if now is None or (was is not None and was[0] == now[0] and now[1] < was[1] + 5):
                return False
        return True

    await wait_for(flowing)


async def camera_packets(server: MediaHost, participant: str) -> int:
    """RTP video packets the server has received from a participant's camera so far."""
    peer = server.media.peer(server.session_id, participant)
    assert peer is not None
    report = await peer.connection.getStats()
    return sum(
        int(s.packetsReceived)
        for s in report.values()
        if s.type == "inbound-rtp" and s.kind == "video"
    )


async def stops_sending(server: MediaHost, participant: str, since: float) -> None:
    """From 0.5 s after ``since`` the participant's camera sends the server nothing (1 s)."""
    await anyio.sleep(max(0.0, since + 0.5 - time.monotonic()))
    before = await camera_packets(server, participant)
    await anyio.sleep(1.0)
    assert await camera_packets(server, participant) == before, "the camera is still sent"


@pytest.mark.alone
async def test_camera_off_stops_the_picture_reaching_everyone(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        url_a = await server.customer_url("客户甲")
        url_b = await server.customer_url("客户乙")

        def peer(name: str, url: str) -> Any:
            return join(url, camera=FlatVideoTrack(LUMA[name]), slots=2, loopback_only=True)

        async with peer("host", server.host_url) as host, peer("b", url_b) as b:
            async with peer("a", url_a) as a:
                ids = {"host": host.participant_id, "a": a.participant_id, "b": b.participant_id}
                await picture_flows({"host": host, "b": b}, ids["a"])
                await picture_flows({"a": a, "b": b}, ids["host"])

                # The host turns customer a's camera off: nobody receives a's picture,
                # also with a as the host's main view (another slot layout).
                reply = await host.request("room.set_video", {"target": ids["a"], "on": False})
                off_at = time.monotonic()
                assert reply["type"] == "ack", reply
                await picture_stops({"host": host, "b": b}, ids["a"], off_at)
                await stops_sending(server, ids["a"], off_at)  # a's own client stops too
                await picture_flows({"a": a, "b": b}, ids["host"])  # the others go on
                assert (await host.request("room.set_main_view", {"target": ids["a"]}))[
                    "type"
                ] == "ack"
                await wait_for(lambda: next(iter(host.slots.values())) == ids["a"])
                await picture_stops({"host": host, "b": b}, ids["a"], time.monotonic())

                # Customer b turns their own camera off: the same.
                reply = await b.request("room.set_video", {"target": ids["b"], "on": False})
                off_at = time.monotonic()
                assert reply["type"] == "ack", reply
                await picture_stops({"host": host, "a": a}, ids["b"], off_at)

            # a closes the app and comes back with the same seat: the camera stays off.
            await wait_for(lambda: ids["a"] not in present(host))
            async with peer("a", url_a) as again:
                assert again.participant_id == ids["a"]
                await wait_for(lambda: frames_of(host, ids["a"]) is not None)
                await picture_flows({"a": again}, ids["host"])
                await picture_stops({"host": host}, ids["a"], time.monotonic() - 0.5)
                await stops_sending(server, ids["a"], time.monotonic() - 0.5)

                # Turned on again by the host, the picture comes back.
                reply = await host.request("room.set_video", {"target": ids["a"], "on": True})
                assert reply["type"] == "ack", reply
                await picture_flows({"host": host}, ids["a"])


def present(peer: SessionParticipant) -> set[str]:
    """Who ``peer`` knows to be in the room, from the events it received."""
    here = {p for p, v in peer.welcome["room"]["participants"].items() if v["present"]}
    for message in peer.messages:
        if message["type"] == "room.participant_joined":
            here.add(message["data"]["participant"]["id"])
        elif message["type"] == "room.participant_left":
            here.discard(message["data"]["participant"])
    return here
