"""Stroke rasterizing at 1280×720: native vs numpy twin vs Pillow's ImageDraw.

Each timed call draws the same batch of 200 hand-like strokes (40 points each, pens
4 px wide and highlighters 16 px wide) onto a fresh white 1280×720 RGB page. Ours is
anti-aliased with round caps and joins, bit-identical between native and twin.
Pillow's ``ImageDraw.line(..., joint="curve")`` is the baseline a Python user would
reach for: it is not anti-aliased and has no round end caps, so its pixels differ
(only its time is compared).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Table, bar_plot, time_call  # noqa: E402

from zhanye_sdk._backend import load_native  # noqa: E402
from zhanye_sdk.kernels import raster as twin  # noqa: E402

WIDTH, HEIGHT = 1280, 720
STROKES, POINTS = 200, 40


def strokes(seed: int = 5) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    start = rng.uniform((50, 50), (WIDTH - 50, HEIGHT - 50), (STROKES, 1, 2))
    steps = rng.normal(0, 6, (STROKES, POINTS, 2)).cumsum(axis=1)
    xy = np.clip(start + steps, 0, (WIDTH - 1, HEIGHT - 1))
    points = (xy * 256).astype(np.int32).reshape(-1, 2)
    offsets = np.arange(0, STROKES * POINTS + 1, POINTS, dtype=np.int64)
    tools = (np.arange(STROKES) % 4 == 3).astype(np.uint8)
    widths = np.where(tools == 1, 16 * 256, 4 * 256).astype(np.int32)
    colours = rng.integers(0, 256, (STROKES, 3), dtype=np.uint8)
    return points, offsets, widths, colours, tools


def ours(draw: Callable[..., None], batch: tuple[np.ndarray, ...]) -> Callable[[], object]:
    def run() -> object:
        page = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
        draw(page, *batch)
        return page

    return run


def pillow(batch: tuple[np.ndarray, ...]) -> Callable[[], object]:
    points, _, widths, colours, _ = batch
    lines = [
        [tuple(p) for p in (points[i * POINTS : (i + 1) * POINTS] / 256).tolist()]
        for i in range(STROKES)
    ]

    def run() -> object:
        page = Image.new("RGB", (WIDTH, HEIGHT), "white")
        pen = ImageDraw.Draw(page)
        for line, width, colour in zip(lines, widths, colours, strict=True):
            pen.line(
                line, fill=tuple(int(c) for c in colour), width=int(width) // 256, joint="curve"
            )
        return page

    return run


def main() -> None:
    native = load_native()
    assert native is not None, "build the native module first (make setup)"
    batch = strokes()
    a = ours(native.draw_strokes, batch)()
    b = ours(twin.draw_strokes, batch)()
    assert np.array_equal(a, b), "native and twin differ"
    cases = {
        "native (Rust)": time_call(ours(native.draw_strokes, batch), repeat=5),
        "numpy twin": time_call(ours(twin.draw_strokes, batch), min_time=0.2, repeat=3),
        "Pillow ImageDraw (no AA)": time_call(pillow(batch), repeat=5),
    }
    table = Table(
        "raster",
        f"Stroke rasterizer, {STROKES} strokes × {POINTS} points on 1280×720",
        ["implementation", "ms per page", "strokes/s", "vs native"],
    )
    for name, seconds in cases.items():
        table.add(name, seconds * 1000, STROKES / seconds, seconds / cases["native (Rust)"])
    table.notes.append(
        "native and twin output compared: identical. Pillow's lines are aliased, "
        "without round caps; its time is the baseline only."
    )
    table.write()
    bar_plot(
        "raster",
        "Strokes per second at 1280×720 (higher is better)",
        ["200 strokes × 40 points"],
        {name: [STROKES / s] for name, s in cases.items()},
        ylabel="strokes/s",
        log=True,
    )


if __name__ == "__main__":
    main()
