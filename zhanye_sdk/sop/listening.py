"""The live assistant's ears: a room's audio through a recogniser, or a host's transcript
source, fed to the session's assistant segment by segment."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

import attrs

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.live_session import ROLES, LiveSession, SegmentSink
from zhanye_sdk.sop.models import Flow, FlowNode, Script
from zhanye_sdk.sop.speech import AudioTaps, RoomSpeech
from zhanye_sdk.sop.transcript import TranscriptSource

__all__ = ["hear_room", "hotwords", "listen_to"]


def hotwords(flows: Sequence[Flow], scripts: Sequence[Script]) -> list[str]:
    """The phrases a recogniser should favour: every node's key phrases and every
    script's keywords, each once."""
    words: dict[str, None] = {}

    def visit(nodes: Sequence[FlowNode]) -> None:
        for node in nodes:
            words.update(dict.fromkeys(node.key_phrases))
            visit(node.children)

    for flow in flows:
        visit(flow.nodes)
    for script in scripts:
        words.update(dict.fromkeys(script.keywords))
    return list(words)


async def hear_room(
    sink: SegmentSink,
    audio: AudioTaps,
    session_id: str,
    live: LiveSession,
    speech: RoomSpeech,
    role_of: Callable[[str, str], Awaitable[str | None]],
) -> None:
    """Recognise the room's audio for as long as the session's assistant lives."""
    # The recogniser numbers utterances from the start again after a restart.
    prefix = live.next_prefix("room")
    stop_tap = audio.tap_audio(session_id, speech.push)
    try:
        async for segment in speech.segments():
            if sink.current(session_id) is not live:
                return
            live.spoke = True
            role = await role_of(session_id, segment.speaker)
            utterance = f"{prefix}{segment.utterance}"
            await sink.receive(session_id, attrs.evolve(segment, utterance=utterance), role=role)
    finally:
        stop_tap()
        speech.close()
        live.heard.set()


async def listen_to(
    sink: SegmentSink,
    session_id: str,
    live: LiveSession,
    source: TranscriptSource,
    roles: Mapping[str, str] | None = None,
) -> None:
    """Feed every segment of a transcript source (a host's ASR) until it ends."""
    roles = dict(roles or {})
    for role in roles.values():
        if role not in ROLES:
            raise InvalidInput(f"role must be salesperson or customer, got {role!r}")
    prefix = live.next_prefix("src")
    async for segment in source.segments():
        if sink.current(session_id) is not live:
            return  # finished meanwhile
        await sink.receive(
            session_id,
            attrs.evolve(segment, utterance=prefix + segment.utterance),
            role=roles.get(segment.speaker),
        )
