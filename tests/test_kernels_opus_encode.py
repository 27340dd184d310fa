"""The tick's Opus encoder: native and twin (libopus through ctypes) give the same packets
for the same samples and settings, bit for bit, also across loss hints; and the packets
are those PyAV's encoder made of the same frames (the same library and settings)."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk.kernels import opus_encode as twin
from zhanye_sdk.kernels.opus_decode import OpusPcmDecoder
from zhanye_sdk.kernels.opus_encode import opus_library
from zhanye_sdk.media import opus
from zhanye_sdk.media.frames import mono_to_audio_frame


def _signal(seed: int, frames: int, channels: int) -> np.ndarray:
    """A gliding tone with noise, a silent stretch (DTX) and a few clipped frames."""
    rng = np.random.default_rng(seed)
    n = 960 * frames
    t = np.arange(n) / 48_000
    x = 6000 * np.sin(2 * np.pi * (200 + 300 * rng.random() * t) * t) + rng.normal(0, 600, n)
    x[n // 3 : n // 2] = 0
    x[: 960 * 2] *= 20
    mono = np.clip(x, -32768, 32767).astype(np.int16)
    return np.repeat(mono, channels) if channels == 2 else mono


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    channels=st.sampled_from([1, 2]),
    complexity=st.sampled_from([None, 0, 5, 10]),
    dtx=st.booleans(),
    fec=st.booleans(),
    hints=st.lists(st.integers(0, 100), min_size=1, max_size=4),
)
def test_native_and_twin_encode_alike(
    native: ModuleType,
    seed: int,
    channels: int,
    complexity: int | None,
    dtx: bool,
    fec: bool,
    hints: list[int],
) -> None:
    samples = _signal(seed, 60, channels)
    step = 960 * channels
    made = []
    for module in (native, twin):
        encoder = module.OpusPcmEncoder(
            opus_library(), channels=channels, complexity=complexity, fec=fec, dtx=dtx
        )
        packets = []
        for i in range(60):
            if i % 15 == 0:
                encoder.set_packet_loss(hints[(i // 15) % len(hints)])
            packets.append(encoder.encode(samples[i * step : (i + 1) * step]))
        made.append((packets, encoder.packet_loss))
    assert made[0] == made[1]


def test_the_packets_are_those_pyav_made_and_silence_is_near_empty() -> None:
    samples = _signal(7, 100, 1)
    through_pyav = opus.ResilientOpusEncoder(channels=1, loss_percent=10, dtx=False)
    direct = opus.ResilientOpusEncoder(channels=1, loss_percent=10, dtx=False)
    with_dtx = opus.ResilientOpusEncoder(channels=1, loss_percent=10)
    silent = []
    for i in range(100):
        frame = samples[i * 960 : (i + 1) * 960]
        assert direct.encodes_pcm(frame.shape[0])
        ours, ts = direct.encode_pcm(frame)
        theirs, their_ts = through_pyav.encode(mono_to_audio_frame(frame, 48_000, pts=i * 960))
        assert (ours, ts) == (theirs, their_ts)
        if 45 <= i < 50:  # well into the silent stretch
            silent += with_dtx.encode_pcm(frame)[0]
        else:
            with_dtx.encode_pcm(frame)
    # DTX: silence goes out as one-byte packets (FFmpeg's encoder sent about 20 bytes).
    assert silent and all(len(p) <= 2 for p in silent)


@pytest.mark.parametrize("module_name", ["native", "twin"])
def test_bad_settings_and_frames_are_refused(native: ModuleType, module_name: str) -> None:
    module = native if module_name == "native" else twin
    for settings_ in (
        {"channels": 3},
        {"bitrate": 100},
        {"complexity": 11},
        {"packet_loss": 101},
    ):
        with pytest.raises(ValueError):
            module.OpusPcmEncoder(opus_library(), **settings_)
    with pytest.raises(RuntimeError):
        module.OpusPcmEncoder("/nonexistent/libopus.so")
    encoder = module.OpusPcmEncoder(opus_library())
    for bad in (np.zeros(480, np.int16), np.zeros(960, np.float32), np.zeros((2, 960), np.int16)):
        with pytest.raises(ValueError):
            encoder.encode(bad)
    with pytest.raises(ValueError):
        encoder.set_packet_loss(-1)
    assert len(encoder.encode(np.zeros(960, np.int16))) > 0  # still encodes after refusals


def _recovered_error(hint: float) -> float:
    """RMS error (against the stream decoded without loss) of the frames rebuilt when every
    fifth packet is lost, coded with the FEC a receiver reporting ``hint`` loss gets."""
    samples = _signal(3, 150, 1)
    encoder = opus.ResilientOpusEncoder(channels=1, loss_percent=0)
    encoder.set_loss_hint(hint)
    sent = [encoder.encode_pcm(samples[i * 960 : (i + 1) * 960]) for i in range(150)]
    clean, lossy = OpusPcmDecoder(channels=1), OpusPcmDecoder(channels=1)
    reference = {}
    for payloads, ts in sent:
        for pcm, at, _ in clean.decode_pcm(payloads[0], ts, False):
            reference[at] = pcm.astype(np.float64)
    errors = []
    for i, (payloads, ts) in enumerate(sent):
        if i % 5 == 2:
            continue  # lost
        for pcm, at, kind in lossy.decode_pcm(payloads[0], ts, False):
            if kind is not None and i > 10:
                errors.append(np.sqrt(np.mean((pcm - reference[at]) ** 2)))
    assert len(errors) > 20
    return float(np.mean(errors))


def test_fec_follows_the_loss_hint() -> None:
    """On a link that reports no loss the encoder codes no FEC (about a third of its
    CPU); once loss is reported, a lost frame is rebuilt from the next packet far closer
    to what was sent than concealment guesses it."""
    without, with_fec = _recovered_error(0.0), _recovered_error(0.2)
    assert with_fec < 0.5 * without, (with_fec, without)
