"""Audio-only participants one core keeps on the 20 ms mixing tick, beside the Opus bound.

What the server's ``MediaService`` does per room and tick, without the codec: take one
20 ms frame from every participant's jitter buffer (``AudioMixer.push`` of a decoded
frame, then ``tick``), the native mix-minus for every listener plus the full mix for the
recording, and one ``AudioFrame`` per listener for its sender (``MixedAudioTrack.feed``).
Rooms of ``ROOM_SIZE`` participants each run their own task on a ``TickClock`` in one
event loop -- one core, as in the server -- their phases spread over the period as rooms
that started at different moments are. For a growing number of rooms the script runs
them for ``SECONDS`` and records how late every tick woke; the largest count whose p99
lateness stays under 5 ms is the mixing capacity, refined by bisection.

The codec-bound estimate comes from the same run: Opus decode + encode of one 20 ms
frame (PyAV's libopus, 48 kHz stereo as aiortc uses it) is what each participant costs
per tick in aiortc's threads, so 20 ms divided by it is the participants one core could
code. Both on one core: ``1 / (1/mix + 1/codec)``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RESULTS, Table  # noqa: E402

from zhanye_sdk import native_backend  # noqa: E402
from zhanye_sdk.media.frames import mono_to_audio_frame  # noqa: E402
from zhanye_sdk.media.mixer import AudioMixer  # noqa: E402
from zhanye_sdk.media.pacing import TickClock  # noqa: E402
from zhanye_sdk.media.tracks import MixedAudioTrack  # noqa: E402

TICK_S = 0.02
SAMPLES = 960
ROOM_SIZE = 4  # a salesperson and three customers
SECONDS = 3.0
P99_TARGET_MS = 5.0
START_ROOMS = 8


class Room:
    """One room's per-tick work, fed with fixed decoded frames."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.frames = rng.integers(-8000, 8000, size=(ROOM_SIZE, SAMPLES), dtype=np.int16)
        self.mixer = AudioMixer(SAMPLES, prime_frames=1)
        self.names = [f"p{i}" for i in range(ROOM_SIZE)]
        self.tracks = [MixedAudioTrack() for _ in self.names]
        for name in self.names:
            self.mixer.add(name)

    def tick(self) -> None:
        for row, name in enumerate(self.names):
            self.mixer.push(name, self.frames[row])
        mixed = self.mixer.tick()
        for row, track in enumerate(self.tracks):
            track.feed(mixed.minus[row])
            track._frames.clear()  # what aiortc's sender takes


async def run_rooms(count: int) -> tuple[list[float], float]:
    """Lateness of every tick of ``count`` rooms over ``SECONDS``, and the busy share."""
    rooms = [Room(i) for i in range(count)]
    lateness: list[float] = []
    busy = 0.0
    ticks = int(SECONDS / TICK_S)

    async def room_task(index: int, room: Room) -> None:
        nonlocal busy
        # Rooms start whenever their first participant arrives: spread their phases over
        # the period instead of waking them all at the same instant.
        await asyncio.sleep(index * TICK_S / count)
        clock = TickClock(TICK_S)
        for _ in range(ticks):
            lateness.append(await clock.wait())
            start = time.perf_counter()
            room.tick()
            busy += time.perf_counter() - start

    begin = time.perf_counter()
    await asyncio.gather(*(room_task(i, room) for i, room in enumerate(rooms)))
    return lateness, busy / (time.perf_counter() - begin)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def opus_cost(frames: int = 500) -> tuple[float, float]:
    """Seconds to encode, and to decode, one 20 ms 48 kHz stereo Opus frame (median of 5)."""
    t = np.arange(SAMPLES) / 48_000
    rng = np.random.default_rng(1)
    encodes, decodes = [], []
    for _ in range(5):
        encoder = av.CodecContext.create("libopus", "w")
        encoder.sample_rate, encoder.layout, encoder.format = 48_000, "stereo", "s16"
        encoder.bit_rate = 96_000  # aiortc's Opus encoder setting
        decoder = av.CodecContext.create("libopus", "r")
        decoder.sample_rate, decoder.layout = 48_000, "stereo"
        pcm = []
        for i in range(frames):
            voice = 6000 * np.sin(2 * np.pi * 220 * (t + i * TICK_S)) * np.sin(np.pi * t / 0.02)
            samples = (voice + rng.normal(0, 300, SAMPLES)).astype(np.int16)
            pcm.append(mono_to_audio_frame(samples, 48_000, pts=i * SAMPLES, stereo=True))
        start = time.perf_counter()
        packets = [p for frame in pcm for p in encoder.encode(frame)]
        encodes.append((time.perf_counter() - start) / frames)
        start = time.perf_counter()
        for packet in packets:
            decoder.decode(packet)
        decodes.append((time.perf_counter() - start) / max(1, len(packets)))
    return statistics.median(encodes), statistics.median(decodes)


def measure(count: int, table: Table, points: dict[int, tuple[float, float]]) -> bool:
    """Run ``count`` rooms, add a row; True when the tick was kept."""
    lateness, busy = asyncio.run(run_rooms(count))
    late = p99(lateness) * 1e3
    kept = late < P99_TARGET_MS
    points[count * ROOM_SIZE] = (late, busy)
    table.add(
        count * ROOM_SIZE,
        count,
        late,
        max(lateness) * 1e3,
        f"{busy:.0%}",
        "yes" if kept else "no",
    )
    return kept


def main() -> None:
    table = Table(
        "media_mix",
        "Audio-only participants per core on the 20 ms mix-minus tick (no Opus in the loop)",
        ["participants", "rooms", "tick lateness p99 ms", "lateness max ms", "core busy", "kept"],
    )
    points: dict[int, tuple[float, float]] = {}
    # Double until the tick is lost, then bisect between the last kept and the first lost.
    kept, lost = 0, 0
    count = START_ROOMS
    while True:
        if measure(count, table, points):
            kept = count
            count *= 2
        else:
            lost = count
            break
    while lost - kept > max(1, kept // 16):
        middle = (kept + lost) // 2
        if measure(middle, table, points):
            kept = middle
        else:
            lost = middle
    table.rows.sort(key=lambda row: int(str(row[0])))

    encode, decode = opus_cost()
    codec = encode + decode
    mix_capacity = kept * ROOM_SIZE
    codec_capacity = int(TICK_S / codec)
    both = int(1 / (1 / mix_capacity + 1 / codec_capacity))
    load = os.getloadavg()[0]
    table.notes += [
        f"mixing capacity: **{mix_capacity} participants per core** ({kept} rooms of "
        f"{ROOM_SIZE}) keep the 20 ms tick with p99 lateness < {P99_TARGET_MS:.0f} ms "
        f"({native_backend()} mixer)",
        f"codec bound, same run: Opus encode {encode * 1e3:.3f} ms + decode "
        f"{decode * 1e3:.3f} ms per participant per 20 ms frame, so about "
        f"**{codec_capacity} participants per core** could be coded",
        f"mixing and coding on one core: about {both} participants; the codec is "
        f"{mix_capacity / codec_capacity:.0f}x the mixer's cost, so capacity is set by Opus "
        "(and by aiortc's per-packet Python work, not measured here)",
        "per tick and room: jitter-buffer push + take, native mix-minus + full mix (soft knee), "
        "one AudioFrame per listener; every room its own TickClock task in one event loop",
        f"load average while measuring: {load:.1f} on {os.cpu_count()} cores (other work "
        "makes lateness pessimistic)",
    ]
    table.write()
    plot(points, mix_capacity, codec_capacity)


def plot(points: dict[int, tuple[float, float]], mix_capacity: int, codec_capacity: int) -> Path:
    """Tick lateness (p99) and core share against participants, with both capacities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    xs = sorted(points)
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    ax.plot(xs, [points[x][0] for x in xs], "o-", label="tick lateness p99 (ms)")
    ax.axhline(P99_TARGET_MS, color="grey", linestyle="--", label=f"{P99_TARGET_MS:.0f} ms target")
    ax.axvline(mix_capacity, color="tab:green", linestyle=":", label=f"mixing: {mix_capacity}")
    ax.axvline(codec_capacity, color="tab:red", linestyle=":", label=f"Opus: {codec_capacity}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [str(x) for x in xs], fontsize=7)
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_yscale("log")
    ax.set_xlabel("audio-only participants in one process (rooms of 4)")
    ax.set_ylabel("ms")
    ax.set_title("Mix-minus on one core: 20 ms tick lateness vs participants")
    share = ax.twinx()
    share.plot(xs, [points[x][1] * 100 for x in xs], "s--", color="tab:orange", alpha=0.6)
    share.set_ylabel("core busy mixing (%)", color="tab:orange")
    share.set_ylim(0, 110)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = RESULTS / "media_mix.png"
    fig.savefig(path)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
