"""Audio resampling in 20 ms chunks: native vs numpy twin vs PyAV (libswresample).

60 s of a speech-like mono int16 signal (voiced harmonics under a syllable-rate
envelope, plus noise) is streamed through each resampler in 20 ms chunks, the way
a media pipeline feeds it, one participant at a time. PyAV is timed doing what using
it takes: wrapping every chunk in an ``av.AudioFrame`` and turning the frames it
returns back into arrays. Every backend gets a fresh resampler per timed run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Table, bar_plot, time_call  # noqa: E402

from zhanye_sdk._backend import load_native  # noqa: E402
from zhanye_sdk.kernels import resample as twin  # noqa: E402

SECONDS = 60
CHUNK_MS = 20
CONVERSIONS = ((48_000, 16_000), (16_000, 48_000), (48_000, 8_000))
TARGET_RATIO = 3.0  # PyAV time / native time per chunk
ROUNDS = 3


def speech_like(rate: int, seconds: int, seed: int = 5) -> np.ndarray:
    """Harmonics of a wandering 90-250 Hz pitch, a 4 Hz syllable envelope, and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(rate * seconds) / rate
    pitch = 170 + 80 * np.sin(2 * np.pi * 0.3 * t) * np.sin(2 * np.pi * 0.07 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 30) if k * 250 < rate / 2)
    envelope = np.clip(np.sin(2 * np.pi * 4 * t + np.sin(2 * np.pi * 0.5 * t)), 0, None)
    noise = rng.normal(0, 0.05, t.size)
    signal = 9_000 * envelope * voiced + 9_000 * noise
    return np.clip(np.round(signal), -32_768, 32_767).astype(np.int16)


def stream(make: Callable[[], object], chunks: list[np.ndarray]) -> Callable[[], object]:
    """A call that pushes every chunk through a fresh resampler made by ``make``."""

    def run() -> object:
        resampler = make()
        process = resampler.process  # type: ignore[attr-defined]
        for chunk in chunks:
            process(chunk)
        return resampler

    return run


def stream_pyav(from_hz: int, to_hz: int, chunks: list[np.ndarray]) -> Callable[[], object]:
    def run() -> object:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=to_hz)
        for chunk in chunks:
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = from_hz
            for out in resampler.resample(frame):
                out.to_ndarray()
        return resampler

    return run


def main() -> None:
    native = load_native()
    if native is None:
        raise SystemExit("the native module is not built: run `make setup`")
    table = Table(
        "resample",
        f"Resampling {SECONDS} s of speech-like mono int16 in {CHUNK_MS} ms chunks",
        [
            "conversion",
            "native µs/chunk",
            "twin µs/chunk",
            "PyAV µs/chunk",
            "native ms total",
            "twin ms total",
            "PyAV ms total",
            "PyAV / native",
            "twin / native",
        ],
    )
    groups: list[str] = []
    series: dict[str, list[float]] = {"native": [], "numpy twin": [], "PyAV": []}
    verdicts: list[str] = []
    for from_hz, to_hz in CONVERSIONS:
        step = from_hz * CHUNK_MS // 1000
        signal = speech_like(from_hz, SECONDS)
        chunks = [signal[i : i + step] for i in range(0, signal.size, step)]
        same = np.array_equal(
            native.resample(signal, from_hz, to_hz), twin.resample(signal, from_hz, to_hz)
        )
        assert same, "native and twin disagree: run the tests"
        runs = {
            "native": stream(lambda f=from_hz, t=to_hz: native.Resampler(f, t), chunks),
            "twin": stream(lambda f=from_hz, t=to_hz: twin.Resampler(f, t), chunks),
            "pyav": stream_pyav(from_hz, to_hz, chunks),
        }
        # Rounds interleave the three so that load from other processes hits them alike.
        totals = {k: time_call(run) for k, run in runs.items()}
        for _ in range(ROUNDS - 1):
            for k, run in runs.items():
                totals[k] = min(totals[k], time_call(run))
        per_chunk = {k: v * 1e6 / len(chunks) for k, v in totals.items()}
        name = f"{from_hz // 1000}k → {to_hz // 1000}k"
        ratio = totals["pyav"] / totals["native"]
        table.add(
            name,
            per_chunk["native"],
            per_chunk["twin"],
            per_chunk["pyav"],
            totals["native"] * 1e3,
            totals["twin"] * 1e3,
            totals["pyav"] * 1e3,
            ratio,
            totals["twin"] / totals["native"],
        )
        groups.append(name)
        series["native"].append(per_chunk["native"])
        series["numpy twin"].append(per_chunk["twin"])
        series["PyAV"].append(per_chunk["pyav"])
        if ratio >= TARGET_RATIO:
            verdicts.append(
                f"{name}: {ratio:.1f}× faster than PyAV, target ≥ {TARGET_RATIO:.0f}× met"
            )
        else:
            verdicts.append(
                f"{name}: {ratio:.1f}× faster than PyAV, target ≥ {TARGET_RATIO:.0f}× missed "
                f"by {TARGET_RATIO / ratio:.2f}× (need {per_chunk['pyav'] / TARGET_RATIO:.2f} µs)"
            )
    table.notes += [
        f"{SECONDS * 1000 // CHUNK_MS} chunks per row; each time is the best of {ROUNDS} "
        "interleaved medians of 7 runs (benchmarks/harness.py), every run through a fresh "
        "resampler.",
        "native and twin: polyphase Kaiser-windowed sinc, 12 zero crossings per side, "
        "Q15 taps, bit-identical to each other (tests/test_kernels_resample.py).",
        "PyAV: `av.AudioResampler(format='s16', layout='mono', rate=…)` fed "
        "`av.AudioFrame.from_ndarray` per chunk, output frames converted with "
        "`to_ndarray()`, with libswresample's default filter (not the same filter as ours).",
        *verdicts,
    ]
    table.write()
    bar_plot(
        "resample",
        f"Resampling one {CHUNK_MS} ms chunk (lower is better)",
        groups,
        series,
        ylabel="µs per chunk (log)",
        log=True,
    )


if __name__ == "__main__":
    main()
