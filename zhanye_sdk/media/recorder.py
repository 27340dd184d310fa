"""``Recorder``: a room's mixed audio and composited video to segmented MP4, in a thread.

The mixing tick hands over, without waiting, one ``RecordingTick`` per tick: the
full mix (20 ms of int16 mono) and, on the ticks where a video frame is due, the
latest frame of every participant shown plus who is large. A worker thread
composites the frames with the native ``Compositor`` (grid, or speaker layout with
the main participant large), encodes with PyAV (H.264 + AAC) and starts a new MP4
segment every ``segment_s`` seconds. Each finished segment is hashed and chained
into the ``Manifest``; the service persists it. The event loop never encodes.

A segment that was being written when the process died is not in the manifest; it
is left out (it has no index and would not play). The recording goes on (in this
or another process) from the last complete segment: the next segment takes the lost
one's place and its entry notes the time not recorded (``gap_ms``).
"""

from __future__ import annotations

import logging
import queue
import threading
from fractions import Fraction
from pathlib import Path

import attrs
import av
import numpy as np
import numpy.typing as npt

from zhanye_sdk._backend import Compositor
from zhanye_sdk.media.frames import (
    I420Planes,
    i420_to_video_frame,
    mono_to_audio_frame,
    video_frame_to_i420,
)
from zhanye_sdk.media.manifest import Manifest

__all__ = ["Recorder", "RecordingConfig", "RecordingTick", "segment_name"]

_log = logging.getLogger(__name__)

#: Background of the composite (Y, U, V): video black.
BACKGROUND = (16, 128, 128)


def _same_pictures(tick: RecordingTick, shown: RecordingTick | None) -> bool:
    """Whether ``tick`` shows the very frames (or none) and the main participant of the
    tick last composited: the composite would come out the same (a room without cameras,
    a camera slower than the recording's frame rate), so it is not made again."""
    if shown is None or tick.video is None or shown.video is None:
        return False
    return (
        tick.main == shown.main
        and len(tick.video) == len(shown.video)
        and all(a is b for a, b in zip(tick.video, shown.video, strict=True))
    )


def segment_name(index: int) -> str:
    """The file name of segment ``index``."""
    return f"segment-{index:05d}.mp4"


@attrs.frozen
class RecordingConfig:
    """How sessions are recorded.

    Attributes:
        folder: where recordings go (one sub-folder per session).
        segment_s: length of one MP4 segment.
        width, height, fps: the composite video.
        layout: ``"speaker"`` (the host's main view large) or ``"grid"``.
        video_bitrate: H.264 target bitrate.
        queue_ticks: ticks buffered for the encoder thread before ticks are dropped.
        claim_s: how long a process's claim on finishing a recording (after the room
            ended) lasts unless renewed; another process takes the job over after it.
        renew_s: how often the process finishing a recording renews its claim.
        sweep_s: how often every process looks for recordings whose post-processing
            was abandoned (its process died) and finishes them.
    """

    folder: Path
    segment_s: float = 60.0
    width: int = 1280
    height: int = 720
    fps: int = 10
    layout: str = "speaker"
    video_bitrate: int = 1_000_000
    queue_ticks: int = 1500
    claim_s: float = 30.0
    renew_s: float = 5.0
    sweep_s: float = 10.0


@attrs.frozen
class RecordingTick:
    """One tick for the recorder: ``video`` only on ticks where a frame is due."""

    audio: npt.NDArray[np.int16]
    video: tuple[av.VideoFrame | None, ...] | None = None
    main: int = 0


class _Segment:
    def __init__(self, path: Path, config: RecordingConfig, sample_rate: int) -> None:
        self.path = path
        self.container = av.open(str(path), "w", format="mp4")
        self.video = self.container.add_stream("libx264", rate=config.fps)
        self.video.width, self.video.height = config.width, config.height
        self.video.pix_fmt = "yuv420p"
        self.video.bit_rate = config.video_bitrate
        self.video.options = {"preset": "ultrafast"}
        self.audio = self.container.add_stream("aac", rate=sample_rate, layout="mono")
        self.sample_rate = sample_rate
        self.fps = config.fps
        self.audio_pts = 0
        self.video_pts = 0

    def write_audio(self, samples: npt.NDArray[np.int16]) -> None:
        frame = mono_to_audio_frame(samples, self.sample_rate, pts=self.audio_pts)
        self.audio_pts += samples.shape[0]
        for packet in self.audio.encode(frame):
            self.container.mux(packet)

    def write_video(self, picture: av.VideoFrame) -> None:
        """Code ``picture`` as the next frame (the same picture may be written again: its
        data is only read)."""
        picture.pts = self.video_pts
        picture.time_base = Fraction(1, self.fps)
        self.video_pts += 1
        for packet in self.video.encode(picture):
            self.container.mux(packet)

    def close(self) -> None:
        for stream in (self.audio, self.video):
            for packet in stream.encode(None):
                self.container.mux(packet)
        self.container.close()


class Recorder:
    """Records one room into ``folder`` (see the module docstring).

    Args:
        folder: the session's recording folder (created).
        config: the recording settings.
        sample_rate, tick_ms: the mixer's audio format and period.
        manifest: segments recorded before (a recording resumed after a restart).
        gap_ms: how long went unrecorded since ``manifest``'s last segment (noted in
            the next segment's entry).
    """

    def __init__(
        self,
        folder: Path,
        config: RecordingConfig,
        *,
        sample_rate: int = 48_000,
        tick_ms: int = 20,
        manifest: Manifest | None = None,
        gap_ms: int = 0,
    ) -> None:
        if config.layout not in ("grid", "speaker"):
            raise ValueError(f'layout must be "grid" or "speaker", got {config.layout!r}')
        if (1000 // tick_ms) % config.fps:
            raise ValueError(f"fps must divide the tick rate ({1000 // tick_ms}/s)")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.config = config
        self.sample_rate = sample_rate
        self.tick_ms = tick_ms
        self.ticks_per_frame = 1000 // tick_ms // config.fps
        self.ticks_per_segment = max(self.ticks_per_frame, round(config.segment_s * 1000 / tick_ms))
        self.ticks_per_segment -= self.ticks_per_segment % self.ticks_per_frame
        self._manifest = manifest or Manifest()
        self._gap_ms = max(0, gap_ms)
        self._queue: queue.Queue[RecordingTick | None] = queue.Queue(config.queue_ticks)
        self._thread = threading.Thread(target=self._run, name="zhanye-recorder", daemon=True)
        self._lock = threading.Lock()
        self._ticks = 0
        self._encoded = 0
        self._encoded_at_stop = 0
        self._backlog_at_stop: int | None = None
        self.dropped_ticks = 0
        #: Composites made (a tick showing the same frames as the last reuses it).
        self.composited = 0
        self._time_base = Fraction(1, config.fps)
        self.error: str | None = None

    @property
    def manifest(self) -> Manifest:
        """The segments finished so far."""
        with self._lock:
            return self._manifest

    def video_due(self) -> bool:
        """Whether the next tick fed should carry video."""
        return self._ticks % self.ticks_per_frame == 0

    def start(self) -> None:
        """Start the encoder thread."""
        self._thread.start()

    def feed(self, tick: RecordingTick) -> bool:
        """Hand over one tick without waiting; False when the encoder is behind (dropped)."""
        self._ticks += 1
        if self.error is not None:
            return False
        try:
            self._queue.put_nowait(tick)
        except queue.Full:
            self.dropped_ticks += 1
            return False
        return True

    def stop(self) -> Manifest:
        """Finish the current segment and stop the thread (blocking: call it in a thread)."""
        if self._thread.is_alive():
            self._backlog_at_stop = self._queue.qsize()
            self._encoded_at_stop = self._encoded
            self._queue.put(None)
            self._thread.join()
        return self.manifest

    def finishing(self) -> tuple[int, int] | None:
        """While ``stop`` encodes the ticks still queued: (ticks encoded, ticks queued at
        the stop) — the post-processing's progress. None before ``stop``."""
        total = self._backlog_at_stop
        if total is None:
            return None
        return min(self._encoded - self._encoded_at_stop, total), total

    # ---- the encoder thread -------------------------------------------------------------

    def _run(self) -> None:
        compositor = Compositor()
        segment: _Segment | None = None
        in_segment = 0
        video_ticks = 0
        last: I420Planes | None = None
        shown: RecordingTick | None = None  # the tick whose pictures ``last`` composites
        picture: av.VideoFrame | None = None  # ``last`` (or the blank) as a frame
        try:
            while True:
                tick = self._queue.get()
                if tick is None:
                    break
                if segment is None:
                    index = len(self.manifest.entries)
                    segment = _Segment(
                        self.folder / segment_name(index), self.config, self.sample_rate
                    )
                    in_segment = 0
                if in_segment % self.ticks_per_frame == 0:
                    if tick.video is not None and not _same_pictures(tick, shown):
                        last = self._composite(compositor, tick)
                        shown = tick
                        self.composited += 1
                        picture = None
                    if picture is None:
                        planes = last if last is not None else self._blank()
                        picture = i420_to_video_frame(*planes, pts=0, time_base=self._time_base)
                    segment.write_video(picture)
                    video_ticks += 1
                segment.write_audio(tick.audio)
                in_segment += 1
                self._encoded += 1
                if in_segment >= self.ticks_per_segment:
                    self._finish(segment, in_segment)
                    segment = None
            if segment is not None and in_segment:
                self._finish(segment, in_segment)
        except Exception as exc:  # reported through ``error``; the room goes on
            _log.exception("recording in %s failed", self.folder)
            self.error = f"{type(exc).__name__}: {exc}"

    def _finish(self, segment: _Segment, ticks: int) -> None:
        segment.close()
        manifest = self.manifest.append_file(
            segment.path, ticks * self.tick_ms, gap_ms=self._gap_ms
        )
        self._gap_ms = 0
        with self._lock:
            self._manifest = manifest

    def _blank(self) -> I420Planes:
        w, h = self.config.width, self.config.height
        y = np.full((h, w), BACKGROUND[0], dtype=np.uint8)
        u = np.full(((h + 1) // 2, (w + 1) // 2), BACKGROUND[1], dtype=np.uint8)
        return y, u, u.copy()

    def _composite(self, compositor: Compositor, tick: RecordingTick) -> I420Planes:
        assert tick.video is not None
        inputs = []
        for frame in tick.video:
            if frame is None:  # no picture (camera off, not arrived): a dark grey tile
                y = np.full((120, 160), 40, dtype=np.uint8)
                c = np.full((60, 80), 128, dtype=np.uint8)
                inputs.append((y, c, c))
            else:
                inputs.append(video_frame_to_i420(frame))
        main = tick.main if 0 <= tick.main < len(inputs) else 0
        return compositor.composite(
            inputs,
            self.config.layout,
            self.config.width,
            self.config.height,
            BACKGROUND,
            main=main,
        )
