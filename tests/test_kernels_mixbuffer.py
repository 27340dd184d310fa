"""The room mixer's buffers and tick: native ``MixBuffers`` and its numpy twin give the same
arrays, bit for bit, through any sequence of rows added and removed, gains, pushes of any
length (past the capacity too) and ticks; both refuse bad input alike and go on."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk.kernels import mixbuffer as twin
from zhanye_sdk.kernels.mix import mix, mix_minus

FRAME = 48


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    ops: list[tuple[Any, ...]] = []
    rows = 0
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(["add", "push", "push", "push", "tick", "gain", "remove"]))
        if kind == "add" or rows == 0:
            ops.append(("add",))
            rows += 1
        elif kind == "remove":
            ops.append(("remove", draw(st.integers(0, rows - 1))))
            rows -= 1
        elif kind == "gain":
            gain = draw(st.sampled_from([0, 16_384, 32_768, 65_536]))
            ops.append(("gain", draw(st.integers(0, rows - 1)), gain))
        elif kind == "push":
            n = draw(st.sampled_from([0, 1, FRAME // 2, FRAME, 3 * FRAME + 5, 9 * FRAME]))
            loud = draw(st.booleans())
            seed = draw(st.integers(0, 2**32 - 1))
            ops.append(("push", draw(st.integers(0, rows - 1)), n, loud, seed))
        else:
            ops.append(("tick",))
    ops.append(("tick",))
    return ops


def _run(module: Any, ops: list[tuple[Any, ...]], prime: int, most: int) -> list[Any]:
    buffers = module.MixBuffers(FRAME, prime, most)
    out: list[Any] = []
    for op in ops:
        if op[0] == "add":
            out.append(buffers.add())
        elif op[0] == "remove":
            buffers.remove(op[1])
        elif op[0] == "gain":
            buffers.set_gain(op[1], op[2])
        elif op[0] == "push":
            _, row, n, loud, seed = op
            scale = 32_767 if loud else 3_000
            samples = np.random.default_rng(seed).integers(-scale, scale + 1, n).astype(np.int16)
            buffers.push(row, samples)
            out.append(buffers.buffered(row))
        else:
            out.append([a.tolist() for a in buffers.tick()])
    out.append(buffers.rows)
    return out


@settings(max_examples=150, deadline=None)
@given(ops=operations(), prime=st.integers(1, 3), extra=st.integers(0, 3))
def test_native_and_twin_buffer_and_mix_alike(
    native: ModuleType, ops: list[tuple[Any, ...]], prime: int, extra: int
) -> None:
    assert _run(native, ops, prime, prime + extra) == _run(twin, ops, prime, prime + extra)


@pytest.mark.parametrize("module_name", ["native", "twin"])
def test_a_tick_is_the_mix_minus_of_what_each_row_held(
    native: ModuleType, module_name: str
) -> None:
    module = native if module_name == "native" else twin
    buffers = module.MixBuffers(FRAME, 1, 4)
    rng = np.random.default_rng(3)
    said = [rng.integers(-20_000, 20_000, FRAME).astype(np.int16) for _ in range(3)]
    for _ in said:
        buffers.add()
    for row, samples in enumerate(said):
        buffers.push(row, samples)
    buffers.set_gain(1, 0)
    frames, minus, full, peaks, gains = buffers.tick()
    assert frames.tolist() == [s.tolist() for s in said]
    assert gains.tolist() == [32_768, 0, 32_768]
    assert peaks.tolist() == [int(np.abs(s.astype(np.int32)).max()) for s in said]
    assert minus.tolist() == mix_minus(frames, gains, soft_limit=True).tolist()
    assert full.tolist() == mix(frames, gains, soft_limit=True).tolist()
    # Everything was taken: the next tick is silence, and a dry row waits to prime.
    assert not buffers.tick()[0].any()


@pytest.mark.parametrize("module_name", ["native", "twin"])
def test_bad_input_is_refused_and_loses_nothing(native: ModuleType, module_name: str) -> None:
    module = native if module_name == "native" else twin
    for shape in ((0, 1, 1), (FRAME, 0, 1), (FRAME, 3, 2)):
        with pytest.raises(ValueError):
            module.MixBuffers(*shape)
    buffers = module.MixBuffers(FRAME, 1, 2)
    buffers.add()
    buffers.push(0, np.full(FRAME, 7, np.int16))
    for bad in (np.zeros(FRAME, np.float32), np.zeros((2, FRAME), np.int16), [1, 2, 3]):
        with pytest.raises(ValueError):
            buffers.push(0, bad)
    with pytest.raises(ValueError):
        buffers.set_gain(0, 70_000)
    with pytest.raises(IndexError):
        buffers.push(1, np.zeros(FRAME, np.int16))
    with pytest.raises(IndexError):
        buffers.remove(5)
    assert buffers.buffered(0) == FRAME
    assert buffers.tick()[0].tolist() == [[7] * FRAME]
