"""The ``media`` area's messages as the forms of its reader table (``READERS``, decoded
by ``signaling.readers``): a field a form does not have, or one of the wrong type, is
refused as ``invalid_input`` before anything happens."""

from __future__ import annotations

from typing import Any

import attrs

from zhanye_sdk.signaling.readers import Empty, Readers, text_of
from zhanye_sdk.wire import FieldProblem

__all__ = ["READERS", "CandidateForm", "OfferForm"]

#: Longest SDP text read (a frame is smaller anyway).
_MAX_SDP = 256 * 1024


def _offer_type(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value != "offer":
        raise FieldProblem(f"{attribute.name} must be offer")


@attrs.frozen
class OfferForm:
    """``media.offer``: the participant's SDP offer (answered by ``media.answer``)."""

    sdp: str = attrs.field(validator=text_of(_MAX_SDP))
    type: str = attrs.field(default="offer", validator=_offer_type)


@attrs.frozen
class CandidateForm:
    """``media.candidate``: one ICE candidate line of the participant's peer (empty: no
    more candidates)."""

    candidate: str = attrs.field(validator=text_of(4096, empty=True))
    sdpMid: str | None = attrs.field(default=None, validator=text_of(64, empty=True))  # noqa: N815 (WebRTC's name)
    sdpMLineIndex: int | None = None  # noqa: N815 (WebRTC's name)


#: The ``media`` area's reader table.
READERS = Readers(
    "media",
    {"media.offer": OfferForm, "media.candidate": CandidateForm, "media.hangup": Empty},
)
