"""Render a synthetic three-party session to MP4 with the SDK's native kernels.

Three participants each send a tone (their "voice") and a moving test pattern (their
"camera"). Every 20 ms the audio is mixed with ``zhanye_sdk.mix``; every video frame
is composited with ``zhanye_sdk.Compositor`` — a grid first, then a speaker layout
that follows whoever is talking — and both are encoded with PyAV.

    python examples/synthetic_session/render.py [--seconds 8] [--out out/demo-session.mp4]
"""

from __future__ import annotations

import argparse
import math
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

import zhanye_sdk

RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms
FPS = 25
TILE = (640, 360)
OUTPUT = (1280, 720)
TONES_HZ = (440.0, 554.37, 659.25)  # an A major chord, one note per participant
# Each participant's colour as (U, V) chroma: blue-ish, red-ish, green-ish.
CHROMA = ((170, 110), (100, 180), (80, 80))


def speaker_at(t: float, seconds: float) -> int:
    """Who is talking at time t: the three take turns, a third of the session each."""
    return min(2, int(3 * t / seconds))


def voice(index: int, start_sample: int, seconds: float) -> np.ndarray:
    """One 20 ms frame of participant ``index``'s tone; the speaker is louder."""
    t = np.arange(start_sample, start_sample + FRAME_SAMPLES) / RATE
    level = 9000.0 if speaker_at(t[0], seconds) == index else 1500.0
    return (np.sin(2 * math.pi * TONES_HZ[index] * t) * level).astype(np.int16)


def camera(index: int, frame_no: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One I420 test-pattern frame: coloured bars and a white square moving across."""
    width, height = TILE
    y = np.empty((height, width), dtype=np.uint8)
    bars = (np.arange(width) // 80 + frame_no // 5 + index) % 2
    y[:] = np.where(bars, 90, 60).astype(np.uint8)
    size = 80
    x0 = int((frame_no * (6 + 3 * index)) % (width - size))
    y0 = int((height - size) / 2 + math.sin(frame_no / 10 + index) * 100)
    y[y0 : y0 + size, x0 : x0 + size] = 235
    u = np.full((height // 2, width // 2), CHROMA[index][0], dtype=np.uint8)
    v = np.full((height // 2, width // 2), CHROMA[index][1], dtype=np.uint8)
    return y, u, v


def render(path: Path, seconds: float) -> Path:
    """Write the synthetic session to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    compositor = zhanye_sdk.Compositor()
    gains = np.full(3, 32_768, dtype=np.int32)
    mixed = np.empty(FRAME_SAMPLES, dtype=np.int16)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height = OUTPUT
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "veryfast", "crf": "26"}
        audio = container.add_stream("aac", rate=RATE, layout="mono")
        audio_frames = int(seconds * RATE / FRAME_SAMPLES)
        video_frames = int(seconds * FPS)
        next_video = 0
        for a in range(audio_frames):
            start = a * FRAME_SAMPLES
            sources = np.stack([voice(i, start, seconds) for i in range(3)])
            zhanye_sdk.mix(sources, gains, out=mixed)
            frame = zhanye_sdk.mono_to_audio_frame(mixed.copy(), RATE, pts=start)
            container.mux(audio.encode(frame))
            while next_video < video_frames and next_video / FPS <= (start + FRAME_SAMPLES) / RATE:
                t = next_video / FPS
                layout = "grid" if t < seconds / 2 else "speaker"
                planes = [camera(i, next_video) for i in range(3)]
                y, u, v = compositor.composite(planes, layout, *OUTPUT, main=speaker_at(t, seconds))
                picture = zhanye_sdk.i420_to_video_frame(
                    y, u, v, pts=next_video, time_base=Fraction(1, FPS)
                )
                container.mux(video.encode(picture))
                next_video += 1
        container.mux(audio.encode(None))
        container.mux(video.encode(None))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the session")
    parser.add_argument("--out", type=Path, default=Path("out/demo-session.mp4"))
    args = parser.parse_args()
    started = time.perf_counter()
    path = render(args.out, args.seconds)
    took = time.perf_counter() - started
    print(f"kernels: {zhanye_sdk.native_backend()}; rendered in {took:.1f} s")
    print(path.resolve())


if __name__ == "__main__":
    main()
