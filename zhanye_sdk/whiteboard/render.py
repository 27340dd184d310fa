"""Annotated pages as pictures: strokes over a page image, to PNG and to a PDF.

Drawing goes through ``_backend.draw_strokes`` (the native rasterizer or its twin, bit
for bit the same). Page units map to output pixels by ``out_width / page.width``;
coordinates become Q8 fixed point (1/256 pixel) by integer arithmetic, so a page
renders the same everywhere. Pressure is kept in strokes but not drawn: a stroke has
one width.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image

from zhanye_sdk import _backend
from zhanye_sdk.whiteboard.core import PageSize, Stroke, Tool

__all__ = ["pdf_bytes", "png_bytes", "render_page"]

Picture = npt.NDArray[np.uint8]


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
) -> Picture:
    """The page (its image, or white) with ``strokes`` drawn on it, bottom first.

    Args:
        page: the page's size in page units.
        image: the page image (PNG/JPEG bytes); None for a blank page.
        width: output width in pixels (default: the page's width); the height keeps
            the page's aspect ratio.
    """
    out_w = page.width if width is None else width
    out_h = max(1, page.height * out_w // page.width)
    picture = _background(page, out_w, out_h, image)
    if not strokes:
        return picture
    flat = [
        (
            (x * 256 * out_w) // page.width,
            (y * 256 * out_w) // page.width,
        )
        for s in strokes
        for x, y in zip(s.points[0::3], s.points[1::3], strict=True)
    ]
    points = np.array(flat, dtype=np.int64).clip(-(1 << 22), 1 << 22).astype(np.int32)
    counts = [len(s.points) // 3 for s in strokes]
    offsets = np.cumsum([0, *counts]).astype(np.int64)
    widths = np.array(
        [min(max(1, s.width * 256 * out_w // page.width), 256 * 256) for s in strokes],
        dtype=np.int32,
    )
    colours = np.array(
        [[int(s.colour[i : i + 2], 16) for i in (1, 3, 5)] for s in strokes], dtype=np.uint8
    )
    tools = np.array([1 if s.tool is Tool.HIGHLIGHTER else 0 for s in strokes], dtype=np.uint8)
    _backend.draw_strokes(picture, points.reshape(-1, 2), offsets, widths, colours, tools)
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
