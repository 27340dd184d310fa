"""The adaptive audio jitter buffer (``zhanye_sdk.media.jitter``), driven with packets and
times: its delay follows the jitter, stays bounded under loss and jitter, returns to its
baseline once the impairment stops (where aiortc's stays full, aiortc#543), and loss alone
never moves it. Hypothesis throws arbitrary packet streams at it: packets leave in order,
once, never after a packet released later, and nothing is held for ever.
"""

from __future__ import annotations

from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk.media.impair import LinkChannel, LinkImpairment
from zhanye_sdk.media.jitter import AdaptiveJitterBuffer

FRAME_S = 0.02
CLEAN = LinkImpairment(delay_ms=30, jitter_ms=0.5, seed=3)
BAD = LinkImpairment(loss=0.1, burst=3.0, delay_ms=30, jitter_ms=40, seed=3)


def arrivals(episodes: list[tuple[int, LinkImpairment]]) -> list[tuple[float, int]]:
    """(arrival time, sequence number) of 20 ms packets through consecutive episodes."""
    out = []
    seq = 0
    for count, impairment in episodes:
        channel = LinkChannel(impairment)
        for _ in range(count):
            delay = channel.decide()
            if delay is not None:
                out.append((seq * FRAME_S + delay, seq))
            seq += 1
    return sorted(out)


def drive(
    buffer: AdaptiveJitterBuffer, packets: list[tuple[float, int]], until: float
) -> list[tuple[float, float, int]]:
    """Feed the packets at their times, pop every 5 ms; (time, delay ms, packets held)."""
    trace = []
    k = 0
    released: list[int] = []
    for step in range(int(until / 0.005)):
        now = step * 0.005
        while k < len(packets) and packets[k][0] <= now:
            at, seq = packets[k]
            buffer.push(seq, (12_345 + seq * 960) % (1 << 32), seq.to_bytes(4, "big"), at)
            k += 1
        for r in buffer.pop(now):
            assert not released or r.sequence > released[-1]
            released.append(r.sequence)
        trace.append((now, buffer.delay_ms, buffer.buffered))
    return trace


def test_delay_follows_jitter_stays_bounded_and_returns_after_the_episode() -> None:
    # 10 s clean, 10 s of 10 % burst loss with 40 ms jitter, 20 s clean again.
    packets = arrivals([(500, CLEAN), (500, BAD), (1000, CLEAN)])
    buffer = AdaptiveJitterBuffer(max_delay_ms=300)
    trace = drive(buffer, packets, 40.0)
    baseline = max(d for t, d, _ in trace if 5 <= t < 10)
    during = [d for t, d, _ in trace if 11 <= t < 20.5]
    # Back within 5 s (the measuring window) and the shrinking (at most 100 ms a second).
    after = [d for t, d, _ in trace if t >= 30]
    assert baseline <= 30, baseline
    assert max(during) > baseline + 40  # it does follow the jitter …
    assert max(d for _, d, _ in trace) <= 300  # … within its bound,
    assert max(held for _, _, held in trace) <= 300 / 20 + 1
    assert max(after) <= baseline + 5, max(after)  # and comes back down.
    # Most packets arrived in time during the episode (late ones are dropped).
    assert buffer.late <= 0.05 * 450, buffer.late

    # aiortc's own buffer on the same packets: after the episode it stays full (aiortc#543).
    theirs = JitterBuffer(capacity=16, prefetch=4)
    held_after = []
    for at, seq in packets:
        packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960)
        packet._data = b"x"  # type: ignore[attr-defined]
        theirs.add(packet)
        if at >= 30:
            held_after.append(sum(p is not None for p in theirs._packets))
    assert min(held_after) >= 8, min(held_after)  # 160 ms and more, for good


def test_loss_alone_does_not_move_the_delay() -> None:
    lossy = LinkImpairment(loss=0.3, burst=4.0, delay_ms=30, jitter_ms=0.5, seed=9)
    packets = arrivals([(250, CLEAN), (1000, lossy)])
    trace = drive(AdaptiveJitterBuffer(), packets, 25.0)
    baseline = max(d for t, d, _ in trace if 2 <= t < 5)
    assert max(d for t, d, _ in trace if t >= 5) <= baseline + 5


def test_a_late_packet_is_dropped_and_a_hole_does_not_stall_the_rest() -> None:
    buffer = AdaptiveJitterBuffer(min_delay_ms=20)
    for seq in range(10):
        buffer.push(seq, seq * 960, b"a", seq * FRAME_S)
    out = buffer.pop(0.5)
    assert [r.sequence for r in out] == list(range(10))
    # 10 lost; 11 arrives and leaves a frame early (the decoder rebuilds 10 from its FEC).
    buffer.push(11, 11 * 960, b"b", 11 * FRAME_S)
    assert buffer.next_due() is not None
    assert buffer.next_due() <= 11 * FRAME_S + 0.02  # type: ignore[operator]
    assert [r.sequence for r in buffer.pop(11 * FRAME_S + 0.02)] == [11]
    assert not buffer.push(10, 10 * 960, b"late", 0.3)  # its turn has passed
    assert buffer.late == 1
    assert not buffer.push(12, 12 * 960, b"c", 12 * FRAME_S) or not buffer.push(
        12, 12 * 960, b"c", 12 * FRAME_S
    )
    assert buffer.duplicates == 1


def test_a_new_stream_resynchronises() -> None:
    buffer = AdaptiveJitterBuffer()
    for seq in range(20):
        buffer.push(seq, seq * 960, b"a", seq * FRAME_S)
    buffer.pop(1.0)
    # The sender restarted: sequence and timestamps jump.
    buffer.push(40_000, 7, b"new", 1.0)
    out = buffer.pop(1.1)
    assert [(r.sequence & 0xFFFF, r.discontinuity) for r in out] == [(40_000, True)]
    assert buffer.resyncs == 1


events = st.lists(
    st.tuples(
        st.integers(0, 2**16 - 1),  # sequence number offset
        st.integers(-3, 40),  # timestamp in frames around the sequence's own
        st.floats(0, 0.5),  # extra transit
        st.booleans(),  # redundant copy
        st.integers(0, 4),  # pops before the next packet
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(events, st.integers(0, 2**16 - 1), st.integers(0, 2**32 - 1), st.booleans())
def test_any_stream_leaves_in_order_once_and_nothing_stays(
    stream: list[tuple[int, int, float, bool, int]], seq0: int, ts0: int, near: bool
) -> None:
    buffer = AdaptiveJitterBuffer(max_delay_ms=200)
    released: list[int] = []
    now = 0.0
    for i, (seq_step, ts_frames, transit, redundant, pops) in enumerate(stream):
        seq = (seq0 + (seq_step % 7 if near else seq_step)) % (1 << 16)
        ts = (ts0 + (seq - seq0) % (1 << 16) * 960 + ts_frames * 960) % (1 << 32)
        now = i * FRAME_S + transit
        buffer.push(seq, ts, b"p", now, redundant=redundant)
        assert buffer.delay_ms <= 200 + 1e-6
        for k in range(pops):
            for r in buffer.pop(now + k * 0.01):
                assert not released or r.sequence > released[-1]
                released.append(r.sequence)
                assert 0 <= r.timestamp < 1 << 32
    # Without new packets everything leaves, at the latest after the longest delay.
    for r in buffer.pop(now + 3600):
        assert not released or r.sequence > released[-1]
        released.append(r.sequence)
    assert buffer.buffered == 0
