"""The app host as real peers: two customer processes, the salesperson in this process.

Everyone hears the others and not themselves; killing one customer's process leaves the
others' audio uninterrupted; the survivor's recording of what it heard is right.
"""

from __future__ import annotations

import subprocess
import sys
import time
import wave
from collections.abc import Callable
from pathlib import Path

import anyio
import numpy as np
import pytest

from zhanye_sdk.client import ToneTrack, join
from zhanye_sdk.platform import PlatformConfig

from .media_world import invite_url, media_host, tone_level

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[1]
HOST_HZ, A_HZ, B_HZ = 500.0, 700.0, 1100.0


async def wait_for(condition: Callable[[], bool], limit_s: float = 30) -> None:
    """Poll state that media tasks change."""
    with anyio.fail_after(limit_s):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.1)


def app_host(url: str, hz: float, record: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "hosts.app", "join", url, "--tone", str(hz)]
    command += ["--record", str(record), "--loopback", "--seconds", "60"]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


async def test_app_host_customers_and_a_killed_process(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        async with join(server.host_url, microphone=ToneTrack(HOST_HZ), loopback_only=True) as me:
            a = app_host(await invite_url(server), A_HZ, tmp_path / "a.wav")
            b = app_host(await invite_url(server), B_HZ, tmp_path / "b.wav")
            try:

                def hearing(hz: float) -> float:
                    now = time.monotonic()
                    audio = me.audio_between(now - 0.5, now)
                    return tone_level(audio, hz) if audio.size > 12_000 else 0.0

                await wait_for(lambda: hearing(A_HZ) > 1500 and hearing(B_HZ) > 1500)
                assert hearing(HOST_HZ) < 250

                b.kill()
                killed = time.monotonic()
                await anyio.sleep(2.0)
                # Uninterrupted: the 20 ms frames kept coming (a loaded machine delays a
                # few, none goes missing for long).
                arrivals = [at for at, _ in me.audio if killed <= at]
                gaps = np.diff(arrivals)
                assert len(arrivals) >= 90 and gaps.max() < 0.5, (len(arrivals), gaps.max())
                after = me.audio_between(killed + 0.5, killed + 2.0)
                assert tone_level(after, A_HZ) > 1500
                assert tone_level(after, B_HZ) < 250

                a.terminate()  # leaves cleanly and writes what it heard
                assert a.wait(timeout=15) == 0, a.stderr.read() if a.stderr else ""
            finally:
                for process in (a, b):
                    if process.poll() is None:
                        process.kill()
                    process.wait(timeout=10)
    with wave.open(str(tmp_path / "a.wav")) as heard:
        assert heard.getframerate() == 48_000 and heard.getnchannels() == 1
        samples = np.frombuffer(heard.readframes(heard.getnframes()), dtype="<i2")
    assert samples.size > 48_000
    last = samples[-48_000:]  # host only, after b was gone
    assert tone_level(last, HOST_HZ) > 1500
    assert tone_level(last, A_HZ) < 250
