"""Video compositing of 640×360 I420 inputs into a 1280×720 frame: native vs numpy twin vs PyAV.

Each case composites the same inputs (random-noise planes, the worst case for caches
of nothing) once per timed call. The native and twin compositors are ``Compositor``
objects reused across calls, as a recorder keeps one; each call returns a freshly
allocated frame. PyAV (libswscale) is timed doing the same job the way one would
with it: ``VideoFrame.reformat(width=tw, height=th, interpolation="BILINEAR")`` for
each input (inputs already ``av.VideoFrame`` objects, as decoders hand them out),
then placing the three planes of every scaled frame into the output arrays on the
background. swscale's bilinear rounds differently, so its pixels are close to ours
but not identical; only its time is compared.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Table, bar_plot, time_call  # noqa: E402

from zhanye_sdk._backend import load_native  # noqa: E402
from zhanye_sdk.kernels import composite as twin  # noqa: E402
from zhanye_sdk.media.frames import i420_to_video_frame, video_frame_to_i420  # noqa: E402

WIDTH, HEIGHT = 1280, 720
BACKGROUND = (16, 128, 128)
CASES = (
    ("4 × 640×360 → 1280×720 grid", 4, "grid"),
    ("9 × 640×360 → 1280×720 grid", 9, "grid"),
    ("1+8 × 640×360 → 1280×720 speaker", 9, "speaker"),
)
TARGET_MS = 0.5  # 9-tile grid, native, one core
TARGET_RATIO = 4.0  # twin time / native time, 9-tile grid

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


def best_time(fn: Callable[[], object], samples: int = 25) -> float:
    """The fastest of ``samples`` short timings: the figure least disturbed by other jobs."""
    return min(time_call(fn, min_time=0.01, repeat=1) for _ in range(samples))


def inputs(n: int, seed: int = 11) -> list[Planes]:
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        y = rng.integers(0, 256, (360, 640), dtype=np.uint8)
        u = rng.integers(0, 256, (180, 320), dtype=np.uint8)
        v = rng.integers(0, 256, (180, 320), dtype=np.uint8)
        frames.append((y, u, v))
    return frames


def pyav_compositor(frames: list[Planes], layout: str) -> Callable[[], Planes]:
    """Scale every input with swscale's bilinear and place it, as a PyAV user would."""
    video = [i420_to_video_frame(*f) for f in frames]
    sizes = [(f[0].shape[1], f[0].shape[0]) for f in frames]
    tiles = twin.layout_cells(sizes, layout, WIDTH, HEIGHT)

    def run() -> Planes:
        out_y = np.full((HEIGHT, WIDTH), BACKGROUND[0], np.uint8)
        out_u = np.full((HEIGHT // 2, WIDTH // 2), BACKGROUND[1], np.uint8)
        out_v = np.full((HEIGHT // 2, WIDTH // 2), BACKGROUND[2], np.uint8)
        for frame, (x, y, w, h) in zip(video, tiles, strict=True):
            scaled = frame.reformat(width=w, height=h, interpolation="BILINEAR")
            sy, su, sv = video_frame_to_i420(scaled)
            out_y[y : y + h, x : x + w] = sy
            out_u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = su
            out_v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = sv
        return out_y, out_u, out_v

    return run


def main() -> None:
    native = load_native()
    if native is None:
        raise SystemExit("the native module is not built: run `make setup`")
    table = Table(
        "composite",
        f"Compositing 640×360 I420 inputs into one {WIDTH}×{HEIGHT} frame",
        [
            "case",
            "native ms/frame",
            "native best ms/frame",
            "native, out= ms/frame",
            "twin ms/frame",
            "PyAV ms/frame",
            "twin / native",
            "PyAV / native",
        ],
    )
    groups, series = [], {"native": [], "numpy twin": [], "PyAV (swscale)": []}
    nine_grid: tuple[float, float] | None = None
    for label, n, layout in CASES:
        frames = inputs(n)
        compositor, twin_compositor = native.Compositor(), twin.Compositor()
        out = (
            np.empty((HEIGHT, WIDTH), np.uint8),
            np.empty((HEIGHT // 2, WIDTH // 2), np.uint8),
            np.empty((HEIGHT // 2, WIDTH // 2), np.uint8),
        )
        expected = twin.composite_i420(frames, layout, WIDTH, HEIGHT, BACKGROUND)
        got = compositor.composite(frames, layout, WIDTH, HEIGHT, BACKGROUND)
        assert all((g == e).all() for g, e in zip(got, expected, strict=True)), label
        request = (frames, layout, WIDTH, HEIGHT, BACKGROUND)
        t_native = time_call(partial(compositor.composite, *request), repeat=15)
        t_best = best_time(partial(compositor.composite, *request))
        t_out = time_call(partial(compositor.composite, *request, out=out), repeat=15)
        t_twin = time_call(partial(twin_compositor.composite, *request))
        t_pyav = time_call(pyav_compositor(frames, layout), repeat=15)
        ms = [t * 1e3 for t in (t_native, t_best, t_out, t_twin, t_pyav)]
        table.add(label, *ms, t_twin / t_native, t_pyav / t_native)
        groups.append(label.replace(" → 1280×720", "\n→ 720p"))
        for name, value in zip(series, (ms[0], ms[3], ms[4]), strict=True):
            series[name].append(value)
        if n == 9 and layout == "grid":
            nine_grid = (ms[0], ms[1], t_twin / t_native)
    assert nine_grid is not None
    native_ms, best_ms, ratio = nine_grid
    table.notes += [
        f"target 9-tile grid ≤ {TARGET_MS} ms on one core: median {native_ms:.3f} ms "
        f"({'met' if native_ms <= TARGET_MS else 'MISSED'}), best {best_ms:.3f} ms "
        f"({'met' if best_ms <= TARGET_MS else 'MISSED'})",
        f"target 9-tile grid ≥ {TARGET_RATIO:.0f}× the numpy twin: {ratio:.1f}× "
        f"({'met' if ratio >= TARGET_RATIO else 'MISSED'})",
        "Medians of 15 samples (7 for the twin), best of 25; native and twin are bit-identical "
        "(checked before timing), PyAV's bilinear is not (speed baseline only).",
        "The native pixel work runs on one core (no threads); the GIL is released for it.",
        "The 4-tile grid places each input at its own size: an exact copy in both our "
        "backends and in PyAV, so that row mostly measures the copy and the call overhead.",
        "Nine inputs are 3.1 MB, more than this core's 512 KB L2: every frame reads "
        "them from L3, as a recorder reading freshly decoded frames would.",
        "Where the native 9-tile grid spends its time (perf): about half in the AVX2 "
        "horizontal pass, a sixth in the vertical blend of source rows, the rest in "
        "background fill, borrowing the planes and the call.",
        "The machine is shared (2 cores, other jobs running): medians vary by up to 2× "
        "between runs; the best-of column is the steadier figure.",
    ]
    table.write()
    bar_plot(
        "composite",
        f"I420 compositing into {WIDTH}×{HEIGHT} (ms per frame, log scale)",
        groups,
        series,
        ylabel="ms per frame",
        log=True,
    )


if __name__ == "__main__":
    main()
