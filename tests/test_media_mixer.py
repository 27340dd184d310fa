"""The room mixer (sans I/O) and the drift-free tick clock."""

from __future__ import annotations

import time

import numpy as np
import pytest

from zhanye_sdk.media.mixer import UNITY_GAIN_Q15, AudioMixer
from zhanye_sdk.media.pacing import TickClock

S = 960


def frame(value: int, n: int = S) -> np.ndarray:
    return np.full(n, value, dtype=np.int16)


def test_each_listener_hears_the_others_and_muted_is_silent() -> None:
    mixer = AudioMixer(S, prime_frames=1)
    for name in ("h", "a", "b"):
        mixer.add(name)
    mixer.push("h", frame(100))
    mixer.push("a", frame(20))
    mixer.push("b", frame(3))
    out = mixer.tick()
    heard = {name: int(out.minus[i][0]) for i, name in enumerate(out.participants)}
    assert heard == {"h": 23, "a": 103, "b": 120}
    assert int(out.full[0]) == 123

    mixer.set_gain("a", 0)
    for name, value in (("h", 100), ("a", 20), ("b", 3)):
        mixer.push(name, frame(value))
    out = mixer.tick()
    heard = {name: int(out.minus[i][0]) for i, name in enumerate(out.participants)}
    assert heard == {"h": 3, "a": 103, "b": 100}
    mixer.set_gain("a", UNITY_GAIN_Q15)


def test_a_starved_participant_is_silence_and_reprimes() -> None:
    mixer = AudioMixer(S, prime_frames=2, max_frames=4)
    mixer.add("a")
    mixer.add("b")
    mixer.push("a", frame(7, S // 2))  # half a frame: not enough
    assert int(mixer.tick().minus[1][0]) == 0
    mixer.push("a", frame(7, S + S // 2))  # now two frames: primed
    assert int(mixer.tick().minus[1][0]) == 7
    assert int(mixer.tick().minus[1][0]) == 7
    assert int(mixer.tick().minus[1][0]) == 0  # ran dry
    mixer.push("a", frame(9))  # one frame after running dry: waits for two
    assert int(mixer.tick().minus[1][0]) == 0
    mixer.push("a", frame(9))
    assert int(mixer.tick().minus[1][0]) == 9


def test_the_buffer_drops_the_oldest_audio_beyond_its_capacity() -> None:
    mixer = AudioMixer(S, prime_frames=1, max_frames=2)
    mixer.add("a")
    mixer.add("b")
    for value in (1, 2, 3, 4):
        mixer.push("a", frame(value))
    assert mixer.buffered("a") == 2 * S
    assert [int(mixer.tick().minus[1][0]) for _ in range(3)] == [3, 4, 0]


def test_unknown_participants_and_bad_settings() -> None:
    mixer = AudioMixer(S)
    mixer.push("ghost", frame(1))  # ignored
    assert mixer.tick().participants == ()
    with pytest.raises(ValueError, match="prime_frames"):
        AudioMixer(S, prime_frames=5, max_frames=2)


@pytest.mark.anyio
async def test_the_tick_clock_does_not_drift_with_work_in_each_tick() -> None:
    clock = TickClock(0.02, now=time.monotonic)
    started = time.monotonic()
    for _ in range(40):
        await clock.wait()
        woke = time.monotonic() - started
        time.sleep(0.006)  # noqa: ASYNC251 -- blocking work in the tick
    # Tick n wakes at n * 20 ms plus only its own lateness, never the sum of earlier
    # overruns (sleep(0.02) per loop would put tick 40 at >= 40 * 26 ms = 1.04 s).
    assert clock.ticks == 40 + clock.skipped
    # Drift would show as 40 × 6 ms = 240 ms; 50 ms leaves room for a loaded CI machine
    # between the clock's own reading and ours.
    assert abs(woke - clock.last_lateness_s - clock.ticks * 0.02) < 0.05, woke


@pytest.mark.anyio
async def test_the_tick_clock_skips_ticks_it_cannot_catch_up() -> None:
    clock = TickClock(0.01, max_catch_up=2)
    await clock.wait()
    time.sleep(0.1)  # noqa: ASYNC251 -- the loop stalls
    await clock.wait()
    assert clock.skipped >= 5
    assert clock.last_lateness_s < 0.01
