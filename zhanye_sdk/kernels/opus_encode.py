"""The twin of the native ``OpusPcmEncoder`` (``opus_encode.rs``): an Opus encoder of
20 ms int16 frames, libopus called through ctypes.

Both load libopus from the path :func:`opus_library` names (the one PyAV ships, whose
encoder the SDK used through FFmpeg, else the system's) and set it up as FFmpeg does for
the same options: VoIP, unconstrained VBR at the bitrate, complexity 10 unless told,
in-band FEC for a loss percentage, DTX. A new loss percentage, and libopus's signal hint
(which FFmpeg leaves to libopus: ``"music"`` makes it code with its CELT layer alone at
32 kbit/s), are set on the running encoder. Both give the same packets for the same
samples.
"""

from __future__ import annotations

import ctypes

import numpy as np
import numpy.typing as npt

from zhanye_sdk.kernels.libopus import load, opus_library

__all__ = ["FRAME", "SIGNALS", "OpusPcmEncoder", "opus_library"]

RATE = 48_000
#: Samples per channel of a 20 ms frame.
FRAME = 960
_MAX_PACKET = 4000
_APPLICATION_VOIP = 2048
_SET_BITRATE = 4002
_SET_VBR = 4006
_SET_COMPLEXITY = 4010
_SET_INBAND_FEC = 4012
_SET_PACKET_LOSS_PERC = 4014
_SET_DTX = 4016
_SET_VBR_CONSTRAINT = 4020
_SET_SIGNAL = 4024
#: libopus's signal hints (``OPUS_AUTO``, ``OPUS_SIGNAL_VOICE``, ``OPUS_SIGNAL_MUSIC``).
SIGNALS = {"auto": -1000, "voice": 3001, "music": 3002}


class OpusPcmEncoder:
    """One listener's (or one shared mix's) Opus encoder (module docstring).

    Args:
        library: the path of the libopus to load (:func:`opus_library`).
        channels: 1 or 2 (samples interleaved).
        bitrate: bits per second (500–512 000).
        complexity: 0–10 (None: 10, FFmpeg's default).
        fec: send in-band FEC.
        packet_loss: the loss expected, 0–100 (sizes the FEC).
        dtx: near-empty packets in silence.
        signal: libopus's signal hint, a key of :data:`SIGNALS`.
    """

    def __init__(
        self,
        library: str,
        *,
        channels: int = 1,
        bitrate: int = 32_000,
        complexity: int | None = None,
        fec: bool = True,
        packet_loss: int = 0,
        dtx: bool = True,
        signal: str = "auto",
    ) -> None:
        if channels not in (1, 2):
            raise ValueError(f"channels must be 1 or 2, got {channels}")
        if not 500 <= bitrate <= 512_000:
            raise ValueError(f"bitrate must be 500–512000, got {bitrate}")
        if complexity is not None and not 0 <= complexity <= 10:
            raise ValueError(f"complexity must be 0–10, got {complexity}")
        if not 0 <= packet_loss <= 100:
            raise ValueError(f"packet_loss must be 0–100, got {packet_loss}")
        _check_signal(signal)
        try:
            lib = load(library)
        except OSError as exc:
            raise RuntimeError(f"cannot load {library}") from exc
        self._lib = lib
        self.channels = channels
        self.packet_loss = packet_loss
        #: The complexity in effect (0–10).
        self.complexity = 10 if complexity is None else complexity
        error = ctypes.c_int()
        self._state = lib.opus_encoder_create(
            RATE, channels, _APPLICATION_VOIP, ctypes.byref(error)
        )
        if not self._state or error.value != 0:
            raise RuntimeError(f"opus_encoder_create failed ({error.value})")
        self._packet = ctypes.create_string_buffer(_MAX_PACKET)
        for request, value in (
            (_SET_BITRATE, bitrate),
            (_SET_VBR, 1),
            (_SET_VBR_CONSTRAINT, 0),
            (_SET_INBAND_FEC, int(fec)),
            (_SET_PACKET_LOSS_PERC, packet_loss),
            (_SET_DTX, int(dtx)),
            (_SET_COMPLEXITY, self.complexity),
        ):
            self._ctl(request, value)
        self.signal = "auto"
        if signal != "auto":
            self.set_signal(signal)

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state:
            self._lib.opus_encoder_destroy(state)
            self._state = None

    def _ctl(self, request: int, value: int) -> None:
        status = self._lib.opus_encoder_ctl(
            ctypes.c_void_p(self._state), ctypes.c_int(request), ctypes.c_int(value)
        )
        if status != 0:
            raise RuntimeError(f"opus_encoder_ctl({request}, {value}) failed ({status})")

    def set_packet_loss(self, percent: int) -> None:
        """Size the FEC for ``percent`` (0–100) loss from the next frame on."""
        if not 0 <= percent <= 100:
            raise ValueError(f"packet_loss must be 0–100, got {percent}")
        self._ctl(_SET_PACKET_LOSS_PERC, percent)
        self.packet_loss = percent

    def set_complexity(self, complexity: int) -> None:
        """Code at ``complexity`` (0–10) from the next frame on."""
        if not 0 <= complexity <= 10:
            raise ValueError(f"complexity must be 0–10, got {complexity}")
        self._ctl(_SET_COMPLEXITY, complexity)
        self.complexity = complexity

    def set_signal(self, signal: str) -> None:
        """Give libopus the signal hint ``signal`` (:data:`SIGNALS`) from the next frame on."""
        _check_signal(signal)
        self._ctl(_SET_SIGNAL, SIGNALS[signal])
        self.signal = signal

    def encode(self, samples: npt.NDArray[np.int16]) -> bytes:
        """Encode one 20 ms frame of int16 samples (interleaved); the packet."""
        if not isinstance(samples, np.ndarray) or samples.dtype != np.int16 or samples.ndim != 1:
            raise ValueError(
                f"samples must be a numpy array of dtype int16 and shape (960 × channels,), "
                f"got {getattr(samples, 'dtype', type(samples).__name__)}"
            )
        if samples.shape[0] != FRAME * self.channels:
            raise ValueError(
                f"expected {FRAME * self.channels} samples (20 ms of {self.channels} "
                f"channel(s)), got {samples.shape[0]}"
            )
        pcm = np.ascontiguousarray(samples)
        n = self._lib.opus_encode(
            self._state,
            pcm.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)),
            FRAME,
            self._packet,
            _MAX_PACKET,
        )
        if n < 0:
            raise RuntimeError(f"opus_encode failed ({n})")
        return self._packet.raw[:n]


def _check_signal(signal: str) -> None:
    if signal not in SIGNALS:
        raise ValueError(f"signal must be 'auto', 'voice' or 'music', got {signal!r}")
