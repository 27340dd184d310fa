"""Speech from a room's media to a recogniser: the SOP assistant's ears.

``RoomSpeech`` is a ``TranscriptSource`` fed with each speaker's audio as the media
service mixes it (``push``, called on the 20 ms tick, only queues). Its ``segments()``
runs every speaker's ``SpeechChunker`` (resampling to 16 kHz with the native
resampler, 100 ms frames, energy endpointing) and the recogniser in a worker thread,
so recognition never delays the tick. A recogniser that falls behind loses audio
(counted in ``dropped``), never the room's timing. A speaker who goes quiet on the
wire (muted, left) has the utterance under way ended with silence when their audio
resumes after a gap, and every speaker's is ended when the source closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Protocol

import anyio
import attrs
import numpy as np
import numpy.typing as npt

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.matcher import TranscriptSegment
from zhanye_sdk.sop.transcript import SherpaOnnxTranscriber, SpeechChunker, SpeechFrame

__all__ = ["AudioTaps", "Recogniser", "RoomSpeech", "sherpa_onnx_recogniser"]

#: A gap in a speaker's audio longer than this starts their timeline afresh.
_GAP_MS = 200
#: Silence that ends an utterance under way (the chunker's hang-over is 600 ms).
_FLUSH_MS = 1_000


class AudioTaps(Protocol):
    """Where a session's audio comes from: the media service (``MediaService.tap_audio``)."""

    def tap_audio(
        self, session_id: str, tap: Callable[[str, npt.NDArray[np.int16], int], None]
    ) -> Callable[[], None]:
        """Call ``tap(participant, samples, at_ms)`` with every audible participant's
        audio; returns the function that stops it."""
        ...


class Recogniser(Protocol):
    """Turns one speaker's speech frames into transcript segments (partials and finals).

    ``SherpaOnnxTranscriber`` is one; a host can plug its own.
    """

    def feed(self, frame: SpeechFrame) -> list[TranscriptSegment]:
        """Recognise one frame; the segments it completes or revises."""
        ...


@attrs.frozen
class _Chunk:
    speaker: str
    samples: npt.NDArray[np.int16]
    at_ms: int


@attrs.define
class _Speaker:
    chunker: SpeechChunker
    origin_ms: int
    heard_samples: int = 0


class RoomSpeech:
    """Every speaker's audio in, their transcript out (a ``TranscriptSource``).

    Args:
        recogniser: what turns speech frames into text.
        rate: the rate of the pushed audio (the media service mixes at 48 kHz).
        backlog: pushed chunks that may wait for the recogniser before new ones are
            dropped (3000 chunks of 20 ms is a minute of one speaker: Whisper takes a
            second or two per utterance, while everyone goes on talking).
    """

    def __init__(self, recogniser: Recogniser, *, rate: int = 48_000, backlog: int = 3_000) -> None:
        if backlog < 1:
            raise InvalidInput(f"backlog must be at least 1, got {backlog}")
        SpeechChunker("probe", rate)  # refuses an unsupported rate now, not in the worker
        self._recogniser = recogniser
        self._rate = rate
        self._send, self._receive = anyio.create_memory_object_stream[_Chunk](backlog)
        self._speakers: dict[str, _Speaker] = {}
        self.dropped = 0

    def push(self, speaker: str, samples: npt.NDArray[np.int16], at_ms: int) -> None:
        """Queue a speaker's audio that starts at ``at_ms`` (ms on the session clock).

        Matches the media service's ``AudioTap``; never blocks. After ``close`` it
        does nothing.
        """
        try:
            self._send.send_nowait(_Chunk(speaker, np.array(samples, dtype=np.int16), at_ms))
        except anyio.WouldBlock:
            self.dropped += 1
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    def close(self) -> None:
        """No more audio: ``segments()`` ends once what was queued is recognised."""
        self._send.close()

    async def segments(self) -> AsyncIterator[TranscriptSegment]:
        """The recognised segments, in order; recognition runs in a worker thread."""
        async with self._receive:
            async for first in self._receive:
                batch = [first]
                while True:
                    try:
                        batch.append(self._receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                for segment in await anyio.to_thread.run_sync(self._recognise, batch):
                    yield segment
        for segment in await anyio.to_thread.run_sync(self._flush_all):
            yield segment

    def _recognise(self, batch: list[_Chunk]) -> list[TranscriptSegment]:
        out: list[TranscriptSegment] = []
        for chunk in batch:
            speaker = self._speakers.get(chunk.speaker)
            expected_ms = None
            if speaker is not None:
                expected_ms = speaker.origin_ms + speaker.heard_samples * 1000 // self._rate
            if speaker is None or abs(chunk.at_ms - (expected_ms or 0)) > _GAP_MS:
                # A new speaker, or one back after a gap (muted, left, dropped audio):
                # the chunker's frame clock starts again where this audio is.
                if speaker is not None:
                    out.extend(self._flush(speaker))
                speaker = _Speaker(SpeechChunker(chunk.speaker, self._rate), chunk.at_ms)
                self._speakers[chunk.speaker] = speaker
            speaker.heard_samples += chunk.samples.shape[0]
            out.extend(self._hear(speaker, chunk.samples))
        return out

    def _hear(self, speaker: _Speaker, samples: npt.NDArray[np.int16]) -> list[TranscriptSegment]:
        out: list[TranscriptSegment] = []
        for frame in speaker.chunker.receive(samples):
            placed = attrs.evolve(frame, start_ms=frame.start_ms + speaker.origin_ms)
            out.extend(self._recogniser.feed(placed))
        return out

    def _flush(self, speaker: _Speaker) -> list[TranscriptSegment]:
        if not speaker.chunker.speaking:
            return []
        return self._hear(speaker, np.zeros(self._rate * _FLUSH_MS // 1000, dtype=np.int16))

    def _flush_all(self) -> list[TranscriptSegment]:
        out: list[TranscriptSegment] = []
        for speaker in self._speakers.values():
            out.extend(self._flush(speaker))
        self._speakers.clear()
        return out


def sherpa_onnx_recogniser(model_dir: str | Path) -> Callable[[Sequence[str]], Recogniser]:
    """A recogniser factory for ``SopLiveConfig.recogniser``: sherpa-onnx with the model
    in ``model_dir``, favouring each session's phrases.

    The folder is checked now, so a host refuses to start on a bad model path.

    Raises:
        InvalidInput: the folder lacks a model file, or sherpa-onnx is not installed.
    """
    folder = Path(model_dir)
    SherpaOnnxTranscriber(folder)

    def build(hotwords: Sequence[str]) -> Recogniser:
        return SherpaOnnxTranscriber(folder, hotwords)

    return build
