"""Audio mixing, numpy twin of ``zhanye_sdk_native/src/mix.rs`` (see its header).

Gains are Q15 in ``0..=65536``; each term is ``(x * g + 2**14) >> 15`` in int32; terms
are summed in int32 and saturated once, by a clamp or by the soft knee.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zhanye_sdk.kernels._checks import array

__all__ = ["MAX_GAIN_Q15", "MAX_SOURCES", "SOFT_KNEE_THRESHOLD", "mix", "mix_minus", "soft_knee"]

MAX_SOURCES = 16_384
MAX_GAIN_Q15 = 65_536
SOFT_KNEE_THRESHOLD = 24_576

Int16Array = npt.NDArray[np.int16]


def soft_knee(levels: npt.NDArray[np.int32]) -> Int16Array:
    """Bring int32 levels into int16 with the soft knee of ``mix.rs``."""
    levels = array(levels, "levels", np.int32, 1, "(S,)")
    magnitude = np.abs(levels.astype(np.int64))
    t = SOFT_KNEE_THRESHOLD
    r = 32_767 - t
    excess = np.maximum(magnitude - t, 0)
    bent = np.where(magnitude <= t, magnitude, t + (excess * r) // (excess + r))
    return np.where(levels < 0, -bent, bent).astype(np.int16)


def _saturate(levels: npt.NDArray[np.int32], soft_limit: bool) -> Int16Array:
    if soft_limit:
        return soft_knee(np.ascontiguousarray(levels.reshape(-1))).reshape(levels.shape)
    return np.clip(levels, -32_768, 32_767).astype(np.int16)


def _checked(frames: object, gains_q15: object) -> tuple[Int16Array, npt.NDArray[np.int32]]:
    f = array(frames, "frames", np.int16, 2, "(N, S)")
    g = array(gains_q15, "gains_q15", np.int32, 1, "(N,)")
    n = f.shape[0]
    if n > MAX_SOURCES:
        raise ValueError(f"frames has {n} sources; at most {MAX_SOURCES} are supported")
    if g.shape[0] != n:
        raise ValueError(
            f"gains_q15 has {g.shape[0]} entries; expected one per source (shape ({n},))"
        )
    bad = np.flatnonzero((g < 0) | (g > MAX_GAIN_Q15))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"gains_q15[{i}] is {int(g[i])}; expected a Q15 gain in 0..={MAX_GAIN_Q15}"
        )
    return f, g


def _terms(frames: Int16Array, gains: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    return (frames.astype(np.int32) * gains[:, None] + (1 << 14)) >> 15


def _write(result: Int16Array, out: object, shape: tuple[int, ...]) -> Int16Array:
    if out is None:
        return result
    if not isinstance(out, np.ndarray) or out.dtype != np.int16:
        raise ValueError(
            f"out must be a numpy array of dtype int16 and shape {shape}, got "
            f"{getattr(out, 'dtype', type(out).__name__)}"
        )
    if out.shape != shape:
        raise ValueError(f"out must have shape {shape}, got {out.shape}")
    out[...] = result
    return out


def mix(
    frames: Int16Array,
    gains_q15: npt.NDArray[np.int32],
    *,
    out: Int16Array | None = None,
    soft_limit: bool = False,
) -> Int16Array:
    """Mix N int16 sources of S samples with Q15 gains into one int16 frame."""
    f, g = _checked(frames, gains_q15)
    total = _terms(f, g).sum(axis=0, dtype=np.int32)
    return _write(_saturate(total, soft_limit), out, (f.shape[1],))


def mix_minus(
    frames: Int16Array,
    gains_q15: npt.NDArray[np.int32],
    *,
    out: Int16Array | None = None,
    soft_limit: bool = False,
) -> Int16Array:
    """For every source, the mix of all other sources: int16 of shape (N, S)."""
    f, g = _checked(frames, gains_q15)
    terms = _terms(f, g)
    total = terms.sum(axis=0, dtype=np.int32)
    return _write(_saturate(total[None, :] - terms, soft_limit), out, f.shape)
