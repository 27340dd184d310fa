"""ASR as an interface: transcript sources, and the audio path to a speech recogniser.

* ``TranscriptSource`` — anything that yields ``TranscriptSegment`` values: a host's
  own ASR, ``ScriptedTranscript`` (a timed script, for tests and the demo), or
  ``SherpaOnnxTranscriber`` when the user points it at a model folder.
* ``TranscriptSchedule`` — a ``ScriptedTranscript`` played against the caller's clock
  (the demo's feeder: the service's timer asks it what is due).
* ``SpeechChunker`` — sans-I/O audio front end for one speaker: int16 mono at 8, 16 or
  48 kHz in, resampled to 16 kHz with the native resampler, cut into 100 ms frames, with
  an energy endpointer (speech starts after ``start_frames`` loud frames, an utterance
  ends after ``hangover_frames`` quiet ones). It yields ``SpeechFrame`` values that a
  recogniser consumes; ``end_of_utterance`` marks where a final result is due.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from zhanye_sdk import _backend
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.matcher import TranscriptSegment

__all__ = [
    "RECOGNISER_RATE",
    "ScriptedTranscript",
    "SherpaOnnxTranscriber",
    "SpeechChunker",
    "SpeechFrame",
    "TranscriptSchedule",
    "TranscriptSource",
]

RECOGNISER_RATE = 16_000
FRAME_MS = 100
_FRAME = RECOGNISER_RATE * FRAME_MS // 1000


class TranscriptSource(Protocol):
    """Timestamped, speaker-tagged transcript segments, partial and final."""

    def segments(self) -> AsyncIterator[TranscriptSegment]:
        """The segments, in the order they are recognised."""
        ...


@attrs.frozen
class ScriptedTranscript:
    """A timed script as a transcript: each line gives partials growing by
    ``partial_chars`` characters, then its final.

    Args:
        lines: ``(speaker, text, start_ms, end_ms)`` in order.
        partial_chars: characters added per partial (0: finals only).
    """

    lines: Sequence[tuple[str, str, int, int]]
    partial_chars: int = 0

    def timed(self) -> list[TranscriptSegment]:
        """Every segment of the script, in order; each is due at its ``end_ms``."""
        out: list[TranscriptSegment] = []
        for n, (speaker, text, start, end) in enumerate(self.lines):
            uid = f"line-{n}"
            if self.partial_chars > 0:
                for cut in range(self.partial_chars, len(text), self.partial_chars):
                    at = start + (end - start) * cut // max(len(text), 1)
                    out.append(TranscriptSegment(uid, text[:cut], start, at, speaker, final=False))
            out.append(TranscriptSegment(uid, text, start, end, speaker, final=True))
        return out

    async def segments(self) -> AsyncIterator[TranscriptSegment]:
        """The script's segments (no waiting: the caller paces them if it wants)."""
        for segment in self.timed():
            yield segment


class TranscriptSchedule:
    """A scripted transcript played against a clock the caller reads. Sans-I/O.

    The script's times are offsets from ``started_ms`` on the caller's clock; ``due``
    hands out, once each, the segments whose ``end_ms`` has been reached, with their
    times moved onto that clock. The caller owns the timer (a service's tick).

    Args:
        script: the scripted transcript.
        started_ms: when the script starts, on the caller's clock.
    """

    def __init__(self, script: ScriptedTranscript, started_ms: int) -> None:
        self._segments = script.timed()
        self._started = started_ms
        self._next = 0

    @property
    def done(self) -> bool:
        """Whether every segment has been handed out."""
        return self._next >= len(self._segments)

    def due(self, now_ms: int) -> list[TranscriptSegment]:
        """The segments due by ``now_ms`` not handed out before, in order."""
        elapsed = now_ms - self._started
        out: list[TranscriptSegment] = []
        while self._next < len(self._segments) and self._segments[self._next].end_ms <= elapsed:
            segment = self._segments[self._next]
            out.append(
                attrs.evolve(
                    segment,
                    start_ms=segment.start_ms + self._started,
                    end_ms=segment.end_ms + self._started,
                )
            )
            self._next += 1
        return out


@attrs.frozen(slots=True)
class SpeechFrame:
    """100 ms of 16 kHz int16 speech of one speaker, with its start on the session clock."""

    speaker: str
    samples: npt.NDArray[np.int16]
    start_ms: int
    end_of_utterance: bool


#: The noise floor is the quietest frame of the last 10 s; until 10 s have been heard it
#: is at most -70 dBFS (a quiet room). Digital silence counts as -90 dBFS.
_FLOOR_WINDOW = 100
_FLOOR_START_DB = -70.0
_FLOOR_LOWEST_DB = -90.0


class SpeechChunker:
    """Audio of one speaker in, 16 kHz speech frames with endpoints out. Sans-I/O.

    Args:
        speaker: whose audio this is.
        rate: the input rate, 8000, 16000 or 48000 Hz.
        threshold_dbfs: the least loudness (RMS, dB full scale) that can start speech,
            in a quiet room; a noisier room raises the bar (see ``margin_db``).
        margin_db: how far above the room's noise floor (its quietest frame of the last
            10 s) a frame must be to start speech.
        release_db: how far below the starting bar speech may dip without counting as
            quiet (a quiet microphone's soft syllables must not end an utterance).
        start_frames: loud frames in a row that start an utterance.
        hangover_frames: quiet frames in a row that end it.
        preroll_frames: quiet frames kept before an utterance's first loud one (a soft
            first syllable is quieter than the threshold; recognisers need it).
    """

    def __init__(
        self,
        speaker: str,
        rate: int,
        *,
        threshold_dbfs: float = -55.0,
        margin_db: float = 12.0,
        release_db: float = 6.0,
        start_frames: int = 2,
        hangover_frames: int = 6,
        preroll_frames: int = 3,
    ) -> None:
        if rate not in (8_000, 16_000, 48_000):
            raise InvalidInput(f"rate must be 8000, 16000 or 48000 Hz, got {rate}")
        self.speaker = speaker
        self._resampler = _backend.Resampler(rate, RECOGNISER_RATE)
        self._pending = np.zeros(0, dtype=np.int16)
        self._threshold = threshold_dbfs
        self._margin = margin_db
        self._release = release_db
        self._levels: deque[float] = deque(maxlen=_FLOOR_WINDOW)
        self._start_frames = start_frames
        self._hangover = hangover_frames
        self._frames_out = 0
        self._loud_run: list[SpeechFrame] = []
        self._preroll: deque[SpeechFrame] = deque(maxlen=preroll_frames)
        self._quiet = 0
        self._speaking = False

    @property
    def speaking(self) -> bool:
        """Whether an utterance is under way."""
        return self._speaking

    def receive(self, samples: npt.NDArray[np.int16]) -> list[SpeechFrame]:
        """Take the next chunk of audio; return the speech frames now complete."""
        resampled = self._resampler.process(np.ascontiguousarray(samples, dtype=np.int16))
        self._pending = np.concatenate([self._pending, resampled])
        out: list[SpeechFrame] = []
        while self._pending.size >= _FRAME:
            frame, self._pending = self._pending[:_FRAME], self._pending[_FRAME:]
            out.extend(self._frame(frame))
        return out

    def _frame(self, frame: npt.NDArray[np.int16]) -> list[SpeechFrame]:
        start_ms = self._frames_out * FRAME_MS
        self._frames_out += 1
        rms = math.sqrt(float(np.mean(frame.astype(np.float64) ** 2)))
        level = 20 * math.log10(rms / 32768.0) if rms > 0 else _FLOOR_LOWEST_DB
        floor = min(self._levels, default=_FLOOR_START_DB)
        if len(self._levels) < _FLOOR_WINDOW:
            floor = min(floor, _FLOOR_START_DB)
        bar = max(self._threshold, floor + self._margin)
        loud = level > (bar - self._release if self._speaking else bar)
        self._levels.append(level)
        current = SpeechFrame(self.speaker, frame.copy(), start_ms, False)
        if not self._speaking:
            if not loud:
                self._preroll.extend(self._loud_run)
                self._loud_run.clear()
                self._preroll.append(current)
                return []
            self._loud_run.append(current)
            if len(self._loud_run) < self._start_frames:
                return []
            self._speaking, self._quiet = True, 0
            started = [*self._preroll, *self._loud_run]
            self._preroll.clear()
            self._loud_run = []
            return started
        if loud:
            self._quiet = 0
            return [current]
        self._quiet += 1
        if self._quiet >= self._hangover:
            self._speaking = False
            return [attrs.evolve(current, end_of_utterance=True)]
        return [current]


class SherpaOnnxTranscriber:
    """Streaming recognition with sherpa-onnx, when the user provides a model folder.

    The folder holds a streaming transducer (``encoder*.onnx``, ``decoder*.onnx``,
    ``joiner*.onnx``, ``tokens.txt``). Script keywords are passed as hotwords. The
    ``sherpa-onnx`` package is imported only here, when a transcriber is built.

    Args:
        model_dir: the model folder.
        hotwords: phrases to bias recognition towards (e.g. the scripts' keywords).

    Raises:
        InvalidInput: the folder lacks a model file, or sherpa-onnx is not installed.
    """

    def __init__(self, model_dir: str | Path, hotwords: Iterable[str] = ()) -> None:
        folder = Path(model_dir)
        files: dict[str, Path] = {}
        for part in ("encoder", "decoder", "joiner"):
            found = sorted(folder.glob(f"{part}*.onnx"))
            if not found:
                raise InvalidInput(f"model folder {folder} has no {part}*.onnx")
            files[part] = found[0]
        tokens = folder / "tokens.txt"
        if not tokens.is_file():
            raise InvalidInput(f"model folder {folder} has no tokens.txt")
        try:
            import sherpa_onnx  # type: ignore[import-not-found]
        except ImportError as exc:
            raise InvalidInput(
                "sherpa-onnx is not installed: pip install sherpa-onnx to use a model folder"
            ) from exc
        hotword_file = folder / "zhanye-hotwords.txt"
        words = [w for w in dict.fromkeys(h.strip() for h in hotwords) if w]
        hotword_file.write_text("\n".join(words), encoding="utf-8")
        self._recognizer: Any = sherpa_onnx.OnlineRecognizer.from_transducer(
            tokens=str(tokens),
            encoder=str(files["encoder"]),
            decoder=str(files["decoder"]),
            joiner=str(files["joiner"]),
            sample_rate=RECOGNISER_RATE,
            decoding_method="modified_beam_search",
            hotwords_file=str(hotword_file) if words else "",
        )
        self._streams: dict[str, Any] = {}
        self._counts: dict[str, int] = {}
        self._starts: dict[str, int] = {}

    def feed(self, frame: SpeechFrame) -> list[TranscriptSegment]:
        """Recognise one speech frame; a partial segment, or the final at an endpoint."""
        stream = self._streams.get(frame.speaker)
        if stream is None:
            stream = self._streams[frame.speaker] = self._recognizer.create_stream()
            self._starts[frame.speaker] = frame.start_ms
        stream.accept_waveform(RECOGNISER_RATE, frame.samples.astype(np.float32) / 32768.0)
        while self._recognizer.is_ready(stream):
            self._recognizer.decode_stream(stream)
        text = str(self._recognizer.get_result(stream))
        count = self._counts.get(frame.speaker, 0)
        uid = f"{frame.speaker}-{count}"
        start = self._starts[frame.speaker]
        end = frame.start_ms + FRAME_MS
        if frame.end_of_utterance:
            del self._streams[frame.speaker]
            self._counts[frame.speaker] = count + 1
            return (
                [TranscriptSegment(uid, text, start, end, frame.speaker, final=True)]
                if text
                else []
            )
        return (
            [TranscriptSegment(uid, text, start, end, frame.speaker, final=False)] if text else []
        )
