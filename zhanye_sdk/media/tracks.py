"""aiortc tracks the server sends: a listener's mixed audio and relayed video.

Both are fed by the server (the mixing tick, the inbound video of another
participant) and drained by aiortc's sender, which encodes in its executor threads.

A relayed video slot also carries the slot's share of the listener's video budget
(``max_bitrate``). aiortc's senders take their target bitrate from the receiver's
estimate (REMB) and offer no setting to cap it, so the slot caps its sender's encoder
each time the sender takes a frame -- just before that frame is encoded.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack, RTCRtpSender
from aiortc.mediastreams import MediaStreamError

from zhanye_sdk.media.frames import mono_to_audio_frame
from zhanye_sdk.media.sending import TickSender

__all__ = ["MixedAudioTrack", "RelayVideoTrack"]


class MixedAudioTrack(MediaStreamTrack):
    """Audio a listener hears: one frame per mixing tick, with continuous timestamps.

    Two ways to send it. ``feed`` queues raw int16 frames that aiortc's sender encodes
    itself (one executor hop, a pure-Python audio-level loop and a task wake-up per
    frame, on the event loop). Once ``send_with`` has given it an Opus encoder and a
    ``TickSender``, the mixing tick ``encode``-s the frame itself and sends the packets
    straight away; aiortc's sending task then stays parked in ``recv``.
    """

    kind = "audio"

    def __init__(self, sample_rate: int = 48_000, queue_frames: int = 5) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        #: The Opus encoder of this listener (``zhanye_sdk.media.opus``'s or aiortc's) and
        #: the sender the tick sends with; None: aiortc's sender encodes and sends.
        self.encoder: Any = None
        self.sender: TickSender | None = None
        self._frames: collections.deque[av.AudioFrame] = collections.deque(maxlen=queue_frames)
        self._ready = asyncio.Event()
        self._pts = 0

    def send_with(self, encoder: Any, sender: TickSender) -> None:
        """Have the tick encode this listener's audio with ``encoder`` (aiortc's Opus
        ``encode(frame) -> (payloads, timestamp)``) and send it with ``sender``."""
        self.encoder = encoder
        self.sender = sender

    def feed(self, samples: npt.NDArray[np.int16]) -> None:
        """Queue one tick of int16 mono audio (the oldest is dropped when the queue is full)."""
        frame = mono_to_audio_frame(samples, self.sample_rate, pts=self._pts)
        self._pts += samples.shape[0]
        self._frames.append(frame)
        self._ready.set()

    def encode(self, samples: npt.NDArray[np.int16]) -> list[tuple[bytes, int]]:
        """Encode one tick of int16 mono audio: (payload, timestamp) of each Opus packet,
        the timestamp in the 48 kHz RTP clock from 0. Empty during DTX silence."""
        frame = mono_to_audio_frame(samples, self.sample_rate, pts=self._pts)
        self._pts += samples.shape[0]
        payloads, timestamp = self.encoder.encode(frame)
        if timestamp is None:
            return []
        return [(payload, timestamp) for payload in payloads]

    async def recv(self) -> av.AudioFrame:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    def stop(self) -> None:
        super().stop()
        self._ready.set()


class RelayVideoTrack(MediaStreamTrack):
    """One video slot of a listener: the latest frame of whichever participant it shows."""

    kind = "video"

    def __init__(self, mid: str, sender: RTCRtpSender | None = None) -> None:
        super().__init__()
        self.mid = mid
        self.source: str | None = None
        #: The most this slot may send, bits per second (None: the encoder's own limits).
        self.max_bitrate: int | None = None
        self._sender = sender
        self._latest: av.VideoFrame | None = None
        self._ready = asyncio.Event()

    def _cap(self) -> None:
        encoder = _encoder(self._sender)
        cap = self.max_bitrate
        if cap is not None and getattr(encoder, "target_bitrate", 0) > cap:
            encoder.target_bitrate = cap

    def show(self, source: str | None) -> None:
        """Relay ``source``'s video from now on (None: nothing)."""
        if source != self.source:
            self.source = source
            self._latest = None

    def withhold(self) -> None:
        """Drop the frame waiting to be sent, if any (its source turned the camera off)."""
        self._latest = None

    def offer(self, source: str, frame: av.VideoFrame) -> None:
        """A new frame of ``source``; kept if this slot shows them (older unsent ones dropped)."""
        if source == self.source:
            self._latest = frame
            self._ready.set()

    async def recv(self) -> av.VideoFrame:
        while self._latest is None:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        frame, self._latest = self._latest, None
        self._cap()
        return frame

    def stop(self) -> None:
        super().stop()
        self._ready.set()


def _encoder(sender: RTCRtpSender | None) -> Any:
    # aiortc keeps the encoder private and makes it on the first frame.
    return None if sender is None else getattr(sender, "_RTCRtpSender__encoder", None)
