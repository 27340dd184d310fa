"""The tick's Opus encoder: native and twin (libopus through ctypes) give the same packets
for the same samples and settings, bit for bit, also across loss hints and signal hints;
the packets are those PyAV's encoder made of the same frames (the same library and
settings); without loss reported the tick codes with CELT alone, with loss reported with
SILK's FEC."""

from __future__ import annotations

import functools
import wave
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk._backend import Resampler
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
    signals=st.lists(st.sampled_from(sorted(twin.SIGNALS)), min_size=1, max_size=3),
    complexities=st.lists(st.integers(0, 10), max_size=3),
)
def test_native_and_twin_encode_alike(
    native: ModuleType,
    seed: int,
    channels: int,
    complexity: int | None,
    dtx: bool,
    fec: bool,
    hints: list[int],
    signals: list[str],
    complexities: list[int],
) -> None:
    samples = _signal(seed, 60, channels)
    step = 960 * channels
    made = []
    for module in (native, twin):
        encoder = module.OpusPcmEncoder(
            opus_library(),
            channels=channels,
            complexity=complexity,
            fec=fec,
            dtx=dtx,
            signal=signals[0],
        )
        packets = []
        for i in range(60):
            if i % 15 == 0:
                encoder.set_packet_loss(hints[(i // 15) % len(hints)])
            if i % 20 == 10:
                encoder.set_signal(signals[(i // 20 + 1) % len(signals)])
            if i % 20 == 5 and complexities:
                encoder.set_complexity(complexities[(i // 20) % len(complexities)])
            packets.append(encoder.encode(samples[i * step : (i + 1) * step]))
        made.append((packets, encoder.packet_loss, encoder.signal, encoder.complexity))
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
        {"signal": "speech"},
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
    with pytest.raises(ValueError):
        encoder.set_signal("noise")
    with pytest.raises(ValueError):
        encoder.set_complexity(11)
    assert (encoder.signal, encoder.complexity) == ("auto", 10)
    assert len(encoder.encode(np.zeros(960, np.int16))) > 0  # still encodes after refusals


CLIP = Path(__file__).parent / "data/asr/aishell1-BAC009S0764W0121.wav"


@functools.cache
def _sentence() -> np.ndarray:
    """The AISHELL-1 sentence (real Mandarin speech), at 48 kHz."""
    with wave.open(str(CLIP)) as f:
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.int16)
    up = Resampler(16_000, 48_000).process(pcm)
    return up[: up.size // 960 * 960]


def _coded(hint: float) -> list[tuple[list[bytes], int | None]]:
    """The sentence coded as the tick codes it for a receiver reporting ``hint`` loss."""
    samples = _sentence()
    encoder = opus.ResilientOpusEncoder(channels=1, loss_percent=0)
    encoder.set_loss_hint(hint)
    return [encoder.encode_pcm(samples[i : i + 960]) for i in range(0, samples.size, 960)]


def _recovered_error(hint: float) -> float:
    """RMS error (against the stream decoded without loss) of the frames rebuilt when every
    fifth packet is lost, coded with the FEC a receiver reporting ``hint`` loss gets."""
    sent = _coded(hint)
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
    """On a link that reports no loss the encoder codes no FEC; once loss is reported, a
    lost frame of speech is rebuilt from the next packet far closer to what was sent than
    concealment guesses it."""
    without, with_fec = _recovered_error(0.0), _recovered_error(0.2)
    assert with_fec < 0.5 * without, (with_fec, without)


def _layers(hint: float) -> set[str]:
    """The Opus modes (RFC 6716 §3.1, from each packet's TOC byte) of the coded sentence."""
    modes = set()
    for payloads, _ in _coded(hint):
        config = payloads[0][0] >> 3
        if len(payloads[0]) > 2:  # DTX frames say nothing of the layer
            modes.add("silk" if config < 12 else "hybrid" if config < 16 else "celt")
    return modes


def test_celt_alone_without_loss_and_silk_fec_with_it() -> None:
    """A listener reporting no loss gets CELT alone (about a third of the hybrid's CPU);
    one reporting loss gets the speech layer that carries FEC; and the change on a running
    encoder plays on without a gap."""
    assert _layers(0.0) == {"celt"}
    assert _layers(0.2) and _layers(0.2) <= {"silk", "hybrid"}
    samples = _sentence()
    encoder = opus.ResilientOpusEncoder(channels=1, loss_percent=0)
    decoder = OpusPcmDecoder(channels=1)
    kinds = []
    for n, i in enumerate(range(0, samples.size, 960)):
        encoder.set_loss_hint(0.2 if (n // 40) % 2 else 0.0)
        payloads, ts = encoder.encode_pcm(samples[i : i + 960])
        kinds += [kind for _, _, kind in decoder.decode_pcm(payloads[0], ts, False)]
    assert kinds == [None] * (samples.size // 960)


def test_a_clean_link_is_coded_at_the_clean_complexity_and_loss_at_the_full_one() -> None:
    """While no loss is reported CELT codes alone at ``clean_complexity`` (cheaper, and as
    clear: ``MediaConfig.clean_link_complexity``); once loss is reported the hybrid with FEC
    codes at ``complexity``, on the same running encoder."""
    samples = _sentence()
    frames = [samples[i : i + 960] for i in range(0, 120 * 960, 960)]
    ours = opus.ResilientOpusEncoder(channels=1, loss_percent=0, complexity=10, clean_complexity=5)
    reference = twin.OpusPcmEncoder(opus_library(), complexity=5, packet_loss=0, signal="music")
    full = twin.OpusPcmEncoder(opus_library(), complexity=10, packet_loss=0, signal="music")
    clean = [ours.encode_pcm(f)[0][0] for f in frames[:60]]
    assert clean == [reference.encode(f) for f in frames[:60]]
    assert clean != [full.encode(f) for f in frames[:60]]  # the complexity matters
    ours.set_loss_hint(0.2)
    reference.set_packet_loss(20)
    reference.set_signal("auto")
    reference.set_complexity(10)
    assert [ours.encode_pcm(f)[0][0] for f in frames[60:]] == [
        reference.encode(f) for f in frames[60:]
    ]
    # Only listeners coded alike share an encoder.
    assert ours.twin().sharing_key() == ours.sharing_key()
    same_but_clean = opus.ResilientOpusEncoder(channels=1, loss_percent=20, complexity=10)
    assert same_but_clean.sharing_key() != ours.sharing_key()
