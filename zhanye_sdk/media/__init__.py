"""Real-time media: frame conversions, mixing, compositing and recording."""

from zhanye_sdk.media.manifest import Manifest, SegmentEntry, Verification, verify
from zhanye_sdk.media.mixer import AudioMixer, MixedTick
from zhanye_sdk.media.monitor import NetworkReport, NetworkSummary
from zhanye_sdk.media.pacing import TickClock
from zhanye_sdk.media.recorder import Recorder, RecordingConfig
from zhanye_sdk.media.records import MediaRecord, MediaRecords, RecordingStatus
from zhanye_sdk.media.service import MediaConfig, MediaLoad, MediaService, VideoFilter

__all__ = [
    "AudioMixer",
    "Manifest",
    "MediaConfig",
    "MediaLoad",
    "MediaRecord",
    "MediaRecords",
    "MediaService",
    "MixedTick",
    "NetworkReport",
    "NetworkSummary",
    "Recorder",
    "RecordingConfig",
    "RecordingStatus",
    "SegmentEntry",
    "TickClock",
    "Verification",
    "VideoFilter",
    "verify",
]
