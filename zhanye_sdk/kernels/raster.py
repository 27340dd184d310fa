"""Numpy twin of the native stroke rasterizer (``zhanye_sdk_native/src/raster.rs``).

Anti-aliased polylines with width and round caps, pen or highlighter (multiply), drawn
into an RGB image in exact integer arithmetic; the native module's header states the
arithmetic and this module follows it to the bit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zhanye_sdk.kernels._checks import array

__all__ = ["MAX_COORD", "MAX_SIDE", "MAX_WIDTH", "draw_strokes"]

MAX_SIDE = 8192
MAX_COORD = 1 << 22
MAX_WIDTH = 256 * 256


def _isqrt(n: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Exact floor square root of non-negative int64 values below 2**52."""
    s = np.sqrt(n.astype(np.float64)).astype(np.int64)
    s = np.where(s * s > n, s - 1, s)
    return np.where((s + 1) * (s + 1) <= n, s + 1, s)


def _span(lo: int, hi: int, reach: int, side: int) -> tuple[int, int] | None:
    first = max((lo - reach) >> 8, 0)
    last = min((hi + reach) >> 8, side - 1)
    return (first, last) if first <= last else None


def _check(
    image: object,
    points: object,
    offsets: object,
    widths: object,
    colours: object,
    tools: object,
) -> tuple[npt.NDArray[np.uint8], ...]:
    img = array(image, "image", np.uint8, 3, "(H, W, 3)")
    if not img.flags.writeable:
        raise ValueError("image must be writeable")
    h, w, c = img.shape
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE and c == 3):
        raise ValueError(
            f"image must have shape (H, W, 3) with 1 <= H, W <= {MAX_SIDE}, got ({h}, {w}, {c})"
        )
    pts = array(points, "points", np.int32, 2, "(N, 2)")
    if pts.shape[1] != 2:
        raise ValueError(
            f"points must be a numpy array of dtype int32 and shape (N, 2), got dtype int32 "
            f"and shape {pts.shape}"
        )
    offs = array(offsets, "offsets", np.int64, 1, "(S + 1,)")
    wid = array(widths, "widths", np.int32, 1, "(S,)")
    col = array(colours, "colours", np.uint8, 2, "(S, 3)")
    if col.shape[1] != 3:
        raise ValueError(
            f"colours must be a numpy array of dtype uint8 and shape (S, 3), got dtype uint8 "
            f"and shape {col.shape}"
        )
    tls = array(tools, "tools", np.uint8, 1, "(S,)")
    s = len(wid)
    if len(col) != s or len(tls) != s:
        raise ValueError(
            f"widths, colours and tools must describe the same strokes, got {s}, {len(col)} "
            f"and {len(tls)}"
        )
    if len(offs) != s + 1:
        raise ValueError(f"offsets must have S + 1 = {s + 1} entries, got {len(offs)}")
    if offs[0] != 0 or offs[s] != len(pts):
        raise ValueError(
            f"offsets must start at 0 and end at the number of points {len(pts)}, "
            f"got {offs[0]} .. {offs[s]}"
        )
    for i in range(s):
        if offs[i + 1] <= offs[i]:
            raise ValueError(f"offsets must increase: stroke {i} has no points")
        if not 1 <= wid[i] <= MAX_WIDTH:
            raise ValueError(f"stroke {i} has width {wid[i]}; Q8 widths must be 1..={MAX_WIDTH}")
        if tls[i] > 1:
            raise ValueError(f"stroke {i} has tool {tls[i]}; tools are 0 (pen) or 1 (highlighter)")
        own = pts[offs[i] : offs[i + 1]]
        bad = own[(own < -MAX_COORD) | (own > MAX_COORD)]
        if bad.size:
            raise ValueError(
                f"stroke {i} has coordinate {bad[0]}; Q8 coordinates must be within ±{MAX_COORD}"
            )
    return img, pts, offs, wid, col, tls


def draw_strokes(
    image: npt.NDArray[np.uint8],
    points: npt.NDArray[np.int32],
    offsets: npt.NDArray[np.int64],
    widths: npt.NDArray[np.int32],
    colours: npt.NDArray[np.uint8],
    tools: npt.NDArray[np.uint8],
) -> None:
    """Draw strokes into ``image`` (uint8, (H, W, 3) RGB) in place.

    Args:
        points: int32 (N, 2) Q8 pixel coordinates (1/256 pixel) of every stroke's points.
        offsets: int64 (S + 1,): stroke ``i`` is ``points[offsets[i]:offsets[i + 1]]``.
        widths: int32 (S,) Q8 widths. colours: uint8 (S, 3) RGB.
        tools: uint8 (S,): 0 pen, 1 highlighter.

    Raises:
        ValueError: naming the argument and what was expected.
    """
    img, pts, offs, wid, col, tls = _check(image, points, offsets, widths, colours, tools)
    height, width = img.shape[:2]
    p64 = pts.astype(np.int64)
    for i in range(len(wid)):
        own = p64[offs[i] : offs[i + 1]]
        r = int(wid[i]) // 2
        reach = r + 128
        bx = _span(int(own[:, 0].min()), int(own[:, 0].max()), reach, width)
        by = _span(int(own[:, 1].min()), int(own[:, 1].max()), reach, height)
        if bx is None or by is None:
            continue
        cover = np.zeros((by[1] - by[0] + 1, bx[1] - bx[0] + 1), dtype=np.int64)
        n = len(own)
        for k in range(max(n, 2) - 1):
            ax, ay = int(own[k, 0]), int(own[k, 1])
            bpx, bpy = int(own[min(k + 1, n - 1), 0]), int(own[min(k + 1, n - 1), 1])
            xs = _span(min(ax, bpx), max(ax, bpx), reach, width)
            ys = _span(min(ay, bpy), max(ay, bpy), reach, height)
            if xs is None or ys is None:
                continue
            cx = np.arange(xs[0], xs[1] + 1, dtype=np.int64)[None, :] * 256 + 128
            cy = np.arange(ys[0], ys[1] + 1, dtype=np.int64)[:, None] * 256 + 128
            ex, ey = bpx - ax, bpy - ay
            len2 = ex * ex + ey * ey
            dx, dy = cx - ax, cy - ay
            to_a = _isqrt(dx * dx + dy * dy)
            if len2 == 0:
                d = to_a
            else:
                length = int(_isqrt(np.array([len2], dtype=np.int64))[0])
                t = dx * ex + dy * ey
                fx, fy = cx - bpx, cy - bpy
                to_b = _isqrt(fx * fx + fy * fy)
                across = np.abs(dx * ey - dy * ex) // length
                d = np.where(t <= 0, to_a, np.where(t >= len2, to_b, across))
            c = np.clip(r + 128 - d, 0, 256)
            view = cover[ys[0] - by[0] : ys[1] - by[0] + 1, xs[0] - bx[0] : xs[1] - bx[0] + 1]
            np.maximum(view, c, out=view)
        region = img[by[0] : by[1] + 1, bx[0] : bx[1] + 1]
        src = region.astype(np.int64)
        a = cover[:, :, None]
        colour = col[i].astype(np.int64)
        target = (src * colour + 127) // 255 if tls[i] == 1 else colour
        blended = (src * (256 - a) + target * a + 128) >> 8
        region[...] = np.where(a > 0, blended, src).astype(np.uint8)
