"""The resampler: native and numpy twin agree bit for bit, stream exactly, and filter well."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import zhanye_sdk
from zhanye_sdk.kernels import resample as twin

RATES = (8_000, 16_000, 48_000)
PAIRS = [(a, b) for a in RATES for b in RATES]
CONVERSIONS = [(a, b) for a, b in PAIRS if a != b]


def backends(native: ModuleType) -> dict[str, ModuleType]:
    return {"native": native, "twin": twin}


def expected_length(n: int, from_hz: int, to_hz: int) -> int:
    g = math.gcd(from_hz, to_hz)
    return -(-n * (to_hz // g) // (from_hz // g))


extreme = st.sampled_from([-32_768, 32_767, 0, -1, 1])
sample = st.integers(-32_768, 32_767) | extreme
signals = hnp.arrays(
    np.int16, st.sampled_from([0, 1, 2, 960]) | st.integers(0, 3_000), elements=sample
)
# Square-ish waves at full scale drive the filter towards its largest sums.
loud = st.builds(
    lambda n, period, lo: np.where(np.arange(n) // period % 2 == 0, 32_767, lo).astype(np.int16),
    st.integers(0, 3_000),
    st.integers(1, 40),
    st.sampled_from([-32_768, 0]),
)


def split(signal: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    """Cut ``signal`` at ``cuts`` (clipped and sorted), keeping empty pieces."""
    points = sorted(min(c, signal.size) for c in cuts)
    return [signal[a:b] for a, b in zip([0, *points], [*points, signal.size], strict=True)]


@given(signals | loud, st.sampled_from(PAIRS))
def test_native_resample_equals_twin(native: ModuleType, signal: np.ndarray, pair: tuple) -> None:
    got = native.resample(signal, *pair)
    assert got.dtype == np.int16
    assert got.size == expected_length(signal.size, *pair)
    np.testing.assert_array_equal(got, twin.resample(signal, *pair))


@given(signals | loud, st.sampled_from(PAIRS), st.lists(st.integers(0, 3_000), max_size=12))
def test_any_chunking_gives_the_whole_buffer_output(
    native: ModuleType, signal: np.ndarray, pair: tuple, cuts: list[int]
) -> None:
    whole = twin.resample(signal, *pair)
    for impl in backends(native).values():
        resampler = impl.Resampler(*pair)
        pieces = [resampler.process(np.ascontiguousarray(c)) for c in split(signal, cuts)]
        np.testing.assert_array_equal(np.concatenate([np.zeros(0, np.int16), *pieces]), whole)
        resampler.reset()
        np.testing.assert_array_equal(resampler.process(signal), whole)


@pytest.mark.parametrize("pair", PAIRS)
def test_native_taps_equal_twin_taps(native: ModuleType, pair: tuple) -> None:
    native_taps = native.Resampler(*pair).taps
    twin_taps = twin.Resampler(*pair).taps
    assert native_taps.dtype == twin_taps.dtype == np.int32
    np.testing.assert_array_equal(native_taps, twin_taps)
    from_hz, to_hz = pair
    if from_hz == to_hz:
        np.testing.assert_array_equal(native_taps, [32_768])
    else:
        r = max(from_hz, to_hz) // math.gcd(from_hz, to_hz)
        assert native_taps.size == 2 * 12 * r + 1
        np.testing.assert_array_equal(native_taps, native_taps[::-1])


@pytest.mark.parametrize("backend", ["native", "twin"])
@pytest.mark.parametrize("pair", PAIRS)
def test_properties_and_identity(backend: str, native: ModuleType, pair: tuple) -> None:
    impl = backends(native)[backend]
    resampler = impl.Resampler(*pair)
    from_hz, to_hz = pair
    assert (resampler.from_hz, resampler.to_hz) == pair
    r = max(from_hz, to_hz) // math.gcd(from_hz, to_hz)
    down = from_hz // math.gcd(from_hz, to_hz)
    assert resampler.delay == (0.0 if from_hz == to_hz else 12 * r / down)
    assert repr(resampler) == f"Resampler(from_hz={from_hz}, to_hz={to_hz})"
    if from_hz == to_hz:
        signal = np.arange(-500, 500, dtype=np.int16) * 65
        out = impl.resample(signal, from_hz, to_hz)
        np.testing.assert_array_equal(out, signal)
        assert out is not signal and not np.shares_memory(out, signal)


def tone(freq: float, rate: int, seconds: float, amplitude: float = 16_000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def settled(out: np.ndarray, delay: float) -> np.ndarray:
    """The output after the filter's start-up transient (twice the delay)."""
    return out[int(2 * delay) + 1 :].astype(np.float64)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x)))


def db(ratio: float) -> float:
    return 20 * math.log10(ratio)


@pytest.mark.parametrize("backend", ["native", "twin"])
def test_1khz_at_48k_to_16k_keeps_frequency_and_level(backend: str, native: ModuleType) -> None:
    impl = backends(native)[backend]
    signal = tone(1_000, 48_000, 0.5)
    resampler = impl.Resampler(48_000, 16_000)
    out = settled(resampler.process(signal), resampler.delay)
    window = np.hanning(out.size)
    spectrum = np.abs(np.fft.rfft(out * window))
    peak_hz = np.argmax(spectrum) * 16_000 / out.size
    assert abs(peak_hz - 1_000) < 16_000 / out.size
    assert abs(db(rms(out) / rms(settled(signal, 0)))) < 0.5


@pytest.mark.parametrize("backend", ["native", "twin"])
def test_10khz_at_48k_to_16k_is_attenuated_50db(backend: str, native: ModuleType) -> None:
    impl = backends(native)[backend]
    resampler = impl.Resampler(48_000, 16_000)
    out = settled(resampler.process(tone(10_000, 48_000, 0.5)), resampler.delay)
    # Without the filter the tone would alias to 6 kHz at about 11300 RMS.
    assert db(rms(out) / (16_000 / math.sqrt(2))) < -50


@pytest.mark.parametrize("backend", ["native", "twin"])
def test_1khz_at_8k_to_48k_keeps_level_and_adds_no_images(backend: str, native: ModuleType) -> None:
    impl = backends(native)[backend]
    resampler = impl.Resampler(8_000, 48_000)
    out = settled(resampler.process(tone(1_000, 8_000, 0.5)), resampler.delay)
    assert abs(db(rms(out) / (16_000 / math.sqrt(2)))) < 0.5
    # Zero-stuffing images of 1 kHz sit at 7 and 9 kHz; the filter must remove them.
    spectrum = np.abs(np.fft.rfft(out * np.hanning(out.size)))
    freqs = np.fft.rfftfreq(out.size, 1 / 48_000)
    assert spectrum[freqs > 4_000].max() < spectrum.max() * 10 ** (-50 / 20)


@pytest.mark.parametrize("backend", ["native", "twin"])
@pytest.mark.parametrize("pair", CONVERSIONS)
def test_output_is_delayed_by_the_stated_delay(
    backend: str, native: ModuleType, pair: tuple
) -> None:
    impl = backends(native)[backend]
    from_hz, to_hz = pair
    resampler = impl.Resampler(from_hz, to_hz)
    signal = tone(300, from_hz, 0.2)
    out = resampler.process(signal).astype(np.float64)
    t = (np.arange(out.size) - resampler.delay) / to_hz
    ideal = 16_000 * np.sin(2 * np.pi * 300 * t)
    keep = slice(int(2 * resampler.delay) + 1, None)
    assert np.abs(out[keep] - ideal[keep]).max() < 40


@pytest.mark.parametrize("backend", ["native", "twin"])
@pytest.mark.parametrize("pair", PAIRS)
def test_full_scale_input_saturates_instead_of_wrapping(
    backend: str, native: ModuleType, pair: tuple
) -> None:
    impl = backends(native)[backend]
    period = max(pair) // min(pair) * 8
    signal = np.where(np.arange(4_000) // period % 2 == 0, 32_767, -32_768).astype(np.int16)
    resampler = impl.Resampler(*pair)
    out = resampler.process(signal)
    # The Gibbs overshoot of a full-scale square wave must clip at the rails...
    assert out.max() == 32_767 and out.min() == -32_768
    # ...and never wrap: a wrapped sum is a lone sample of the wrong sign mid-plateau.
    positive = out[int(2 * resampler.delay) + 1 :] >= 0
    runs = np.diff(np.flatnonzero(np.diff(positive)))
    assert runs.size > 10
    assert runs.min() >= period * pair[1] // pair[0] // 2


@pytest.mark.parametrize("backend", ["native", "twin"])
@pytest.mark.parametrize("pair", PAIRS)
def test_output_length_is_ceil_n_l_over_m(backend: str, native: ModuleType, pair: tuple) -> None:
    impl = backends(native)[backend]
    for n in (0, 1, 2, 5, 959, 960, 961):
        assert impl.resample(np.zeros(n, np.int16), *pair).size == expected_length(n, *pair)


@pytest.mark.parametrize("backend", ["native", "twin"])
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            (np.zeros(4, np.int16), 44_100, 16_000),
            "from_hz must be one of 8000, 16000, 48000, got 44100",
        ),
        ((np.zeros(4, np.int16), 16_000, 0), "to_hz must be one of 8000, 16000, 48000, got 0"),
        ((np.zeros(4, np.int16), 2**70, 16_000), f"got {2**70}"),
        ((np.zeros(4, np.float32), 16_000, 8_000), "dtype int16 and shape (S,)"),
        ((np.zeros(4, np.int32), 16_000, 8_000), "dtype int16 and shape (S,)"),
        ((np.zeros((2, 4), np.int16), 16_000, 8_000), "dtype int16 and shape (S,)"),
        (([1, 2, 3], 16_000, 8_000), "dtype int16 and shape (S,)"),
        ((np.zeros(8, np.int16)[::2], 16_000, 8_000), "C-contiguous"),
    ],
)
def test_bad_input_raises_value_error_naming_what_is_expected(
    backend: str, native: ModuleType, args: tuple, needle: str
) -> None:
    impl = backends(native)[backend]
    with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(")", r"\)")) as info:
        impl.resample(*args)
    if "C-contiguous" in needle:
        assert "int16" in str(info.value) and "(S,)" in str(info.value)
    samples, from_hz, to_hz = args
    try:
        resampler = impl.Resampler(from_hz, to_hz)
    except ValueError as err:
        assert str(err) == str(info.value)
    else:
        with pytest.raises(ValueError, match="chunk must be"):
            resampler.process(samples)


@pytest.mark.parametrize("backend", ["native", "twin"])
def test_non_integer_rate_is_a_type_error(backend: str, native: ModuleType) -> None:
    impl = backends(native)[backend]
    with pytest.raises(TypeError):
        impl.Resampler(16_000.0, 8_000)
    assert impl.Resampler(np.int64(16_000), np.int32(8_000)).to_hz == 8_000


@pytest.mark.parametrize("pair", CONVERSIONS)
def test_long_input_matches_twin_across_blocks_and_without_the_gil(
    native: ModuleType, pair: tuple
) -> None:
    # Long enough that the native call releases the GIL and the twin works in several
    # blocks of outputs (every conversion produces more than 16384 samples).
    rng = np.random.default_rng(11)
    signal = rng.integers(-32_768, 32_767, size=110_000, dtype=np.int16)
    whole = twin.resample(signal, *pair)
    np.testing.assert_array_equal(native.resample(signal, *pair), whole)
    resampler = twin.Resampler(*pair)
    halves = [resampler.process(signal[:54_321]), resampler.process(signal[54_321:])]
    np.testing.assert_array_equal(np.concatenate(halves), whole)


def test_public_api_uses_the_selected_backend() -> None:
    signal = tone(440, 16_000, 0.1)
    np.testing.assert_array_equal(
        zhanye_sdk.resample(signal, 16_000, 48_000), twin.resample(signal, 16_000, 48_000)
    )
    resampler = zhanye_sdk.Resampler(16_000, 48_000)
    assert type(resampler).__module__.startswith(
        "zhanye_sdk._native" if zhanye_sdk.native_backend() == "native" else "zhanye_sdk.kernels"
    )
