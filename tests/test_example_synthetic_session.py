"""The demo renders a real, playable MP4: checked with ffprobe and by decoding it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "synthetic_session" / "render.py"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "session.mp4"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--seconds", "3", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == str(out.resolve())
    return out


@pytest.mark.e2e
def test_ffprobe_sees_one_audio_and_one_video_stream_of_the_right_length(rendered: Path) -> None:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(rendered)],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(probe.stdout)
    kinds = sorted(s["codec_type"] for s in info["streams"])
    assert kinds == ["audio", "video"]
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 1280, 720)
    assert (audio["codec_name"], int(audio["sample_rate"]), audio["channels"]) == ("aac", 48000, 1)
    for stream in (video, audio):
        assert abs(float(stream["duration"]) - 3.0) < 0.15


@pytest.mark.e2e
def test_first_picture_is_a_grid_of_the_three_cameras(rendered: Path) -> None:
    with av.open(str(rendered)) as container:
        frame = next(container.decode(video=0))
        u = frame.to_ndarray(format="yuv420p")[720 : 720 + 180].reshape(360, 640)
    # Grid of three in 1280x720: two cells on the top row, one centred below.
    # Sample the U plane (half resolution) in the middle of each cell.
    expected = {(160, 90): 170, (480, 90): 100, (320, 270): 80}
    for (x, y), want in expected.items():
        assert abs(int(np.median(u[y - 10 : y + 10, x - 10 : x + 10])) - want) <= 4
    # Left of the bottom cell is letterbox: neutral chroma.
    assert abs(int(np.median(u[200:340, 10:100])) - 128) <= 4


@pytest.mark.e2e
def test_audio_carries_the_first_speakers_tone(rendered: Path) -> None:
    with av.open(str(rendered)) as container:
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    samples = np.concatenate(chunks)[: 48_000 // 2]  # the first half second
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    peak_hz = np.argmax(spectrum) * 48_000 / samples.size
    assert abs(peak_hz - 440) < 5
