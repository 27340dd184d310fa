"""The one place that imports the native extension ``zhanye_sdk._native``.

Every kernel is bound here once, at import: to the Rust implementation when the
extension is importable and ``ZHANYE_SDK_NATIVE`` is not ``0``, otherwise to its numpy
twin in ``zhanye_sdk.kernels``. Both give bit-identical results; the twin is slower.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from zhanye_sdk.kernels import aho as _aho_twin
from zhanye_sdk.kernels import beauty as _beauty_twin
from zhanye_sdk.kernels import composite as _composite_twin
from zhanye_sdk.kernels import intake as _intake_twin
from zhanye_sdk.kernels import jitter as _jitter_twin
from zhanye_sdk.kernels import mix as _mix_twin
from zhanye_sdk.kernels import mixbuffer as _mixbuffer_twin
from zhanye_sdk.kernels import opus_decode as _opus_decode_twin
from zhanye_sdk.kernels import opus_encode as _opus_encode_twin
from zhanye_sdk.kernels import raster as _raster_twin
from zhanye_sdk.kernels import red as _red_twin
from zhanye_sdk.kernels import resample as _resample_twin
from zhanye_sdk.kernels import rtp_receive as _rtp_receive_twin
from zhanye_sdk.kernels import rtp_send as _rtp_send_twin
from zhanye_sdk.kernels import srtp as _srtp_twin
from zhanye_sdk.kernels import tick_steps as _tick_steps_twin

__all__ = [
    "AdaptiveJitterBuffer",
    "AhoCorasick",
    "AudioIntake",
    "AudioReceiveLink",
    "AudioSendLink",
    "BackendName",
    "Compositor",
    "MixBuffers",
    "OpusPcmDecoder",
    "OpusPcmEncoder",
    "RedPacker",
    "Resampler",
    "SrtpContext",
    "beauty_i420",
    "composite_i420",
    "draw_strokes",
    "encode_send",
    "layout_cells",
    "load_native",
    "mix",
    "mix_minus",
    "native_backend",
    "release_into",
    "resample",
    "soft_knee",
]

BackendName = Literal["native", "numpy"]


def load_native() -> ModuleType | None:
    """Import the native extension whatever ``ZHANYE_SDK_NATIVE`` says; None if it is missing.

    Tests and benchmarks use this to compare the two backends in one process.
    """
    try:
        from zhanye_sdk import _native
    except ImportError:
        return None
    return _native


def _select() -> ModuleType | None:
    if os.environ.get("ZHANYE_SDK_NATIVE", "1").strip() == "0":
        return None
    return load_native()


_active = _select()


def native_backend() -> BackendName:
    """Name the kernels in use: ``"native"`` (Rust) or ``"numpy"`` (the pure twin)."""
    return "native" if _active is not None else "numpy"


if _active is not None:
    mix = _active.mix
    mix_minus = _active.mix_minus
    soft_knee = _active.soft_knee
    resample = _active.resample
    composite_i420 = _active.composite_i420
    layout_cells = _active.layout_cells
    draw_strokes = _active.draw_strokes
    # A native module built before the beauty kernel existed still imports (the twin
    # stands in) until it is rebuilt; the agreement tests fail on it meanwhile.
    beauty_i420 = getattr(_active, "beauty_i420", _beauty_twin.beauty_i420)
    release_into = getattr(_active, "release_into", _tick_steps_twin.release_into)
    encode_send = getattr(_active, "encode_send", _tick_steps_twin.encode_send)
else:
    mix = _mix_twin.mix
    mix_minus = _mix_twin.mix_minus
    soft_knee = _mix_twin.soft_knee
    resample = _resample_twin.resample
    composite_i420 = _composite_twin.composite_i420
    layout_cells = _composite_twin.layout_cells
    draw_strokes = _raster_twin.draw_strokes
    beauty_i420 = _beauty_twin.beauty_i420
    release_into = _tick_steps_twin.release_into
    encode_send = _tick_steps_twin.encode_send

# Classes are bound apart from the functions so that type checkers see a class: both
# backends' classes have the twin's interface (see ``_native.pyi``).
if TYPE_CHECKING:
    Resampler = _resample_twin.Resampler
    Compositor = _composite_twin.Compositor
    AhoCorasick = _aho_twin.AhoCorasick
    SrtpContext = _srtp_twin.SrtpContext
    AudioSendLink = _rtp_send_twin.AudioSendLink
    AudioReceiveLink = _rtp_receive_twin.AudioReceiveLink
    AdaptiveJitterBuffer = _jitter_twin.AdaptiveJitterBuffer
    AudioIntake = _intake_twin.AudioIntake
    OpusPcmDecoder = _opus_decode_twin.OpusPcmDecoder
    OpusPcmEncoder = _opus_encode_twin.OpusPcmEncoder
    MixBuffers = _mixbuffer_twin.MixBuffers
    RedPacker = _red_twin.RedPacker
else:
    Resampler = _active.Resampler if _active is not None else _resample_twin.Resampler
    Compositor = _active.Compositor if _active is not None else _composite_twin.Compositor
    AhoCorasick = _active.AhoCorasick if _active is not None else _aho_twin.AhoCorasick
    # The twin is libsrtp (pylibsrtp); a native module built before srtp.rs existed
    # still imports and leaves SRTP to it.
    SrtpContext = getattr(_active, "SrtpContext", _srtp_twin.SrtpContext)
    AudioSendLink = getattr(_active, "AudioSendLink", _rtp_send_twin.AudioSendLink)
    AudioReceiveLink = getattr(_active, "AudioReceiveLink", _rtp_receive_twin.AudioReceiveLink)
    AdaptiveJitterBuffer = getattr(
        _active, "AdaptiveJitterBuffer", _jitter_twin.AdaptiveJitterBuffer
    )
    AudioIntake = getattr(_active, "AudioIntake", _intake_twin.AudioIntake)
    OpusPcmDecoder = getattr(_active, "OpusPcmDecoder", _opus_decode_twin.OpusPcmDecoder)
    OpusPcmEncoder = getattr(_active, "OpusPcmEncoder", _opus_encode_twin.OpusPcmEncoder)
    MixBuffers = getattr(_active, "MixBuffers", _mixbuffer_twin.MixBuffers)
    RedPacker = getattr(_active, "RedPacker", _red_twin.RedPacker)
