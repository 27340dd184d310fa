"""Opus decoding with RED, FEC and concealment: native and twin (libopus through ctypes),
fed the same packets through loss, reordering, pauses, discontinuities and malformed RED,
give the same frames (samples, timestamps, kinds) and counters, bit for bit."""

from __future__ import annotations

import functools
import random
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk.kernels import opus_decode as twin
from zhanye_sdk.media import opus, red
from zhanye_sdk.media.frames import mono_to_audio_frame

OPUS = 111


@functools.cache
def _speech_like_packets(hint: float) -> list[tuple[bytes, int]]:
    """Three seconds of a gliding tone with noise, coded with FEC (and DTX in the pause)."""
    encoder = opus.ResilientOpusEncoder(channels=1)
    encoder.set_loss_hint(hint)
    rng = np.random.default_rng(5)
    t = np.arange(48_000 * 3) / 48_000
    x = 6000 * np.sin(2 * np.pi * (300 + 200 * t) * t) + rng.normal(0, 400, t.size)
    x[48_000:60_000] = 0  # a pause: DTX
    samples = x.astype(np.int16)
    packets = []
    for i in range(samples.size // 960):
        frame = mono_to_audio_frame(samples[i * 960 : (i + 1) * 960], 48_000, pts=i * 960)
        payloads, ts = encoder.encode(frame)
        packets += [(p, ts) for p in payloads]
    return packets


@st.composite
def deliveries(draw: st.DrawFn) -> dict[str, Any]:
    """What reaches a decoder: Opus or RED packets, some lost, late, repeated or broken,
    some after a discontinuity."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    packets = _speech_like_packets(draw(st.sampled_from([0.0, 0.2])))
    as_red = draw(st.booleans())
    loss = draw(st.sampled_from([0.0, 0.1, 0.4]))
    odd = draw(st.sampled_from([0.0, 0.05, 0.2]))
    encoder = red.RedEncoder(OPUS, distance=draw(st.integers(0, 3)))
    # aiortc's timestamp mapper hands on timestamps outside 32 bits (its stream restarts).
    base = draw(st.sampled_from([0, 0, -5_000_000, 1 << 32]))
    steps = []
    shift = 0
    for payload, ts in packets[: draw(st.integers(1, len(packets)))]:
        if rng.random() < odd:
            shift += rng.choice([480, 240])  # timestamps that move by part of a frame
        ts = (ts + shift) & 0xFFFFFFFF
        data = encoder.wrap(payload, ts) if as_red else payload
        if rng.random() < loss:
            continue
        if rng.random() < odd:
            data = data[: rng.randrange(0, max(1, len(data)))]  # truncated
        if rng.random() < odd:
            ts = (ts - 960 * rng.choice([1, 3, 400])) & 0xFFFFFFFF  # late, or a jump back
        steps.append((data, ts + base, rng.random() < odd))
    return {"red": as_red, "channels": draw(st.sampled_from([1, 2])), "steps": steps}


def _decode(module: Any, case: dict[str, Any]) -> list[Any]:
    decoder = module.OpusPcmDecoder(channels=case["channels"], red=case["red"])
    trace: list[Any] = []
    for data, ts, discontinuity in case["steps"]:
        for samples, at, kind in decoder.decode_pcm(data, ts, discontinuity):
            assert samples.dtype == np.int16 and samples.ndim == 1
            trace.append((samples.tobytes(), at, kind))
    trace.append((decoder.received, decoder.recovered, decoder.concealed, decoder.malformed))
    return trace


@settings(max_examples=40, deadline=None)
@given(case=deliveries())
def test_native_and_twin_decode_alike(native: ModuleType, case: dict[str, Any]) -> None:
    assert _decode(native, case) == _decode(twin, case)


@pytest.mark.parametrize("module_name", ["native", "twin"])
def test_a_lost_packet_is_rebuilt_from_red_then_fec_and_a_long_hole_concealed(
    native: ModuleType, module_name: str
) -> None:
    module = native if module_name == "native" else twin
    packets = _speech_like_packets(0.2)[:40]
    wrap = red.RedEncoder(OPUS, distance=1).wrap
    with_red = [(wrap(p, ts), ts) for p, ts in packets]
    decoder = module.OpusPcmDecoder(channels=1, red=True)
    kinds = []
    for i, (data, ts) in enumerate(with_red):
        if i in (5, 20, 21, 22):  # one lost (RED has it), then three (FEC, PLC)
            continue
        kinds += [(at, kind) for _, at, kind in decoder.decode_pcm(data, ts, False)]
    assert (packets[5][1], "red") in kinds
    assert (packets[22][1], "fec") in kinds or (packets[22][1], "red") in kinds
    assert (packets[20][1], "plc") in kinds
    assert [at for at, _ in kinds] == [ts for _, ts in packets]  # every frame, in order
    assert decoder.malformed == 0
    assert decoder.decode_pcm(b"\x80", 123, False) == []  # a broken RED header
    assert decoder.malformed == 1
    with pytest.raises(ValueError):
        module.OpusPcmDecoder(channels=3)
