"""The client side: a participant program joins a session with real WebRTC media."""

from zhanye_sdk.client.invite import SeatGrant, open_invite
from zhanye_sdk.client.participant import ReceivedVideo, SessionParticipant, join
from zhanye_sdk.client.sources import FlatVideoTrack, ToneTrack, tone

__all__ = [
    "FlatVideoTrack",
    "ReceivedVideo",
    "SeatGrant",
    "SessionParticipant",
    "ToneTrack",
    "join",
    "open_invite",
    "tone",
]
