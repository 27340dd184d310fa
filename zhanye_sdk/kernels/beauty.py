"""Numpy twin of the native beauty filter (``zhanye_sdk_native/src/beauty.rs``).

美颜 on an I420 frame: a skin mask from chroma, an edge-preserving (bilateral, integer
weights) smoothing of luma inside it, optional brightening of skin. The native module's
header states the arithmetic; this module follows it to the bit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zhanye_sdk.kernels._checks import array

__all__ = ["MAX_SIDE", "RANGE", "beauty_i420", "skin_weights"]

MAX_SIDE = 8192
RANGE = 40
OFFSETS = (-5, -3, -1, 0, 1, 3, 5)
SPATIAL = (1, 2, 3, 4, 3, 2, 1)
MASK_W = np.array([0, 28, 57, 85, 114, 142, 171, 199, 228, 256], dtype=np.int32)
U_MIN, U_MAX, V_MIN, V_MAX = 77, 127, 133, 173
_PAD = 5


def _level(value: int, name: str) -> int:
    if not 0 <= value <= 255:
        raise ValueError(f"{name} must be between 0 and 255, got {value}")
    return value


def skin_weights(u: npt.NDArray[np.uint8], v: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
    """The mask weight (0..256) of every chroma sample: 3×3 count of skin samples, mapped."""
    skin = ((u >= U_MIN) & (u <= U_MAX) & (v >= V_MIN) & (v <= V_MAX)).astype(np.int32)
    padded = np.pad(skin, 1, mode="edge")
    ch, cw = skin.shape
    count = np.zeros_like(skin)
    for dy in range(3):
        for dx in range(3):
            count += padded[dy : dy + ch, dx : dx + cw]
    return MASK_W[count]


def beauty_i420(
    y: npt.NDArray[np.uint8],
    u: npt.NDArray[np.uint8],
    v: npt.NDArray[np.uint8],
    strength: int,
    brighten: int = 0,
) -> npt.NDArray[np.uint8]:
    """Smooth skin and keep edges; return the new luma plane (chroma is unchanged).

    ``strength`` and ``brighten`` are levels 0..255. Pixels outside skin keep their value.

    Raises:
        ValueError: a plane has the wrong dtype, shape or layout, or a level is out of range.
    """
    y = array(y, "y", np.uint8, 2, "(H, W)")
    u = array(u, "u", np.uint8, 2, "((H + 1) // 2, (W + 1) // 2)")
    v = array(v, "v", np.uint8, 2, "((H + 1) // 2, (W + 1) // 2)")
    h, w = y.shape
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise ValueError(f"y must have shape (H, W) with 1 <= H, W <= {MAX_SIDE}, got ({h}, {w})")
    expected = ((h + 1) // 2, (w + 1) // 2)
    if u.shape != expected or v.shape != expected:
        raise ValueError(
            f"u and v must have shape ({expected[0]}, {expected[1]}) for this y, "
            f"got {u.shape} and {v.shape}"
        )
    strength = _level(int(strength), "strength")
    brighten = _level(int(brighten), "brighten")
    m = skin_weights(u, v).repeat(2, axis=0).repeat(2, axis=1)[:h, :w]
    c = y.astype(np.int32)
    out = c.copy()
    a = strength * m
    rows, cols = np.nonzero(a)
    if rows.size:
        # Only the box around skin is filtered: everything outside it keeps its value.
        top, bottom = int(rows.min()), int(rows.max()) + 1
        left, right = int(cols.min()), int(cols.max()) + 1
        padded = np.pad(c, _PAD, mode="edge")
        centre = c[top:bottom, left:right]
        total = np.zeros_like(centre)
        acc = np.zeros_like(centre)
        for dy, sy in zip(OFFSETS, SPATIAL, strict=True):
            for dx, sx in zip(OFFSETS, SPATIAL, strict=True):
                tap = padded[
                    top + _PAD + dy : bottom + _PAD + dy, left + _PAD + dx : right + _PAD + dx
                ]
                weight = np.maximum(RANGE - np.abs(tap - centre), 0) * (sy * sx)
                acc += weight * tap
                total += weight
        smooth = (acc + total // 2) // total
        box_a = a[top:bottom, left:right]
        blended = centre + (((smooth - centre) * box_a + 32768) >> 16)
        out[top:bottom, left:right] = np.where(box_a != 0, blended, centre)
    if brighten:
        out = out + (((255 - out) * brighten * m) >> 18)
    return np.clip(out, 0, 255).astype(np.uint8)
