"""Input checks shared by the numpy twins; messages match the native module's."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def describe(value: object) -> str:
    """Describe what the caller passed, the way the native bindings do."""
    dtype = getattr(value, "dtype", None)
    shape = getattr(value, "shape", None)
    if dtype is not None and shape is not None:
        return f"dtype {dtype} and shape {shape}"
    return type(value).__name__


def array(value: object, name: str, dtype: type[Any], ndim: int, shape: str) -> npt.NDArray[Any]:
    """Return ``value`` as a C-contiguous array of ``dtype`` with ``ndim`` dimensions, uncopied.

    Raises:
        ValueError: the dtype or dimensionality is wrong, or the array is not C-contiguous.
    """
    if not isinstance(value, np.ndarray) or value.dtype != dtype or value.ndim != ndim:
        raise ValueError(
            f"{name} must be a numpy array of dtype {np.dtype(dtype).name} and shape {shape}, "
            f"got {describe(value)}"
        )
    if not value.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    return value
