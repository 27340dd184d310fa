"""Video compositing of I420 frames, numpy twin of ``zhanye_sdk_native/src/composite.rs``.

The arithmetic, followed to the bit (``even(v) = v & ~1``, ``//`` floors):

* ``"grid"``, ``n`` inputs (``n == 0``: background only): ``cols`` is the smallest ``c``
  with ``c * c >= n``, ``rows = ceil(n / cols)``, ``cell_w = even(width // cols)``,
  ``cell_h = even(height // rows)``, ``x0 = even((width - cols * cell_w) // 2)``,
  ``y0 = even((height - rows * cell_h) // 2)``. Input ``i`` is at ``r = i // cols``,
  ``c = i % cols``; with ``k`` tiles in its row (``cols``, or ``n - r * cols`` on the last)
  and ``offset = even((cols - k) * cell_w // 2)`` its cell is
  ``(x0 + offset + c * cell_w, y0 + r * cell_h, cell_w, cell_h)``.
* ``"speaker"``: one input fills the frame. Otherwise ``strip_h = even(height // 5)``,
  input ``main`` gets ``(0, 0, width, height - strip_h)``, and the ``k = n - 1`` others,
  in order, ``thumb_w = even(min(width // k, strip_h * 16 // 9))``,
  ``sx = even((width - k * thumb_w) // 2)``, cell
  ``(sx + j * thumb_w, height - strip_h, thumb_w, strip_h)``.
* A cell narrower or lower than 2 draws nothing.
* Aspect fit of ``(w, h)`` into ``(cx, cy, cw, ch)``: if ``w * ch <= h * cw``,
  ``th = ch, tw = even(w * ch // h)``, else ``tw = cw, th = even(h * cw // w)``; then
  both at least 2; tile at ``(cx + even((cw - tw) // 2), cy + even((ch - th) // 2))``.
* Y scales ``(w, h) -> (tw, th)`` at ``(x, y)``; U and V scale
  ``((w + 1) // 2, (h + 1) // 2) -> (tw / 2, th / 2)`` at ``(x / 2, y / 2)``.
* Bilinear, per axis from ``S`` to ``D``: ``pos = ((2d + 1) * S * 65536) // (2D) - 32768``
  clamped to ``[0, (S - 1) * 65536]``, ``i0 = pos >> 16``, ``i1 = min(i0 + 1, S - 1)``,
  ``wgt = (pos >> 8) & 255``. Horizontal ``h = src[i0] * (256 - wx) + src[i1] * wx``
  (not rounded); vertical ``(h_top * (256 - wy) + h_bottom * wy + 32768) >> 16``.
* Inputs are drawn in order; the rest is the background ``(Y, U, V)``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from zhanye_sdk.kernels._checks import describe

__all__ = ["MAX_INPUT_SIDE", "MAX_OUTPUT_SIDE", "Compositor", "composite_i420", "layout_cells"]

MAX_OUTPUT_SIDE = 8192
MAX_INPUT_SIDE = 65_536
_MAX_CACHED_TABLES = 512

Uint8Array = npt.NDArray[np.uint8]
Uint32Array = npt.NDArray[np.uint32]
Planes = tuple[Uint8Array, Uint8Array, Uint8Array]
Rect = tuple[int, int, int, int]
_Table = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], Uint32Array]

_LAYOUTS = ("grid", "speaker")
_NOTHING: Rect = (0, 0, 0, 0)


def _even(v: int) -> int:
    return v & ~1


def _side(name: str, value: int) -> int:
    v = operator.index(value)
    if v < 2 or v > MAX_OUTPUT_SIDE or v % 2:
        raise ValueError(f"{name} must be an even number in 2..={MAX_OUTPUT_SIDE}, got {v}")
    return v


def _layout(layout: object) -> str:
    if not isinstance(layout, str) or layout not in _LAYOUTS:
        raise ValueError(f'layout must be "grid" or "speaker", got {layout!r}')
    return layout


def _background(background: object) -> tuple[int, int, int]:
    try:
        parts = [operator.index(c) for c in background]  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        parts = []
    if len(parts) != 3 or not all(0 <= c <= 255 for c in parts):
        raise ValueError(
            f"background must be three components (Y, U, V) in 0..=255, got {background!r}"
        )
    return parts[0], parts[1], parts[2]


def _main(main: int, inputs: int) -> int:
    main = operator.index(main)
    if inputs and not 0 <= main < inputs:
        raise ValueError(f"main is {main}; expected an input index with 0 <= main < {inputs}")
    return main if inputs else 0


def _cells(n: int, layout: str, width: int, height: int, main: int) -> list[Rect]:
    cells: list[Rect] = [_NOTHING] * n
    if n == 0:
        return cells
    if layout == "grid":
        cols = 1
        while cols * cols < n:
            cols += 1
        rows = -(-n // cols)
        cell_w, cell_h = _even(width // cols), _even(height // rows)
        x0 = _even((width - cols * cell_w) // 2)
        y0 = _even((height - rows * cell_h) // 2)
        for i in range(n):
            r, c = divmod(i, cols)
            k = cols if (r + 1) * cols <= n else n - r * cols
            offset = _even((cols - k) * cell_w // 2)
            cells[i] = (x0 + offset + c * cell_w, y0 + r * cell_h, cell_w, cell_h)
    elif n == 1:
        cells[0] = (0, 0, width, height)
    else:
        strip_h = _even(height // 5)
        cells[main] = (0, 0, width, height - strip_h)
        k = n - 1
        thumb_w = _even(min(width // k, strip_h * 16 // 9))
        sx = _even((width - k * thumb_w) // 2)
        others = [i for i in range(n) if i != main]
        for j, i in enumerate(others):
            cells[i] = (sx + j * thumb_w, height - strip_h, thumb_w, strip_h)
    return [cell if cell[2] >= 2 and cell[3] >= 2 else _NOTHING for cell in cells]


def _fit(w: int, h: int, cell: Rect) -> Rect:
    cx, cy, cw, ch = cell
    if cw < 2 or ch < 2:
        return _NOTHING
    if w * ch <= h * cw:
        tw, th = _even(w * ch // h), ch
    else:
        tw, th = cw, _even(h * cw // w)
    tw, th = max(tw, 2), max(th, 2)
    return cx + _even((cw - tw) // 2), cy + _even((ch - th) // 2), tw, th


def _tiles(
    sizes: Sequence[tuple[int, int]], layout: str, width: int, height: int, main: int
) -> list[Rect]:
    cells = _cells(len(sizes), layout, width, height, main)
    return [_fit(w, h, cell) for (w, h), cell in zip(sizes, cells, strict=True)]


def layout_cells(
    sizes: Sequence[tuple[int, int]],
    layout: str,
    width: int,
    height: int,
    *,
    main: int = 0,
) -> list[Rect]:
    """Each input's tile ``(x, y, w, h)`` in a ``width x height`` frame.

    Args:
        sizes: the inputs' ``(w, h)``, each side in ``1..=65536``.
        layout: ``"grid"`` or ``"speaker"``.
        width, height: even output sides in ``2..=8192``.
        main: the speaker's input index (checked in both layouts when there are inputs).

    Returns:
        One rectangle per input after the aspect fit, ``(0, 0, 0, 0)`` when not drawn.

    Raises:
        ValueError: a side, the layout, a size or ``main`` is out of range.
    """
    width, height = _side("width", width), _side("height", height)
    layout = _layout(layout)
    try:
        items = list(sizes)
    except TypeError:
        raise ValueError(
            f"sizes must be a sequence of (w, h) pairs, got {describe(sizes)}"
        ) from None
    pairs: list[tuple[int, int]] = []
    for index, item in enumerate(items):
        try:
            w, h = (operator.index(v) for v in item)
        except (TypeError, ValueError):
            w = h = 0
        if not (1 <= w <= MAX_INPUT_SIDE and 1 <= h <= MAX_INPUT_SIDE):
            raise ValueError(
                f"sizes[{index}] must be a (w, h) pair with 1 <= w, h <= {MAX_INPUT_SIDE}, "
                f"got {item!r}"
            )
        pairs.append((w, h))
    main = _main(main, len(pairs))
    return _tiles(pairs, layout, width, height, main)


def _plane(value: object, index: int, name: str, shape: str) -> Uint8Array:
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 2:
        raise ValueError(
            f"inputs[{index}] {name} must be a numpy array of dtype uint8 and shape {shape}, "
            f"got {describe(value)}"
        )
    if value.shape[1] > 1 and value.strides[1] != 1:
        raise ValueError(
            f"inputs[{index}] {name} must have a contiguous inner dimension (any row stride "
            f"is fine), got strides ({value.strides[0]}, {value.strides[1]})"
        )
    return value


def _frames(inputs: object) -> list[Planes]:
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence | np.ndarray):
        raise ValueError(f"inputs must be a sequence of (Y, U, V) tuples, got {describe(inputs)}")
    frames: list[Planes] = []
    chroma = "((h + 1) // 2, (w + 1) // 2)"
    for index, item in enumerate(inputs):
        if isinstance(item, str | bytes) or not isinstance(item, Sequence) or len(item) != 3:
            raise ValueError(
                f"inputs[{index}] must be a (Y, U, V) tuple of uint8 planes, got {describe(item)}"
            )
        y = _plane(item[0], index, "Y", "(h, w)")
        u = _plane(item[1], index, "U", chroma)
        v = _plane(item[2], index, "V", chroma)
        h, w = y.shape
        if not (1 <= h <= MAX_INPUT_SIDE and 1 <= w <= MAX_INPUT_SIDE):
            raise ValueError(
                f"inputs[{index}] Y must have shape (h, w) with 1 <= h, w <= {MAX_INPUT_SIDE}, "
                f"got ({h}, {w})"
            )
        expected = ((h + 1) // 2, (w + 1) // 2)
        for name, plane in (("U", u), ("V", v)):
            if plane.shape != expected:
                got = plane.shape
                raise ValueError(
                    f"inputs[{index}] {name} must have shape ({expected[0]}, {expected[1]}) "
                    f"for a Y of shape ({h}, {w}), got ({got[0]}, {got[1]})"
                )
        frames.append((y, u, v))
    return frames


def _out(out: object, width: int, height: int, frames: list[Planes]) -> Planes:
    shapes = (
        ("Y", (height, width)),
        ("U", (height // 2, width // 2)),
        ("V", (height // 2, width // 2)),
    )
    if out is None:
        y, u, v = (np.empty(shape, dtype=np.uint8) for _, shape in shapes)
        return y, u, v
    if isinstance(out, str | bytes) or not isinstance(out, Sequence) or len(out) != 3:
        raise ValueError(
            f"out must be a (Y, U, V) tuple of three uint8 arrays, got {describe(out)}"
        )
    for k, (part, (name, (h, w))) in enumerate(zip(out, shapes, strict=True)):
        if (
            not isinstance(part, np.ndarray)
            or part.dtype != np.uint8
            or part.shape != (h, w)
            or not part.flags.c_contiguous
        ):
            raise ValueError(
                f"out[{k}] ({name}) must be a C-contiguous numpy array of dtype uint8 and "
                f"shape ({h}, {w}), got {describe(part)}"
            )
    planes = [p for frame in frames for p in frame]
    for k, part in enumerate(out):
        others = [o for j, o in enumerate(out) if j != k]
        if not part.flags.writeable or any(np.may_share_memory(part, p) for p in planes + others):
            raise ValueError("out must be writeable and not share memory with the inputs")
    y, u, v = out
    return y, u, v


def _axis(src: int, dst: int) -> _Table:
    d = np.arange(dst, dtype=np.int64)
    pos = ((2 * d + 1) * src * 65_536) // (2 * dst) - 32_768
    pos = np.clip(pos, 0, (src - 1) * 65_536)
    i0 = pos >> 16
    i1 = np.minimum(i0 + 1, src - 1)
    wgt = ((pos >> 8) & 255).astype(np.uint32)
    return i0.astype(np.intp), i1.astype(np.intp), wgt


class Compositor:
    """Composites I420 frames into one frame, caching its scaling tables between calls.

    One compositor serves one stream of frames (a recorder keeps one per recording); the
    index/weight tables are kept per (source size, destination size).
    """

    def __init__(self) -> None:
        self._tables: dict[tuple[int, int], _Table] = {}

    def _table(self, src: int, dst: int) -> _Table:
        table = self._tables.get((src, dst))
        if table is None:
            if len(self._tables) >= _MAX_CACHED_TABLES:
                self._tables.clear()
            table = self._tables[(src, dst)] = _axis(src, dst)
        return table

    def _scale(self, src: Uint8Array, dst: Uint8Array, x: int, y: int, w: int, h: int) -> None:
        i0x, i1x, wx = self._table(src.shape[1], w)
        i0y, i1y, wy = self._table(src.shape[0], h)
        # uint32 throughout: the horizontal sums reach 65280, the vertical ones 2**24.
        top, bottom = src[i0y].astype(np.uint32), src[i1y].astype(np.uint32)
        h_top: Uint32Array = top[:, i0x] * (256 - wx) + top[:, i1x] * wx
        h_bottom: Uint32Array = bottom[:, i0x] * (256 - wx) + bottom[:, i1x] * wx
        blended: Uint32Array = h_top * (256 - wy)[:, None] + h_bottom * wy[:, None]
        dst[y : y + h, x : x + w] = (blended + 32_768) >> 16

    def composite(
        self,
        inputs: Sequence[Planes],
        layout: str,
        width: int,
        height: int,
        background: Sequence[int] = (16, 128, 128),
        *,
        main: int = 0,
        out: Planes | None = None,
    ) -> Planes:
        """Composite ``inputs`` into a ``width x height`` I420 frame; see `composite_i420`."""
        width, height = _side("width", width), _side("height", height)
        layout = _layout(layout)
        fill = _background(background)
        frames = _frames(inputs)
        main = _main(main, len(frames))
        planes = _out(out, width, height, frames)
        for plane, value in zip(planes, fill, strict=True):
            plane.fill(value)
        sizes = [(f[0].shape[1], f[0].shape[0]) for f in frames]
        for frame, (x, y, w, h) in zip(
            frames, _tiles(sizes, layout, width, height, main), strict=True
        ):
            if w == 0:
                continue
            self._scale(frame[0], planes[0], x, y, w, h)
            for src, dst in zip(frame[1:], planes[1:], strict=True):
                self._scale(src, dst, x // 2, y // 2, w // 2, h // 2)
        return planes


def composite_i420(
    inputs: Sequence[Planes],
    layout: str,
    width: int,
    height: int,
    background: Sequence[int] = (16, 128, 128),
    *,
    main: int = 0,
    out: Planes | None = None,
) -> Planes:
    """Composite I420 frames ``(Y, U, V)`` into one ``width x height`` I420 frame.

    Args:
        inputs: frames as uint8 planes, Y of shape ``(h, w)`` and U, V of shape
            ``((h + 1) // 2, (w + 1) // 2)``; rows may have any stride, samples in a
            row must be contiguous.
        layout: ``"grid"`` or ``"speaker"`` (input ``main`` large, the others below).
        width, height: even output sides in ``2..=8192``.
        background: the ``(Y, U, V)`` of everything no tile covers.
        main: the speaker's input index, checked when there are inputs.
        out: C-contiguous ``(Y, U, V)`` arrays of shapes ``(height, width)`` and
            ``(height // 2, width // 2)`` to write into instead of new ones.

    Returns:
        The output planes ``(Y, U, V)`` (``out`` itself when given).

    Raises:
        ValueError: an argument is out of range or a plane has the wrong dtype or shape.
    """
    return Compositor().composite(inputs, layout, width, height, background, main=main, out=out)
