"""Listening costs the room nothing it can hear: three participants (a salesperson and two
customers as app-host processes) speak real Mandarin into a session while the built-in
recogniser transcribes all three, and the media tick stays on time the whole while:
no tick misses its frame, and the recogniser moves the lateness no more than any other
program at the lowest priority would: the control is the same room with busy loops at that
priority in place of the recogniser, measured before and after it (the worse of the two,
so a machine that slows down during the test does not count against the recogniser).

Real-time, so it runs alone (``-m alone``), on an otherwise idle machine."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import anyio
import numpy as np
import pytest
from aiortc.contrib.media import MediaPlayer
from anyio.abc import Process

from zhanye_sdk.client import join
from zhanye_sdk.media.service import MediaService
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.sop import TranscriptSegment
from zhanye_sdk.sop.speech import RoomSpeech
from zhanye_sdk.sop.whisper import WhisperEngine, WhisperRecogniser

from .media_world import invite_url, media_host
from .test_sop_whisper import spoken_wav

pytestmark = [pytest.mark.anyio, pytest.mark.alone, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parent.parent


BUSY_LOOP = (
    "import os\nos.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\nwhile True:\n    pass\n"
)


async def idle_priority_window(media: MediaService, session_id: str, loops: int) -> list[float]:
    """The room's last 400 tick latenesses (8 s) with ``loops`` CPU-bound programs at the
    lowest priority beside it."""
    busy = [await anyio.open_process([sys.executable, "-c", BUSY_LOOP]) for _ in range(loops)]
    try:
        await anyio.sleep(8)
        return list(media.tick_lateness_s(session_id)[-400:])
    finally:
        for process in busy:
            process.kill()
        with anyio.fail_after(10):
            for process in busy:
                await process.wait()


async def test_listening_to_three_speakers_keeps_the_tick_on_time(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    wav = spoken_wav(tmp_path / "speech.wav", 1.5)
    engine = await anyio.to_thread.run_sync(WhisperEngine)
    # The decoders run in their own processes, only on CPU time nothing else wants.
    assert engine.worker_pids()
    assert all(os.sched_getscheduler(pid) == os.SCHED_IDLE for pid in engine.worker_pids())
    async with media_host(tmp_path, fast_config) as server:
        speech = RoomSpeech(WhisperRecogniser(engine))
        url = await invite_url(server)
        heard: list[TranscriptSegment] = []
        processes: list[Process] = []
        logs = contextlib.AsyncExitStack()
        player: MediaPlayer | None = None
        try:
            # The salesperson (in this process; customers wait in the lobby until the
            # host is in) and two customers (app-host processes) all say the sentence.
            player = MediaPlayer(str(wav), loop=True)
            await logs.enter_async_context(
                join(server.host_url, microphone=player.audio, slots=0, loopback_only=True)
            )
            for n in range(2):
                command = [sys.executable, "-m", "hosts.app", "join", url, "--name", f"客户{n}"]
                command += ["--media", str(wav), "--slots", "0", "--loopback", "--seconds", "150"]
                processes.append(
                    await anyio.open_process(
                        command,
                        cwd=ROOT,
                        stdout=logs.enter_context((tmp_path / f"{n}.out").open("wb")),
                        stderr=logs.enter_context((tmp_path / f"{n}.log").open("wb")),
                    )
                )

            # The control: everyone speaking, nobody listening yet, busy loops at the
            # decoders' priority, for 8 s after the last customer is mixed.
            audible: set[str] = set()
            stop_counting = server.media.tap_audio(
                server.session_id, lambda speaker, _samples, _at: audible.add(speaker)
            )
            with anyio.fail_after(60):
                while len(audible) < 3:  # noqa: ASYNC110
                    await anyio.sleep(0.2)
            stop_counting()
            workers = len(engine.worker_pids())
            controls = [await idle_priority_window(server.media, server.session_id, workers)]
            remove = server.media.tap_audio(server.session_id, speech.push)

            async def collect() -> None:
                async for segment in speech.segments():
                    if segment.final:
                        heard.append(segment)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(collect)
                with anyio.fail_after(120):
                    while len(heard) < 3:  # noqa: ASYNC110
                        await anyio.sleep(0.2)
                # From now on everyone is being recognised: watch the tick while another
                # round of utterances is decoded.
                # …until at least three more utterances and two speakers have been heard
                # (Whisper cuts a sentence where it likes, and takes the speakers in the
                # order their speech ends: counting segments alone is not enough).
                began, counted = time.monotonic(), len(heard)
                with anyio.fail_after(120):
                    while len(heard) < counted + 3 or len({s.speaker for s in heard}) < 2:  # noqa: ASYNC110
                        await anyio.sleep(0.2)
                ticks = int((time.monotonic() - began) * 50)
                lateness = server.media.tick_lateness_s(server.session_id)[-ticks:]
                remove()
                speech.close()
            controls.append(await idle_priority_window(server.media, server.session_id, workers))
        finally:
            await logs.aclose()
            if player is not None and player.audio is not None:
                player.audio.stop()
            for process in processes:
                if process.returncode is None:
                    process.terminate()
            with anyio.fail_after(20):
                for process in processes:
                    await process.wait()
    assert len(lateness) >= 150 and all(len(c) == 400 for c in controls), len(lateness)
    p99 = float(np.percentile(np.array(lateness) * 1000, 99))
    controls_p99 = [round(float(np.percentile(np.array(c) * 1000, 99)), 2) for c in controls]
    control = max(controls_p99)
    print(f"tick p99 lateness {p99:.2f} ms listening, {controls_p99} ms in the controls")
    # Two cores shared with the two customers' processes: measured here, windows of the
    # same load differ by up to 2 ms at p99, and a CPU-bound program at the lowest
    # priority (SCHED_IDLE, as the decoders run) adds 1–2 ms to it (the vCPUs share the
    # host's caches), which the control includes. More than that is the recogniser
    # taking the loop; a decode on the loop itself would make ticks a second late, and a
    # skipped tick is a listener's gap.
    assert p99 < max(8.0, control + 4.0), (
        f"tick p99 lateness {p99:.2f} ms over {len(lateness)} ticks; controls {controls_p99}"
    )
    assert max(lateness) < 0.020, f"a tick {max(lateness) * 1000:.1f} ms late"
    # What was decoded is the sentence, from more than one speaker.
    assert len({s.speaker for s in heard}) >= 2, [(s.speaker, s.text) for s in heard]
    # (Both halves of it, wherever the recogniser cut it.)
    texts = [s.text for s in heard]
    assert any("出现" in t for t in texts) and any("情况" in t for t in texts), texts
