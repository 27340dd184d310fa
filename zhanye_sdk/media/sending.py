"""``TickSender``: a listener's Opus packets sent straight from the mixing tick.

aiortc sends each track from its own task: every 20 ms frame of every listener wakes
that task (an event, a coroutine resume, a pass through ``recv``, a timestamp converted
with ``Fraction`` arithmetic) before the packet goes out. The mixing tick already holds
every listener's packet, so it sends them itself, one after another, through the same
RTP sender's state: its SSRC, MID and header extensions, its retransmission history and
the counters its RTCP sender reports and ``getStats`` read. aiortc's task stays parked on
a track that never delivers; DTLS, SRTP, ICE and RTCP remain aiortc's.

aiortc keeps that state private (name-mangled); ``TickSender`` names it in one place.
"""

from __future__ import annotations

from typing import Any

from aiortc import RTCRtpSender, clock
from aiortc.rtp import RTP_HISTORY_SIZE, RtpPacket
from aiortc.utils import random16, random32, uint16_add, uint32_add

__all__ = ["TickSender"]

_P = "_RTCRtpSender__"


class TickSender:
    """Sends RTP packets of one audio stream on ``sender``'s connection, from the tick.

    Args:
        sender: the transceiver's sender (its track must not deliver frames itself).
        payload_type: the negotiated payload type of the codec sent.
    """

    def __init__(self, sender: RTCRtpSender, payload_type: int) -> None:
        self._sender = sender
        self._state: Any = sender
        self._payload_type = payload_type
        self._sequence = random16()
        self._origin = random32()

    def ready(self) -> bool:
        """Whether packets can go out now (the sender started on a connected transport)."""
        started = bool(getattr(self._state, _P + "started", False))
        return started and self._sender.transport.state == "connected"

    async def send(self, payload: bytes, timestamp: int) -> None:
        """Send one encoded frame (``timestamp`` in the codec's clock, from 0), as aiortc's
        own sending task would.

        Raises:
            ConnectionError: the transport is no longer connected.
        """
        state = self._state
        ntp = clock.current_ntp_time()
        packet = RtpPacket(
            payload_type=self._payload_type,
            sequence_number=self._sequence,
            timestamp=uint32_add(self._origin, timestamp),
        )
        packet.ssrc = self._sender._ssrc
        packet.payload = payload
        packet.marker = 1  # aiortc marks the last packet of every frame
        packet.extensions.abs_send_time = (ntp >> 14) & 0x00FFFFFF
        packet.extensions.mid = getattr(state, _P + "mid")
        getattr(state, _P + "rtp_history")[self._sequence % RTP_HISTORY_SIZE] = packet
        data = packet.serialize(getattr(state, _P + "rtp_header_extensions_map"))
        await self._sender.transport._send_rtp(data)
        # What the RTCP sender reports and getStats read.
        setattr(state, _P + "ntp_timestamp", ntp)
        setattr(state, _P + "rtp_timestamp", packet.timestamp)
        setattr(state, _P + "octet_count", getattr(state, _P + "octet_count") + len(payload))
        setattr(state, _P + "packet_count", getattr(state, _P + "packet_count") + 1)
        self._sequence = uint16_add(self._sequence, 1)
