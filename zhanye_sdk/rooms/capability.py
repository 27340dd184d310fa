"""Sessions as a capability: starting, inviting (link, code, SMS), joining, ending.

``room.*`` messages are the signaling endpoint's own (every connection is in a room), so
this capability brings only its HTTP routes.
"""

from __future__ import annotations

from zhanye_sdk.api.sessions import JoinOfferAnswerer, SessionApi
from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.devices.sms import SmsGateway
from zhanye_sdk.facade import Platform
from zhanye_sdk.rooms.service import RoomService

__all__ = ["RoomsCapability"]


class RoomsCapability(BaseCapability):
    """``/api/sessions/*`` for staff and ``/api/invites/*`` for customers."""

    name = "rooms"

    def __init__(
        self,
        platform: Platform,
        rooms: RoomService,
        sms_gateway: SmsGateway,
        *,
        public_url: str,
        answer_offer: JoinOfferAnswerer | None = None,
    ) -> None:
        self.rooms = rooms
        self.router = SessionApi(
            platform, rooms, sms_gateway, public_url=public_url, answer_offer=answer_offer
        ).router
