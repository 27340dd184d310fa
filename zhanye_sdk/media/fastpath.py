"""A shorter way in for the server's received audio, inside aiortc's transports.

aiortc hands every datagram of a connection to an ``asyncio.Queue`` that the DTLS
transport's task reads: one task wake-up per packet, then three coroutines deep
(``_recv_next`` → ``_handle_rtp_data`` → ``RTCRtpReceiver._handle_rtp_packet``) before
the packet reaches the jitter buffer. For audio whose jitter buffer decodes on the
mixing tick (``Playout.decode_here``), :func:`shorten` takes the SRTP packets of those
receivers straight from the ICE connection's datagram callback: SRTP unprotect, RTP
parse, the receiver's statistics (what its RTCP receiver reports and ``getStats`` say),
and the jitter buffer, in one call. Everything else (DTLS, RTCP, video, a packet of an
unknown source, a receiver that is not the server's tick-drained audio) takes aiortc's
own path, as does every packet until the source is known to aiortc's router (its first).
ICE and DTLS stay aiortc's.
"""

from __future__ import annotations

from typing import Any

import pylibsrtp
from aiortc import clock
from aiortc.codecs import depayload, is_rtx
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

from zhanye_sdk.media.playout import Playout

__all__ = ["shorten"]

_RECEIVER = "_RTCRtpReceiver__"
_DTLS = "_RTCDtlsTransport__"


def _is_rtp(data: bytes) -> bool:
    # RTP/RTCP versions 2 start with 0b10; RTCP's packet types are 192–208 (RFC 5761).
    return len(data) >= 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 208


def shorten(dtls: Any, playouts: list[Playout]) -> bool:
    """Take the SRTP audio of ``playouts``' receivers (all on the DTLS transport ``dtls``)
    straight from its ICE connection. False when the connection is not there."""
    connection = getattr(getattr(dtls, "transport", None), "_connection", None)
    if connection is None or not playouts:
        return False
    by_receiver = {id(p.receiver): p for p in playouts}
    queued = connection.data_received  # aiortc's way: the DTLS transport's queue
    router = dtls._rtp_router

    def data_received(data: bytes, component: int) -> None:
        srtp = dtls._rx_srtp
        if srtp is None or not _is_rtp(data):
            queued(data, component)
            return
        receiver = router.ssrc_table.get(int.from_bytes(data[8:12], "big"))
        playout = by_receiver.get(id(receiver))
        if playout is None:
            queued(data, component)
            return
        try:
            plain = srtp.unprotect(data)
        except pylibsrtp.Error:
            return  # as aiortc: a packet that fails authentication is dropped
        setattr(dtls, _DTLS + "rx_bytes", getattr(dtls, _DTLS + "rx_bytes") + len(data))
        setattr(dtls, _DTLS + "rx_packets", getattr(dtls, _DTLS + "rx_packets") + 1)
        try:
            packet = RtpPacket.parse(plain, dtls._rtp_header_extensions_map)
        except ValueError:
            return
        _receive(receiver, packet, playout)

    connection.data_received = data_received
    return True


def _receive(receiver: Any, packet: RtpPacket, playout: Playout) -> None:
    """What ``RTCRtpReceiver._handle_rtp_packet`` does with an audio packet (no bitrate
    estimate, no NACK generator, no picture loss: those are video's)."""
    if not receiver._enabled:
        return
    getattr(receiver, _RECEIVER + "active_ssrc")[packet.ssrc] = clock.current_datetime()
    codec = getattr(receiver, _RECEIVER + "codecs").get(packet.payload_type)
    if codec is None:
        return
    if is_rtx(codec):  # (not negotiated for audio) aiortc's own handling
        playout.defer(receiver._handle_rtp_packet(packet, arrival_time_ms=clock.current_ms()))
        return
    streams = getattr(receiver, _RECEIVER + "remote_streams")
    stream = streams.get(packet.ssrc)
    if stream is None:
        stream = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
    stream.add(packet)
    try:
        packet._data = depayload(codec, packet.payload) if packet.payload else b""  # type: ignore[attr-defined]
    except ValueError:
        return
    playout.direct += 1
    playout.add(packet)
