"""美颜 (beauty filter) on video frames: smooth skin, keep edges, optionally brighten.

The arithmetic is the ``beauty_i420`` kernel (native, or its numpy twin: see
``zhanye_sdk._backend.native_backend``). A :class:`BeautyFilter` is a ``VideoFilter``
(``MediaConfig.video_filter``, applied by the server to every received frame) and also
wraps a camera track on the sending side (:class:`BeautyTrack`, the app host's
``--beauty``).
"""

from __future__ import annotations

from typing import Any

import anyio
import attrs
import av
import numpy as np
from aiortc import MediaStreamTrack

from zhanye_sdk import _backend
from zhanye_sdk.media.frames import i420_to_video_frame, video_frame_to_i420

__all__ = ["BeautyFilter", "BeautyTrack", "beautify"]


def _level(value: float, name: str) -> int:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return round(value * 255)


def beautify(frame: av.VideoFrame, strength: float, brighten: float = 0.0) -> av.VideoFrame:
    """Return a yuv420p copy of ``frame`` with skin smoothed (``strength`` 0–1) and
    brightened (``brighten`` 0–1); timestamps are kept.

    Raises:
        ValueError: a level is outside 0–1.
    """
    s, b = _level(strength, "strength"), _level(brighten, "brighten")
    y, u, v = video_frame_to_i420(frame)
    if s == 0 and b == 0:
        luma = y
    else:
        # The kernel takes contiguous planes; a frame's rows may be padded to its line size.
        planes = [np.ascontiguousarray(p) for p in (y, u, v)]
        luma = _backend.beauty_i420(planes[0], planes[1], planes[2], s, b)
    return i420_to_video_frame(luma, u, v, pts=frame.pts, time_base=frame.time_base)


@attrs.frozen
class BeautyFilter:
    """A video filter for ``MediaConfig.video_filter``: the same 美颜 for every participant.

    Attributes:
        strength: smoothing of skin, 0 (off) to 1.
        brighten: lifting of skin, 0 (off) to 1.
    """

    strength: float = 0.6
    brighten: float = 0.0

    def __attrs_post_init__(self) -> None:
        _level(self.strength, "strength")
        _level(self.brighten, "brighten")

    def __call__(self, participant: str, frame: av.VideoFrame) -> av.VideoFrame:
        """Filter one participant's frame."""
        return beautify(frame, self.strength, self.brighten)


class BeautyTrack(MediaStreamTrack):
    """A camera with 美颜 applied before it is sent."""

    kind = "video"

    def __init__(self, camera: Any, beauty: BeautyFilter) -> None:
        super().__init__()
        self._camera = camera
        self.beauty = beauty

    async def recv(self) -> av.VideoFrame:
        """The camera's next frame, filtered."""
        frame = await self._camera.recv()
        return await anyio.to_thread.run_sync(self.beauty, "", frame)

    def stop(self) -> None:
        """Stop this track and the camera under it."""
        super().stop()
        self._camera.stop()
