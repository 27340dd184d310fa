"""The beauty filter (美颜): native and numpy twin agree bit for bit, and the filter smooths
skin while keeping edges and leaving everything that is not skin untouched."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.kernels import beauty as twin

BACKENDS = pytest.mark.parametrize("name", ["native", "twin"])

SKIN_U, SKIN_V = 110, 150


def backend(name: str, native: ModuleType) -> Any:
    return native.beauty_i420 if name == "native" else twin.beauty_i420


def high_frequency(plane: np.ndarray) -> float:
    """Mean squared Laplacian: the energy of fine detail and noise."""
    p = plane.astype(np.float64)
    lap = 4 * p[1:-1, 1:-1] - p[:-2, 1:-1] - p[2:, 1:-1] - p[1:-1, :-2] - p[1:-1, 2:]
    return float(np.mean(lap**2))


def portrait(seed: int = 1, h: int = 120, w: int = 160) -> tuple[np.ndarray, ...]:
    """Left half noisy skin, right half sharp grey stripes (not skin)."""
    rng = np.random.default_rng(seed)
    y = np.empty((h, w), dtype=np.uint8)
    y[:, : w // 2] = np.clip(165 + rng.normal(0, 8, (h, w // 2)), 0, 255).astype(np.uint8)
    stripes = np.where((np.arange(w - w // 2) // 8) % 2 == 0, 40, 220).astype(np.uint8)
    y[:, w // 2 :] = stripes
    u = np.full(((h + 1) // 2, (w + 1) // 2), 128, dtype=np.uint8)
    v = u.copy()
    u[:, : w // 4] = SKIN_U
    v[:, : w // 4] = SKIN_V
    return y, u, v


chroma_level = st.sampled_from([SKIN_U, SKIN_V, 77, 127, 133, 173, 76, 174, 128]) | st.integers(
    0, 255
)


@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    strength=st.integers(0, 255),
    brighten=st.integers(0, 255),
    skin=st.floats(0, 1),
)
def test_native_equals_twin(
    native: ModuleType, h: int, w: int, seed: int, strength: int, brighten: int, skin: float
) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    if seed % 2:
        y = np.clip(150 + rng.normal(0, 12, (h, w)), 0, 255).astype(np.uint8)
    shape = ((h + 1) // 2, (w + 1) // 2)
    is_skin = rng.random(shape) < skin
    u = np.where(is_skin, rng.integers(77, 128, shape), rng.integers(0, 256, shape))
    v = np.where(is_skin, rng.integers(133, 174, shape), rng.integers(0, 256, shape))
    u, v = u.astype(np.uint8), v.astype(np.uint8)
    a = native.beauty_i420(y, u, v, strength, brighten)
    b = twin.beauty_i420(y, u, v, strength, brighten)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint8 and a.shape == (h, w)


def test_native_equals_twin_on_a_vga_portrait(native: ModuleType) -> None:
    y, u, v = portrait(h=480, w=640)
    for strength, brighten in [(255, 0), (128, 60), (1, 255)]:
        np.testing.assert_array_equal(
            native.beauty_i420(y, u, v, strength, brighten),
            twin.beauty_i420(y, u, v, strength, brighten),
        )


@BACKENDS
def test_skin_is_smoothed_and_edges_elsewhere_keep_their_gradient(
    native: ModuleType, name: str
) -> None:
    y, u, v = portrait()
    out = backend(name, native)(y, u, v, 255)
    skin_before, skin_after = high_frequency(y[:, 4:76]), high_frequency(out[:, 4:76])
    assert skin_after < 0.3 * skin_before, (skin_before, skin_after)
    # Not skin: untouched, so the stripes keep every edge.
    np.testing.assert_array_equal(out[:, 84:], y[:, 84:])
    # Mean level of skin is kept (smoothing, not darkening).
    assert abs(float(out[:, 4:76].mean()) - float(y[:, 4:76].mean())) < 1.5


@BACKENDS
def test_an_edge_inside_skin_stays_sharp(native: ModuleType, name: str) -> None:
    h, w = 64, 64
    y = np.full((h, w), 200, dtype=np.uint8)
    y[:, :32] = 90  # an eyebrow-like step of 110 levels inside skin
    u = np.full((32, 32), SKIN_U, dtype=np.uint8)
    v = np.full((32, 32), SKIN_V, dtype=np.uint8)
    out = backend(name, native)(y, u, v, 255)
    np.testing.assert_array_equal(out, y)


@BACKENDS
def test_strength_scales_the_effect_and_zero_is_identity(native: ModuleType, name: str) -> None:
    y, u, v = portrait(seed=3)
    run = backend(name, native)
    np.testing.assert_array_equal(run(y, u, v, 0), y)
    energies = [high_frequency(run(y, u, v, s)[:, 4:76]) for s in (0, 64, 160, 255)]
    assert energies == sorted(energies, reverse=True) and energies[0] > energies[-1]


@BACKENDS
def test_brightening_lifts_skin_only(native: ModuleType, name: str) -> None:
    y, u, v = portrait(seed=4)
    out = backend(name, native)(y, u, v, 0, 255)
    assert float(out[:, 4:76].mean()) > float(y[:, 4:76].mean()) + 10
    np.testing.assert_array_equal(out[:, 84:], y[:, 84:])


@BACKENDS
@pytest.mark.parametrize(
    ("y_shape", "uv_shape", "levels", "message"),
    [
        ((4, 4), (2, 3), (10, 0), "u and v must have shape (2, 2)"),
        ((5, 5), (2, 2), (10, 0), "u and v must have shape (3, 3)"),
        ((4, 4), (2, 2), (256, 0), "strength must be between 0 and 255"),
        ((4, 4), (2, 2), (10, -1), "brighten must be between 0 and 255"),
        ((0, 4), (0, 2), (10, 0), "y must have shape (H, W) with 1 <= H, W"),
    ],
)
def test_bad_input_is_refused_clearly(
    native: ModuleType,
    name: str,
    y_shape: tuple[int, int],
    uv_shape: tuple[int, int],
    levels: tuple[int, int],
    message: str,
) -> None:
    y = np.zeros(y_shape, dtype=np.uint8)
    uv = np.zeros(uv_shape, dtype=np.uint8)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        backend(name, native)(y, uv, uv, *levels)


@BACKENDS
def test_wrong_dtype_names_what_was_expected(native: ModuleType, name: str) -> None:
    y = np.zeros((4, 4), dtype=np.int16)
    uv = np.zeros((2, 2), dtype=np.uint8)
    with pytest.raises(ValueError, match="y must be a numpy array of dtype uint8"):
        backend(name, native)(y, uv, uv, 10)
