"""The adaptive jitter buffer: native and twin, fed the same packets at the same times,
release the same packets and report the same delays and counters, bit for bit."""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk.kernels import jitter as twin

SETTINGS = st.fixed_dictionaries(
    {
        "min_delay_ms": st.sampled_from([5.0, 20.0, 40]),
        "max_delay_ms": st.sampled_from([60.0, 120, 300.0]),
        "window": st.integers(2, 80),
        "quantile": st.floats(0.5, 1.0),
        "margin_ms": st.floats(0.0, 10.0),
        "shrink_every": st.integers(0, 12),
        "frame_ms": st.sampled_from([10, 20.0, 60.0]),
    }
)


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[int, float, bool, float]]:
    """A stream as a network delivers it, step by step: how far the packet number moves
    (1: in order; more: loss; 0 or less: a duplicate or a late one; a jump: a new stream),
    its extra delay (ms), whether it is a redundant copy, and the wait to the next (ms).
    Drawn from a seeded generator so that streams are long enough to fill the window,
    shrink the delay and start over."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    loss = draw(st.sampled_from([0.0, 0.05, 0.3]))
    jitter_ms = draw(st.sampled_from([0.0, 5.0, 40.0, 120.0]))
    calm_after = draw(st.integers(0, 400))
    odd = draw(st.sampled_from([0.0, 0.02, 0.1]))
    steps = []
    for k in range(draw(st.integers(1, 500))):
        move = 1
        while rng.random() < loss:
            move += 1
        if rng.random() < odd:
            move = rng.choice([0, -1, -3, 5000, -5000, 40_000])
        spread = jitter_ms if k < calm_after else jitter_ms / 10
        extra = rng.random() * spread
        if rng.random() < odd / 5:
            extra = 2500.0
        steps.append((move, extra, rng.random() < odd, rng.random() * 40))
    return steps


def _bits(value: float | None) -> str | None:
    return None if value is None else value.hex()


def _state(buffer: Any) -> tuple[Any, ...]:
    return (
        _bits(buffer.delay_ms),
        buffer.buffered,
        _bits(buffer.next_due()),
        buffer.received,
        buffer.late,
        buffer.duplicates,
        buffer.skipped,
        buffer.resyncs,
    )


def _released(buffer: Any, now: float) -> list[tuple[Any, ...]]:
    return [
        (r.sequence, r.timestamp, bytes(r.payload), r.discontinuity, r.redundant, r.tag)
        for r in buffer.pop(now)
    ]


def _run(buffer: Any, start: tuple[int, int], steps: list[Any]) -> list[Any]:
    seq, ts = start
    now = 10.0
    trace: list[Any] = []
    for move, extra_ms, redundant, wait_ms in steps:
        seq = (seq + move) % (1 << 16)
        ts = (ts + move * 960) % (1 << 32)
        at = now + extra_ms / 1000
        payload = seq.to_bytes(2, "big")
        tag = (seq * 7) % 256  # a tag leaves with its own packet
        trace.append(buffer.push(seq, ts, payload, at, redundant=redundant, tag=tag))
        trace.append(_bits(buffer.due(buffer_seq_guess(buffer, seq))))
        now += wait_ms / 1000
        trace.append(_released(buffer, now))
        trace.append(_state(buffer))
    trace.append(_released(buffer, now + 10))
    trace.append(_state(buffer))
    return trace


def buffer_seq_guess(buffer: Any, seq: int) -> int:
    """An extended sequence number to ask ``due`` about (held or not: both must agree)."""
    return seq + (1 << 16) * (buffer.resyncs % 2)


@given(
    SETTINGS,
    st.tuples(st.integers(0, (1 << 16) - 1), st.integers(0, (1 << 32) - 1)),
    streams(),
)
@settings(max_examples=150, deadline=None)
def test_native_and_twin_release_the_same_packets_at_the_same_times(
    native: ModuleType,
    options: dict[str, Any],
    start: tuple[int, int],
    steps: list[Any],
) -> None:
    ours = native.AdaptiveJitterBuffer(**options)
    theirs = twin.AdaptiveJitterBuffer(**options)
    assert _run(ours, start, steps) == _run(theirs, start, steps)


@pytest.mark.parametrize("now", [float("nan"), float("inf")])
def test_a_time_that_is_not_finite_is_refused_by_both(native: ModuleType, now: float) -> None:
    for buffer in (native.AdaptiveJitterBuffer(), twin.AdaptiveJitterBuffer()):
        with pytest.raises(ValueError, match="finite time"):
            buffer.push(1, 960, b"x", now)
        with pytest.raises(ValueError, match="finite time"):
            buffer.pop(now)
        assert buffer.buffered == 0


@pytest.mark.parametrize(
    "options",
    [{"quantile": 0.2}, {"window": 1}, {"min_delay_ms": 0}, {"clock_rate": 0}, {"frame_ms": 0}],
)
def test_settings_out_of_range_are_refused_by_both(
    native: ModuleType, options: dict[str, Any]
) -> None:
    for make in (native.AdaptiveJitterBuffer, twin.AdaptiveJitterBuffer):
        with pytest.raises(ValueError, match="expected"):
            make(**options)
