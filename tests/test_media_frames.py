"""Frame glue: PyAV frames to kernel arrays and back."""

from __future__ import annotations

import av
import numpy as np
import pytest

from zhanye_sdk.media.frames import (
    audio_frame_to_mono,
    i420_to_video_frame,
    mono_to_audio_frame,
    video_frame_to_i420,
)


def test_packed_stereo_from_aiortc_is_downmixed_once() -> None:
    left = np.array([100, -3, 32_767, -32_768], dtype=np.int16)
    right = np.array([300, 0, 32_767, -32_768], dtype=np.int16)
    packed = np.stack([left, right], axis=1).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(packed, format="s16", layout="stereo")
    np.testing.assert_array_equal(audio_frame_to_mono(frame), [200, -2, 32_767, -32_768])


def test_planar_stereo_is_downmixed_like_packed() -> None:
    planar = np.array([[10, 20], [30, -21]], dtype=np.int16)
    frame = av.AudioFrame.from_ndarray(planar, format="s16p", layout="stereo")
    np.testing.assert_array_equal(audio_frame_to_mono(frame), [20, -1])


def test_mono_round_trip_shares_the_frames_memory() -> None:
    samples = np.arange(-480, 480, dtype=np.int16)
    frame = mono_to_audio_frame(samples, 48_000, pts=960)
    assert (frame.sample_rate, frame.pts, frame.samples) == (48_000, 960, 960)
    view = audio_frame_to_mono(frame)
    np.testing.assert_array_equal(view, samples)
    assert not view.flags.owndata


def test_stereo_output_duplicates_the_channel() -> None:
    samples = np.array([1, 2, 3], dtype=np.int16)
    frame = mono_to_audio_frame(samples, 16_000, stereo=True)
    np.testing.assert_array_equal(frame.to_ndarray(), [[1, 1, 2, 2, 3, 3]])


def test_unsupported_audio_format_is_refused() -> None:
    frame = av.AudioFrame(format="flt", layout="mono", samples=4)
    with pytest.raises(ValueError, match="s16"):
        audio_frame_to_mono(frame)


@pytest.mark.parametrize(("width", "height"), [(642, 362), (3, 5), (1, 1), (640, 360)])
def test_i420_round_trip_keeps_every_pixel(width: int, height: int) -> None:
    rng = np.random.default_rng(width * height)
    y = rng.integers(0, 256, (height, width), dtype=np.uint8)
    chroma = ((height + 1) // 2, (width + 1) // 2)
    u = rng.integers(0, 256, chroma, dtype=np.uint8)
    v = rng.integers(0, 256, chroma, dtype=np.uint8)
    frame = i420_to_video_frame(y, u, v, pts=7)
    assert (frame.width, frame.height, frame.pts) == (width, height, 7)
    gy, gu, gv = video_frame_to_i420(frame)
    np.testing.assert_array_equal(gy, y)
    np.testing.assert_array_equal(gu, u)
    np.testing.assert_array_equal(gv, v)
    assert gy.strides[1] == 1 and not gy.flags.owndata


def test_rgb_frames_are_converted_to_i420() -> None:
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[..., 1] = 255
    y, u, v = video_frame_to_i420(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
    assert y.shape == (4, 6) and u.shape == (2, 3)
    # Pure green is bright in luma and low in both chroma channels.
    assert y.min() > 120 and u.max() < 100 and v.max() < 100
