"""The video compositor: native and numpy twin agree bit for bit and composite as specified."""

from __future__ import annotations

import re
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import zhanye_sdk
from zhanye_sdk.kernels import composite as twin

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


def i420(rng: np.random.Generator, w: int, h: int, view: str = "contiguous") -> Planes:
    """Random I420 planes of a (w, h) frame; ``view`` picks how rows are laid out in memory."""
    shapes = [(h, w), ((h + 1) // 2, (w + 1) // 2), ((h + 1) // 2, (w + 1) // 2)]
    planes = []
    for rows, cols in shapes:
        if view == "padded":  # a plane inside a wider buffer, as decoders hand them out
            plane = rng.integers(0, 256, (rows, cols + 13), dtype=np.uint8)[:, :cols]
        elif view == "flipped":  # negative row stride
            plane = rng.integers(0, 256, (rows, cols), dtype=np.uint8)[::-1]
        elif view == "every-other-row":
            plane = rng.integers(0, 256, (2 * rows, cols), dtype=np.uint8)[::2]
        else:
            plane = rng.integers(0, 256, (rows, cols), dtype=np.uint8)
        planes.append(plane)
    return planes[0], planes[1], planes[2]


def uniform(w: int, h: int, colour: tuple[int, int, int]) -> Planes:
    cw, ch = (w + 1) // 2, (h + 1) // 2
    return (
        np.full((h, w), colour[0], np.uint8),
        np.full((ch, cw), colour[1], np.uint8),
        np.full((ch, cw), colour[2], np.uint8),
    )


def backend(name: str, native: ModuleType) -> ModuleType:
    return native if name == "native" else twin


BACKENDS = pytest.mark.parametrize("name", ["native", "twin"])

side = st.sampled_from([1, 2, 3, 5, 16, 17, 64, 100]) | st.integers(1, 220)
even_side = st.sampled_from([2, 4, 6, 16, 100]) | st.integers(1, 200).map(lambda v: 2 * v)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, object]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(0, 12))
    views = st.sampled_from(["contiguous", "padded", "flipped", "every-other-row"])
    inputs = [i420(rng, draw(side), draw(side), draw(views)) for _ in range(n)]
    return {
        "inputs": inputs,
        "layout": draw(st.sampled_from(["grid", "speaker"])),
        "width": draw(even_side),
        "height": draw(even_side),
        "background": tuple(draw(st.integers(0, 255)) for _ in range(3)),
        "main": draw(st.integers(0, n - 1)) if n else 0,
    }


def sizes_of(inputs: list[Planes]) -> list[tuple[int, int]]:
    return [(y.shape[1], y.shape[0]) for y, _, _ in inputs]


def assert_same(got: Planes, want: Planes) -> None:
    assert len(got) == 3
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.uint8 and g.flags.c_contiguous
        np.testing.assert_array_equal(g, w)


@given(requests())
def test_native_composite_equals_twin(native: ModuleType, request: dict) -> None:
    got = native.composite_i420(**request)
    want = twin.composite_i420(**request)
    h, w = request["height"], request["width"]
    assert [p.shape for p in got] == [(h, w), (h // 2, w // 2), (h // 2, w // 2)]
    assert_same(got, want)


@given(requests())
def test_layout_cells_agree_and_match_where_pixels_land(native: ModuleType, request: dict) -> None:
    inputs, layout = request["inputs"], request["layout"]
    w, h, main = request["width"], request["height"], request["main"]
    sizes = sizes_of(inputs)
    rects = native.layout_cells(sizes, layout, w, h, main=main)
    assert rects == twin.layout_cells(sizes, layout, w, h, main=main)
    # Every input a distinct flat colour, the background another: each rectangle holds
    # exactly its input's colour and nothing outside the rectangles is touched.
    colours = [(10 + 20 * i, 30 + 15 * i, 240 - 17 * i) for i in range(len(inputs))]
    flat = [uniform(sw, sh, c) for (sw, sh), c in zip(sizes, colours, strict=True)]
    background = (255, 1, 2)
    out = native.composite_i420(flat, layout, w, h, background, main=main)
    covered = np.zeros((h, w), bool)
    for (x, y, tw, th), colour in zip(rects, colours, strict=True):
        if tw == 0:
            assert (x, y, th) == (0, 0, 0)
            continue
        assert tw >= 2 and th >= 2 and x % 2 == 0 and y % 2 == 0 and tw % 2 == 0 and th % 2 == 0
        assert x + tw <= w and y + th <= h
        assert not covered[y : y + th, x : x + tw].any(), "tiles overlap"
        covered[y : y + th, x : x + tw] = True
        assert (out[0][y : y + th, x : x + tw] == colour[0]).all()
        cy, cx = slice(y // 2, (y + th) // 2), slice(x // 2, (x + tw) // 2)
        assert (out[1][cy, cx] == colour[1]).all() and (out[2][cy, cx] == colour[2]).all()
    assert (out[0][~covered] == background[0]).all()
    chroma_covered = covered[::2, ::2]
    assert (out[1][~chroma_covered] == background[1]).all()
    assert (out[2][~chroma_covered] == background[2]).all()


def reference_scale(src: np.ndarray, dw: int, dh: int) -> np.ndarray:
    """The bilinear arithmetic of the spec, one sample at a time, in Python integers."""
    sh, sw = src.shape

    def taps(s: int, d: int, i: int) -> tuple[int, int, int]:
        pos = ((2 * i + 1) * s * 65536) // (2 * d) - 32768
        pos = min(max(pos, 0), (s - 1) * 65536)
        i0 = pos >> 16
        return i0, min(i0 + 1, s - 1), (pos >> 8) & 255

    out = np.zeros((dh, dw), np.uint8)
    for y in range(dh):
        r0, r1, wy = taps(sh, dh, y)
        for x in range(dw):
            c0, c1, wx = taps(sw, dw, x)
            top = int(src[r0, c0]) * (256 - wx) + int(src[r0, c1]) * wx
            bottom = int(src[r1, c0]) * (256 - wx) + int(src[r1, c1]) * wx
            out[y, x] = (top * (256 - wy) + bottom * wy + 32768) >> 16
    return out


@BACKENDS
@given(
    seed=st.integers(0, 2**32 - 1), w=side.filter(lambda v: v < 60), h=side.filter(lambda v: v < 60)
)
def test_one_input_is_scaled_by_the_specified_bilinear(
    name: str, native: ModuleType, seed: int, w: int, h: int
) -> None:
    impl = backend(name, native)
    rng = np.random.default_rng(seed)
    frame = i420(rng, w, h)
    out_w, out_h = 2 * int(rng.integers(1, 40)), 2 * int(rng.integers(1, 40))
    [(x, y, tw, th)] = impl.layout_cells([(w, h)], "speaker", out_w, out_h)
    got = impl.composite_i420([frame], "speaker", out_w, out_h)
    np.testing.assert_array_equal(got[0][y : y + th, x : x + tw], reference_scale(frame[0], tw, th))
    cx, cy = x // 2, y // 2
    expected_u = reference_scale(frame[1], tw // 2, th // 2)
    np.testing.assert_array_equal(got[1][cy : cy + th // 2, cx : cx + tw // 2], expected_u)


@BACKENDS
def test_worked_layouts(name: str, native: ModuleType) -> None:
    impl = backend(name, native)
    nine = impl.layout_cells([(640, 360)] * 9, "grid", 1280, 720)
    assert nine[0] == (0, 0, 426, 238) and nine[4] == (426, 240, 426, 238)
    # Three in a 2x2 grid: the last row's single tile is centred.
    assert impl.layout_cells([(640, 360)] * 3, "grid", 1280, 720) == [
        (0, 0, 640, 360),
        (640, 0, 640, 360),
        (320, 360, 640, 360),
    ]
    speaker = impl.layout_cells([(640, 360)] * 3, "speaker", 1280, 720, main=1)
    # Main letterboxed into 1280x576; two 256x144 thumbnails centred in the strip.
    assert speaker == [(384, 576, 256, 144), (128, 0, 1024, 576), (640, 576, 256, 144)]
    # A portrait input is pillarboxed; a cell smaller than 2 pixels draws nothing.
    assert impl.layout_cells([(360, 640)], "grid", 1280, 720) == [(438, 0, 404, 720)]
    assert impl.layout_cells([(4, 4)] * 5, "grid", 4, 4)[0] == (0, 0, 0, 0)
    assert impl.layout_cells([], "grid", 2, 2) == []


@BACKENDS
def test_same_size_tiles_are_exact_copies(name: str, native: ModuleType) -> None:
    impl = backend(name, native)
    rng = np.random.default_rng(1)
    inputs = [i420(rng, 64, 36, "padded") for _ in range(4)]
    y, u, v = impl.composite_i420(inputs, "grid", 128, 72)
    for i, (iy, iu, iv) in enumerate(inputs):
        r, c = divmod(i, 2)
        np.testing.assert_array_equal(y[36 * r : 36 * (r + 1), 64 * c : 64 * (c + 1)], iy)
        np.testing.assert_array_equal(u[18 * r : 18 * (r + 1), 32 * c : 32 * (c + 1)], iu)
        np.testing.assert_array_equal(v[18 * r : 18 * (r + 1), 32 * c : 32 * (c + 1)], iv)


@BACKENDS
def test_strided_views_give_the_same_frame_as_copies(name: str, native: ModuleType) -> None:
    impl = backend(name, native)
    rng = np.random.default_rng(2)
    views = [i420(rng, w, h, view) for w, h, view in [(99, 57, "padded"), (640, 360, "flipped")]]
    copies = [tuple(np.ascontiguousarray(p) for p in frame) for frame in views]
    assert_same(
        impl.composite_i420(views, "speaker", 320, 240),
        impl.composite_i420(copies, "speaker", 320, 240),
    )


@BACKENDS
def test_compositor_reuse_matches_fresh_calls(name: str, native: ModuleType) -> None:
    impl = backend(name, native)
    rng = np.random.default_rng(3)
    compositor = impl.Compositor()
    calls = [
        ([i420(rng, 640, 360) for _ in range(3)], "grid", 640, 360, 0),
        ([i420(rng, 320, 180), i420(rng, 641, 359)], "speaker", 640, 360, 1),
        ([i420(rng, 640, 360) for _ in range(3)], "grid", 640, 360, 0),
        ([i420(rng, 17, 9)], "grid", 64, 64, 0),
        ([i420(rng, 640, 360) for _ in range(3)], "speaker", 320, 180, 2),
    ]
    for inputs, layout, w, h, main in calls:
        assert_same(
            compositor.composite(inputs, layout, w, h, main=main),
            impl.composite_i420(inputs, layout, w, h, main=main),
        )


@BACKENDS
def test_out_is_filled_in_place(name: str, native: ModuleType) -> None:
    impl = backend(name, native)
    rng = np.random.default_rng(4)
    inputs = [i420(rng, 100, 60) for _ in range(2)]
    out = (
        np.zeros((90, 160), np.uint8),
        np.zeros((45, 80), np.uint8),
        np.zeros((45, 80), np.uint8),
    )
    result = impl.composite_i420(inputs, "grid", 160, 90, (0, 255, 7), out=out)
    assert all(r is o for r, o in zip(result, out, strict=True))
    assert_same(out, impl.composite_i420(inputs, "grid", 160, 90, (0, 255, 7)))
    assert (out[2] == 7).any()


def test_large_frame_runs_without_the_gil(native: ModuleType) -> None:
    # 1280x720 crosses the threshold where the GIL is released; the twin must agree.
    rng = np.random.default_rng(5)
    inputs = [i420(rng, 640, 360) for _ in range(6)] + [i420(rng, 1920, 1080, "padded")]
    for layout in ("grid", "speaker"):
        assert_same(
            native.composite_i420(inputs, layout, 1280, 720, main=6),
            twin.composite_i420(inputs, layout, 1280, 720, main=6),
        )


def test_public_api_picks_the_active_backend() -> None:
    rng = np.random.default_rng(6)
    inputs = [i420(rng, 30, 20)]
    assert_same(
        zhanye_sdk.Compositor().composite(inputs, "grid", 60, 40),
        zhanye_sdk.composite_i420(inputs, "grid", 60, 40),
    )
    assert zhanye_sdk.layout_cells([(30, 20)], "grid", 60, 40) == [(0, 0, 60, 40)]


GOOD = i420(np.random.default_rng(7), 8, 6)
BAD_REQUESTS: list[tuple[dict[str, object], str]] = [
    ({"width": 7}, "width must be an even number in 2..=8192"),
    ({"width": 0}, "width must be an even number"),
    ({"height": 8194}, "height must be an even number in 2..=8192"),
    ({"layout": "mosaic"}, 'layout must be "grid" or "speaker"'),
    ({"background": (16, 128, 256)}, "background must be three components"),
    ({"background": (16, 128)}, "background must be three components"),
    ({"main": 2}, "main is 2; expected an input index with 0 <= main < 2"),
    ({"main": -1}, "main is -1"),
    ({"inputs": [GOOD, GOOD[:2]]}, "inputs[1] must be a (Y, U, V) tuple"),
    (
        {"inputs": [(GOOD[0].astype(np.int16), *GOOD[1:])]},
        "inputs[0] Y must be a numpy array of dtype uint8 and shape (h, w)",
    ),
    (
        {"inputs": [(GOOD[0], GOOD[1][0], GOOD[2])]},
        "inputs[0] U must be a numpy array of dtype uint8",
    ),
    (
        {"inputs": [(GOOD[0], GOOD[1], GOOD[1][:, :3])]},
        "inputs[0] V must have shape (3, 4) for a Y of shape (6, 8)",
    ),
    (
        {"inputs": [(GOOD[0].T, GOOD[1], GOOD[2])]},
        "inputs[0] Y must have a contiguous inner dimension",
    ),
    (
        {"inputs": [uniform(4, 4, (1, 2, 3)), (GOOD[0][:0], GOOD[1][:0], GOOD[2][:0])]},
        "inputs[1] Y must have shape (h, w) with 1 <= h, w",
    ),
    ({"out": (np.zeros((6, 8), np.uint8),)}, "out must be a (Y, U, V) tuple"),
    (
        {
            "out": (
                np.zeros((40, 64), np.uint8),
                np.zeros((20, 32), np.uint8),
                np.zeros((20, 31), np.uint8),
            )
        },
        "out[2] (V) must be a C-contiguous numpy array of dtype uint8 and shape (20, 32)",
    ),
    (
        {
            "out": (
                np.zeros((40, 64), np.int16),
                np.zeros((20, 32), np.uint8),
                np.zeros((20, 32), np.uint8),
            )
        },
        "out[0] (Y) must be",
    ),
    (
        {
            "out": (
                np.zeros((64, 40), np.uint8).T,
                np.zeros((20, 32), np.uint8),
                np.zeros((20, 32), np.uint8),
            )
        },
        "C-contiguous",
    ),
]


@BACKENDS
@pytest.mark.parametrize(("change", "needle"), BAD_REQUESTS)
def test_bad_input_raises_value_error_naming_what_is_expected(
    name: str, native: ModuleType, change: dict[str, object], needle: str
) -> None:
    impl = backend(name, native)
    request: dict[str, object] = {
        "inputs": [GOOD, GOOD],
        "layout": "grid",
        "width": 64,
        "height": 40,
        "background": (16, 128, 128),
        "main": 0,
        **change,
    }
    for call in (impl.composite_i420, impl.Compositor().composite):
        with pytest.raises(ValueError, match=re.escape(needle)):
            call(**request)


@BACKENDS
def test_out_sharing_memory_with_an_input_is_refused(name: str, native: ModuleType) -> None:
    impl = backend(name, native)
    out = (np.zeros((40, 64), np.uint8), np.zeros((20, 32), np.uint8), np.zeros((20, 32), np.uint8))
    inside = (out[0][:6, :8], out[1][:3, :4], out[2][:3, :4])  # the output's own memory
    with pytest.raises(ValueError, match="share memory"):
        impl.composite_i420([inside], "grid", 64, 40, out=out)


@BACKENDS
@pytest.mark.parametrize(
    ("sizes", "layout", "needle"),
    [
        ([(0, 5)], "grid", "sizes[0] must be a (w, h) pair with 1 <= w, h"),
        ([(5, 5, 5)], "grid", "sizes[0] must be a (w, h) pair"),
        ([(5, 5)], "tiles", 'layout must be "grid" or "speaker"'),
    ],
)
def test_layout_cells_rejects_bad_sizes(
    name: str, native: ModuleType, sizes: list, layout: str, needle: str
) -> None:
    impl = backend(name, native)
    with pytest.raises(ValueError, match=re.escape(needle)):
        impl.layout_cells(sizes, layout, 64, 40)
    with pytest.raises(ValueError, match=re.escape("main is 1")):
        impl.layout_cells([(5, 5)], "grid", 64, 40, main=1)
