"""Which Opus layer the mix-minus codes with: CELT alone against libopus's SILK+CELT hybrid.

At 32 kbit/s libopus codes speech with its hybrid mode (SILK for the band up to 8 kHz,
CELT above) unless told the signal is music, when it codes with CELT alone. The tick tells
it so while the listener reports no loss (``ResilientOpusEncoder.encode_pcm``): FEC exists
only in the SILK layer, so once loss is reported the choice is libopus's again. This
measures what the CELT layer costs and how it sounds beside the hybrid, on real Mandarin
speech (the AISHELL-1 sentence of ``tests/data/asr``) and on a mix of two talkers (the
sentence and itself 0.7 s later at half the level: what a listener hears when two others
speak), each coded in 20 ms mono frames at 32 kbit/s with DTX, as the tick codes them:

* encoding CPU per 20 ms frame (thread time, best of 7 passes) and the bitrate;
* quality: wideband PESQ (ITU-T P.862.2 through the ``pesq`` package; 1–4.6, higher is
  better) and extended STOI (pystoi; 0–1, intelligibility), decoded as a real-time
  receiver plays them, without loss and through 10 % random and 20 % bursty loss (the
  first seconds of a loss spell, before a report turns FEC on; three seeds, mean);
* for reference, the hybrid with FEC for 10 % loss (what the tick sends once loss is
  reported), through the same losses.

Run: ``python benchmarks/bench_opus_mode.py``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pesq import pesq
from pystoi import stoi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_audio_loss import FRAME, heard, speech  # noqa: E402
from harness import RESULTS, Table  # noqa: E402

from zhanye_sdk._backend import OpusPcmEncoder, Resampler  # noqa: E402
from zhanye_sdk.kernels.opus_encode import opus_library  # noqa: E402
from zhanye_sdk.media import opus  # noqa: E402

SEEDS = (1, 2, 3)
CASES = (("none", 0.0), ("random", 0.10), ("burst", 0.20))
BIT_RATE = 32_000
#: The second talker's delay (samples at 48 kHz).
DELAY = 33_600


def two_talkers(x: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """``x`` with itself ``DELAY`` later at half the level, summed and clipped."""
    later = np.concatenate([np.zeros(DELAY, np.int32), x[:-DELAY].astype(np.int32) // 2])
    return np.clip(x.astype(np.int32) + later, -32768, 32767).astype(np.int16)


def encoder_of(label: str) -> Any:
    """A new encoder for ``label``: something with ``encode(samples) -> bytes``."""
    if label == "CELT alone (the tick, no loss reported)":
        tick = opus.ResilientOpusEncoder(channels=1, loss_percent=0)
        assert tick.encodes_pcm(FRAME)
        return _TickEncoder(tick)
    loss = 10 if "FEC" in label else 0
    return OpusPcmEncoder(opus_library(), bitrate=BIT_RATE, packet_loss=loss, signal="auto")


class _TickEncoder:
    def __init__(self, tick: opus.ResilientOpusEncoder) -> None:
        self.tick = tick

    def encode(self, samples: npt.NDArray[np.int16]) -> bytes:
        return self.tick.encode_pcm(samples)[0][0]


ENCODERS = (
    "hybrid (libopus's choice for speech)",
    "CELT alone (the tick, no loss reported)",
    "hybrid + FEC for 10 % (loss reported)",
)


def frames_of(x: npt.NDArray[np.int16]) -> list[npt.NDArray[np.int16]]:
    return [
        np.ascontiguousarray(x[i : i + FRAME]) for i in range(0, x.size // FRAME * FRAME, FRAME)
    ]


def encode_cpu(x: npt.NDArray[np.int16], make: Callable[[], Any]) -> float:
    """Seconds of CPU to encode one 20 ms frame, best of 7 passes over ``x``."""
    pieces = frames_of(x)
    best = float("inf")
    for _ in range(7):
        encoder = make()
        start = time.thread_time()
        for piece in pieces:
            encoder.encode(piece)
        best = min(best, (time.thread_time() - start) / len(pieces))
    return best


def to_16k(x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    pcm = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    return Resampler(48_000, 16_000).process(pcm).astype(np.float64)


def scores(
    clean: npt.NDArray[np.int16], sent: list[tuple[bytes, int]], model: str, loss: float
) -> tuple[float, float]:
    """Mean wideband PESQ and extended STOI of what a receiver plays."""
    quality: list[float] = []
    intelligibility: list[float] = []
    for x in heard(clean, sent, model, loss, SEEDS):
        quality.append(float(pesq(16_000, to_16k(clean), to_16k(x), "wb")))
        intelligibility.append(float(stoi(clean.astype(np.float64), x, 48_000, extended=True)))
    return float(np.mean(quality)), float(np.mean(intelligibility))


def main() -> None:
    sentence = speech()
    clips = {"sentence": sentence, "two talkers": two_talkers(sentence)}
    table = Table(
        "opus_mode",
        "Mix-minus Opus at 32 kbit/s: CELT alone against the SILK+CELT hybrid",
        [
            "clip",
            "encoder",
            "encode µs / 20 ms",
            "kbit/s",
            *(
                f"{kind} ({model} {loss:.0%})"
                for model, loss in CASES
                for kind in ("PESQ", "ESTOI")
            ),
        ],
    )
    cpu: dict[str, list[float]] = {label: [] for label in ENCODERS}
    pesq_clean: dict[str, list[float]] = {label: [] for label in ENCODERS}
    for clip, clean in clips.items():
        for label in ENCODERS:
            encoder = encoder_of(label)
            sent = [(encoder.encode(piece), i * FRAME) for i, piece in enumerate(frames_of(clean))]
            kbps = sum(len(p) for p, _ in sent) * 8 / (len(sent) * FRAME / 48_000) / 1000
            seconds = encode_cpu(clean, lambda label=label: encoder_of(label))  # type: ignore[misc]
            cells: list[float] = []
            for model, loss in CASES:
                cells += scores(clean, sent, model, loss)
            cpu[label].append(1e6 * seconds)
            pesq_clean[label].append(cells[0])
            table.add(clip, label, 1e6 * seconds, kbps, *cells)
            print(clip, label, f"{1e6 * seconds:.0f} µs", [f"{c:.2f}" for c in cells], flush=True)
    table.notes.append(
        "Clips: AISHELL-1 BAC009S0764W0121 (4.2 s, 16 kHz upsampled to 48 kHz); two "
        f"talkers: it plus itself {DELAY / 48_000:.1f} s later at half "
        "the level. Decoded by the SDK's client decoder (FEC and concealment). PESQ "
        "compares at 16 kHz (the band to 8 kHz); ESTOI at 48 kHz. Lossy cases: seeds "
        f"{list(SEEDS)}, mean; burst: Gilbert–Elliott, mean burst 3 packets. Encode times "
        "are thread time on a shared machine whose speed drifts within seconds."
    )
    table.write()
    plot(list(clips), cpu, pesq_clean)


def plot(clips: list[str], cpu: dict[str, list[float]], quality: dict[str, list[float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    width = 0.8 / len(cpu)
    for ax, series, ylabel in (
        (axes[0], cpu, "µs of CPU per 20 ms frame"),
        (axes[1], quality, "wideband PESQ, no loss"),
    ):
        for k, (label, values) in enumerate(series.items()):
            xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(clips))]
            ax.bar(xs, values, width=width, label=label)
        ax.set_xticks(range(len(clips)), clips)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
    axes[1].set_ylim(1.0, 4.7)
    axes[0].legend(fontsize=8)
    fig.suptitle("Opus at 32 kbit/s: encoding cost and quality by layer")
    fig.tight_layout()
    fig.savefig(RESULTS / "opus_mode.png")
    plt.close(fig)


if __name__ == "__main__":
    main()
