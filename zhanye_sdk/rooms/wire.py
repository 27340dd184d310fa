"""Room commands and events on the signaling channel (``room.*`` messages).

Who issues a command is never taken from the frame: the signaling layer knows the
connection's participant and passes it in, with the time.
"""

from __future__ import annotations

from typing import Any

import attrs

from zhanye_sdk.rooms.core import (
    AudioChanged,
    Command,
    CommandRejected,
    End,
    EndReason,
    Evaluate,
    EvaluationReceived,
    Event,
    Leave,
    MainViewChanged,
    ParticipantJoined,
    ParticipantLeft,
    RoomEnded,
    RoomStarted,
    SelfUnmuteChanged,
    SetAudio,
    SetMainView,
    SetSelfUnmute,
    SetVideo,
    VideoChanged,
)
from zhanye_sdk.signaling.envelope import ClientMessage
from zhanye_sdk.signaling.readers import Empty, Readers
from zhanye_sdk.wire import unstructure

__all__ = ["READERS", "command_from_message", "event_message"]


@attrs.frozen
class ControlForm:
    """``room.set_audio`` / ``room.set_video``: turn a participant's device on or off."""

    target: str
    on: bool


@attrs.frozen
class AllowedForm:
    """``room.set_self_unmute``: whether customers may unmute themselves."""

    allowed: bool


@attrs.frozen
class TargetForm:
    """``room.set_main_view``: whom everyone sees large."""

    target: str


@attrs.frozen
class EvaluationForm:
    """``room.evaluate``: a customer's score 1–5 and comment."""

    score: int
    comment: str = ""


#: The ``room`` area's reader table.
READERS = Readers(
    "room",
    {
        "room.set_audio": ControlForm,
        "room.set_video": ControlForm,
        "room.set_self_unmute": AllowedForm,
        "room.set_main_view": TargetForm,
        "room.end": Empty,
        "room.leave": Empty,
        "room.evaluate": EvaluationForm,
    },
)


def command_from_message(message: ClientMessage, participant: str, at: int) -> Command:
    """The room command a ``room.*`` message asks for, issued by ``participant`` at ``at``.

    Raises:
        InvalidInput: unknown type, or fields missing, extra or of the wrong type.
    """
    form = READERS.read(message)
    kind = message.type
    if isinstance(form, ControlForm):
        cls = SetAudio if kind == "room.set_audio" else SetVideo
        return cls(participant, form.target, form.on, at)
    if isinstance(form, AllowedForm):
        return SetSelfUnmute(participant, form.allowed, at)
    if isinstance(form, TargetForm):
        return SetMainView(participant, form.target, at)
    if isinstance(form, EvaluationForm):
        return Evaluate(participant, form.score, form.comment, at)
    if kind == "room.end":
        return End(participant, EndReason.STAFF_ENDED, at)
    return Leave(participant, at)


_EVENT_TYPES: dict[type, str] = {
    RoomStarted: "room.started",
    ParticipantJoined: "room.participant_joined",
    ParticipantLeft: "room.participant_left",
    AudioChanged: "room.audio_changed",
    VideoChanged: "room.video_changed",
    SelfUnmuteChanged: "room.self_unmute_changed",
    MainViewChanged: "room.main_view_changed",
    RoomEnded: "room.ended",
    EvaluationReceived: "room.evaluation_received",
    CommandRejected: "error",
}


def event_message(event: Event) -> tuple[str, dict[str, Any]]:
    """The message type and data of a room event."""
    data = unstructure(event)
    assert isinstance(data, dict)
    return _EVENT_TYPES[type(event)], data
