"""The scripted demo feed: a scripted conversation played into a session's assistant on
the platform's clock, as if someone spoke it, until real speech is heard."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import attrs

from zhanye_sdk.sop.live_session import LiveSession, SegmentSink
from zhanye_sdk.sop.transcript import ScriptedTranscript, TranscriptSchedule

__all__ = ["play_script"]


async def play_script(
    sink: SegmentSink,
    session_id: str,
    live: LiveSession,
    script: ScriptedTranscript,
    *,
    now_ms: Callable[[], int],
    tick_s: float,
) -> None:
    """Feed ``script`` from now on, segment by segment as each falls due."""
    schedule = TranscriptSchedule(script, now_ms())
    prefix = live.next_prefix("src")
    try:
        while not schedule.done and sink.current(session_id) is live and not live.spoke:
            await anyio.sleep(tick_s)
            for segment in schedule.due(now_ms()):
                if sink.current(session_id) is not live or live.spoke:
                    return
                utterance = f"{prefix}{segment.utterance}"
                await sink.receive(session_id, attrs.evolve(segment, utterance=utterance))
    finally:
        live.feeding = False
