"""Annotated pages as pictures: strokes over a page image, to PNG and to a PDF.

Drawing goes through ``_backend.draw_strokes`` (the native rasterizer or its twin, bit
for bit the same). Page units map to output pixels by ``out_width / page.width``;
coordinates become Q8 fixed point (1/256 pixel) by integer arithmetic, so a page
renders the same everywhere.

Pressure: a pen's width follows the pressure of its points, ``width × (p + 500) /
1000`` (pressure 500, what a mouse or finger reports, draws the stroke's own width;
0 half of it, 1000 one and a half times). The rasterizer draws one width per stroke,
so a pen stroke whose pressure varies is drawn as runs of segments, each run one
polyline with the width of its pressure level (``pressure_level``: 17 levels, so runs
are long and their round caps join smoothly). The split happens here, before either
backend, so both draw the same pieces bit for bit. A highlighter keeps one width, as
a felt marker does (its pieces would multiply twice where they meet).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image

from zhanye_sdk import _backend
from zhanye_sdk.whiteboard.core import PageSize, Stroke, Tool

__all__ = ["DrawStrokes", "pdf_bytes", "png_bytes", "pressure_level", "render_page"]

Picture = npt.NDArray[np.uint8]
#: A rasterizer: ``draw_strokes(image, points, offsets, widths, colours, tools)``.
DrawStrokes = Callable[
    [
        Picture,
        npt.NDArray[np.int32],
        npt.NDArray[np.int64],
        npt.NDArray[np.int32],
        npt.NDArray[np.uint8],
        npt.NDArray[np.uint8],
    ],
    None,
]

#: Pressure levels: a segment's width is ``width × level / LEVELS`` (level 16 is 1×).
LEVELS = 16


def pressure_level(a: int, b: int) -> int:
    """The width level (8..24, 16 meaning the stroke's own width) of a segment whose
    ends have pressures ``a`` and ``b`` (0..1000): ``16 × (mean + 500) / 1000``, floored."""
    return (a + b + 1000) * LEVELS // 2000


def _pieces(stroke: Stroke) -> list[tuple[list[tuple[int, int]], int]]:
    """A stroke as polylines of one width level each (see the module docstring)."""
    xs, ys, ps = stroke.points[0::3], stroke.points[1::3], stroke.points[2::3]
    xy = list(zip(xs, ys, strict=True))
    if stroke.tool is Tool.HIGHLIGHTER:
        return [(xy, LEVELS)]
    if len(xy) == 1 or len(set(ps)) == 1:
        return [(xy, pressure_level(ps[0], ps[0]))]
    pieces: list[tuple[list[tuple[int, int]], int]] = []
    for k in range(len(xy) - 1):
        level = pressure_level(ps[k], ps[k + 1])
        if pieces and pieces[-1][1] == level:
            pieces[-1][0].append(xy[k + 1])
        else:
            pieces.append(([xy[k], xy[k + 1]], level))
    return pieces


def _background(page: PageSize, width: int, height: int, image: bytes | None) -> Picture:
    if image is None:
        return np.full((height, width, 3), 255, np.uint8)
    with Image.open(io.BytesIO(image)) as opened:
        rgb = opened.convert("RGB")
        if rgb.size != (width, height):
            rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
        return np.array(rgb, dtype=np.uint8)


def render_page(
    page: PageSize,
    strokes: Sequence[Stroke],
    *,
    image: bytes | None = None,
    width: int | None = None,
    draw: DrawStrokes | None = None,
) -> Picture:
    """The page (its image, or white) with ``strokes`` drawn on it, bottom first.

    Args:
        page: the page's size in page units.
        image: the page image (PNG/JPEG bytes); None for a blank page.
        width: output width in pixels (default: the page's width); the height keeps
            the page's aspect ratio.
        draw: the rasterizer (default: ``_backend.draw_strokes``, native when built).
    """
    out_w = page.width if width is None else width
    out_h = max(1, page.height * out_w // page.width)
    picture = _background(page, out_w, out_h, image)
    if not strokes:
        return picture
    pieces = [(s, xy, level) for s in strokes for xy, level in _pieces(s)]
    flat = [
        ((x * 256 * out_w) // page.width, (y * 256 * out_w) // page.width)
        for _, xy, _ in pieces
        for x, y in xy
    ]
    points = np.array(flat, dtype=np.int64).clip(-(1 << 22), 1 << 22).astype(np.int32)
    offsets = np.cumsum([0, *(len(xy) for _, xy, _ in pieces)]).astype(np.int64)
    widths = np.array(
        [
            min(max(1, s.width * level * 256 * out_w // (LEVELS * page.width)), 256 * 256)
            for s, _, level in pieces
        ],
        dtype=np.int32,
    )
    colours = np.array(
        [[int(s.colour[i : i + 2], 16) for i in (1, 3, 5)] for s, _, _ in pieces],
        dtype=np.uint8,
    )
    tools = np.array([1 if s.tool is Tool.HIGHLIGHTER else 0 for s, _, _ in pieces], dtype=np.uint8)
    (draw or _backend.draw_strokes)(picture, points.reshape(-1, 2), offsets, widths, colours, tools)
    return picture


def png_bytes(picture: Picture) -> bytes:
    """The picture as a PNG file."""
    buffer = io.BytesIO()
    Image.fromarray(picture, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_bytes(pictures: Sequence[Picture], *, resolution: float = 96.0) -> bytes:
    """The pictures as the pages of one PDF ("export annotated pages").

    Raises:
        ValueError: no pictures.
    """
    if not pictures:
        raise ValueError("a PDF needs at least one page")
    images = [Image.fromarray(p, "RGB") for p in pictures]
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="PDF", save_all=True, append_images=images[1:], resolution=resolution
    )
    return buffer.getvalue()
