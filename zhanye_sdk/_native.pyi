"""Type stub of the native extension built from ``zhanye_sdk_native`` (see ``_backend``)."""

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

def mix(
    frames: npt.NDArray[np.int16],
    gains_q15: npt.NDArray[np.int32],
    *,
    out: npt.NDArray[np.int16] | None = None,
    soft_limit: bool = False,
) -> npt.NDArray[np.int16]: ...
def mix_minus(
    frames: npt.NDArray[np.int16],
    gains_q15: npt.NDArray[np.int32],
    *,
    out: npt.NDArray[np.int16] | None = None,
    soft_limit: bool = False,
) -> npt.NDArray[np.int16]: ...
def soft_knee(levels: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]: ...
def resample(samples: npt.NDArray[np.int16], from_hz: int, to_hz: int) -> npt.NDArray[np.int16]: ...

class Resampler:
    def __init__(self, from_hz: int, to_hz: int) -> None: ...
    def process(self, chunk: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]: ...
    def reset(self) -> None: ...
    @property
    def from_hz(self) -> int: ...
    @property
    def to_hz(self) -> int: ...
    @property
    def delay(self) -> float: ...
    @property
    def taps(self) -> npt.NDArray[np.int32]: ...

_Planes = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]

def beauty_i420(
    y: npt.NDArray[np.uint8],
    u: npt.NDArray[np.uint8],
    v: npt.NDArray[np.uint8],
    strength: int,
    brighten: int = 0,
) -> npt.NDArray[np.uint8]: ...
def composite_i420(
    inputs: Sequence[_Planes],
    layout: str,
    width: int,
    height: int,
    background: Sequence[int] = (16, 128, 128),
    *,
    main: int = 0,
    out: _Planes | None = None,
) -> _Planes: ...
def draw_strokes(
    image: npt.NDArray[np.uint8],
    points: npt.NDArray[np.int32],
    offsets: npt.NDArray[np.int64],
    widths: npt.NDArray[np.int32],
    colours: npt.NDArray[np.uint8],
    tools: npt.NDArray[np.uint8],
) -> None: ...
def layout_cells(
    sizes: Sequence[tuple[int, int]],
    layout: str,
    width: int,
    height: int,
    *,
    main: int = 0,
) -> list[tuple[int, int, int, int]]: ...

class Compositor:
    def __init__(self) -> None: ...
    def composite(
        self,
        inputs: Sequence[_Planes],
        layout: str,
        width: int,
        height: int,
        background: Sequence[int] = (16, 128, 128),
        *,
        main: int = 0,
        out: _Planes | None = None,
    ) -> _Planes: ...

class AhoCorasick:
    def __init__(self, patterns: Iterable[str]) -> None: ...
    def find(self, text: str, *, overlapping: bool = False) -> list[tuple[int, int, int]]: ...
    @property
    def pattern_count(self) -> int: ...

class SrtpContext:
    def __init__(self, profile: str, key_and_salt: bytes) -> None: ...
    def protect(self, packet: bytes) -> bytes: ...
    def unprotect(self, packet: bytes) -> bytes: ...
    @property
    def profile(self) -> str: ...

class AudioSendLink:
    def __init__(
        self,
        fd: int,
        host: str,
        port: int,
        profile: str,
        key_and_salt: bytes,
        *,
        ssrc: int,
        payload_type: int,
        sequence: int,
        timestamp_origin: int,
        mid_id: int | None = None,
        mid: str | None = None,
        abs_send_time_id: int | None = None,
    ) -> None: ...
    def send(self, payloads: list[bytes], timestamp: int, abs_send_time: int) -> int: ...
    def retransmit(self, sequence: int) -> bool: ...
    def close(self) -> None: ...
    @property
    def next_sequence(self) -> int: ...
    @property
    def packets_sent(self) -> int: ...
    @property
    def octets_sent(self) -> int: ...
    @property
    def last_timestamp(self) -> int: ...
    @property
    def send_failures(self) -> int: ...

class AudioReceiveLink:
    def __init__(
        self,
        fd: int,
        host: str,
        port: int,
        profile: str,
        key_and_salt: bytes,
        *,
        payload_types: Iterable[int],
    ) -> None: ...
    def drain(
        self, max: int = 256
    ) -> tuple[
        list[tuple[int, int, int, int, bool, bytes, float]], list[tuple[bytes, tuple[str, int]]]
    ]: ...
    def drain_into(
        self,
        intake: AudioIntake,
        buffer: AdaptiveJitterBuffer,
        *,
        max: int = 256,
        take: bool = True,
    ) -> tuple[
        list[tuple[bytes, tuple[str, int]]], int, list[tuple[int, list[int]]], list[int]
    ]: ...
    def close(self) -> None: ...
    @property
    def packets(self) -> int: ...
    @property
    def refused(self) -> int: ...
    @property
    def forwarded(self) -> int: ...

class Released:
    @property
    def sequence(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def discontinuity(self) -> bool: ...
    @property
    def redundant(self) -> bool: ...
    @property
    def tag(self) -> int: ...

class AdaptiveJitterBuffer:
    def __init__(
        self,
        *,
        clock_rate: int = 48_000,
        frame_ms: float = 20.0,
        min_delay_ms: float = 20.0,
        max_delay_ms: float = 300.0,
        window: int = 250,
        quantile: float = 0.95,
        margin_ms: float = 5.0,
        shrink_every: int = 10,
    ) -> None: ...
    def push(
        self,
        sequence: int,
        timestamp: int,
        payload: bytes,
        now: float,
        *,
        redundant: bool = False,
        tag: int = 0,
    ) -> bool: ...
    def pop(self, now: float) -> list[Released]: ...
    def due(self, sequence: int) -> float | None: ...
    def next_due(self) -> float | None: ...
    @property
    def delay_ms(self) -> float: ...
    @property
    def buffered(self) -> int: ...
    @property
    def clock_rate(self) -> int: ...
    @property
    def frame_s(self) -> float: ...
    @property
    def received(self) -> int: ...
    @property
    def late(self) -> int: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def resyncs(self) -> int: ...

_StatisticsRow = tuple[int | None, int | None, int, int, int, int | None, int | None]

class AudioIntake:
    def __init__(
        self, *, clock_rate: int = 48_000, nack_payload_types: Iterable[int] = ()
    ) -> None: ...
    def take(
        self,
        ssrc: int,
        payload_type: int,
        sequence: int,
        timestamp: int,
        payload: bytes,
        arrival: float,
        wall_offset: float,
        buffer: AdaptiveJitterBuffer,
    ) -> list[int]: ...
    def seed(self, ssrc: int, row: _StatisticsRow) -> None: ...
    def statistics(self, ssrc: int) -> _StatisticsRow | None: ...
    def pending(self) -> list[int]: ...
    @property
    def top(self) -> int | None: ...
    @property
    def payload_types(self) -> dict[int, int]: ...
    @property
    def nacks(self) -> int: ...
    @property
    def retransmitted(self) -> int: ...

class OpusPcmDecoder:
    def __init__(self, *, channels: int = 2, red: bool = False) -> None: ...
    def decode_pcm(
        self, data: bytes, timestamp: int, discontinuity: bool
    ) -> list[tuple[npt.NDArray[np.int16], int, str | None]]: ...
    @property
    def channels(self) -> int: ...
    @property
    def red(self) -> bool: ...
    @property
    def received(self) -> int: ...
    @property
    def recovered(self) -> int: ...
    @property
    def concealed(self) -> int: ...
    @property
    def malformed(self) -> int: ...

class OpusPcmEncoder:
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
    ) -> None: ...
    def encode(self, samples: npt.NDArray[np.int16]) -> bytes: ...
    def set_packet_loss(self, percent: int) -> None: ...
    def set_signal(self, signal: str) -> None: ...
    def set_complexity(self, complexity: int) -> None: ...
    @property
    def packet_loss(self) -> int: ...
    @property
    def complexity(self) -> int: ...
    @property
    def signal(self) -> str: ...
    @property
    def channels(self) -> int: ...

class MixBuffers:
    def __init__(
        self, frame_samples: int = 960, prime_frames: int = 2, max_frames: int = 6
    ) -> None: ...
    @property
    def rows(self) -> int: ...
    @property
    def frame_samples(self) -> int: ...
    def add(self) -> int: ...
    def remove(self, index: int) -> None: ...
    def set_gain(self, index: int, gain_q15: int) -> None: ...
    def push(self, index: int, samples: npt.NDArray[np.int16]) -> None: ...
    def buffered(self, index: int) -> int: ...
    def tick(
        self,
    ) -> tuple[
        npt.NDArray[np.int16],
        npt.NDArray[np.int16],
        npt.NDArray[np.int16],
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
    ]: ...

class RedPacker:
    def __init__(self, payload_type: int, distance: int = 1) -> None: ...
    @property
    def payload_type(self) -> int: ...
    @property
    def distance(self) -> int: ...
    @distance.setter
    def distance(self, distance: int) -> None: ...
    def set_loss(self, loss: float) -> None: ...
    def wrap(self, data: bytes, timestamp: int) -> bytes: ...

def release_into(
    buffer: AdaptiveJitterBuffer,
    decoder: OpusPcmDecoder,
    tags: bytes,
    mix: MixBuffers,
    row: int,
    now: float,
) -> tuple[int, int, list[Released]]: ...
def encode_send(
    encoder: OpusPcmEncoder,
    samples: npt.NDArray[np.int16],
    red: RedPacker | None,
    timestamp: int,
    links: Sequence[AudioSendLink],
    timestamps: Sequence[int],
    abs_send_time: int,
) -> bytes: ...
