"""Invite and seat tokens: single-room, expiring, unforgeable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.rooms.tokens import InvalidRoomToken, RoomTokens

KEY = RoomTokens(bytes.fromhex(RoomTokens.new_key()))


def test_a_token_opens_its_room_until_it_expires() -> None:
    token = KEY.make("invite", "room-1", expires_ms=1_000)
    assert KEY.check(token, "invite", now_ms=999).room_id == "room-1"
    for now, kind, room in [(1_000, "invite", None), (0, "seat", None), (0, "invite", "room-2")]:
        with pytest.raises(InvalidRoomToken, match="invalid or has expired"):
            KEY.check(token, kind, now_ms=now, room_id=room)


def test_another_key_or_an_edited_payload_is_refused() -> None:
    token = KEY.make("seat", "room-1", expires_ms=10**13, participant_id="p1")
    other = RoomTokens(bytes.fromhex(RoomTokens.new_key()))
    with pytest.raises(InvalidRoomToken):
        other.check(token, "seat", 0)
    forged = KEY.make("seat", "room-2", expires_ms=10**13, participant_id="p1")
    spliced = forged.split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(InvalidRoomToken):
        KEY.check(spliced, "seat", 0)
    assert KEY.check(token, "seat", 0).participant_id == "p1"


@given(st.text(max_size=200))
def test_random_strings_are_refused_cleanly(text: str) -> None:
    with pytest.raises(InvalidRoomToken):
        KEY.check(text, "invite", 0)
