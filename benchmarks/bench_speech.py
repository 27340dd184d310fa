"""Speech: the built-in recogniser (Whisper base, int8) on the project's real Mandarin clips.

1. Character error rate and real-time factor: ours is the room's listening path (20 ms
   chunks at 48 kHz → ``RoomSpeech`` → endpointing → ``WhisperRecogniser``); the baseline
   is faster-whisper transcribing the same clip as one file, in the same run.
2. End-of-utterance latency: from the moment the last chunk of an utterance (plus the
   endpointer's hang-over) is pushed to the moment its final segment comes out, p50/p99
   over repeated utterances, against the bare decode time of the same audio.
3. Hotwords: each clip decoded with no hotwords, with the phrases of a flow that include
   what the clip says, and with unrelated phrases only (does biasing invent phrases?).
4. CPU per listened participant: process CPU seconds per second of a speaker who talks
   half of the time (the clips with pauses between), i.e. what one more listened
   participant costs on average.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

import anyio
import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))
from harness import Table, bar_plot  # noqa: E402

from tests.test_sop_whisper import REFERENCE, clip, edit_distance  # noqa: E402
from zhanye_sdk.sop.speech import RoomSpeech  # noqa: E402
from zhanye_sdk.sop.whisper import (  # noqa: E402
    WhisperEngine,
    WhisperRecogniser,
    whisper_model_dir,
)

RATE = 48_000
REPEATS = 10


def cpu_seconds() -> float:
    """CPU time of this process and of its live children (the recogniser's workers)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # ppid; utime and stime are fields 14 and 15
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def listen(engine: WhisperEngine, audio: np.ndarray) -> tuple[list[str], list[float]]:
    """The room's path, fed in real time as the media tick would: the final texts, and for
    each the seconds from the moment its end was pushed to the moment it came out."""

    async def run() -> tuple[list[str], list[float]]:
        speech = RoomSpeech(WhisperRecogniser(engine))
        texts: list[str] = []
        latencies: list[float] = []
        pushed: dict[int, float] = {}

        async def consume() -> None:
            async for segment in speech.segments():
                if segment.final:
                    texts.append(segment.text)
                    end = segment.end_ms // 20 * 20
                    if end in pushed:
                        latencies.append(time.perf_counter() - pushed[end])

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(consume)
            began = time.perf_counter()
            for at in range(0, audio.size - 959, 960):
                at_ms = at // 48
                delay = began + at_ms / 1000 - time.perf_counter()
                if delay > 0:
                    await anyio.sleep(delay)
                speech.push("p1", audio[at : at + 960], at_ms)
                pushed[at_ms] = time.perf_counter()
            speech.close()
        return texts, latencies

    return anyio.run(run)


def main() -> None:
    engine = WhisperEngine()
    # The baseline: the same model loaded here, transcribing each clip as one file.
    from faster_whisper import WhisperModel

    model = WhisperModel(str(whisper_model_dir()), device="cpu", compute_type="int8")
    table = Table(
        "speech",
        "Built-in recogniser (Whisper base int8) on real Mandarin clips",
        ["clip", "reference", "ours (room path)", "CER ours", "baseline (file)", "CER baseline"],
    )
    silence = np.zeros(RATE, dtype=np.int16)
    cer_ours: list[float] = []
    cer_base: list[float] = []
    rtf_ours: list[float] = []
    rtf_base: list[float] = []
    for name, reference in REFERENCE.items():
        speech = clip(name)
        audio = np.concatenate([silence, speech, silence])
        c0 = cpu_seconds()
        texts, _ = listen(engine, audio)
        rtf_ours.append((cpu_seconds() - c0) / (audio.size / RATE))
        ours = "".join(texts)
        t0 = time.perf_counter()
        pieces, _ = model.transcribe(
            clip(name, 16_000).astype(np.float32) / 32768, language="zh", beam_size=5
        )
        base = "".join(p.text for p in pieces).strip()
        rtf_base.append((time.perf_counter() - t0) / (speech.size / RATE))
        cer_ours.append(edit_distance(ours, reference) / len(reference))
        cer_base.append(edit_distance(base, reference) / len(reference))
        table.add(name, reference, ours, f"{cer_ours[-1]:.3f}", base, f"{cer_base[-1]:.3f}")

    said = {
        "aishell1-BAC009S0764W0121.wav": "交易几乎停滞",
        "speech-recognition-chinese.flac": "砸自己的脚",
    }
    unrelated = ["保险产品", "风险揭示", "犹豫期", "资产配置", "健康告知"]
    for name, reference in REFERENCE.items():
        audio16 = clip(name, 16_000)
        cells = []
        for label, words in (
            ("none", []),
            ("flow incl. the said phrase", [said[name], *unrelated[:3]]),
            ("unrelated only", unrelated),
        ):
            text = engine.decode(audio16, words)
            cells.append(
                f"{label}: {text} (CER {edit_distance(text, reference) / len(reference):.2f})"
            )
        table.notes.append(f"hotwords, {name}: " + "; ".join(cells))

    # Latency and CPU: the AISHELL sentence again and again with 2 s pauses.
    speech = clip("aishell1-BAC009S0764W0121.wav")
    pause = np.zeros(2 * RATE, dtype=np.int16)
    audio = np.concatenate([pause, *[np.concatenate([speech, pause]) for _ in range(REPEATS)]])
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    texts, latencies = listen(engine, audio)
    cpu = cpu_seconds() - cpu0
    bare = []
    for _ in range(3):
        b0 = time.perf_counter()
        engine.decode(clip("aishell1-BAC009S0764W0121.wav", 16_000))
        bare.append(time.perf_counter() - b0)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[max(0, int(0.99 * len(latencies)) - 1)]
    audio_s = audio.size / RATE
    table.notes += [
        f"real-time factor: ours {statistics.mean(rtf_ours):.3f} (CPU-seconds of the room "
        f"path and its worker per second of audio, pauses included), baseline "
        f"{statistics.mean(rtf_base):.3f} (wall time to transcribe the clip as one file)",
        f"end of utterance → final segment over {len(latencies)} utterances: p50 {p50:.2f} s, "
        f"p99 {p99:.2f} s; the bare decode of the same 4.2 s takes {min(bare):.2f} s "
        "(Whisper encodes a 30 s window however short the utterance)",
        f"CPU per listened participant talking {speech.size * REPEATS / audio.size:.0%} of the "
        f"time: {cpu / audio_s:.3f} CPU-seconds per second ({cpu / audio_s * 100:.0f} % of a "
        f"core); wall {time.perf_counter() - t0:.1f} s for {audio_s:.0f} s of audio",
        f"recognised {len(texts)} of {REPEATS} utterances",
    ]
    print(table.markdown())
    table.write()
    bar_plot(
        "speech",
        "Character error rate on real Mandarin clips",
        list(REFERENCE),
        {"ours (room path)": cer_ours, "faster-whisper on the file": cer_base},
        ylabel="character error rate",
    )


if __name__ == "__main__":
    main()
