"""Annotated pages as pictures: pressure drawn as width, the same on both rasterizers."""

from __future__ import annotations

import io
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from zhanye_sdk.kernels import raster as twin
from zhanye_sdk.whiteboard.core import PageSize, Stroke, Tool
from zhanye_sdk.whiteboard.render import pdf_bytes, png_bytes, pressure_level, render_page

PAGE = PageSize(1280, 720)


def pen(pressures: list[int], tool: Tool = Tool.PEN, width: int = 24) -> Stroke:
    """A horizontal stroke across the page at y = 360, one point every 100 units."""
    xs = range(140, 140 + 100 * len(pressures), 100)
    points = tuple(v for x, p in zip(xs, pressures, strict=True) for v in (x, 360, p))
    return Stroke("s", "ann", "d", 1, tool, "#1d4ed8", width, points)


def both(native: ModuleType, strokes: list[Stroke], **options: Any) -> np.ndarray:
    """The page rendered by the native rasterizer, asserted equal to the twin's."""
    by_native = render_page(PAGE, strokes, draw=native.draw_strokes, **options)
    by_twin = render_page(PAGE, strokes, draw=twin.draw_strokes, **options)
    assert np.array_equal(by_native, by_twin)
    return by_native


def thickness(picture: np.ndarray, x: int) -> int:
    """How many pixels of column ``x`` carry ink (not white)."""
    return int((picture[:, x] != 255).any(axis=1).sum())


RAMP = [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]


def test_pressure_widens_a_pen_stroke_on_both_rasterizers(native: ModuleType) -> None:
    flat = both(native, [pen([500] * len(RAMP))])
    pressed = both(native, [pen(RAMP)])
    assert not np.array_equal(flat, pressed)
    # The light end is thinner than the stroke's width, the heavy end wider, and the
    # unpressured stroke is its own width all along.
    light, heavy = thickness(pressed, 190), thickness(pressed, 1090)
    assert thickness(flat, 190) == thickness(flat, 1090) == thickness(flat, 640)
    assert light < thickness(flat, 190) < heavy
    assert abs(light - 24 * pressure_level(0, 100) / 16) <= 2
    assert abs(heavy - 24 * pressure_level(900, 1000) / 16) <= 2
    # Ink where the stroke runs: its colour in the middle of both.
    for picture in (flat, pressed):
        assert tuple(picture[360, 640]) == (0x1D, 0x4E, 0xD8)


def test_a_stroke_at_the_pressure_of_a_mouse_or_finger_draws_its_own_width(
    native: ModuleType,
) -> None:
    """Pressure 500 (what mice and fingers report) draws exactly what one polyline of
    the stroke's width draws: strokes made before pressure was drawn look the same."""
    stroke = pen([500, 500, 500, 500])
    picture = both(native, [stroke])
    direct = np.full((720, 1280, 3), 255, np.uint8)
    points = np.array([[x * 256, 360 * 256] for x in (140, 240, 340, 440)], dtype=np.int32)
    native.draw_strokes(
        direct,
        points,
        np.array([0, 4], dtype=np.int64),
        np.array([24 * 256], dtype=np.int32),
        np.array([[0x1D, 0x4E, 0xD8]], dtype=np.uint8),
        np.array([0], dtype=np.uint8),
    )
    assert np.array_equal(picture, direct)


def test_a_highlighter_keeps_one_width_whatever_the_pressure(native: ModuleType) -> None:
    flat = both(native, [pen([500] * len(RAMP), Tool.HIGHLIGHTER)])
    pressed = both(native, [pen(RAMP, Tool.HIGHLIGHTER)])
    assert np.array_equal(flat, pressed)


def test_pressure_levels() -> None:
    assert pressure_level(500, 500) == 16
    assert pressure_level(0, 0) == 8
    assert pressure_level(1000, 1000) == 24
    # One level per 62.5 of pressure: 17 levels from 0 to 1000.
    assert sorted({pressure_level(p, p) for p in range(1001)}) == list(range(8, 25))
    assert pressure_level(0, 1000) == pressure_level(500, 500)


strokes = st.lists(
    st.builds(
        lambda pts, tool, width, colour: Stroke(
            "s", "a", "d", 1, tool, colour, width, tuple(v for p in pts for v in p)
        ),
        st.lists(
            st.tuples(st.integers(-20, 340), st.integers(-20, 200), st.integers(0, 1000)),
            min_size=1,
            max_size=8,
        ),
        st.sampled_from(list(Tool)),
        st.integers(1, 40),
        st.sampled_from(["#e11d48", "#2563eb", "#16a34a", "#111827"]),
    ),
    max_size=5,
)


@settings(max_examples=40, deadline=None)
@given(strokes=strokes, width=st.integers(16, 200))
def test_pressured_pages_are_bit_identical_on_both_rasterizers(
    native: ModuleType, strokes: list[Stroke], width: int
) -> None:
    page = PageSize(320, 180)
    a = render_page(page, strokes, width=width, draw=native.draw_strokes)
    b = render_page(page, strokes, width=width, draw=twin.draw_strokes)
    assert np.array_equal(a, b)


def test_png_and_pdf_of_a_pressured_page(native: ModuleType) -> None:
    picture = both(native, [pen(RAMP)], width=640)
    decoded = np.array(Image.open(io.BytesIO(png_bytes(picture))).convert("RGB"))
    assert np.array_equal(decoded, picture)
    assert pdf_bytes([picture, picture]).startswith(b"%PDF")
    with pytest.raises(ValueError):
        pdf_bytes([])
