"""Where the rooms' mixing ticks fall within the period: spread apart, so one room's
tick rarely waits for another's mixing and encoding on the shared event loop."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.media.pacing import TickClock, spread_phase

PERIOD = 0.02


def distance(a: float, b: float) -> float:
    """How far apart two phases are, going round the period the shorter way."""
    d = abs(a - b) % PERIOD
    return min(d, PERIOD - d)


def clearance(phase: float, taken: list[float]) -> float:
    return min(distance(phase, t) for t in taken)


phases = st.floats(min_value=0, max_value=PERIOD, exclude_max=True, allow_nan=False)


@given(st.lists(phases, min_size=1, max_size=40), st.lists(phases, min_size=1, max_size=20))
def test_the_new_phase_is_as_far_from_the_taken_ones_as_any_phase_can_be(
    taken: list[float], probes: list[float]
) -> None:
    chosen = spread_phase(taken, PERIOD)
    assert 0 <= chosen < PERIOD
    for probe in probes:
        assert clearance(probe, taken) <= clearance(chosen, taken) + 1e-12


def test_rooms_started_together_tick_evenly_spread_through_the_period() -> None:
    taken: list[float] = []
    for _ in range(8):
        taken.append(spread_phase(taken, PERIOD))
    assert sorted(taken) == pytest.approx([i * PERIOD / 8 for i in range(8)])


def test_a_phase_outside_the_period_is_refused() -> None:
    with pytest.raises(ValueError, match="phase_s"):
        TickClock(PERIOD, phase_s=PERIOD)


@pytest.mark.anyio
async def test_a_clock_with_a_phase_ticks_at_that_phase_of_the_loop_clock() -> None:
    for phase in (0.003, 0.017):
        clock = TickClock(PERIOD, phase_s=phase)
        started = anyio.current_time()
        for _ in range(3):
            await clock.wait()
            deadline = anyio.current_time() - clock.last_lateness_s
            # Asleep until the deadline, up to the loop's clock resolution early.
            assert distance(deadline, phase) < 0.002, (deadline % PERIOD, phase)
        assert anyio.current_time() - started < 4 * PERIOD + 0.05


@pytest.mark.anyio
async def test_rooms_behind_take_turns_catching_up() -> None:
    """After a stall every room's first late tick runs before any room's second."""
    now = [0.0]
    order: list[tuple[str, int]] = []
    go = anyio.Event()
    ready = [0]
    both_ready = anyio.Event()

    async def room(name: str) -> None:
        clock = TickClock(PERIOD, now=lambda: now[0], phase_s=0.0)
        await clock.wait()  # on time: sleeps one period
        ready[0] += 1
        if ready[0] == 2:
            both_ready.set()
        await go.wait()
        for tick in range(2):
            await clock.wait()  # two periods behind: no sleep
            order.append((name, tick))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(room, "a")
        tasks.start_soon(room, "b")
        with anyio.fail_after(5):
            await both_ready.wait()
        now[0] = 3.5 * PERIOD
        go.set()
    assert order == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]
