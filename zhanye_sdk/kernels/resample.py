"""Audio resampling, numpy twin of ``zhanye_sdk_native/src/resample.rs`` (see its header).

Converts int16 mono between 8000, 16000 and 48000 Hz with a polyphase windowed-sinc
filter, bit for bit like the Rust module:

* ``g = gcd(from, to)``, ``L = to // g`` (up), ``M = from // g`` (down), ``R = max(L, M)``.
  From a rate to itself the filter is the single tap 32768: an exact copy, delay 0.
* Filter design on Python floats, one IEEE operation at a time in the same order as the
  Rust code (no numpy ufuncs, which could differ in the last bit): ``Z = 12`` zero
  crossings per side, ``N = 2 Z R + 1`` taps centred on ``c = Z R``, ``fc = 0.45 / R``,
  Kaiser window with ``beta = 7``;
  ``h[k] = (L * (2 fc)) * sinc(2 fc (k - c)) * w[k]``,
  ``w[k] = I0(beta * sqrt(1 - r * r)) / I0(beta)``, ``r = (k - c) / c``, ``I0`` summed
  over 31 terms (``term_k = term_{k-1} * (x/2)^2 / (k k)``). ``2 fc (k - c)`` is the
  rational ``p / q`` with ``p = 9 (k - c)``, ``q = 10 R``; ``sin(pi p / q)`` reduces ``p``
  modulo ``2q`` and folds it into ``[0, q/2]`` in integers, then evaluates a 14-term Taylor
  series in Horner form on ``t = pi p' / q``. Taps are ``q15 = floor(h * 32768 + 0.5)``.
* Output ``m`` uses ``t = m M``, phase ``p = t mod L``, input ``i = t div L``:
  ``y[m] = saturate_int16((sum_j q15[p + j L] * x[i - j] + 2**14) >> 15)`` with ``x`` zero
  before the first input. After ``n`` inputs exactly ``ceil(n L / M)`` outputs exist,
  whatever the chunking; the group delay is ``c / M`` output samples.

The sums are exact here (integers far below 2**53 in float64) and in Rust (i32, proved
not to overflow), so both backends agree to the bit.
"""

from __future__ import annotations

import functools
import math
import operator
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from zhanye_sdk.kernels._checks import array

RATES = (8_000, 16_000, 48_000)
ZERO_CROSSINGS = 12
KAISER_BETA = 7.0
SINE_TERMS = 14
BESSEL_TERMS = 30
LANES = 16
# Outputs computed per block: bounds the float64 copy of the input windows of one block.
_BLOCK = 1 << 14

Int16Array = npt.NDArray[np.int16]

__all__ = ["Resampler", "resample"]


def _rate(value: SupportsIndex, name: str) -> int:
    hz = operator.index(value)
    if hz not in RATES:
        raise ValueError(f"{name} must be one of 8000, 16000, 48000, got {hz}")
    return hz


def sin_pi_ratio(p: int, q: int) -> float:
    """``sin(pi * p / q)`` for integers ``p`` and ``q > 0``, exactly as ``resample.rs``."""
    p %= 2 * q
    negative = p >= q
    if negative:
        p -= q
    if 2 * p > q:
        p = q - p
    t = math.pi * p / q
    t2 = t * t
    s = 1.0
    for n in range(SINE_TERMS - 1, 0, -1):
        d = float(2 * n * (2 * n + 1))
        s = 1.0 - t2 / d * s
    v = t * s
    return -v if negative else v


def bessel_i0(x: float) -> float:
    """The modified Bessel function ``I0`` by its series, exactly as ``resample.rs``."""
    half = x / 2.0
    y = half * half
    term = 1.0
    total = 1.0
    for k in range(1, BESSEL_TERMS + 1):
        term = term * y / float(k * k)
        total += term
    return total


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _factors(from_hz: int, to_hz: int) -> tuple[int, int]:
    g = math.gcd(from_hz, to_hz)
    return to_hz // g, from_hz // g


@functools.cache
def _taps(from_hz: int, to_hz: int) -> tuple[int, ...]:
    # Cached per rate pair (nine at most): the design loop costs about a millisecond.
    if from_hz == to_hz:
        return (1 << 15,)
    up, down = _factors(from_hz, to_hz)
    r = max(up, down)
    n = 2 * ZERO_CROSSINGS * r + 1
    c = ZERO_CROSSINGS * r
    fc = 0.45 / float(r)
    gain = float(up) * (2.0 * fc)
    i0_beta = bessel_i0(KAISER_BETA)
    q = 10 * r
    taps: list[int] = []
    for k in range(n):
        d = k - c
        if d == 0:
            s = 1.0
        else:
            p = 9 * d
            s = sin_pi_ratio(p, q) / (math.pi * p / q)
        rr = float(d) / float(c)
        w = bessel_i0(KAISER_BETA * math.sqrt(1.0 - rr * rr)) / i0_beta
        h = gain * s * w
        taps.append(math.floor(h * 32768.0 + 0.5))
    return tuple(taps)


@functools.cache
def _phases(from_hz: int, to_hz: int) -> npt.NDArray[np.float64]:
    """``L`` rows of reversed taps, zero-padded at the front like the Rust phases.

    Kept as float64 so the dot products run in BLAS; they stay exact (see ``_filter``).
    """
    taps = _taps(from_hz, to_hz)
    up, _ = _factors(from_hz, to_hz)
    span = 1 if from_hz == to_hz else _ceil_div(_ceil_div(len(taps), up), LANES) * LANES
    phases = np.zeros((up, span), dtype=np.float64)
    for p in range(up):
        row = np.array(taps[p::up], dtype=np.float64)
        phases[p, span - row.size :] = row[::-1]
    phases.flags.writeable = False
    return phases


class Resampler:
    """A streaming int16 mono resampler between 8000, 16000 and 48000 Hz.

    Feeding a signal in chunks of any length (empty ones included) gives, concatenated,
    exactly the output of one call on the whole signal.

    Args:
        from_hz: input rate, one of 8000, 16000, 48000.
        to_hz: output rate, one of 8000, 16000, 48000.

    Raises:
        ValueError: a rate is not one of the three.
        TypeError: a rate is not an integer.
    """

    __slots__ = (
        "_consumed",
        "_down",
        "_from_hz",
        "_history",
        "_phases",
        "_produced",
        "_to_hz",
        "_up",
    )

    def __init__(self, from_hz: int, to_hz: int) -> None:
        self._from_hz = _rate(from_hz, "from_hz")
        self._to_hz = _rate(to_hz, "to_hz")
        self._up, self._down = _factors(self._from_hz, self._to_hz)
        self._phases = _phases(self._from_hz, self._to_hz)
        self._history = np.zeros(self._phases.shape[1] - 1, dtype=np.int16)
        self._consumed = 0
        self._produced = 0

    def __repr__(self) -> str:
        return f"Resampler(from_hz={self._from_hz}, to_hz={self._to_hz})"

    @property
    def from_hz(self) -> int:
        """The input rate in Hz."""
        return self._from_hz

    @property
    def to_hz(self) -> int:
        """The output rate in Hz."""
        return self._to_hz

    @property
    def delay(self) -> float:
        """Group delay of the filter in output samples (0.0 from a rate to itself)."""
        return ((len(_taps(self._from_hz, self._to_hz)) - 1) // 2) / self._down

    @property
    def taps(self) -> npt.NDArray[np.int32]:
        """The Q15 filter taps, a fresh int32 array of length ``N``."""
        return np.array(_taps(self._from_hz, self._to_hz), dtype=np.int32)

    def reset(self) -> None:
        """Forget all input: back to the state of a new resampler."""
        self._history[:] = 0
        self._consumed = 0
        self._produced = 0

    def process(self, chunk: Int16Array) -> Int16Array:
        """Resample the next chunk: int16 of shape (S,) in, int16 of shape (K,) out.

        ``K`` is ``ceil(n * L / M)`` minus what earlier calls returned, ``n`` being all
        the input so far.

        Raises:
            ValueError: ``chunk`` is not a C-contiguous int16 array of shape (S,).
        """
        x = _samples(chunk, "chunk")
        up, down = self._up, self._down
        consumed = self._consumed + x.size
        end = _ceil_div(consumed * up, down)
        count = end - self._produced
        if self._from_hz == self._to_hz:
            y = x.copy()
        else:
            y = self._filter(x, count)
        self._consumed = consumed
        self._produced = end
        return y

    def _filter(self, x: Int16Array, count: int) -> Int16Array:
        span = self._phases.shape[1]
        buffer = np.concatenate([self._history, x])
        # float64 is exact here: every product is below 2**30 and every partial sum
        # below 2**31, far from 2**53, whatever order BLAS adds them in.
        wide = buffer.astype(np.float64)
        if self._down == 1 and count:
            acc = self._upsample(wide, count)
        else:
            acc = self._phase_by_phase(wide, count)
        self._history = buffer[buffer.size - (span - 1) :].copy()
        q = (acc.astype(np.int64) + (1 << 14)) >> 15
        y: Int16Array = np.maximum(np.minimum(q, 32_767), -32_768).astype(np.int16)
        return y

    def _windows(
        self, wide: npt.NDArray[np.float64], first: int, n: int, stride: int
    ) -> npt.NDArray[np.float64]:
        """``n`` contiguous windows of ``span`` inputs, starting every ``stride`` inputs."""
        item = wide.itemsize
        view = np.ndarray(
            (n, self._phases.shape[1]),
            dtype=np.float64,
            buffer=wide,
            offset=first * item,
            strides=(stride * item, item),
        )
        windows: npt.NDArray[np.float64] = np.ascontiguousarray(view)
        return windows

    def _upsample(self, wide: npt.NDArray[np.float64], count: int) -> npt.NDArray[np.float64]:
        # M = 1: the L outputs of input i are that window times every phase, so one
        # matrix product per block gives them all, already in output order.
        up = self._up
        first = self._produced // up - self._consumed
        last = (self._produced + count - 1) // up - self._consumed
        rows = last - first + 1
        table = np.empty(rows * up, dtype=np.float64)
        for b in range(0, rows, _BLOCK):
            n = min(_BLOCK, rows - b)
            block = self._windows(wide, first + b, n, 1) @ self._phases.T
            table[b * up : (b + n) * up] = block.ravel()
        skip = self._produced % up
        acc: npt.NDArray[np.float64] = table[skip : skip + count]
        return acc

    def _phase_by_phase(self, wide: npt.NDArray[np.float64], count: int) -> npt.NDArray[np.float64]:
        up, down = self._up, self._down
        acc = np.empty(count, dtype=np.float64)
        for k in range(min(up, count)):
            # Outputs m = produced + k + j L share one phase, and their windows start
            # every M inputs: a strided view of the buffer, no gather.
            t = (self._produced + k) * down
            phase, first = t % up, t // up - self._consumed
            rows = len(range(k, count, up))
            for b in range(0, rows, _BLOCK):
                n = min(_BLOCK, rows - b)
                windows = self._windows(wide, first + b * down, n, down)
                acc[k + b * up : k + (b + n) * up : up] = windows @ self._phases[phase]
        return acc


def _samples(value: object, name: str) -> Int16Array:
    if (
        isinstance(value, np.ndarray)
        and value.dtype == np.int16
        and value.ndim == 1
        and not value.flags.c_contiguous
    ):
        raise ValueError(
            f"{name} must be C-contiguous: a numpy array of dtype int16 and shape (S,)"
        )
    samples: Int16Array = array(value, name, np.int16, 1, "(S,)")
    return samples


def resample(samples: Int16Array, from_hz: int, to_hz: int) -> Int16Array:
    """Resample a whole int16 mono signal: ``Resampler(from_hz, to_hz).process(samples)``.

    Raises:
        ValueError: a rate is not one of 8000, 16000, 48000, or ``samples`` is not a
            C-contiguous int16 array of shape (S,).
    """
    resampler = Resampler(from_hz, to_hz)
    return resampler.process(_samples(samples, "samples"))
