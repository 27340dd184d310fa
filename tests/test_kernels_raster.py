"""The stroke rasterizer: native and numpy twin agree bit for bit and draw what a user expects."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk import _backend
from zhanye_sdk.kernels import raster as twin

BACKENDS = pytest.mark.parametrize("name", ["native", "twin"])


def backend(name: str, native: ModuleType) -> Any:
    return native.draw_strokes if name == "native" else twin.draw_strokes


def batch(
    strokes: list[tuple[list[tuple[int, int]], int, tuple[int, int, int], int]],
) -> tuple[Any, ...]:
    points = np.array([p for s in strokes for p in s[0]], dtype=np.int32).reshape(-1, 2)
    offsets = np.cumsum([0] + [len(s[0]) for s in strokes]).astype(np.int64)
    widths = np.array([s[1] for s in strokes], dtype=np.int32)
    colours = np.array([s[2] for s in strokes], dtype=np.uint8).reshape(-1, 3)
    tools = np.array([s[3] for s in strokes], dtype=np.uint8)
    return points, offsets, widths, colours, tools


coord = st.integers(-40 * 256, 140 * 256) | st.integers(-(1 << 22), 1 << 22)
stroke = st.tuples(
    st.lists(st.tuples(coord, coord), min_size=1, max_size=12),
    st.integers(1, 40 * 256),
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    st.integers(0, 1),
)


@given(
    strokes=st.lists(stroke, min_size=0, max_size=8),
    w=st.integers(1, 120),
    h=st.integers(1, 90),
    seed=st.integers(0, 2**32 - 1),
)
def test_native_equals_twin(
    native: ModuleType, strokes: list[Any], w: int, h: int, seed: int
) -> None:
    background = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    args = batch(strokes)
    a, b = background.copy(), background.copy()
    native.draw_strokes(a, *args)
    twin.draw_strokes(b, *args)
    np.testing.assert_array_equal(a, b)


@BACKENDS
def test_a_line_is_drawn_with_soft_edges_and_round_caps(name: str, native: ModuleType) -> None:
    image = np.full((40, 100, 3), 255, np.uint8)
    # A 6 px red line from (20, 20.25) to (80, 20.25).
    y = 20 * 256 + 64
    line = [(20 * 256, y), (80 * 256, y)]
    backend(name, native)(image, *batch([(line, 6 * 256, (255, 0, 0), 0)]))
    assert tuple(image[20, 50]) == (255, 0, 0)  # the middle is solid red
    assert tuple(image[5, 50]) == (255, 255, 255)  # far away untouched
    edge = image[23, 50]  # the edge row is blended, neither white nor red
    assert edge[0] == 255 and 0 < edge[1] < 255
    assert tuple(image[20, 81]) == (255, 0, 0)  # round cap past the end point
    assert tuple(image[20, 85]) == (255, 255, 255)


@BACKENDS
def test_highlighter_multiplies_so_text_stays_readable(name: str, native: ModuleType) -> None:
    image = np.full((20, 20, 3), 255, np.uint8)
    image[10, :] = 0  # a black "text" line under the highlighter
    backend(name, native)(
        image, *batch([([(0, 10 * 256), (20 * 256, 10 * 256)], 8 * 256, (255, 230, 0), 1)])
    )
    assert tuple(image[8, 10]) == (255, 230, 0)  # white paper turns yellow
    assert tuple(image[10, 10]) == (0, 0, 0)  # the text stays black
    # A highlighter crossing itself does not get darker where it overlaps.
    again = np.full((30, 30, 3), 255, np.uint8)
    pts = [(5 * 256, 15 * 256), (25 * 256, 15 * 256), (5 * 256, 15 * 256)]
    backend(name, native)(again, *batch([(pts, 6 * 256, (255, 230, 0), 1)]))
    assert tuple(again[15, 10]) == (255, 230, 0)


@BACKENDS
def test_bad_arguments_name_what_was_expected(name: str, native: ModuleType) -> None:
    draw = backend(name, native)
    points, offsets, widths, colours, tools = batch([([(0, 0)], 256, (0, 0, 0), 0)])
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="image must be a numpy array of dtype uint8"):
        draw(np.zeros((4, 4, 3), np.float32), points, offsets, widths, colours, tools)
    with pytest.raises(ValueError, match="points must be a numpy array of dtype int32"):
        draw(image, points.astype(np.int64), offsets, widths, colours, tools)
    with pytest.raises(ValueError, match="Q8 widths must be"):
        draw(image, points, offsets, np.zeros(1, np.int32), colours, tools)
    with pytest.raises(ValueError, match="offsets must have S \\+ 1 = 2 entries"):
        draw(image, points, offsets[:1], widths, colours, tools)
    with pytest.raises(ValueError, match="tools are 0 \\(pen\\) or 1"):
        draw(image, points, offsets, widths, colours, np.array([7], np.uint8))
    with pytest.raises(ValueError, match="coordinates must be within"):
        draw(image, np.array([[1 << 23, 0]], np.int32), offsets, widths, colours, tools)
    assert not image.any()


def test_backend_binds_one_of_them() -> None:
    assert _backend.draw_strokes in (
        twin.draw_strokes,
        getattr(_backend.load_native(), "draw_strokes", None),
    )
