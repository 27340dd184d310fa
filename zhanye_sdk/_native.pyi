"""Type stub of the native extension built from ``zhanye_sdk_native`` (see ``_backend``)."""

import numpy as np
import numpy.typing as npt

def mix(
    frames: npt.NDArray[np.int16],
    gains_q15: npt.NDArray[np.int32],
    *,
    out: npt.NDArray[np.int16] | None = None,
    soft_limit: bool = False,
) -> npt.NDArray[np.int16]: ...
def mix_minus(
    frames: npt.NDArray[np.int16],
    gains_q15: npt.NDArray[np.int32],
    *,
    out: npt.NDArray[np.int16] | None = None,
    soft_limit: bool = False,
) -> npt.NDArray[np.int16]: ...
def soft_knee(levels: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]: ...
