"""zhanye-sdk: embeddable remote face-to-face selling.

The public API is what ``__all__`` names; everything else is internal.
"""

from __future__ import annotations

from zhanye_sdk._backend import (
    Compositor,
    Resampler,
    composite_i420,
    layout_cells,
    mix,
    mix_minus,
    native_backend,
    resample,
    soft_knee,
)
from zhanye_sdk.errors import (
    ConflictError,
    DeviceError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ProtocolError,
    ZhanyeError,
)
from zhanye_sdk.media.frames import (
    I420Planes,
    audio_frame_to_mono,
    i420_to_video_frame,
    mono_to_audio_frame,
    video_frame_to_i420,
)

__version__ = "0.1.0"

__all__ = [
    "Compositor",
    "ConflictError",
    "DeviceError",
    "I420Planes",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "ProtocolError",
    "Resampler",
    "ZhanyeError",
    "audio_frame_to_mono",
    "composite_i420",
    "i420_to_video_frame",
    "layout_cells",
    "mix",
    "mix_minus",
    "mono_to_audio_frame",
    "native_backend",
    "resample",
    "soft_knee",
    "video_frame_to_i420",
]
