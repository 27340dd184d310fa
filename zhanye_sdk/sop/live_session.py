"""One session's live assistant and what the live service keeps around it.

``LiveSession`` is shared by the live service's parts (``sop.live`` routes and operates,
``sop.live_store`` stores and replays, ``sop.listening`` hears, ``sop.demo_feed`` plays a
scripted conversation); ``SegmentSink`` is what the feeding parts need of the service.
"""

from __future__ import annotations

from typing import Protocol

import anyio
import attrs

from zhanye_sdk.sop.inputs import SessionAssist
from zhanye_sdk.sop.matcher import TranscriptSegment
from zhanye_sdk.sop.speech import RoomSpeech

__all__ = ["ROLES", "LiveSession", "SegmentSink"]

#: The roles a transcript's speaker may have.
ROLES = ("salesperson", "customer")


@attrs.define(eq=False)
class LiveSession:
    """One session's assistant and what the service keeps around it."""

    assist: SessionAssist
    #: Inputs stored so far (the last ``seq`` of ``sop_assist_inputs``).
    seq: int = 0
    feeding: bool = False
    sources: int = 0
    #: The room's speech while it is being recognised, and when that has drained.
    speech: RoomSpeech | None = None
    heard: anyio.Event = attrs.field(factory=anyio.Event)
    #: Someone was recognised speaking: a scripted conversation gives way to real speech.
    spoke: bool = False

    def next_prefix(self, kind: str) -> str:
        """A new transcript source's utterance prefix (``src3:``, ``room4:``): utterance
        ids are unique within a source, and another source may reuse them."""
        self.sources += 1
        return f"{kind}{self.sources}:"


class SegmentSink(Protocol):
    """What a transcript feeder needs of the live service."""

    def current(self, session_id: str) -> LiveSession | None:
        """The session's live assistant (``None`` once finished)."""
        ...

    async def receive(
        self, session_id: str, segment: TranscriptSegment, *, role: str | None = None
    ) -> None:
        """Feed one segment to the session's assistant."""
        ...
