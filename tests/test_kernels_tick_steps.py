"""The tick's fused steps: the RED packer, ``release_into`` (release, decode, queue for
the mix) and ``encode_send`` (encode, RED, send on several links). Native and twin, each
with its own backend's objects, give the same bytes, frames and mixes; bad arguments get
a clear error and change nothing."""

from __future__ import annotations

import functools
import random
import socket
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhanye_sdk.kernels import jitter, mixbuffer, opus_decode, opus_encode, rtp_send, tick_steps
from zhanye_sdk.kernels import red as red_twin
from zhanye_sdk.kernels.opus_encode import opus_library

OPUS, RED = 111, 63
KEY = bytes(range(30))


class _Twin:
    """The twin kernels under the native module's names."""

    AdaptiveJitterBuffer = jitter.AdaptiveJitterBuffer
    OpusPcmDecoder = opus_decode.OpusPcmDecoder
    OpusPcmEncoder = opus_encode.OpusPcmEncoder
    MixBuffers = mixbuffer.MixBuffers
    RedPacker = red_twin.RedPacker
    AudioSendLink = rtp_send.AudioSendLink
    release_into = staticmethod(tick_steps.release_into)
    encode_send = staticmethod(tick_steps.encode_send)


TWIN: Any = _Twin


@functools.cache
def _pcm(seconds: int = 2) -> np.ndarray:
    """A gliding tone with noise and a silent stretch, in 20 ms frames."""
    rng = np.random.default_rng(3)
    t = np.arange(48_000 * seconds) / 48_000
    x = 5000 * np.sin(2 * np.pi * (250 + 150 * t) * t) + rng.normal(0, 300, t.size)
    x[24_000:36_000] = 0
    return x.astype(np.int16).reshape(-1, 960)


@functools.cache
def _packets() -> list[bytes]:
    encoder = TWIN.OpusPcmEncoder(opus_library(), channels=1, packet_loss=10)
    return [encoder.encode(frame) for frame in _pcm()]


# ---- the RED packer ------------------------------------------------------------------


wraps = st.lists(
    st.tuples(
        st.binary(max_size=1100),
        st.sampled_from([960, 960, 960, 480, 0, 1 << 14, 2**32 - 960]),
        st.none() | st.integers(-2, 5),
    ),
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(payload_type=st.integers(0, 127), distance=st.integers(-1, 4), steps=wraps)
def test_native_and_twin_red_packers_write_the_same_bytes(
    native: ModuleType, payload_type: int, distance: int, steps: list
) -> None:
    ours, theirs = native.RedPacker(payload_type, distance), TWIN.RedPacker(payload_type, distance)
    timestamp = 7
    for data, step, new_distance in steps:
        timestamp = (timestamp + step) % 2**32
        if new_distance is not None:
            ours.distance = theirs.distance = new_distance
        assert ours.wrap(data, timestamp) == theirs.wrap(data, timestamp)
        assert (ours.distance, ours.payload_type) == (theirs.distance, theirs.payload_type)


@pytest.mark.parametrize("backend", ["native", "twin"])
def test_red_packer_follows_loss_and_refuses_a_wide_payload_type(
    native: ModuleType, backend: str
) -> None:
    module = native if backend == "native" else TWIN
    packer = module.RedPacker(OPUS, 0)
    assert packer.wrap(b"a", 0) == bytes([OPUS]) + b"a"
    packer.set_loss(0.3)
    assert packer.distance == 3
    # The frame before rides along, 960 back, 1 byte long.
    word = (1 << 31) | (OPUS << 24) | (960 << 10) | 1
    assert packer.wrap(b"b", 960) == word.to_bytes(4, "big") + bytes([OPUS]) + b"ab"
    for bad in (128, -1):
        with pytest.raises(ValueError, match="7 bits"):
            module.RedPacker(bad)


# ---- release_into --------------------------------------------------------------------


@st.composite
def arrivals(draw: st.DrawFn) -> dict[str, Any]:
    """Packets of two payload types arriving with jitter, loss and reordering, and the
    times the tick releases at."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    count = draw(st.integers(1, len(_packets())))
    loss = draw(st.sampled_from([0.0, 0.1, 0.3]))
    other_from = draw(st.none() | st.integers(0, count))  # a codec change from here on
    stray = draw(st.sampled_from([0.0, 0.2]))  # packets of the other type in between
    pushes = []
    for i in range(count):
        if rng.random() < loss:
            continue
        at = 1.0 + i * 0.02 + rng.uniform(0, draw(st.sampled_from([0.0, 0.01, 0.06])))
        changed = other_from is not None and i >= other_from
        tag = RED if changed or rng.random() < stray else OPUS
        pushes.append((i, at, tag))
    pushes.sort(key=lambda p: p[1])
    # The tick runs late now and then: several frames come out of one release.
    late = draw(st.sampled_from([0.0, 0.3]))
    steps = [rng.choice([0.04, 0.08, 0.1]) if rng.random() < late else 0.02 for _ in range(600)]
    return {"pushes": pushes, "red_tag": draw(st.booleans()), "steps": steps}


def _release_run(module: Any, case: dict[str, Any]) -> list[Any]:
    buffer = module.AdaptiveJitterBuffer()
    decoder = module.OpusPcmDecoder(channels=1)
    mix = module.MixBuffers(960, 2, 6)
    mix.add()
    row = mix.add()
    tags = bytes([OPUS, RED]) if case["red_tag"] else bytes([OPUS])
    packets = _packets()
    trace: list[Any] = []
    pushes = list(case["pushes"])
    now = 1.0
    for step in case["steps"]:
        if not pushes and not buffer.buffered:
            break
        now += step
        while pushes and pushes[0][1] <= now:
            i, at, tag = pushes.pop(0)
            buffer.push(i, i * 960, packets[i], at, tag=tag)
        decoded, concealed, left = module.release_into(buffer, decoder, tags, mix, row, now)
        trace.append((decoded, concealed))
        trace += [(r.sequence, r.timestamp, r.payload, r.discontinuity, r.tag) for r in left]
        frames, minus, full, peaks, gains = mix.tick()
        trace.append((frames.tobytes(), minus.tobytes(), full.tobytes(), peaks.tolist()))
    trace.append((decoder.received, decoder.recovered, decoder.concealed))
    return trace


@settings(max_examples=25, deadline=None)
@given(case=arrivals())
def test_native_and_twin_release_decode_and_mix_alike(
    native: ModuleType, case: dict[str, Any]
) -> None:
    assert _release_run(native, case) == _release_run(TWIN, case)


@pytest.mark.parametrize("backend", ["native", "twin"])
def test_release_into_a_missing_row_releases_nothing(native: ModuleType, backend: str) -> None:
    module = native if backend == "native" else TWIN
    buffer = module.AdaptiveJitterBuffer()
    buffer.push(0, 0, _packets()[0], 1.0, tag=OPUS)
    mix = module.MixBuffers()
    mix.add()
    decoder = module.OpusPcmDecoder(channels=1)
    with pytest.raises(IndexError):
        module.release_into(buffer, decoder, bytes([OPUS]), mix, 1, 5.0)
    assert buffer.buffered == 1
    decoded, concealed, left = module.release_into(buffer, decoder, bytes([OPUS]), mix, 0, 5.0)
    assert (decoded, concealed, left) == (1, 0, [])
    assert mix.buffered(0) == 960


# ---- encode_send ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sockets() -> Iterator[tuple[socket.socket, list[socket.socket]]]:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    receivers = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2)
        receivers.append(sock)
    yield sender, receivers
    for sock in (sender, *receivers):
        sock.close()


def _send_link(module: Any, sender: socket.socket, receiver: socket.socket, ssrc: int) -> Any:
    host, port = receiver.getsockname()
    return module.AudioSendLink(
        sender.fileno(), host, port, "SRTP_AES128_CM_SHA1_80", KEY,
        ssrc=ssrc, payload_type=RED, sequence=65530, timestamp_origin=1234,
        mid_id=None, mid=None, abs_send_time_id=None,
    )  # fmt: skip


def _send_run(module: Any, sockets: Any, plan: list[tuple[int, bool, int]]) -> list[Any]:
    sender, receivers = sockets
    encoder = module.OpusPcmEncoder(opus_library(), channels=1)
    red = module.RedPacker(OPUS, 1)
    links = [_send_link(module, sender, r, ssrc) for ssrc, r in enumerate(receivers)]
    trace: list[Any] = []
    for tick, (frame, with_red, listeners) in enumerate(plan):
        stamps = [tick * 960 + 17 * n for n in range(listeners)]
        payload = module.encode_send(
            encoder, _pcm()[frame], red if with_red else None, tick * 960,
            links[:listeners], stamps, tick << 8,
        )  # fmt: skip
        trace.append(payload)
        trace += [receivers[n].recv(2048) for n in range(listeners)]
    trace.append([(link.packets_sent, link.octets_sent) for link in links])
    return trace


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=st.lists(
        st.tuples(st.integers(0, _pcm().shape[0] - 1), st.booleans(), st.integers(0, 2)),
        min_size=1,
        max_size=8,
    )
)
def test_native_and_twin_encode_wrap_and_send_the_same_bytes(
    native: ModuleType, sockets: Any, plan: list
) -> None:
    assert _send_run(native, sockets, plan) == _send_run(TWIN, sockets, plan)


@pytest.mark.parametrize("backend", ["native", "twin"])
def test_encode_send_refuses_mismatched_links_and_a_short_frame(
    native: ModuleType, sockets: Any, backend: str
) -> None:
    module = native if backend == "native" else TWIN
    sender, receivers = sockets
    encoder = module.OpusPcmEncoder(opus_library(), channels=1)
    link = _send_link(module, sender, receivers[0], 9)
    with pytest.raises(ValueError, match="timestamps"):
        module.encode_send(encoder, _pcm()[0], None, 0, [link], [], 0)
    with pytest.raises(ValueError, match="expected"):
        module.encode_send(encoder, _pcm()[0][:480], None, 0, [link], [0], 0)
    assert link.packets_sent == 0
