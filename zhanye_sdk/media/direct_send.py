"""A listener's tick-encoded audio sent straight to its socket, past aiortc's sender.

aiortc's ``RTCRtpSender`` spends, for every 20 ms packet, a task wake-up, an
``RtpPacket``, its serialisation, libsrtp through cffi, aioice and asyncio's transport,
all on the event loop. Once a listener's DTLS is up, :func:`open_direct_sender` makes an
``AudioSendLink`` (``zhanye_sdk._backend``: native, or its libsrtp twin) from what aiortc
negotiated -- the SRTP profile and sending key (exported from the DTLS session again),
the SSRC, payload type, header extensions and the selected ICE pair's socket and remote
address -- and the tick hands it each frame's payloads.

aiortc's sender stays in place for everything else: its RTCP sender reports and stats
read the counters :class:`DirectAudioSender` keeps in step, and its NACK handling asks
the link for the kept packet. Its own RTP task never sends audio: the track is not fed
while the link is wanted (frames mixed before the connection is up are dropped, as they
could not be heard anyway), so one SSRC never carries two sequence-number series.

Only a plain UDP pair is linked; a TURN relay's (which wraps each packet) and a peer
with an injected impairment (which wraps the transport) keep aiortc's sender.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from typing import Any

from aioice.ice import StunProtocol

from zhanye_sdk._backend import AudioSendLink

__all__ = ["DirectAudioSender", "ntp_now", "open_direct_sender", "selected_socket", "srtp_key"]

_log = logging.getLogger(__name__)
_SENDER = "_RTCRtpSender__"
_NTP_TIMESTAMP = _SENDER + "ntp_timestamp"
_RTP_TIMESTAMP = _SENDER + "rtp_timestamp"
_PACKET_COUNT = _SENDER + "packet_count"
_OCTET_COUNT = _SENDER + "octet_count"
#: Seconds from the NTP epoch (1900) to the Unix epoch (1970).
_NTP_UNIX = 2_208_988_800
#: OpenSSL's SRTP profile names and their key and salt lengths (RFC 5764, RFC 7714).
_KEY_SALT = {
    "SRTP_AES128_CM_SHA1_80": (16, 14),
    "SRTP_AEAD_AES_128_GCM": (16, 12),
    "SRTP_AEAD_AES_256_GCM": (32, 12),
}


def ntp_now() -> int:
    """The wall time as a 64-bit NTP timestamp (32.32 fixed point)."""
    return int((time.time() + _NTP_UNIX) * (1 << 32))


class DirectAudioSender:
    """Sends one listener's payloads through ``link`` and keeps ``sender``'s counters.

    Args:
        link: the listener's ``AudioSendLink``.
        sender: the aiortc ``RTCRtpSender`` of the listener's audio (its sender reports
            and stats).
    """

    def __init__(self, link: Any, sender: Any) -> None:
        self.link = link
        self._sender = sender

    def send(self, payloads: Sequence[bytes], timestamp: int, ntp: int) -> None:
        """Send one tick's payloads stamped ``timestamp`` (the track's clock) at ``ntp``."""
        if not payloads:
            return
        self.link.send(
            payloads if isinstance(payloads, list) else list(payloads), timestamp, ntp >> 14
        )
        self.sent(ntp)

    def sent(self, ntp: int) -> None:
        """The link sent a tick's payloads at ``ntp`` (by ``send``, or by an encoder that
        sends on the link itself): keep aiortc's sender counters in step."""
        link = self.link
        sender = self._sender
        # What aiortc's own RTP task would have left for its sender reports and stats.
        setattr(sender, _NTP_TIMESTAMP, ntp)
        setattr(sender, _RTP_TIMESTAMP, link.last_timestamp)
        setattr(sender, _PACKET_COUNT, link.packets_sent)
        setattr(sender, _OCTET_COUNT, link.octets_sent)

    def retransmit(self, sequence: int) -> bool:
        """Send a packet the listener asked for again (NACK); False if no longer kept."""
        return bool(self.link.retransmit(sequence))

    def close(self) -> None:
        """Close the link's descriptor."""
        self.link.close()


def srtp_key(dtls: Any, *, sending: bool = True) -> tuple[str, bytes] | None:
    """The SRTP profile and the sending (or receiving) key and salt of a connected DTLS
    transport, as aiortc derived them for its own sessions (RFC 5764 §4.2)."""
    ssl = dtls._ssl  # noqa: SLF001
    selected = ssl.get_selected_srtp_profile()
    name = selected.decode() if isinstance(selected, bytes) else str(selected)
    lengths = _KEY_SALT.get(name)
    if lengths is None:
        return None
    key_len, salt_len = lengths
    material = ssl.export_keying_material(b"EXTRACTOR-dtls_srtp", 2 * (key_len + salt_len))
    server = dtls._role == "server"  # noqa: SLF001
    ours = 1 if server == sending else 0
    key = material[ours * key_len : (ours + 1) * key_len]
    salt_at = 2 * key_len + ours * salt_len
    return name, bytes(key + material[salt_at : salt_at + salt_len])


def selected_socket(dtls: Any) -> tuple[Any, Any] | None:
    """The selected ICE pair of a connected DTLS transport and its UDP socket, when the
    pair is plain UDP from one of our own addresses (not a TURN relay, which wraps each
    packet); None otherwise."""
    if dtls is None or dtls.state != "connected":
        return None
    pair = dtls.transport._connection._nominated.get(1)  # noqa: SLF001
    if pair is None or type(pair.protocol) is not StunProtocol:
        return None
    if pair.local_candidate.type not in ("host", "srflx", "prflx"):
        return None
    sock = pair.protocol.transport.get_extra_info("socket")
    return None if sock is None else (pair, sock)


def open_direct_sender(transceiver: Any) -> DirectAudioSender | None:
    """A direct sender for ``transceiver``'s audio once its DTLS is connected over a
    plain UDP pair; None while it is not, or when this connection cannot be linked
    (a TURN relay, another SRTP profile: aiortc's sender then goes on sending)."""
    sender = transceiver.sender
    selected = selected_socket(sender.transport)
    keyed = srtp_key(sender.transport) if selected is not None else None
    codecs = transceiver._codecs  # noqa: SLF001
    if selected is None or keyed is None or not codecs:
        return None
    pair, sock = selected
    ids = getattr(sender, _SENDER + "rtp_header_extensions_map")._HeaderExtensionsMap__ids
    mid = getattr(sender, _SENDER + "mid")
    host, port = pair.remote_addr
    try:
        link = AudioSendLink(
            sock.fileno(),
            host,
            port,
            keyed[0],
            keyed[1],
            ssrc=sender._ssrc,  # noqa: SLF001
            payload_type=codecs[0].payloadType,
            sequence=random.getrandbits(16),
            timestamp_origin=random.getrandbits(32),
            mid_id=ids.mid if mid is not None else None,
            mid=mid,
            abs_send_time_id=ids.abs_send_time,
        )
    except (ValueError, OSError) as exc:
        _log.warning("audio is sent through aiortc: no direct link (%s)", exc)
        return None
    return DirectAudioSender(link, sender)
