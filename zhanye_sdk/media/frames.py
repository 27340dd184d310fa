"""Conversions between PyAV/aiortc frames and the arrays the kernels take.

Audio travels through the SDK as int16 mono at the frame's rate; aiortc hands over
Opus audio as s16 *packed stereo*, which is downmixed here once, on ingest:
``(left + right) >> 1`` in int32 (floor, so it is exact and symmetric in both
backends). Video travels as I420 (yuv420p) planes; the planes of a yuv420p frame
are returned as views on the frame's own memory, without a copy.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

__all__ = [
    "I420Planes",
    "audio_frame_to_mono",
    "i420_to_video_frame",
    "mono_to_audio_frame",
    "video_frame_to_i420",
]

I420Planes = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]


def audio_frame_to_mono(frame: av.AudioFrame) -> npt.NDArray[np.int16]:
    """Return the frame's samples as int16 mono, downmixing stereo once.

    Mono s16 frames come back as a view on the frame's memory; stereo frames
    (packed ``s16`` or planar ``s16p``) are averaged into a new array.

    Raises:
        ValueError: the frame is not 16-bit, or has more than two channels.
    """
    fmt = frame.format.name
    channels = len(frame.layout.channels)
    samples = frame.samples
    if fmt not in ("s16", "s16p") or channels not in (1, 2):
        raise ValueError(
            f"expected an s16 or s16p frame with 1 or 2 channels, got {fmt} with {channels}"
        )
    if channels == 1:
        return np.frombuffer(memoryview(frame.planes[0]), dtype=np.int16, count=samples)
    if fmt == "s16":
        packed = np.frombuffer(memoryview(frame.planes[0]), dtype=np.int16, count=2 * samples)
        left, right = packed[0::2], packed[1::2]
    else:
        left = np.frombuffer(memoryview(frame.planes[0]), dtype=np.int16, count=samples)
        right = np.frombuffer(memoryview(frame.planes[1]), dtype=np.int16, count=samples)
    mixed = (left.astype(np.int32) + right.astype(np.int32)) >> 1
    return mixed.astype(np.int16)


def mono_to_audio_frame(
    samples: npt.NDArray[np.int16],
    sample_rate: int,
    *,
    pts: int | None = None,
    stereo: bool = False,
) -> av.AudioFrame:
    """Wrap int16 mono samples in an ``s16`` AudioFrame (mono, or duplicated to stereo).

    ``pts`` counts samples, with a time base of ``1/sample_rate``.
    """
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(
            f"samples must be int16 of shape (S,), got {samples.dtype} {samples.shape}"
        )
    if stereo:
        data = np.repeat(samples, 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
    else:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = sample_rate
    frame.time_base = Fraction(1, sample_rate)
    if pts is not None:
        frame.pts = pts
    return frame


def _plane_view(frame: av.VideoFrame, index: int) -> npt.NDArray[np.uint8]:
    plane = frame.planes[index]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8, count=plane.line_size * plane.height)
    return rows.reshape(plane.height, plane.line_size)[:, : plane.width]


def video_frame_to_i420(frame: av.VideoFrame) -> I420Planes:
    """Return the frame's Y, U and V planes (converting to yuv420p first if needed).

    For a yuv420p frame the planes are views on its memory: rows are contiguous, and
    the row stride is the frame's line size (the compositor takes such views as they are).
    """
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    return _plane_view(frame, 0), _plane_view(frame, 1), _plane_view(frame, 2)


def i420_to_video_frame(
    y: npt.NDArray[np.uint8],
    u: npt.NDArray[np.uint8],
    v: npt.NDArray[np.uint8],
    *,
    pts: int | None = None,
    time_base: Fraction | None = None,
) -> av.VideoFrame:
    """Copy I420 planes into a new yuv420p VideoFrame (one copy, row by row)."""
    height, width = y.shape
    chroma = ((height + 1) // 2, (width + 1) // 2)
    if u.shape != chroma or v.shape != chroma:
        raise ValueError(
            f"U and V must have shape {chroma} for a {width}x{height} Y plane, "
            f"got {u.shape} and {v.shape}"
        )
    frame = av.VideoFrame(width, height, "yuv420p")
    for index, source in enumerate((y, u, v)):
        _plane_view(frame, index)[...] = source
    if pts is not None:
        frame.pts = pts
    if time_base is not None:
        frame.time_base = time_base
    return frame
