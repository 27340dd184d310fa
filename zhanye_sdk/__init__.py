"""zhanye-sdk: embeddable remote face-to-face selling.

The public API is what ``__all__`` names; everything else is internal.

Names are imported on first use (module ``__getattr__``): ``import zhanye_sdk`` — and so
importing any submodule, such as a sans-I/O core or ``zhanye_sdk._backend`` — does not
load the media stack (aiortc, PyAV) or the store (SQLAlchemy). Type checkers read the
explicit imports under ``TYPE_CHECKING``; ``tests/test_architecture.py`` checks both
lists agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhanye_sdk._lazy import lazy_exports

if TYPE_CHECKING:
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
    from zhanye_sdk.capability import Capability
    from zhanye_sdk.deployment import Deployment, DeploymentConfig
    from zhanye_sdk.desk import Desk, DeskConfig
    from zhanye_sdk.devices.sms import SendResult, SmsGateway
    from zhanye_sdk.errors import (
        ConflictError,
        DeviceError,
        InvalidInput,
        NotFound,
        PermissionDenied,
        ProtocolError,
        RateLimited,
        RoomMoved,
        RoomUnreachable,
        ZhanyeError,
    )
    from zhanye_sdk.facade import Platform
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
    from zhanye_sdk.platform import PlatformConfig, Principal, Role, ServiceHours, ServiceWindow
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

#: Where each public name lives; ``__getattr__`` imports it from there when first used.
_SOURCES: dict[str, str] = {
    "AhoCorasick": "zhanye_sdk._backend",
    "Board": "zhanye_sdk.whiteboard.core",
    "BoardView": "zhanye_sdk.whiteboard.core",
    "Capability": "zhanye_sdk.capability",
    "Compositor": "zhanye_sdk._backend",
    "Deployment": "zhanye_sdk.deployment",
    "DeploymentConfig": "zhanye_sdk.deployment",
    "Desk": "zhanye_sdk.desk",
    "DeskConfig": "zhanye_sdk.desk",
    "ConflictError": "zhanye_sdk.errors",
    "DeviceError": "zhanye_sdk.errors",
    "I420Planes": "zhanye_sdk.media.frames",
    "InvalidInput": "zhanye_sdk.errors",
    "KeyPhrase": "zhanye_sdk.sop",
    "LocalBus": "zhanye_sdk.signaling.bus",
    "Manifest": "zhanye_sdk.media.manifest",
    "MediaConfig": "zhanye_sdk.media.service",
    "MediaService": "zhanye_sdk.media.service",
    "NotFound": "zhanye_sdk.errors",
    "PermissionDenied": "zhanye_sdk.errors",
    "PhraseIndex": "zhanye_sdk.sop",
    "Platform": "zhanye_sdk.facade",
    "PlatformConfig": "zhanye_sdk.platform",
    "Principal": "zhanye_sdk.platform",
    "ProtocolError": "zhanye_sdk.errors",
    "QaRule": "zhanye_sdk.sop",
    "QualityInspector": "zhanye_sdk.sop",
    "RateLimited": "zhanye_sdk.errors",
    "RoomMoved": "zhanye_sdk.errors",
    "RoomUnreachable": "zhanye_sdk.errors",
    "RecordingConfig": "zhanye_sdk.media.recorder",
    "Resampler": "zhanye_sdk._backend",
    "Role": "zhanye_sdk.platform",
    "RoomService": "zhanye_sdk.rooms.service",
    "SendResult": "zhanye_sdk.devices.sms",
    "ServiceHours": "zhanye_sdk.platform",
    "ServiceWindow": "zhanye_sdk.platform",
    "SessionConfig": "zhanye_sdk.rooms.service",
    "SignalingConfig": "zhanye_sdk.signaling.endpoint",
    "SignalingEndpoint": "zhanye_sdk.signaling.endpoint",
    "SmsGateway": "zhanye_sdk.devices.sms",
    "SopAssistant": "zhanye_sdk.sop.assist",
    "Stroke": "zhanye_sdk.whiteboard.core",
    "TranscriptMatcher": "zhanye_sdk.sop",
    "TranscriptSegment": "zhanye_sdk.sop",
    "WhiteboardService": "zhanye_sdk.whiteboard.service",
    "ZhanyeError": "zhanye_sdk.errors",
    "audio_frame_to_mono": "zhanye_sdk.media.frames",
    "composite_i420": "zhanye_sdk._backend",
    "draw_strokes": "zhanye_sdk._backend",
    "i420_to_video_frame": "zhanye_sdk.media.frames",
    "layout_cells": "zhanye_sdk._backend",
    "mix": "zhanye_sdk._backend",
    "mix_minus": "zhanye_sdk._backend",
    "mono_to_audio_frame": "zhanye_sdk.media.frames",
    "native_backend": "zhanye_sdk._backend",
    "resample": "zhanye_sdk._backend",
    "soft_knee": "zhanye_sdk._backend",
    "verify": "zhanye_sdk.media.manifest",
    "video_frame_to_i420": "zhanye_sdk.media.frames",
}

__all__ = [
    "AhoCorasick",
    "Board",
    "BoardView",
    "Capability",
    "Compositor",
    "ConflictError",
    "Deployment",
    "DeploymentConfig",
    "Desk",
    "DeskConfig",
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
    "RoomMoved",
    "RoomService",
    "RoomUnreachable",
    "SendResult",
    "ServiceHours",
    "ServiceWindow",
    "SessionConfig",
    "SignalingConfig",
    "SignalingEndpoint",
    "SmsGateway",
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


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
