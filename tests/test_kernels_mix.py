"""The mixer: native and numpy twin agree bit for bit, and both mix as specified."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zhanye_sdk.kernels import mix as twin

UNITY = 32_768


@st.composite
def frames_and_gains(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 40))
    s = draw(st.sampled_from([0, 1, 7, 160, 960]) | st.integers(0, 50))
    extreme = st.sampled_from([-32_768, 32_767, 0, -1, 1])
    # Speech-level frames keep the sums inside int16, where the native mix-minus takes
    # its 16-bit path; full-scale ones overflow it and take the 32-bit path.
    level = draw(st.sampled_from([32_767, 1_000]))
    values = st.integers(-level - 1, level) | extreme
    frames = draw(hnp.arrays(np.int16, (n, s), elements=values))
    gain = st.integers(0, twin.MAX_GAIN_Q15) | st.sampled_from([0, UNITY, twin.MAX_GAIN_Q15])
    gains = draw(hnp.arrays(np.int32, (n,), elements=gain))
    return frames, gains


@given(frames_and_gains(), st.booleans())
def test_native_mix_equals_twin(native: ModuleType, fg: tuple, soft: bool) -> None:
    frames, gains = fg
    np.testing.assert_array_equal(
        native.mix(frames, gains, soft_limit=soft), twin.mix(frames, gains, soft_limit=soft)
    )


@given(frames_and_gains(), st.booleans())
def test_native_mix_minus_equals_twin(native: ModuleType, fg: tuple, soft: bool) -> None:
    frames, gains = fg
    got = native.mix_minus(frames, gains, soft_limit=soft)
    assert got.shape == frames.shape
    np.testing.assert_array_equal(got, twin.mix_minus(frames, gains, soft_limit=soft))


@given(frames_and_gains())
def test_mix_minus_row_is_the_mix_of_everyone_else(fg: tuple) -> None:
    frames, gains = fg
    import zhanye_sdk

    minus = zhanye_sdk.mix_minus(frames, gains)
    for i in range(frames.shape[0]):
        others = np.delete(np.arange(frames.shape[0]), i)
        expected = zhanye_sdk.mix(
            np.ascontiguousarray(frames[others]), np.ascontiguousarray(gains[others])
        )
        np.testing.assert_array_equal(minus[i], expected)


@given(hnp.arrays(np.int32, st.integers(0, 300), elements=st.integers(-(2**31), 2**31 - 1)))
def test_soft_knee_native_equals_twin(native: ModuleType, levels: np.ndarray) -> None:
    np.testing.assert_array_equal(native.soft_knee(levels), twin.soft_knee(levels))


@pytest.mark.parametrize("backend", ["native", "twin"])
def test_mix_worked_example(backend: str, native: ModuleType) -> None:
    impl = native if backend == "native" else twin
    frames = np.array([[1000, -3, 30_000], [1000, 3, 30_000], [5, 5, 5]], dtype=np.int16)
    gains = np.array([UNITY, UNITY // 2, 0], dtype=np.int32)
    # -3 + (3 * 0.5 rounded half up to 2) == -1; 60000 clamps once, at the end.
    np.testing.assert_array_equal(impl.mix(frames, gains), [1500, -1, 32_767])
    soft = impl.mix(frames, gains, soft_limit=True)
    assert 24_576 < soft[2] < 32_767
    np.testing.assert_array_equal(soft[:2], [1500, -1])


@pytest.mark.parametrize("backend", ["native", "twin"])
def test_mute_is_gain_zero_and_out_is_filled_in_place(backend: str, native: ModuleType) -> None:
    impl = native if backend == "native" else twin
    frames = np.full((2, 960), 1234, dtype=np.int16)
    out = np.empty(960, dtype=np.int16)
    result = impl.mix(frames, np.array([0, UNITY], dtype=np.int32), out=out)
    assert result is out
    assert (out == 1234).all()
    minus = np.empty((2, 960), dtype=np.int16)
    assert impl.mix_minus(frames, np.array([UNITY, 0], dtype=np.int32), out=minus) is minus
    assert (minus[0] == 0).all() and (minus[1] == 1234).all()


@pytest.mark.parametrize("backend", ["native", "twin"])
@pytest.mark.parametrize(
    ("frames", "gains", "needle"),
    [
        (np.zeros((2, 4), np.float32), np.zeros(2, np.int32), "dtype int16"),
        (np.zeros(4, np.int16), np.zeros(1, np.int32), "shape (N, S)"),
        (np.zeros((2, 4), np.int16), np.zeros(3, np.int32), "one per source"),
        (np.zeros((2, 4), np.int16), np.zeros(2, np.int64), "dtype int32"),
        (np.zeros((1, 4), np.int16), np.array([-1], np.int32), "0..=65536"),
        (np.zeros((1, 4), np.int16), np.array([65_537], np.int32), "0..=65536"),
        (np.zeros((4, 2), np.int16).T, np.zeros(2, np.int32), "C-contiguous"),
    ],
)
def test_bad_input_raises_value_error_naming_what_is_expected(
    backend: str, native: ModuleType, frames: object, gains: object, needle: str
) -> None:
    impl = native if backend == "native" else twin
    for fn in (impl.mix, impl.mix_minus):
        with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(")", r"\)")):
            fn(frames, gains)


def test_large_mix_runs_without_the_gil(native: ModuleType) -> None:
    # 256 sources x 960 samples crosses the threshold where the GIL is released;
    # the result must still be the twin's.
    rng = np.random.default_rng(7)
    frames = rng.integers(-32_768, 32_767, size=(256, 960), dtype=np.int16)
    gains = rng.integers(0, 65_536, size=256, dtype=np.int32)
    np.testing.assert_array_equal(native.mix_minus(frames, gains), twin.mix_minus(frames, gains))
