"""The signaling envelope and the room's wire format: strict, and never crash on garbage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.rooms.core import End, EndReason, Evaluate, SetAudio
from zhanye_sdk.rooms.wire import command_from_message
from zhanye_sdk.signaling.envelope import (
    MAX_FRAME_BYTES,
    ClientMessage,
    ServerMessage,
    SignalingProtocolError,
    parse_client_frame,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_garbage_frames_only_ever_raise_protocol_errors(frame: bytes | str) -> None:
    try:
        message = parse_client_frame(frame)
    except SignalingProtocolError as exc:
        assert exc.code in {
            "too_large",
            "not_json",
            "bad_envelope",
            "unsupported_version",
            "bad_type",
        }
    else:
        assert isinstance(message, ClientMessage)


@given(st.dictionaries(st.sampled_from(["v", "type", "id", "data", "x"]), json_values, max_size=5))
def test_any_json_object_is_parsed_or_refused_with_a_code(value: dict[str, object]) -> None:
    try:
        parse_client_frame(json.dumps(value))
    except SignalingProtocolError as exc:
        assert exc.code and str(exc)


@given(
    st.sampled_from(
        [
            "room.set_audio",
            "room.set_video",
            "room.set_main_view",
            "room.end",
            "room.leave",
            "room.evaluate",
            "room.nope",
        ]
    ),
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)
def test_room_messages_with_random_data_become_commands_or_clear_errors(
    kind: str, data: dict[str, object]
) -> None:
    try:
        command = command_from_message(ClientMessage(kind, data, "m1"), "p1", 5)
    except InvalidInput as exc:
        assert str(exc)
    else:
        assert command.at == 5


def test_well_formed_frames_round_trip() -> None:
    frame = json.dumps(
        {"v": 1, "type": "room.set_audio", "id": "c-1", "data": {"target": "p2", "on": False}}
    )
    message = parse_client_frame(frame)
    assert command_from_message(message, "p1", 9) == SetAudio("p1", "p2", False, 9)
    assert command_from_message(ClientMessage("room.end", {}), "p1", 9) == End(
        "p1", EndReason.STAFF_ENDED, 9
    )
    assert command_from_message(ClientMessage("room.evaluate", {"score": 4}), "c", 1) == Evaluate(
        "c", 4, "", 1
    )
    encoded = ServerMessage("room.audio_changed", {"on": False}, seq=3).encode()
    assert ServerMessage.decode(encoded) == ServerMessage(
        "room.audio_changed", {"on": False}, seq=3
    )


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("x" * (MAX_FRAME_BYTES + 1), "too_large"),
        ("[1]", "bad_envelope"),
        ('{"v": 1, "type": "Room.End"}', "bad_type"),
        ('{"v": 1, "type": "room.end", "data": []}', "bad_envelope"),
        ('{"v": 1, "type": "room.end", "extra": 1}', "bad_envelope"),
        ('{"v": 1, "type": "room.end", "id": "has space"}', "bad_envelope"),
        ('{"type": "room.end"}', "unsupported_version"),
        ("[" * 100_00 + "]" * 100_00, "not_json"),
    ],
)
def test_each_envelope_fault_has_its_code(frame: str, code: str) -> None:
    with pytest.raises(SignalingProtocolError) as refused:
        parse_client_frame(frame)
    assert refused.value.code == code


def test_booleans_and_scores_are_not_coerced() -> None:
    with pytest.raises(InvalidInput, match="on"):
        command_from_message(
            ClientMessage("room.set_audio", {"target": "p", "on": "false"}), "p", 1
        )
    with pytest.raises(InvalidInput):
        command_from_message(ClientMessage("room.evaluate", {"score": True}), "p", 1)
    with pytest.raises(InvalidInput):
        command_from_message(ClientMessage("room.evaluate", {"score": 4.5}), "p", 1)
