"""Chromium on a lossy network, in a three-party session: the issue's loss matrix.

A customer on the join page in headless Chromium, whose fake microphone plays a 700 Hz
tone (or, in the second case, the AISHELL-1 Mandarin sentence of ``tests/data/asr``), sits
with the salesperson (the SDK's participant client, 500 Hz) and a silent second customer
(the SDK's participant client). One session; the browser's server link (both ways) goes
through 10 %, 30 % and 50 % random loss and 20 % loss in bursts (mean 3 packets), one
episode after the other. In each episode, over its last seconds:

- the share of the browser's 20 ms audio frames the server decoded intact or rebuilt
  (FEC, RED) against those the time span holds, and the residual loss the network report
  gives for the browser, stay within the bounds of ``BOUNDS``;
- what the silent customer hears of the mix keeps the browser's tone clear (its SNR
  against everything but the salesperson's tone) or the sentence intelligible (STOI of one
  loop of it, against the file), within ``BOUNDS``.

With ``audio_resilience`` off (aiortc's plain Opus), lost frames leave holes (the share
falls to about 1 − loss), the report has no residual loss, and the tones' SNR falls.
"""

from __future__ import annotations

import asyncio
import threading
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import attrs
import numpy as np
import numpy.typing as npt
import pytest
from playwright.sync_api import expect, sync_playwright
from pystoi import stoi

from zhanye_sdk._backend import Resampler
from zhanye_sdk.client import ToneTrack, join
from zhanye_sdk.media.impair import LinkImpairment, NetworkImpairment
from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .media_world import LOOPBACK_MEDIA, MediaHost, launch_chromium, start_session, tone_wav
from .platform_world import World, build_world
from .test_media_browser import invite_path
from .webhost import DEPLOYMENT, RunningHost

pytestmark = [pytest.mark.e2e, pytest.mark.alone]  # audio counted against the wall clock

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests/data/asr/aishell1-BAC009S0764W0121.wav"
BROWSER_HZ, SALES_HZ = 700.0, 500.0
FAST = PlatformConfig(passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1))
T = TypeVar("T")

#: The episodes, one after the other in the same session: (name, impairment).
EPISODES = [
    ("random 10 %", LinkImpairment(loss=0.1, seed=3)),
    ("random 30 %", LinkImpairment(loss=0.3, seed=3)),
    ("random 50 %", LinkImpairment(loss=0.5, seed=3)),
    ("burst 20 %", LinkImpairment(loss=0.2, burst=3.0, seed=3)),
]
EPISODE_S, MEASURED_S = 9.0, 6.0


@attrs.frozen
class Bound:
    """What an episode must keep: the least share of frames intact or rebuilt, the most
    residual loss, the least SNR (dB) of the browser's tone the silent customer hears, the
    least STOI of the sentence it hears."""

    intact: float
    residual: float
    snr_db: float
    stoi: float


#: Bounds per episode (what was measured is in the test's docstring).
BOUNDS = {
    "random 10 %": Bound(intact=0.88, residual=0.05, snr_db=6.0, stoi=0.3),
    "random 30 %": Bound(intact=0.78, residual=0.15, snr_db=6.0, stoi=0.3),
    "random 50 %": Bound(intact=0.65, residual=0.30, snr_db=3.0, stoi=0.2),
    # Bursts of three frames outrun RED and FEC now and then: the mean of the episode's
    # twelve reports (each 0-0.35) was 0.10-0.15 over five runs (standard error about
    # 0.03), so 0.15 failed about one run in ten with nothing changed. Nothing rebuilt
    # would be 0.20 or more, with intact under 0.80.
    "burst 20 %": Bound(intact=0.80, residual=0.20, snr_db=3.0, stoi=0.2),
}


def speech_wav(path: Path) -> Path:
    """The AISHELL-1 sentence at 48 kHz with a second of silence after it (the fake
    microphone loops the file)."""
    with wave.open(str(CLIP)) as f:
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.int16)
    up = Resampler(16_000, 48_000).process(pcm)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(48_000)
        f.writeframes(np.concatenate([up, np.zeros(48_000, np.int16)]).tobytes())
    return path


def looped_stoi(heard: npt.NDArray[np.int16], wav: Path) -> float:
    """STOI of one loop of the file as heard, against the file turned to the same phase."""
    with wave.open(str(wav)) as f:
        ref = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float64)
    if heard.size < ref.size:
        return 0.0
    x = heard[: ref.size].astype(np.float64)
    shift = int(np.argmax(np.fft.irfft(np.conj(np.fft.rfft(x)) * np.fft.rfft(ref), ref.size)))
    return float(stoi(np.roll(ref, -shift), x, 48_000))


def tone_snr_db(samples: npt.NDArray[np.int16], hz: float, others: list[float]) -> float:
    """Power of the tone at ``hz`` against everything but the ``others`` tones (gaps,
    clicks, concealment noise), in dB; fitted per 0.5 s."""
    x = samples.astype(np.float64)
    signal = rest = 0.0
    step = 24_000
    t = np.arange(step) / 48_000
    basis = np.stack(
        [f(2 * np.pi * f_hz * t) for f_hz in [hz, *others] for f in (np.sin, np.cos)], axis=1
    )
    for at in range(0, x.size - step + 1, step):
        chunk = x[at : at + step]
        fit, *_ = np.linalg.lstsq(basis, chunk, rcond=None)
        signal += float(np.sum((basis[:, :2] @ fit[:2]) ** 2))
        rest += float(np.sum((chunk - basis @ fit) ** 2))
    return float(10 * np.log10(max(signal, 1e-9) / max(rest, 1e-9)))


@attrs.define
class Parties:
    """The SDK participants, held open on the host's loop until ``done``."""

    joined: threading.Event = attrs.field(factory=threading.Event)
    done: threading.Event = attrs.field(factory=threading.Event)
    salesperson: Any = None
    listener: Any = None

    async def run(self, server: MediaHost, listener_url: str, salesperson_hz: float) -> None:
        microphone = ToneTrack(salesperson_hz) if salesperson_hz else None
        async with join(
            server.host_url, microphone=microphone, slots=0, loopback_only=True
        ) as salesperson:
            async with join(listener_url, slots=0, loopback_only=True) as listener:
                self.salesperson, self.listener = salesperson, listener
                self.joined.set()
                await anyio.to_thread.run_sync(self.done.wait, 180)


def start_host(tmp_path: Path) -> RunningHost:
    async def make() -> tuple[Any, World]:
        world = await build_world(f"sqlite:///{tmp_path}/web.db", FAST)
        return world.platform, world

    clean = LinkImpairment(seed=3)
    media = attrs.evolve(LOOPBACK_MEDIA, impairment=NetworkImpairment(uplink=clean, downlink=clean))
    return RunningHost(
        make,
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
        media_config=media,
    ).start()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[RunningHost]:
    running = start_host(tmp_path)
    try:
        yield running
    finally:
        running.stop()


async def _call(fn: Callable[[], T]) -> T:
    return fn()


@pytest.mark.parametrize("source", ["tone", "speech"])
def test_a_browser_on_a_lossy_network_keeps_its_audio_in_a_three_party_session(
    host: RunningHost, tmp_path: Path, source: str
) -> None:
    """Measured here at random 10 %, 30 %, 50 % and burst 20 % (tone; speech alike for the
    frames), over three runs: intact or rebuilt 0.93–0.99 / 0.84–0.92 / 0.78–0.82 /
    0.88–0.97 (counted against the wall clock's 50 frames a second, so a loaded machine
    shaves a few per cent),
    mean residual 0.01 / 0.08 / 0.19 / 0.07, the browser's tone at the listener 14 / 17 /
    12 / 9 dB SNR (8.9–17 dB over the runs), the sentence's STOI 0.48 / 0.44 / 0.56 / 0.35
    (0.86 / 0.52–0.67 / 0.72–0.74 / 0.78–0.88 in two runs once the listener's clean link
    got its mix coded with CELT alone; 0.24 at 30 % once with two other browser tests
    beside it).
    With ``audio_resilience=False``: intact 0.52–0.60 / 0.09–0.13 / 0.01–0.02 / 0.46–0.51,
    no residual reported, STOI 0.08 / 0 / 0.04 / 0."""
    tone = source == "tone"
    wav = tone_wav(tmp_path / "tone.wav", BROWSER_HZ) if tone else speech_wav(tmp_path / "s.wav")
    server = MediaHost(host.url, host.extra, host.app[DEPLOYMENT].rooms, host.app[DEPLOYMENT].media)
    host.run(start_session(server))
    path = host.run(invite_path(server))
    listener_url = host.run(server.customer_url("客户乙"))
    parties = Parties()
    # With speech the salesperson is silent, so that the listener hears the browser only.
    held = asyncio.run_coroutine_threadsafe(
        parties.run(server, listener_url, SALES_HZ if tone else 0.0), host.loop
    )
    assert parties.joined.wait(30)
    ids = {parties.salesperson.participant_id, parties.listener.participant_id}

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, microphone_wav=wav)
        try:
            page = browser.new_context(viewport={"width": 900, "height": 700}).new_page()
            page.goto(f"{host.url}{path}")
            page.get_by_label("您的称呼").fill("客户甲")
            page.locator("input[name=ack]").check()
            page.get_by_role("button", name="进入会话").click()
            expect(page.locator("#connection")).to_have_text("已连接", timeout=30_000)

            def browser_peer() -> Any:
                room = server.media._media_rooms.get(server.session_id)
                for p in [] if room is None else room.peers.values():
                    if p.participant not in ids and p.impaired:
                        return p
                return None

            deadline = time.monotonic() + 30
            while (peer := host.run(_call(browser_peer))) is None or peer.audio_frames < 150:
                assert time.monotonic() < deadline, "the browser's audio never reached the server"
                time.sleep(0.2)
            time.sleep(2)
            found = {}
            for name, impairment in EPISODES:
                host.run(_call(lambda i=impairment: [c.change(i) for c in peer.impaired]))
                time.sleep(EPISODE_S - MEASURED_S)
                seen = len(parties.salesperson.messages)
                start = time.monotonic()
                frames0, concealed0 = peer.audio_frames, peer.audio_concealed
                time.sleep(MEASURED_S)
                end = time.monotonic()
                frames, concealed = peer.audio_frames - frames0, peer.audio_concealed - concealed0
                intact = (frames - concealed) / ((end - start) * 50)
                reports = [
                    m["data"]
                    for m in parties.salesperson.messages[seen:]
                    if m["type"] == "media.network" and m["data"]["participant"] == peer.participant
                ]
                residuals = [r["residual_loss"] for r in reports]
                heard = host.run(_call(lambda s=start, e=end: parties.listener.audio_between(s, e)))
                if tone:
                    snr = tone_snr_db(heard, BROWSER_HZ, [SALES_HZ])
                else:
                    snr = looped_stoi(heard, wav)
                found[name] = (round(intact, 3), residuals, snr)
            host.run(_call(lambda: [c.change(LinkImpairment(seed=3)) for c in peer.impaired]))
        finally:
            browser.close()
            parties.done.set()
            held.result(timeout=30)

    print(found)
    for name, (intact, residuals, snr) in found.items():
        bound = BOUNDS[name]
        assert intact >= bound.intact, (name, found)
        # aiortc's plain Opus reports no residual loss: nothing tells a frame rebuilt.
        assert residuals and None not in residuals, (name, found)
        assert float(np.mean(residuals)) <= bound.residual, (name, found)
        assert snr >= (bound.snr_db if tone else bound.stoi), (name, found)
