"""The twin of the native ``OpusPcmDecoder`` (``opus_decode.rs``): a 48 kHz Opus decoder
that fills holes, libopus called through ctypes.

The decoder sees a hole from the RTP timestamps when the next packet arrives. It rebuilds
the missing frames from that packet's redundant copies (RED, RFC 2198, when the packets
are RED), else the last one from the packet's in-band FEC, and conceals the rest (Opus
packet-loss concealment). A gap longer than ``MAX_CONCEAL_MS`` is a pause (DTX, a muted
sender), not loss. Both implementations call the same libopus with the same arguments in
the same order, so they give the same samples.
"""

from __future__ import annotations

import ctypes

import numpy as np
import numpy.typing as npt

from zhanye_sdk.kernels import red
from zhanye_sdk.kernels.libopus import load, system_library

__all__ = ["FRAME", "MAX_CONCEAL_MS", "RATE", "DecodedPcm", "OpusPcmDecoder"]

RATE = 48_000
#: Samples per channel of a 20 ms frame.
FRAME = 960
MAX_CONCEAL_MS = 200
#: The most samples per channel one Opus packet decodes to (120 ms).
_MAX_FRAME = 5760
#: One decoded frame: its interleaved int16 samples, its RTP timestamp and what it is
#: (None received, ``"red"``/``"fec"`` recovered, ``"plc"`` concealed).
DecodedPcm = tuple[npt.NDArray[np.int16], int, str | None]


class OpusPcmDecoder:
    """Decodes one stream's packets into int16 frames, filling holes (module docstring).

    Args:
        channels: 1 (libopus downmixes) or 2.
        red: the packets are RED payloads (RFC 2198) with Opus inside.
    """

    def __init__(self, *, channels: int = 2, red: bool = False) -> None:
        if channels not in (1, 2):
            raise ValueError(f"channels must be 1 or 2, got {channels}")
        lib = load(system_library())
        self.red = red
        self.channels = channels
        #: RED payloads that could not be read.
        self.malformed = 0
        #: Frames decoded from their own packet, rebuilt (RED or FEC) and concealed.
        self.received = self.recovered = self.concealed = 0
        error = ctypes.c_int()
        self._lib = lib
        self._state = lib.opus_decoder_create(RATE, channels, ctypes.byref(error))
        if not self._state or error.value != 0:
            raise RuntimeError(f"opus_decoder_create failed ({error.value})")
        self._pcm = (ctypes.c_int16 * (_MAX_FRAME * channels))()
        self._samples = np.ctypeslib.as_array(self._pcm)
        self._next: int | None = None

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state:
            self._lib.opus_decoder_destroy(state)
            self._state = None

    def _frame(
        self, data: bytes | None, samples: int, fec: bool, pts: int, kind: str | None
    ) -> DecodedPcm | None:
        n = self._lib.opus_decode(
            self._state, data, len(data) if data else 0, self._pcm, samples, int(fec)
        )
        if n <= 0:
            return None
        return self._samples[: n * self.channels].copy(), pts, kind

    def decode_pcm(self, data: bytes, timestamp: int, discontinuity: bool) -> list[DecodedPcm]:
        """Decode one packet, recovering the frames before it that never arrived: from
        the packet's redundant copies (RED), else the last one from its in-band FEC, the
        rest concealed. ``discontinuity``: frames were skipped on purpose before it (the
        jitter buffer shrank), not lost."""
        redundant: dict[int, bytes] = {}
        if self.red:
            try:
                blocks, (_, data) = red.split(data)
            except ValueError:
                self.malformed += 1
                return []
            redundant = {
                (timestamp - offset) & 0xFFFFFFFF: copy for _, offset, copy in blocks if copy
            }
        if discontinuity:
            self._next = None
        frames = []
        if self._next is not None:
            gap = (timestamp - self._next) & 0xFFFFFFFF
            if gap >= 1 << 31:
                return []  # late or repeated: its place has been filled already
            if 0 < gap <= MAX_CONCEAL_MS * RATE // 1000:
                frames += self._fill(data, timestamp, gap, redundant)
        frame = self._frame(data, _MAX_FRAME, False, timestamp, None)
        if frame is not None:
            frames.append(frame)
            self.received += 1
            self._next = (timestamp + frame[0].shape[0] // self.channels) & 0xFFFFFFFF
        return frames

    def _fill(
        self, data: bytes, timestamp: int, gap: int, redundant: dict[int, bytes]
    ) -> list[DecodedPcm]:
        frames = []
        at = self._next if self._next is not None else timestamp - gap
        end = timestamp
        while at != end and (end - at) & 0xFFFFFFFF <= gap:
            left = (end - at) & 0xFFFFFFFF
            copy = redundant.get(at)
            if copy is not None:
                frame = self._frame(copy, _MAX_FRAME, False, at, "red")
                if frame is None:
                    break
                self.recovered += 1
            elif left <= FRAME:
                frame = self._frame(data, left, True, at, "fec")
                if frame is None:
                    break
                self.recovered += 1
            else:
                frame = self._frame(None, FRAME, False, at, "plc")
                if frame is None:
                    break
                self.concealed += 1
            frames.append(frame)
            at = (at + frame[0].shape[0] // self.channels) & 0xFFFFFFFF
        return frames
