"""The SOP assistant's ears: each speaker's audio from the room to a recogniser.

No speech model runs here; ``PitchRecogniser`` stands in as the recogniser and names
each utterance by its dominant frequency, so the audio path itself — the media tap,
resampling to 16 kHz, 100 ms frames, endpointing, speaker timelines — is what is tested.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import numpy as np
import numpy.typing as npt
import pytest

from zhanye_sdk.client import FlatVideoTrack, ToneTrack, join
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.sop import TranscriptSegment
from zhanye_sdk.sop.live import SopLiveConfig
from zhanye_sdk.sop.speech import RoomSpeech
from zhanye_sdk.sop.transcript import RECOGNISER_RATE, SpeechFrame

from .media_world import media_host

pytestmark = pytest.mark.anyio

RATE = 48_000


class PitchRecogniser:
    """Names each utterance by its dominant frequency, rounded to 10 Hz — or says the
    words given for that frequency."""

    def __init__(self, words: dict[int, str] | None = None) -> None:
        self.frames: dict[str, list[SpeechFrame]] = {}
        self.rates: set[int] = set()
        self.words = words or {}

    def feed(self, frame: SpeechFrame) -> list[TranscriptSegment]:
        self.rates.add(frame.samples.shape[0] * 10)
        heard = self.frames.setdefault(frame.speaker, [])
        heard.append(frame)
        if not frame.end_of_utterance:
            return []
        audio = np.concatenate([f.samples for f in heard]).astype(np.float64)
        spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
        hz = float(np.fft.rfftfreq(audio.size, 1 / RECOGNISER_RATE)[int(np.argmax(spectrum))])
        self.frames[frame.speaker] = []
        text = self.words.get(round(hz, -1), f"{round(hz, -1):.0f}Hz")
        end = frame.start_ms + 100
        return [
            TranscriptSegment(
                f"{frame.speaker}-{heard[0].start_ms}", text, heard[0].start_ms, end, frame.speaker
            )
        ]


def tone(hz: float, ms: int, amplitude: int = 8_000) -> npt.NDArray[np.int16]:
    t = np.arange(RATE * ms // 1000) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def ticks(samples: npt.NDArray[np.int16]) -> list[npt.NDArray[np.int16]]:
    return [samples[i : i + 960] for i in range(0, samples.size, 960)]


async def recognise_all(speech: RoomSpeech) -> list[TranscriptSegment]:
    return [segment async for segment in speech.segments()]


async def test_each_speaker_is_resampled_cut_and_placed_on_the_session_clock() -> None:
    recogniser = PitchRecogniser()
    speech = RoomSpeech(recogniser)
    # A speaks 440 Hz from 10.0 s to 11.0 s; B joins at 10.5 s and speaks 880 Hz for 1 s.
    a = np.concatenate([tone(440, 1000), np.zeros(RATE * 2, np.int16)])
    b = np.concatenate([tone(880, 1000), np.zeros(RATE * 2, np.int16)])
    for n, chunk in enumerate(ticks(a)):
        speech.push("a", chunk, 10_000 + 20 * n)
        if n >= 25:
            speech.push("b", ticks(b)[n - 25], 10_500 + 20 * (n - 25))
    speech.close()
    segments = await recognise_all(speech)
    by_speaker = {s.speaker: s for s in segments}
    assert set(by_speaker) == {"a", "b"} and len(segments) == 2
    assert by_speaker["a"].text == "440Hz" and by_speaker["b"].text == "880Hz"
    # Starts within one 100 ms frame of the truth, ends after the hang-over.
    assert abs(by_speaker["a"].start_ms - 10_000) <= 100
    assert abs(by_speaker["b"].start_ms - 10_500) <= 100
    assert 11_000 <= by_speaker["a"].end_ms <= 11_800
    assert recogniser.rates == {RECOGNISER_RATE}
    assert speech.dropped == 0


async def test_a_speaker_back_after_a_gap_gets_a_fresh_timeline() -> None:
    speech = RoomSpeech(PitchRecogniser())
    burst = np.concatenate([tone(600, 600), np.zeros(RATE, np.int16)])
    for n, chunk in enumerate(ticks(burst)):
        speech.push("a", chunk, 1_000 + 20 * n)
    for n, chunk in enumerate(ticks(burst)):  # left and came back 30 s later
        speech.push("a", chunk, 31_000 + 20 * n)
    speech.close()
    starts = [s.start_ms for s in await recognise_all(speech)]
    assert len(starts) == 2
    assert abs(starts[0] - 1_000) <= 100 and abs(starts[1] - 31_000) <= 100


async def test_a_recogniser_that_falls_behind_costs_audio_not_the_caller() -> None:
    speech = RoomSpeech(PitchRecogniser(), backlog=3)
    began = time.perf_counter()
    for n in range(10):
        speech.push("a", tone(500, 20), 20 * n)
    assert time.perf_counter() - began < 1  # never waits for the recogniser
    assert speech.dropped == 7
    speech.close()
    speech.push("a", tone(500, 20), 1_000)  # after close: ignored, not an error
    assert speech.dropped == 7


async def test_bad_settings_are_refused() -> None:
    from zhanye_sdk.errors import InvalidInput

    with pytest.raises(InvalidInput):
        RoomSpeech(PitchRecogniser(), rate=44_100)
    with pytest.raises(InvalidInput):
        RoomSpeech(PitchRecogniser(), backlog=0)


async def test_the_room_taps_each_audible_speaker_for_recognition(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    """Real WebRTC peers: each one's own tone reaches the recogniser under their id,
    and a muted participant is not transcribed."""
    recogniser = PitchRecogniser()
    async with media_host(tmp_path, fast_config) as server:
        speech = RoomSpeech(recogniser)
        remove = server.media.tap_audio(server.session_id, speech.push)
        customer_url = await server.customer_url("客户甲")
        found: list[TranscriptSegment] = []

        async def collect() -> None:
            async for segment in speech.segments():
                found.append(segment)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(collect)
            host_peer = join(
                server.host_url,
                microphone=ToneTrack(500.0),
                camera=FlatVideoTrack(60),
                loopback_only=True,
            )
            customer_peer = join(
                customer_url,
                microphone=ToneTrack(1100.0),
                camera=FlatVideoTrack(160),
                loopback_only=True,
            )
            async with host_peer as host, customer_peer as customer:
                speakers = {host.participant_id: 500.0, customer.participant_id: 1100.0}

                def heard(participant: str) -> int:
                    return len(recogniser.frames.get(participant, []))

                # A steady tone is one long utterance; wait until both are being heard.
                with anyio.fail_after(20):
                    while min(heard(p) for p in speakers) < 10:  # noqa: ASYNC110 (threads fill it)
                        await anyio.sleep(0.05)
                reply = await host.request(
                    "room.set_audio", {"target": customer.participant_id, "on": False}
                )
                assert reply["type"] != "error", reply
                await anyio.sleep(0.5)  # what was already queued drains
                customer_then, host_then = (
                    heard(customer.participant_id),
                    heard(host.participant_id),
                )
                await anyio.sleep(1.0)
                assert heard(customer.participant_id) == customer_then  # muted: not transcribed
                assert heard(host.participant_id) >= host_then + 5  # the host still is
            remove()
            speech.close()
        texts = {s.speaker: s.text for s in found}
        assert texts.get(customer.participant_id) == "1100Hz"
        for segment in found:
            assert segment.text == f"{speakers[segment.speaker]:.0f}Hz"
            assert segment.start_ms >= server.rooms.now_ms() - 120_000


async def test_the_assistant_listens_to_the_room_and_writes_what_was_said(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    """With a recogniser configured, the SOP assistant hears the salesperson over real
    WebRTC, ticks the node they spoke, and the record holds it when the session ends —
    with the last utterance recognised before the record is written."""
    from zhanye_sdk.records import RecordService

    from .sop_world import build_sop_library

    words = {500: "这款保险产品保障二十年", 1100: "好的我听明白了"}
    recognisers: list[PitchRecogniser] = []
    hotwords: list[list[str]] = []

    def recogniser(phrases: object) -> PitchRecogniser:
        hotwords.append(list(phrases))  # type: ignore[call-overload]
        recognisers.append(PitchRecogniser(words))
        return recognisers[-1]

    sop = SopLiveConfig(recogniser=recogniser)
    async with media_host(tmp_path, fast_config, sop=sop) as server:
        library = await build_sop_library(server.world)
        customer_url = await server.customer_url("客户甲")
        host_peer = join(
            server.host_url,
            microphone=ToneTrack(500.0),
            camera=FlatVideoTrack(60),
            loopback_only=True,
        )
        customer_peer = join(
            customer_url,
            microphone=ToneTrack(1100.0),
            camera=FlatVideoTrack(160),
            loopback_only=True,
        )
        async with host_peer as host, customer_peer as customer:
            started = await host.request("sop.start", {"template_id": library.template.id})
            assert started["type"] == "sop.checklist", started
            assert "保险产品" in hotwords[0]  # the nodes' key phrases are the hotwords
            # The brochure on screen brings up its flow.
            shared = await host.request(
                "share.open", {"op_id": "o1", "kind": "file", "source": library.material_id}
            )
            assert shared["type"] == "ack", shared
            ears = recognisers[0]
            speakers = (host.participant_id, customer.participant_id)

            def heard_both() -> bool:
                return min(len(ears.frames.get(p, [])) for p in speakers) >= 10

            with anyio.fail_after(20):
                while not heard_both():  # noqa: ASYNC110 (the recogniser's thread fills it)
                    await anyio.sleep(0.05)
            sp = server.world.p("sp_A1")
            await server.rooms.end(sp, server.session_id)
        records = RecordService(server.world.platform, server.rooms)
        with anyio.fail_after(15):  # written when the room's end reaches the assistant
            while not (record := await records.get(sp, server.session_id)).sop_steps:  # noqa: ASYNC110
                await anyio.sleep(0.1)
        steps = {s.level1: s.status for s in record.sop_steps}
        assert steps["产品介绍"] == "executed", record.sop_steps
        assert steps["风险揭示"].startswith("missed")
