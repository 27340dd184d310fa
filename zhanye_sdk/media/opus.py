"""Opus that survives loss: in-band FEC and DTX on the send side, FEC decoding and
concealment on the receive side, for every aiortc peer of this process.

aiortc's Opus (through FFmpeg) sends no redundancy and decodes only what arrives: a lost
packet is a hole. With :func:`install` (the media service calls it unless
``MediaConfig.audio_resilience`` is off):

* the encoder sends in-band FEC (a low-rate copy of each frame inside the next packet)
  sized for the packet-loss hint it is given (:meth:`ResilientOpusEncoder.set_loss_hint`,
  following the loss the far end reports), and DTX (near-empty packets in silence);
* the decoder (libopus, ``OpusPcmDecoder``: native, or its ctypes twin) sees the hole
  from the RTP timestamps when the next packet arrives: it rebuilds the last missing
  frame from that packet's FEC and conceals any frames before it (Opus packet-loss
  concealment). A gap longer than ``MAX_CONCEAL_MS`` is a pause (DTX, a muted sender),
  not loss.

Every decoded frame says what it is in ``frame.opaque``: None (received), ``"fec"``
(recovered) or ``"plc"`` (concealed), so that the service can count residual loss.
"""

from __future__ import annotations

import fractions
from collections.abc import Callable
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiortc import codecs as aiortc_codecs
from aiortc import rtcrtpreceiver, rtcrtpsender
from aiortc.codecs.opus import OpusEncoder
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters

from zhanye_sdk._backend import OpusPcmDecoder, OpusPcmEncoder, encode_send
from zhanye_sdk.kernels.opus_decode import FRAME, MAX_CONCEAL_MS, RATE, DecodedPcm
from zhanye_sdk.kernels.opus_encode import opus_library
from zhanye_sdk.media import red

__all__ = [
    "RATE",
    "MAX_CONCEAL_MS",
    "DecodedPcm",
    "ResilientOpusDecoder",
    "ResilientOpusEncoder",
    "ResilientRedEncoder",
    "opus_payload_type",
    "enabled",
    "install",
    "set_enabled",
]

BIT_RATE = 32_000
_TIME_BASE = fractions.Fraction(1, RATE)
_LOSS_STEPS = (0, 5, 10, 20, 30, 40, 50)


_enabled = True


class ResilientOpusDecoder:
    """A 48 kHz Opus decoder that fills holes with FEC and concealment.

    ``channels=2`` (aiortc's decoder thread: stereo ``AudioFrame``-s); ``channels=1``
    lets libopus downmix, for the server's mixer, which needs mono samples and no frame.
    The decoding itself is the backend's ``OpusPcmDecoder`` (native, or its ctypes twin).
    """

    def __init__(self, *, red: bool = False, channels: int = 2) -> None:
        #: Packets are RED payloads (RFC 2198) with Opus inside.
        self.red = red
        self.channels = channels
        self._pcm = OpusPcmDecoder(channels=channels, red=red)
        #: Decode one packet, recovering the frames before it that never arrived: from
        #: the packet's redundant copies (RED), else the last one from its in-band FEC,
        #: the rest concealed. ``discontinuity``: frames were skipped on purpose before
        #: it (the jitter buffer shrank), not lost.
        self.decode_pcm: Callable[[bytes, int, bool], list[DecodedPcm]] = self._pcm.decode_pcm

    @property
    def kernel(self) -> Any:
        """The backend's ``OpusPcmDecoder`` that decodes (for ``release_into``)."""
        return self._pcm

    @property
    def received(self) -> int:
        """Frames decoded from their own packet."""
        return int(self._pcm.received)

    @property
    def recovered(self) -> int:
        """Frames rebuilt from RED or FEC."""
        return int(self._pcm.recovered)

    @property
    def concealed(self) -> int:
        """Frames concealed."""
        return int(self._pcm.concealed)

    @property
    def malformed(self) -> int:
        """RED payloads that could not be read."""
        return int(self._pcm.malformed)

    def decode(self, encoded_frame: Any) -> list[Any]:
        """Decode one packet (aiortc's ``JitterFrame``) into ``AudioFrame``-s, recovering
        the frames before it that never arrived (see ``decode_pcm``)."""
        layout = "mono" if self.channels == 1 else "stereo"
        frames = []
        decoded = self.decode_pcm(
            encoded_frame.data,
            encoded_frame.timestamp,
            getattr(encoded_frame, "discontinuity", False),
        )
        for pcm, pts, kind in decoded:
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout=layout)
            frame.sample_rate = RATE
            frame.time_base = _TIME_BASE
            frame.pts = pts
            frame.opaque = kind
            frames.append(frame)
        return frames


class ResilientOpusEncoder(OpusEncoder):
    """aiortc's Opus encoder with in-band FEC for a packet-loss hint, and DTX.

    The FEC follows the hint: a link whose receiver reports no loss gets none (libopus
    codes no redundancy for 0 %), which spares about a third of the encoding CPU; the hint
    starts at ``loss_percent`` and the first report with loss turns it back on.

    ``channels=1`` codes mono (the mix-minus is mono: a stereo stream would code the same
    signal twice); an Opus decoder of the stereo payload type (``opus/48000/2``, as every
    WebRTC peer declares) plays a mono stream on both channels (RFC 7587 §7). 20 ms
    frames of the encoder's own layout skip aiortc's resampler. ``complexity`` (0–10,
    None: libopus's 10) trades encoding CPU for quality; ``clean_complexity`` (None: the
    same) is the complexity of ``encode_pcm`` while CELT codes alone (no loss reported).
    """

    def __init__(
        self,
        *,
        loss_percent: int = 10,
        dtx: bool = True,
        channels: int = 2,
        complexity: int | None = None,
        clean_complexity: int | None = None,
    ) -> None:
        super().__init__()
        self.channels = 2
        self.complexity: int | None = None
        self.clean_complexity: int | None = None
        self._layout = "stereo"
        self._dtx = dtx
        self.loss_percent = -1
        self._offset = 0
        self._last: int | None = None
        self._wanted = self._step(loss_percent)
        self._pcm_encoder: Any = None
        self._pcm_shape: tuple[int, int | None] | None = None
        self.shape(channels=channels, complexity=complexity, clean_complexity=clean_complexity)
        self._configure()

    def shape(
        self, *, channels: int, complexity: int | None, clean_complexity: int | None = None
    ) -> None:
        """Code ``channels`` (1 or 2) at ``complexity`` from the next frame on (before the
        first: the stream starts in that shape); ``clean_complexity`` (None: the same):
        the complexity of ``encode_pcm`` while CELT codes alone (no loss reported)."""
        if channels not in (1, 2):
            raise ValueError(f"Opus channels must be 1 or 2, not {channels}")
        for value in (complexity, clean_complexity):
            if value is not None and not 0 <= value <= 10:
                raise ValueError(f"Opus complexity must be 0–10, not {value}")
        self.clean_complexity = clean_complexity
        if (channels, complexity) == (self.channels, self.complexity):
            return
        self.channels, self.complexity = channels, complexity
        self._layout = "mono" if channels == 1 else "stereo"
        self.resampler = av.AudioResampler(
            format="s16", layout=self._layout, rate=RATE, frame_size=FRAME
        )
        self.loss_percent = -1 if self._last is None else -2  # a new codec next frame

    @staticmethod
    def _step(loss_percent: int) -> int:
        return max(s for s in _LOSS_STEPS if s <= max(0, loss_percent))

    def _configure(self) -> None:
        # Runs in the thread that encodes: a hint given meanwhile (on the event loop) never
        # meets a half-made codec.
        step = self._wanted
        if step == self.loss_percent:
            return
        # A new hint needs a new libopus encoder (FFmpeg sets it when it opens one); its
        # timestamps continue where the old one's ended.
        self.codec = av.CodecContext.create("libopus", "w")
        # FEC exists only in Opus's speech (SILK) layers, which a voice bitrate selects.
        self.codec.bit_rate = BIT_RATE
        self.codec.format = "s16"
        self.codec.layout = self._layout
        self.codec.sample_rate = RATE
        self.codec.time_base = _TIME_BASE
        if self.loss_percent != -1:
            self._offset = 0 if self._last is None else self._last + FRAME
            self.first_packet_pts = None
        options = {
            "application": "voip",
            "fec": "1",
            "packet_loss": str(step),
            "dtx": "1" if self._dtx else "0",
        }
        if self.complexity is not None:
            options["compression_level"] = str(self.complexity)
        self.codec.options = options
        self.loss_percent = step

    def set_loss_hint(self, loss: float) -> None:
        """Size FEC for ``loss`` (0–1), the loss the receiver reports, from the next frame
        encoded on; small changes are ignored."""
        self._wanted = self._step(round(loss * 100))

    def encodes_pcm(self, samples: int) -> bool:
        """Whether :meth:`encode_pcm` takes a tick of ``samples`` mono samples (20 ms at
        48 kHz, coded mono)."""
        return self.channels == 1 and samples == FRAME

    def encode_pcm(self, samples: npt.NDArray[np.int16]) -> tuple[list[bytes], int | None]:
        """Encode one 20 ms mono tick (``encodes_pcm``) with libopus called directly
        (``OpusPcmEncoder``: the same library and settings as through PyAV, without a frame,
        FFmpeg's queue and a packet object each time); a new loss hint is set on the running
        encoder. The payloads and their timestamp, as ``encode``.

        While no loss is reported (no FEC wanted) libopus is told the signal is music, so
        that it codes with its CELT layer alone: at 32 kbit/s that costs about a third of
        the SILK+CELT hybrid it picks for speech, and codes speech and a mix of voices as
        intelligibly (``benchmarks/results/opus_mode.md``). FEC exists only in the SILK
        layer, so with loss reported the choice is libopus's again (the packets PyAV made)."""
        payload = self.send_pcm(samples, [], [], 0)
        return [payload], self._last

    def send_pcm(
        self,
        samples: npt.NDArray[np.int16],
        links: list[Any],
        timestamps: list[int],
        abs_send_time: int,
    ) -> bytes:
        """``encode_pcm`` and send the payload on each of ``links`` (``AudioSendLink``-s)
        stamped with the matching entry of ``timestamps``, in one native call; the payload.
        """
        timestamp = self._next_timestamp()
        payload = encode_send(
            self._pcm_ready(), samples, self._red(), timestamp, links, timestamps, abs_send_time
        )
        self._last = timestamp
        return payload

    def _next_timestamp(self) -> int:
        return 0 if self._last is None else (self._last + FRAME) & 0xFFFFFFFF

    def _red(self) -> Any:
        """The RED packer the payloads are wrapped with (None: plain Opus)."""
        return None

    def _pcm_ready(self) -> Any:
        """The libopus encoder of ``encode_pcm``, with the current loss hint set: CELT
        alone at ``clean_complexity`` while no loss is reported, libopus's choice (with
        FEC) at ``complexity`` once it is."""
        packet_loss = self._wanted
        signal = "auto" if packet_loss else "music"
        complexity = self.complexity
        if not packet_loss and self.clean_complexity is not None:
            complexity = self.clean_complexity
        complexity = 10 if complexity is None else complexity
        encoder = self._pcm_encoder
        if encoder is None or self._pcm_shape != (self.channels, self.complexity):
            encoder = self._pcm_encoder = OpusPcmEncoder(
                opus_library(),
                channels=self.channels,
                bitrate=BIT_RATE,
                complexity=complexity,
                fec=True,
                packet_loss=packet_loss,
                dtx=self._dtx,
                signal=signal,
            )
            self._pcm_shape = (self.channels, self.complexity)
        elif encoder.packet_loss != packet_loss or encoder.complexity != complexity:
            encoder.set_packet_loss(packet_loss)
            encoder.set_signal(signal)
            encoder.set_complexity(complexity)
        self.loss_percent = packet_loss
        return encoder

    def sharing_key(self) -> tuple[Any, ...]:
        """What another encoder must match for its packets to be sent in this one's place:
        listeners whose encoders have equal keys and who hear the same mix may share one."""
        return (
            "opus",
            self.channels,
            self.complexity,
            self.clean_complexity,
            self._wanted,
            self._dtx,
        )

    def twin(self) -> ResilientOpusEncoder:
        """A new encoder with the same ``sharing_key`` (its own codec state)."""
        return ResilientOpusEncoder(**self._settings())

    def _settings(self) -> dict[str, Any]:
        return {
            "loss_percent": self._wanted,
            "dtx": self._dtx,
            "channels": self.channels,
            "complexity": self.complexity,
            "clean_complexity": self.clean_complexity,
        }

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], Any]:
        """Encode as aiortc does, keeping timestamps continuous across a new hint."""
        self._configure()
        if (
            frame.samples == FRAME
            and frame.sample_rate == RATE
            and frame.format.name == "s16"
            and frame.layout.name == self._layout
        ):
            frames = [frame]
        else:
            frames = self.resampler.resample(frame)
        packets = []
        for each in frames:
            packets += self.codec.encode(each)
        pts = packets[0].pts if packets else None
        if pts is None:
            return [], None
        if self.first_packet_pts is None:
            self.first_packet_pts = pts
        timestamp = pts - self.first_packet_pts + self._offset
        self._last = timestamp
        return [bytes(p) for p in packets], timestamp


class ResilientRedEncoder(ResilientOpusEncoder):
    """The resilient Opus encoder whose packets are RED payloads (RFC 2198) carrying the
    last one or two frames again, as many as the loss hint calls for."""

    def __init__(
        self,
        payload_type: int,
        *,
        loss_percent: int = 10,
        dtx: bool = True,
        channels: int = 2,
        complexity: int | None = None,
        clean_complexity: int | None = None,
    ) -> None:
        self.red = red.RedEncoder(payload_type, red.distance_for_loss(loss_percent / 100))
        super().__init__(
            loss_percent=loss_percent,
            dtx=dtx,
            channels=channels,
            complexity=complexity,
            clean_complexity=clean_complexity,
        )

    def sharing_key(self) -> tuple[Any, ...]:
        """The Opus settings, the payload type inside RED and the frames repeated."""
        return (*super().sharing_key(), "red", self.red.payload_type, self.red.distance)

    def twin(self) -> ResilientRedEncoder:
        """A new RED encoder with the same ``sharing_key`` (its own codec state)."""
        twin = ResilientRedEncoder(self.red.payload_type, **self._settings())
        twin.red.distance = self.red.distance
        return twin

    def set_loss_hint(self, loss: float) -> None:
        """Size FEC and the redundancy for ``loss`` (0–1)."""
        super().set_loss_hint(loss)
        self.red.set_loss(loss)

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], Any]:
        """Encode, then wrap each packet with the frames before it."""
        payloads, timestamp = super().encode(frame, force_keyframe)
        if timestamp is None:
            return payloads, None
        return [self.red.wrap(p, timestamp) for p in payloads], timestamp

    def _red(self) -> Any:
        return self.red


def opus_payload_type(red_codec: Any) -> int | None:
    """The Opus payload type a ``red`` codec's format parameters name (``111/111``)."""
    for key in getattr(red_codec, "parameters", {}) or {}:
        first = str(key).split("/", 1)[0]
        if first.isdigit() and int(first) < 128:
            return int(first)
    return None


def set_enabled(on: bool) -> None:
    """Turn FEC/DTX/RED/concealment on or off for peers created from now on (benchmarks)."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    """Whether new peers get the resilient Opus."""
    return _enabled


_installed = False
#: Offered beside Opus (whose payload type in aiortc's own list is 96), after it.
RED_CODEC = RTCRtpCodecParameters(
    mimeType="audio/red", clockRate=RATE, channels=2, payloadType=63, parameters={"96/96": None}
)


def install() -> None:
    """Route aiortc's Opus through the resilient encoder and decoder, and let aiortc
    negotiate RED (once per process; ``set_enabled`` switches it for new peers)."""
    global _installed
    if _installed:
        return
    OpusPcmDecoder(channels=1)  # fail here, not in a media thread, when libopus is missing
    receiver: Any = rtcrtpreceiver
    sender: Any = rtcrtpsender
    plain_decoder = receiver.get_decoder
    plain_encoder = sender.get_encoder

    def get_decoder(codec: Any) -> Any:
        kind = codec.mimeType.lower()
        if kind == "audio/red":
            return ResilientOpusDecoder(red=True)
        if _enabled and kind == "audio/opus":
            return ResilientOpusDecoder()
        return plain_decoder(codec)

    def get_encoder(codec: Any) -> Any:
        kind = codec.mimeType.lower()
        if kind == "audio/red":
            payload_type = opus_payload_type(codec)
            if payload_type is None:
                raise ValueError("a red codec needs the Opus payload type in its parameters")
            return ResilientRedEncoder(payload_type)
        if _enabled and kind == "audio/opus":
            return ResilientOpusEncoder()
        return plain_encoder(codec)

    receiver.get_decoder = get_decoder
    sender.get_encoder = get_encoder
    audio = aiortc_codecs.CODECS["audio"]
    if not any(c.mimeType.lower() == "audio/red" for c in audio):
        audio.insert(1, RED_CODEC)
    # Audio NACK (the receivers' Playout asks; aiortc's senders answer any kind): offered
    # with Opus and RED, kept only where the far end offers it too.
    for codec in audio:
        if codec.mimeType.lower() in ("audio/opus", "audio/red") and not any(
            f.type == "nack" and not f.parameter for f in codec.rtcpFeedback
        ):
            codec.rtcpFeedback = [*codec.rtcpFeedback, RTCRtcpFeedback(type="nack")]
    _installed = True
