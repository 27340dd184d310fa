"""Recording a real three-peer session: segments, duration, tones, tiles, manifest, restart."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import attrs
import av
import numpy as np
import numpy.typing as npt
import pytest

from zhanye_sdk import Platform, layout_cells
from zhanye_sdk.client import FlatVideoTrack, SessionParticipant, ToneTrack, join
from zhanye_sdk.clock import ManualClock
from zhanye_sdk.media.manifest import Manifest, verify
from zhanye_sdk.media.monitor import session_quality
from zhanye_sdk.media.recorder import RecordingConfig
from zhanye_sdk.media.records import MediaRecord, RecordingStatus
from zhanye_sdk.platform import PlatformConfig

from .media_world import LOOPBACK_MEDIA, MediaHost, media_host, serve, tone_level
from .webhost import DEPLOYMENT

pytestmark = pytest.mark.anyio

TONES = {"host": 500.0, "a": 700.0, "b": 1100.0}
LUMA = {"host": 50, "a": 120, "b": 200}
W, H = 320, 240


def recording_media(tmp_path: Path) -> object:
    settings = RecordingConfig(tmp_path / "rec", segment_s=1.0, width=W, height=H, layout="grid")
    return attrs.evolve(LOOPBACK_MEDIA, recording=settings)


async def wait_for(condition: Callable[[], bool], limit_s: float = 15) -> None:
    """Poll state that media threads and tasks change."""
    with anyio.fail_after(limit_s):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.05)


def peer(name: str, url: str) -> object:
    return join(
        url,
        microphone=ToneTrack(TONES[name]),
        camera=FlatVideoTrack(LUMA[name]),
        slots=2,
        loopback_only=True,
    )


def auth(server: MediaHost) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.login_token}"}


async def recording_api(server: MediaHost) -> dict[str, Any]:
    url = f"{server.base}/api/sessions/{server.session_id}/recording?verify=1"
    async with aiohttp.ClientSession() as http:
        response = await http.get(url, headers=auth(server))
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def record_of(server: MediaHost) -> MediaRecord:
    assert server.media.records is not None
    record = await server.media.records.get(server.session_id)
    assert record is not None
    return record


def decode(manifest: Manifest, folder: Path) -> tuple[npt.NDArray[np.int16], list[tuple]]:
    """All segments' audio (int16 mono) and (time s, Y plane) of every video frame."""
    audio: list[npt.NDArray[np.int16]] = []
    frames: list[tuple[float, npt.NDArray[np.uint8]]] = []
    offset = 0.0
    for entry in manifest.entries:
        with av.open(str(folder / entry.name)) as container:
            for frame in container.decode(audio=0):
                audio.append((frame.to_ndarray()[0] * 32767).astype(np.int16))
        with av.open(str(folder / entry.name)) as container:
            for frame in container.decode(video=0):
                y = frame.to_ndarray(format="yuv420p")[: frame.height]
                frames.append((offset + float(frame.time or 0), y))
        offset += entry.duration_ms / 1000
    return np.concatenate(audio), frames


def tile_lumas(y: npt.NDArray[np.uint8], tiles: int) -> list[float]:
    cells = layout_cells([(160, 120)] * tiles, "grid", W, H)
    return [
        float(y[cy + 10 : cy + ch - 10, cx + 10 : cx + cw - 10].mean()) for cx, cy, cw, ch in cells
    ]


async def test_a_session_is_recorded_verifiably_and_survives_a_dropout(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config, recording_media(tmp_path)) as server:
        url_a = await server.customer_url("客户甲")
        url_b = await server.customer_url("客户乙")
        async with peer("host", server.host_url) as host:  # type: ignore[attr-defined]
            started = time.monotonic()
            assert (await record_of(server)).recording_status is RecordingStatus.RECORDING
            async with peer("a", url_a) as a:  # type: ignore[attr-defined]
                async with peer("b", url_b) as b:  # type: ignore[attr-defined]
                    everyone: list[SessionParticipant] = [host, a, b]
                    await wait_for(
                        lambda: (
                            all(len(p.audio) > 50 for p in everyone)
                            and all(sum(v.frames for v in p.video.values()) > 10 for p in everyone)
                        )
                    )
                    all_in = (time.monotonic() - started, 0.0)
                    await anyio.sleep(1.5)
                    all_in = (all_in[0], time.monotonic() - started)
                # b's process is gone: the recording goes on with two tiles.
                await anyio.sleep(2.0)
            reply = await host.request("room.end")
            assert reply["type"] == "ack", reply
            ended = time.monotonic() - started

        record = await record_of(server)
        with anyio.fail_after(10):
            while record.recording_status in (
                RecordingStatus.RECORDING,
                RecordingStatus.PROCESSING,
            ):
                await anyio.sleep(0.05)
                record = await record_of(server)
        assert record.recording_status is RecordingStatus.READY, record.recording_error
        folder = Path(record.recording_folder or "")
        manifest = record.manifest
        assert len(manifest.entries) >= 4
        assert record.manifest_head == manifest.head
        # Duration: the wall time the room was recorded, within 10 %.
        assert abs(manifest.duration_ms / 1000 - ended) < 0.1 * ended, (manifest.duration_ms, ended)
        audio, frames = decode(manifest, folder)
        assert abs(audio.size / 48_000 - manifest.duration_ms / 1000) < 0.1 * ended

        # All three tones while all three were in; only two after b left.
        middle = audio[int((all_in[0] + 0.3) * 48_000) : int((all_in[1] - 0.1) * 48_000)]
        # (Levels: a tone of amplitude 8000 measures ~8000; absent ones measure < 10.)
        for name, hz in TONES.items():
            assert tone_level(middle, hz) > 500, (name, tone_level(middle, hz))
        tail = audio[int((ended - 1.2) * 48_000) : int((ended - 0.2) * 48_000)]
        assert tone_level(tail, TONES["b"]) < 100 and tone_level(tail, TONES["a"]) > 500

        # The composite: three tiles (host, a, b in joining order), later two.
        when_all = next(y for t, y in frames if t >= (all_in[0] + all_in[1]) / 2)
        for seen, expected in zip(tile_lumas(when_all, 3), (50, 120, 200), strict=True):
            assert abs(seen - expected) < 12, tile_lumas(when_all, 3)
        cells = layout_cells([(160, 120)] * 3, "grid", W, H)
        x, y0, w, h = cells[2]
        assert float(when_all[y0 + 10 : y0 + h - 10, 5 : x - 5].mean()) < 25  # empty 4th quarter
        last = frames[-3][1]
        for seen, expected in zip(tile_lumas(last, 2), (50, 120), strict=True):
            assert abs(seen - expected) < 12, tile_lumas(last, 2)

        # Tamper evidence: verified as stored; one flipped byte is found.
        assert verify(manifest, folder, expected_head=record.manifest_head).ok
        assert (await recording_api(server))["verified"] is True
        segment = folder / manifest.entries[1].name
        async with aiohttp.ClientSession() as http:
            served = await (
                await http.get(
                    f"{server.base}/api/sessions/{server.session_id}/recording/{segment.name}",
                    headers=auth(server),
                )
            ).read()
        assert served == segment.read_bytes()
        data = bytearray(segment.read_bytes())
        data[len(data) // 2] ^= 0x40
        segment.write_bytes(bytes(data))
        result = verify(manifest, folder)
        assert not result.ok and "segment 1" in result.problems[0]
        listed = await recording_api(server)
        assert listed["verified"] is False and listed["status"] == "ready"
        assert [s["name"] for s in listed["segments"]] == [e.name for e in manifest.entries]
        # The session record links the playback page and carries the network summary.
        async with aiohttp.ClientSession() as http:
            details = await (
                await http.get(
                    f"{server.base}/api/records/{server.session_id}", headers=auth(server)
                )
            ).json()
        assert details["recording_status"] == "ready"
        assert details["recording_url"] == f"/sessions/{server.session_id}/playback"
        assert details["network"] is not None
        # ... and the list's export has the session's network quality.
        quality = session_quality(details["network"])
        assert quality in ("good", "fair", "poor")
        # The summary was final when the recording was: it does not change after (the
        # network is assessed every 0.5 s here).
        await anyio.sleep(1.5)
        async with aiohttp.ClientSession() as http:
            later = await (
                await http.get(
                    f"{server.base}/api/records/{server.session_id}", headers=auth(server)
                )
            ).json()
        assert later["network"] == details["network"]
        row = (await exported_rows(server))[server.session_id]
        assert row["网络质量"] == {"good": "良好", "fair": "一般", "poor": "较差"}[quality], row
        async with aiohttp.ClientSession() as http:
            listed_records = await (
                await http.get(f"{server.base}/api/records", headers=auth(server))
            ).json()
        by_id = {r["id"]: r for r in listed_records["items"]}
        assert by_id[server.session_id]["network_quality"] == quality  # the records list


async def exported_rows(server: MediaHost) -> dict[str, dict[str, str]]:
    """The records list exported as CSV through the API, by session id."""
    async with aiohttp.ClientSession() as http:
        job = await (
            await http.post(
                f"{server.base}/api/records/export", json={"format": "csv"}, headers=auth(server)
            )
        ).json()
        with anyio.fail_after(20):
            while job["state"] not in ("done", "failed"):
                await anyio.sleep(0.1)
                url = f"{server.base}/api/records/export/{job['id']}"
                job = await (await http.get(url, headers=auth(server))).json()
        assert job["state"] == "done", job
        url = f"{server.base}/api/records/export/{job['id']}/file"
        text = (await (await http.get(url, headers=auth(server))).read()).decode("utf-8-sig")
    return {row["会话ID"]: row for row in csv.DictReader(io.StringIO(text))}


async def test_a_host_restart_keeps_the_segments_and_finalises_the_recording(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    media = recording_media(tmp_path)
    async with media_host(tmp_path, fast_config, media) as server:
        url_a = await server.customer_url("客户甲")
        async with peer("host", server.host_url) as host, peer("a", url_a) as a:  # type: ignore[attr-defined]
            await wait_for(lambda: len(host.audio) > 50 and len(a.audio) > 50)
            await wait_for(lambda: len(server.media.recording_manifest(server.session_id)) >= 2)
            # The host process stops here (its media and signaling go away with it).
        before = await record_of(server)
        assert before.recording_status is RecordingStatus.RECORDING
        # ... and a new process over the same database and recordings starts.
    platform = await Platform.open(
        f"sqlite:///{tmp_path}/media.db", config=fast_config, clock=ManualClock()
    )
    try:
        async with serve(platform, media) as app:
            records = app[DEPLOYMENT].media.records
            assert records is not None
            record = await records.get(server.session_id)
            assert record is not None
            assert record.recording_status is RecordingStatus.READY
            assert len(record.manifest.entries) >= 2
            assert (
                record.manifest.entries[: len(before.manifest.entries)] == before.manifest.entries
            )
            assert verify(record.manifest, Path(record.recording_folder or "")).ok
    finally:
        await platform.close()
