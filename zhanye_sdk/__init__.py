"""zhanye-sdk: embeddable remote face-to-face selling.

The public API is what ``__all__`` names; everything else is internal.
"""

from __future__ import annotations

from zhanye_sdk._backend import (
    AhoCorasick,
    Compositor,
    Resampler,
    composite_i420,
    draw_strokes,
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
    RateLimited,
    ZhanyeError,
)
from zhanye_sdk.media.frames import (
    I420Planes,
    audio_frame_to_mono,
    i420_to_video_frame,
    mono_to_audio_frame,
    video_frame_to_i420,
)
from zhanye_sdk.media.manifest import Manifest, verify
from zhanye_sdk.media.recorder import RecordingConfig
from zhanye_sdk.media.service import MediaConfig, MediaService
from zhanye_sdk.platform import (
    Platform,
    PlatformConfig,
    Principal,
    Role,
    ServiceHours,
    ServiceWindow,
)
from zhanye_sdk.rooms.service import RoomService, SessionConfig
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.signaling.endpoint import SignalingConfig, SignalingEndpoint
from zhanye_sdk.sop import (
    KeyPhrase,
    PhraseIndex,
    QaRule,
    QualityInspector,
    TranscriptMatcher,
    TranscriptSegment,
)
from zhanye_sdk.sop.assist import SopAssistant
from zhanye_sdk.whiteboard.core import Board, BoardView, Stroke
from zhanye_sdk.whiteboard.service import WhiteboardService

__version__ = "0.1.0"

__all__ = [
    "AhoCorasick",
    "Board",
    "BoardView",
    "Compositor",
    "ConflictError",
    "DeviceError",
    "I420Planes",
    "InvalidInput",
    "KeyPhrase",
    "LocalBus",
    "Manifest",
    "MediaConfig",
    "MediaService",
    "NotFound",
    "PermissionDenied",
    "PhraseIndex",
    "Platform",
    "PlatformConfig",
    "Principal",
    "ProtocolError",
    "QaRule",
    "QualityInspector",
    "RateLimited",
    "RecordingConfig",
    "Resampler",
    "Role",
    "RoomService",
    "ServiceHours",
    "ServiceWindow",
    "SessionConfig",
    "SignalingConfig",
    "SignalingEndpoint",
    "SopAssistant",
    "Stroke",
    "TranscriptMatcher",
    "TranscriptSegment",
    "WhiteboardService",
    "ZhanyeError",
    "audio_frame_to_mono",
    "composite_i420",
    "draw_strokes",
    "i420_to_video_frame",
    "layout_cells",
    "mix",
    "mix_minus",
    "mono_to_audio_frame",
    "native_backend",
    "resample",
    "soft_knee",
    "verify",
    "video_frame_to_i420",
]
