"""A recording's post-processing shows its progress: the ticks still queued for the encoder
when the room ends are counted down as they are encoded, through the recordings API."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import anyio
import av
import numpy as np
import pytest

from zhanye_sdk.api.http import ApiRequest
from zhanye_sdk.api.recordings import RecordingApi
from zhanye_sdk.media.recorder import Recorder, RecordingConfig, RecordingTick
from zhanye_sdk.media.records import MediaRecords, RecordingStatus
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.signaling.bus import LocalBus

from .platform_world import PASSWORD, build_world

TICKS = 600  # 12 s of 20 ms ticks, a video frame every other tick


def busy_recorder(folder: Path) -> Recorder:
    """A recorder handed a long backlog at once (an encoder that fell behind)."""
    config = RecordingConfig(folder, segment_s=4.0, width=640, height=360, fps=25)
    recorder = Recorder(folder, config)
    rng = np.random.default_rng(7)
    picture = av.VideoFrame.from_ndarray(
        rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), format="rgb24"
    )
    audio = (3000 * np.sin(np.arange(960) * 2 * np.pi * 440 / 48_000)).astype(np.int16)
    for _ in range(TICKS):
        video = (picture,) if recorder.video_due() else None
        assert recorder.feed(RecordingTick(audio, video))
    return recorder


def test_stopping_counts_the_backlog_down_to_done(tmp_path: Path) -> None:
    recorder = busy_recorder(tmp_path / "rec")
    assert recorder.finishing() is None  # nothing is being finished before the stop
    recorder.start()
    seen: list[tuple[int, int]] = []
    stopping = threading.Thread(target=recorder.stop)
    stopping.start()
    while stopping.is_alive():
        state = recorder.finishing()
        if state is not None:
            seen.append(state)
        time.sleep(0.005)
    stopping.join()
    final = recorder.finishing()
    assert final is not None and final[0] == final[1] > 0
    assert seen and all(total == final[1] for _, total in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done)  # it only goes forward
    assert sum(e.duration_ms for e in recorder.manifest.entries) == TICKS * 20


@pytest.mark.anyio
async def test_the_recordings_api_reports_the_progress(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    world = await build_world(f"sqlite:///{tmp_path}/p.db", fast_config)
    try:
        rooms = RoomService(world.platform, LocalBus())
        actor = world.p("sp_A1")
        session = await rooms.start(actor)
        records = MediaRecords(world.platform.database)
        await records.update(
            session.id,
            recording_status=RecordingStatus.PROCESSING,
            recording_folder=str(tmp_path / "rec"),
        )
        recorder = busy_recorder(tmp_path / "rec")
        api = RecordingApi(
            world.platform, rooms, records, progress=lambda sid: recorder.finishing()
        )
        token = (await world.platform.auth.login("sp-A1", PASSWORD)).token
        request = ApiRequest(
            "GET",
            f"/api/sessions/{session.id}/recording",
            headers={"Authorization": f"Bearer {token}"},
        )
        before = (await api.handle(request)).json()
        assert before["status"] == "processing" and "progress" not in before
        recorder.start()
        stopping = threading.Thread(target=recorder.stop)
        stopping.start()
        reported = []
        while stopping.is_alive():
            body = (await api.handle(request)).json()
            if "progress" in body:
                reported.append(body["progress"])
            await anyio.sleep(0.01)
        stopping.join()
        assert reported and reported[-1]["total"] == reported[0]["total"] > 0
        assert all(0 <= p["done"] <= p["total"] for p in reported)
    finally:
        await world.platform.close()


def test_unchanged_pictures_are_composited_once(tmp_path: Path) -> None:
    """A room without cameras (or a camera slower than the recording) shows the same
    frames tick after tick: the composite is made once and its video is as long."""
    recorder = busy_recorder(tmp_path / "rec")
    recorder.start()
    recorder.stop()
    assert recorder.composited == 1
    with av.open(str(tmp_path / "rec" / "segment-00000.mp4")) as container:
        pictures = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(pictures) == 4 * 25  # a segment of 4 s at 25 frames/s, every frame written
    # The same picture throughout (coded lossily: the encoder refines it frame by frame).
    last = pictures[-1].astype(np.int16)
    assert all(np.abs(p.astype(np.int16) - last).mean() < 12 for p in pictures)
    assert last.std() > 20  # the random picture, not a blank
    # A new frame each time (a live camera) is composited each time.
    moving = Recorder(tmp_path / "moving", RecordingConfig(tmp_path / "moving", fps=25))
    audio = np.zeros(960, dtype=np.int16)
    for i in range(20):
        frame = av.VideoFrame.from_ndarray(np.full((36, 64, 3), i, np.uint8), format="rgb24")
        moving.feed(RecordingTick(audio, (frame, None) if moving.video_due() else None))
    moving.start()
    moving.stop()
    assert moving.composited == 10
    with av.open(str(tmp_path / "moving" / "segment-00000.mp4")) as container:
        levels = [f.to_ndarray(format="gray")[:200, :200].mean() for f in container.decode(video=0)]
    assert len(levels) == 10 and levels[-1] > levels[0]  # each new frame shows
