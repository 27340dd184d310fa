"""Room commands and events on the signaling channel (``room.*`` messages).

Who issues a command is never taken from the frame: the signaling layer knows the
connection's participant and passes it in, with the time.
"""

from __future__ import annotations

from typing import Any

import attrs

from zhanye_sdk.errors import InvalidInput
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
from zhanye_sdk.wire import structure, unstructure

__all__ = ["command_from_message", "event_message"]


@attrs.frozen
class _Control:
    target: str
    on: bool


@attrs.frozen
class _Allowed:
    allowed: bool


@attrs.frozen
class _Target:
    target: str


@attrs.frozen
class _Evaluation:
    score: int
    comment: str = ""


@attrs.frozen
class _Empty:
    pass


def command_from_message(message: ClientMessage, participant: str, at: int) -> Command:
    """The room command a ``room.*`` message asks for, issued by ``participant`` at ``at``.

    Raises:
        InvalidInput: unknown type, or fields missing, extra or of the wrong type.
    """
    kind = message.type
    if kind in ("room.set_audio", "room.set_video"):
        control = structure(message.data, _Control)
        cls = SetAudio if kind == "room.set_audio" else SetVideo
        return cls(participant, control.target, control.on, at)
    if kind == "room.set_self_unmute":
        allowed = structure(message.data, _Allowed).allowed
        if type(allowed) is not bool:
            raise InvalidInput("allowed must be true or false")
        return SetSelfUnmute(participant, allowed, at)
    if kind == "room.set_main_view":
        return SetMainView(participant, structure(message.data, _Target).target, at)
    if kind == "room.end":
        structure(message.data, _Empty)
        return End(participant, EndReason.STAFF_ENDED, at)
    if kind == "room.leave":
        structure(message.data, _Empty)
        return Leave(participant, at)
    if kind == "room.evaluate":
        evaluation = structure(message.data, _Evaluation)
        if type(evaluation.score) is not int:
            raise InvalidInput("score must be a whole number 1–5")
        return Evaluate(participant, evaluation.score, evaluation.comment, at)
    raise InvalidInput(f"unknown room message type {kind!r}")


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
