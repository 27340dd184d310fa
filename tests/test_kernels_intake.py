"""The audio intake (statistics, NACK, jitter buffer per packet): native and twin, fed the
same packets at the same times, keep the same statistics, ask for the same packets and
leave the same packets in their buffers, bit for bit. And the link drains into it."""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_kernels_rtp_receive import _rtp
from zhanye_sdk.kernels import intake as twin
from zhanye_sdk.kernels import jitter as twin_jitter
from zhanye_sdk.kernels import rtp_receive as twin_link
from zhanye_sdk.kernels.srtp import SrtpContext

OPUS, RED = 111, 63


@st.composite
def arrivals(draw: st.DrawFn) -> dict[str, Any]:
    """Packets as a network delivers them: in order, lost (holes short and long), late,
    repeated, reordered, of two payload types and two SSRCs, with jittery arrival times."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    loss = draw(st.sampled_from([0.0, 0.05, 0.3]))
    odd = draw(st.sampled_from([0.0, 0.05, 0.2]))
    seq = draw(st.integers(0, 65535))
    ts = draw(st.integers(0, 2**32 - 1))
    now = draw(st.floats(0.0, 1e5))
    packets = []
    sent: list[tuple[int, int]] = []
    for _ in range(draw(st.integers(1, 300))):
        step = 1
        while rng.random() < loss:
            step += 1
        if rng.random() < odd / 4:
            step += rng.choice([12, 40, 3000])
        seq, ts = (seq + step) & 0xFFFF, (ts + step * 960) & 0xFFFFFFFF
        pick = (seq, ts)
        if sent and rng.random() < odd:
            pick = rng.choice(sent[-15:])  # a repeat or a late one
        sent.append((seq, ts))
        ssrc = 5 if rng.random() > odd / 5 else 9
        pt = OPUS if rng.random() > 0.3 else RED
        now += 0.02 + rng.random() * 0.03 * (1 + 4 * odd)
        packets.append((ssrc, pt, pick[0], pick[1], bytes([pick[0] & 0xFF]), now))
    return {
        "packets": packets,
        "nack": draw(st.sampled_from([[], [OPUS], [OPUS, RED]])),
        "wall": draw(st.floats(-1e9, 2e9)),
    }


def _run(module: Any, jitter_module: Any, case: dict[str, Any]) -> list[Any]:
    intake = module.AudioIntake(nack_payload_types=case["nack"])
    buffer = jitter_module.AdaptiveJitterBuffer()
    trace: list[Any] = []
    for ssrc, pt, seq, ts, payload, at in case["packets"]:
        trace.append(intake.take(ssrc, pt, seq, ts, payload, at, case["wall"], buffer))
        trace.append([(r.sequence, r.tag, r.redundant, bytes(r.payload)) for r in buffer.pop(at)])
    trace.append([intake.statistics(ssrc) for ssrc in (5, 9, 77)])
    trace.append((intake.pending(), intake.top, intake.payload_types))
    trace.append((intake.nacks, intake.retransmitted, buffer.received, buffer.late))
    return trace


@settings(max_examples=150, deadline=None)
@given(case=arrivals())
def test_native_and_twin_take_packets_alike(native: ModuleType, case: dict[str, Any]) -> None:
    assert _run(native, native, case) == _run(twin, twin_jitter, case)


@pytest.mark.parametrize("module_name", ["native", "twin"])
def test_a_seeded_stream_carries_on_and_bad_input_is_refused(
    native: ModuleType, module_name: str
) -> None:
    module, jitter_module = (native, native) if module_name == "native" else (twin, twin_jitter)
    intake = module.AudioIntake(nack_payload_types=[OPUS])
    buffer = jitter_module.AdaptiveJitterBuffer()
    intake.seed(5, (100, 200, 65536, 90, 33, 480_000, 9600))
    intake.take(5, OPUS, 201, 10560, b"x", 10.0, 0.0, buffer)
    base, top, cycles, received, jitter_q4, arrival, timestamp = intake.statistics(5)
    assert (base, top, cycles, received, timestamp) == (100, 201, 65536, 91, 10560)
    assert arrival == 480_000 and jitter_q4 != 33
    for bad in (
        lambda: intake.take(5, 128, 1, 1, b"", 1.0, 0.0, buffer),
        lambda: intake.take(5, OPUS, 1, 1, b"", float("nan"), 0.0, buffer),
        lambda: intake.take(5, OPUS, 1, 1, b"", 1.0, float("inf"), buffer),
        lambda: module.AudioIntake(nack_payload_types=[200]),
        lambda: module.AudioIntake(clock_rate=0),
    ):
        with pytest.raises(ValueError):
            bad()
    assert intake.statistics(5)[3] == 91  # nothing was counted by the refused calls


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (sender, receiver):
        s.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    yield sender, receiver
    sender.close()
    receiver.close()


@pytest.mark.parametrize("module_name", ["native", "twin"])
def test_the_link_drains_audio_into_the_intake_and_hands_back_the_rest(
    native: ModuleType, pair: tuple[socket.socket, socket.socket], module_name: str
) -> None:
    sender, receiver = pair
    native_module = module_name == "native"
    link_module = native if native_module else twin_link
    module, jitter_module = (native, native) if native_module else (twin, twin_jitter)
    key = os.urandom(28)
    host, port = sender.getsockname()
    link = link_module.AudioReceiveLink(
        receiver.fileno(), host, port, "SRTP_AEAD_AES_128_GCM", key, payload_types=[OPUS, RED]
    )
    protect = SrtpContext("SRTP_AEAD_AES_128_GCM", key).protect
    intake = module.AudioIntake(nack_payload_types=[OPUS])
    buffer = jitter_module.AdaptiveJitterBuffer()
    target = receiver.getsockname()
    try:
        sent = time.time()
        for seq, pt in ((1, OPUS), (2, RED), (6, OPUS)):  # 3, 4 and 5 lost
            packet = _rtp(ssrc=7, pt=pt, seq=seq, ts=seq * 960, marker=False, payload=b"op",
                          csrcs=0, ext=b"")  # fmt: skip
            sender.sendto(protect(packet), target)
        sender.sendto(b"\x00\x01\x00\x00stun-ish", target)
        time.sleep(0.05)
        other, taken, nacks, seen = link.drain_into(intake, buffer)
        assert taken == 3 and seen == [7]
        assert nacks == [(7, [3, 4, 5])]
        assert [data for data, _ in other] == [b"\x00\x01\x00\x00stun-ish"]
        assert intake.payload_types == {RED: 1, OPUS: 2}
        base, top, _, received, _, arrival, _ = intake.statistics(7)
        assert (base, top, received) == (1, 6, 3)
        # The statistics' arrival is the kernel's, on the wall clock, in RTP units.
        assert abs(arrival / 48_000 - sent) < 0.05
        released = buffer.pop(time.monotonic() + 5)
        assert [(r.sequence & 0xFFFF, r.tag) for r in released] == [(1, OPUS), (2, RED), (6, OPUS)]
        # With the receiver off the packets are read and dropped.
        sender.sendto(protect(_rtp(ssrc=7, pt=OPUS, seq=7, ts=7 * 960, marker=False,
                                   payload=b"op", csrcs=0, ext=b"")), target)  # fmt: skip
        time.sleep(0.05)
        assert link.drain_into(intake, buffer, take=False) == ([], 0, [], [])
        assert intake.statistics(7)[3] == 3
    finally:
        link.close()
