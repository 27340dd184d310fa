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
from collections.abc import Callable
from fractions import Fraction
from typing import Any, TypeAlias

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack, RTCRtpSender
from aiortc.mediastreams import MediaStreamError

from zhanye_sdk.media.direct_send import DirectAudioSender
from zhanye_sdk.media.frames import mono_to_audio_frame

__all__ = ["MixedAudioTrack", "OpusPacket", "RelayVideoTrack", "ReusableFrame", "SharedEncoder"]

#: An encoded Opus packet handed to aiortc's sender (made from bytes, it has no stream).
OpusPacket: TypeAlias = "av.Packet[Any]"

# aiortc's Opus packetizer reads packet timestamps in its 48 kHz RTP clock.
_OPUS_TIME_BASE = Fraction(1, 48_000)


class MixedAudioTrack(MediaStreamTrack):
    """Audio a listener hears: one frame per mixing tick, with continuous timestamps.

    Two ways to feed it. ``feed`` queues raw int16 frames that aiortc's sender encodes
    itself (one executor hop and a pure-Python audio-level loop per frame, on the event
    loop). Once ``encode_with`` has given it the Opus encoder of its connection, the
    mixing tick instead ``encode``-s the frame and ``feed_packets`` queues the Opus
    packets, which the sender only packetizes: the per-frame work left is the RTP/SRTP
    send. Once the connection is up, ``deliver`` hands the payloads to a
    ``DirectAudioSender`` (``zhanye_sdk.media.direct_send``) instead, which writes,
    protects and sends them in one native call, past aiortc's sender.
    """

    kind = "audio"

    def __init__(self, sample_rate: int = 48_000, queue_frames: int = 5) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        #: The Opus encoder of this listener (``zhanye_sdk.media.opus``'s or aiortc's),
        #: when the tick encodes; None: the sender encodes raw frames.
        self.encoder: Any = None
        #: Makes a new encoder like ``encoder`` (for one that fails while ``direct`` sends).
        self.renew_encoder: Callable[[], Any] | None = None
        #: The direct sender of this listener's payloads, once its connection is up.
        self.direct: DirectAudioSender | None = None
        #: A direct sender is wanted: until it is open, frames are dropped rather than
        #: queued for aiortc's sender (one SSRC must not carry two sequence series).
        self.direct_wanted = False
        self._frames: collections.deque[av.AudioFrame | OpusPacket] = collections.deque(
            maxlen=queue_frames
        )
        self._ready = asyncio.Event()
        self._pts = 0
        self._frame = ReusableFrame(sample_rate)
        #: Ticks encoded and sent in one native call (``encode_send``).
        self.encode_sent = 0

    def encode_with(self, encoder: Any, renew: Callable[[], Any] | None = None) -> None:
        """Have the tick encode this listener's audio with ``encoder`` (an Opus encoder with
        aiortc's ``encode(frame) -> (payloads, timestamp)``); ``renew`` makes another one
        like it."""
        self.encoder = encoder
        self.renew_encoder = renew

    def sharing_key(self) -> tuple[Any, ...] | None:
        """The key of this listener's encoder (``ResilientOpusEncoder.sharing_key``): the
        packets of a ``SharedEncoder`` of an equal key may be sent in place of its own.
        None: the tick does not encode for it, or its encoder cannot be shared."""
        key = getattr(self.encoder, "sharing_key", None)
        return None if key is None else key()

    def feed(self, samples: npt.NDArray[np.int16]) -> None:
        """Queue one tick of int16 mono audio (the oldest is dropped when the queue is full)."""
        frame = mono_to_audio_frame(samples, self.sample_rate, pts=self._pts)
        self._pts += samples.shape[0]
        self._frames.append(frame)
        self._ready.set()

    def encode(self, samples: npt.NDArray[np.int16]) -> list[bytes]:
        """Encode one tick of int16 mono audio into Opus payloads for ``deliver``.

        Pure CPU work on this track's encoder (about 0.2 ms): the room's tick calls it for
        each listener in turn. Empty during DTX silence.
        """
        return _payloads(self.encoder, samples, self._frame, self._pts)

    def encode_send(self, samples: npt.NDArray[np.int16], ntp: int) -> bool:
        """Encode one tick and send it on the direct sender's link in one native call
        (the encoder's ``send_pcm``); False, with nothing done, where this listener has no
        direct sender or its encoder cannot (``encode`` and ``deliver`` then)."""
        direct = self.direct
        encoder = self.encoder
        if direct is None or not getattr(encoder, "encodes_pcm", _never)(samples.shape[0]):
            return False
        encoder.send_pcm(samples, [direct.link], [self._pts], ntp >> 14)
        direct.sent(ntp)
        self.encode_sent += 1
        self._pts += samples.shape[0]
        return True

    def deliver(self, payloads: list[bytes], samples: int, ntp: int) -> None:
        """Send this tick's payloads (its own encoder's, or a ``SharedEncoder``'s) at the
        wall time ``ntp``: through the direct sender once it is open, else queued for
        aiortc's; this track's clock moves on by ``samples`` either way."""
        if self.direct is not None:
            self.direct.send(payloads, self._pts, ntp)
            self._pts += samples
        elif self.direct_wanted:
            self._pts += samples
        else:
            self.feed_packets(self.packetize(payloads, samples))

    def packetize(self, payloads: list[bytes], samples: int) -> list[OpusPacket]:
        """This tick's packets of ``payloads`` (its own encoder's, or a ``SharedEncoder``'s)
        for ``feed_packets``, stamped with this track's clock, which then moves on by
        ``samples``: a listener moved between its own and a shared encoder keeps one
        timeline."""
        timestamp = self._pts
        self._pts += samples
        packets = []
        for payload in payloads:
            packet = av.Packet(payload)
            packet.pts = timestamp
            packet.time_base = _OPUS_TIME_BASE
            packets.append(packet)
        return packets

    def feed_packets(self, packets: list[OpusPacket]) -> None:
        """Queue encoded packets (the oldest is dropped when the queue is full)."""
        if packets:
            self._frames.extend(packets)
            self._ready.set()

    async def recv(self) -> av.AudioFrame | OpusPacket:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    def stop(self) -> None:
        super().stop()
        self._ready.set()
        if self.direct is not None:
            self.direct.close()
            self.direct = None


class ReusableFrame:
    """One mono ``AudioFrame`` refilled every tick: an encoder has consumed the last
    samples when its ``encode`` returned (FFmpeg's Opus encodes each whole frame at once;
    the same packets as a new frame each time, about 20 µs a frame cheaper)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._frame: av.AudioFrame | None = None
        self._samples: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)

    def of(self, samples: npt.NDArray[np.int16], pts: int) -> av.AudioFrame:
        """The frame holding ``samples``, stamped ``pts``."""
        n = samples.shape[0]
        if self._frame is None or self._frame.samples != n:
            self._frame = av.AudioFrame(format="s16", layout="mono", samples=n)
            self._frame.sample_rate = self.sample_rate
            self._frame.time_base = Fraction(1, self.sample_rate)
            self._samples = np.frombuffer(
                memoryview(self._frame.planes[0]), dtype=np.int16, count=n
            )
        self._samples[:] = samples
        self._frame.pts = pts
        return self._frame


class SharedEncoder:
    """One Opus encoder whose packets go to every listener hearing the same mix.

    A room's listeners who are quiet hear the same thing: the mix of those who are not.
    Their packets carry the same payload; only the RTP header (each listener's own
    sequence, timestamp and SSRC, set by their sender) differs, so one encode serves all.

    Args:
        encoder: a new encoder of the listeners' ``sharing_key`` (``twin()``).
        sample_rate: the mixing rate.
    """

    def __init__(self, encoder: Any, sample_rate: int = 48_000) -> None:
        self.encoder = encoder
        self._frame = ReusableFrame(sample_rate)
        self._pts = 0

    def encode(self, samples: npt.NDArray[np.int16]) -> list[bytes]:
        """The payloads of one tick of the shared mix (none during DTX silence)."""
        pts = self._pts
        self._pts += samples.shape[0]
        return _payloads(self.encoder, samples, self._frame, pts)


def _never(samples: int) -> bool:
    return False


def _payloads(
    encoder: Any, samples: npt.NDArray[np.int16], frame: ReusableFrame, pts: int
) -> list[bytes]:
    """What ``encoder`` makes of one tick (none during DTX silence): straight from the
    samples where it can (``ResilientOpusEncoder.encode_pcm``), else from a frame."""
    encodes_pcm = getattr(encoder, "encodes_pcm", None)
    if encodes_pcm is not None and encodes_pcm(samples.shape[0]):
        payloads, timestamp = encoder.encode_pcm(samples)
    else:
        payloads, timestamp = encoder.encode(frame.of(samples, pts))
    return list(payloads) if timestamp is not None else []


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
