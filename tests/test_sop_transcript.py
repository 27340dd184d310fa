"""ASR as an interface: the scripted source, the 16 kHz speech frames and endpoints, the
sherpa-onnx adapter's model checks (no model is needed for any of it)."""

from __future__ import annotations

import wave
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop import KeyPhrase, PhraseIndex, TranscriptMatcher
from zhanye_sdk.sop.transcript import (
    ScriptedTranscript,
    SherpaOnnxTranscriber,
    SpeechChunker,
    SpeechFrame,
    TranscriptSchedule,
)

pytestmark = pytest.mark.anyio


async def test_scripted_transcript_gives_partials_then_finals_to_the_matcher() -> None:
    script = ScriptedTranscript(
        [("sales", "这款保险产品有十五天犹豫期", 0, 3000), ("cust", "好的", 3200, 3600)],
        partial_chars=4,
    )
    segments = [s async for s in script.segments()]
    assert [(s.text, s.final) for s in segments[:4]] == [
        ("这款保险", False),
        ("这款保险产品有十", False),
        ("这款保险产品有十五天犹豫", False),
        ("这款保险产品有十五天犹豫期", True),
    ]
    assert segments[-1].speaker == "cust" and segments[-1].final
    matcher = TranscriptMatcher(PhraseIndex([KeyPhrase("cool", "犹豫期")]))
    hits = []
    for s in segments:
        matcher.receive(s)
        hits += matcher.events()
    assert [(h.key, h.final) for h in hits] == [("cool", True)]


def tone(rate: int, seconds: float, hz: float, level: int = 8000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def silence(rate: int, seconds: float) -> np.ndarray:
    return np.zeros(int(rate * seconds), dtype=np.int16)


def run(chunker: SpeechChunker, signal: np.ndarray, chunk: int) -> list[SpeechFrame]:
    frames = []
    for start in range(0, signal.size, chunk):
        frames += chunker.receive(signal[start : start + chunk])
    return frames


@pytest.mark.parametrize("rate", [8_000, 16_000, 48_000])
def test_speech_is_resampled_framed_and_endpointed(rate: int) -> None:
    signal = np.concatenate([silence(rate, 1.0), tone(rate, 1.5, 1000), silence(rate, 1.0)])
    frames = run(SpeechChunker("sales", rate), signal, rate // 50)  # 20 ms chunks
    assert all(f.samples.dtype == np.int16 and f.samples.size == 1600 for f in frames)
    # Speech starts with the tone (the resampler delays it by under a frame), with the
    # 300 ms before it kept as pre-roll (a soft first syllable is below the threshold) ...
    assert frames[0].start_ms in (700, 800)
    assert [f.start_ms - frames[0].start_ms for f in frames[:4]] == [0, 100, 200, 300]
    assert not frames[0].samples.any()  # the pre-roll here is the silence before the tone
    # ... and ends after six quiet frames, once.
    assert [f.end_of_utterance for f in frames].count(True) == 1
    assert frames[-1].end_of_utterance and frames[-1].start_ms in (3000, 3100)
    # 16 kHz out: the 1 kHz tone is at bin 1000 / (16000 / 1600) = 100.
    middle = frames[len(frames) // 2].samples.astype(np.float64)
    assert int(np.argmax(np.abs(np.fft.rfft(middle)))) == 100


def test_chunk_sizes_do_not_change_the_frames() -> None:
    signal = np.concatenate([silence(48_000, 0.5), tone(48_000, 0.7, 440), silence(48_000, 0.8)])
    a = run(SpeechChunker("s", 48_000), signal, 960)
    b = run(SpeechChunker("s", 48_000), signal, 4_321)
    assert [(f.start_ms, f.end_of_utterance) for f in a] == [
        (f.start_ms, f.end_of_utterance) for f in b
    ]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.samples, y.samples)


def test_short_clicks_do_not_start_an_utterance() -> None:
    signal = np.concatenate([silence(16_000, 0.5), tone(16_000, 0.1, 800), silence(16_000, 1.0)])
    assert run(SpeechChunker("s", 16_000), signal, 320) == []


@pytest.mark.parametrize("gain", [1.0, 0.5, 0.25])
def test_a_quiet_speaker_is_heard_as_one_utterance(gain: float, tmp_path: Path) -> None:
    # A real sentence (AISHELL-1, 4.2 s, its syllables between -33 and -58 dBFS) from a
    # quiet microphone: one utterance from its first syllable to its last, not nothing
    # and not pieces cut at its softer syllables.
    from .test_sop_whisper import spoken_wav

    with wave.open(str(spoken_wav(tmp_path / "quiet.wav", 1.5))) as f:
        clip = np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16)
    quiet = (clip.astype(np.float64) * gain).astype(np.int16)
    frames = run(SpeechChunker("s", 48_000), quiet, 960)
    ends = [f.start_ms for f in frames if f.end_of_utterance]
    assert len(ends) == 1, ends
    assert frames[0].start_ms <= 1_800 and ends[0] >= 5_500, (frames[0].start_ms, ends)


def test_steady_room_noise_raises_the_bar() -> None:
    # A fan at about -45 dBFS: within 10 s it is the floor; a voice 12 dB over it still
    # starts an utterance, and the fan alone does not start another.
    rng = np.random.default_rng(7)
    rate = 16_000
    noise = (rng.standard_normal(rate * 30) * 180).astype(np.int16)
    voice = np.concatenate(
        [silence(rate, 15), tone(rate, 1.5, 300, level=3000), silence(rate, 13.5)]
    )
    frames = run(SpeechChunker("s", rate), (noise + voice).astype(np.int16), 320)
    late = [f for f in frames if f.start_ms >= 11_000]
    assert late and [f.end_of_utterance for f in late].count(True) == 1
    assert 14_000 <= late[0].start_ms <= 15_000 and late[-1].start_ms <= 17_500


def test_bad_rate_and_incomplete_model_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="rate"):
        SpeechChunker("s", 44_100)
    with pytest.raises(InvalidInput, match="encoder"):
        SherpaOnnxTranscriber(tmp_path)
    for name in ("encoder-epoch-99.onnx", "decoder-epoch-99.onnx", "joiner-epoch-99.onnx"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(InvalidInput, match="tokens.txt"):
        SherpaOnnxTranscriber(tmp_path, hotwords=["保险产品"])


SCRIPT = ScriptedTranscript(
    [
        ("sales", "这款保险产品有十五天犹豫期", 0, 3000),
        ("cust", "好的", 3200, 3600),
        ("sales", "下面是风险揭示", 5000, 7000),
    ],
    partial_chars=3,
)


def test_a_schedule_hands_out_what_is_due_on_the_callers_clock() -> None:
    schedule = TranscriptSchedule(SCRIPT, started_ms=1_000_000)
    assert schedule.due(1_000_000) == []
    first = schedule.due(1_003_000)
    assert [s.text for s in first][-1] == "这款保险产品有十五天犹豫期"
    assert first[-1].final and first[-1].start_ms == 1_000_000
    assert schedule.due(1_003_000) == []  # once each
    rest = schedule.due(2_000_000)
    assert [s.text for s in rest if s.final] == ["好的", "下面是风险揭示"]
    assert schedule.done


@given(st.lists(st.integers(0, 2_000), min_size=1, max_size=30))
def test_any_clock_reads_give_every_segment_once_in_order(steps: list[int]) -> None:
    schedule = TranscriptSchedule(SCRIPT, started_ms=500)
    now, out = 500, []
    for step in steps:
        now += step
        due = schedule.due(now)
        assert all(s.end_ms <= now for s in due)
        out += due
    out += schedule.due(now + 10_000)
    expected = [
        attrs.evolve(s, start_ms=s.start_ms + 500, end_ms=s.end_ms + 500) for s in SCRIPT.timed()
    ]
    assert out == expected
