"""The twin of the native ``AudioSendLink``: one listener's audio sent as SRTP.

The RTP header is written as aiortc writes it (marker on the last packet of a tick, the
``sdes:mid`` and ``abs-send-time`` extensions in RFC 8285's one-byte form when they fit),
protected by the SRTP twin (libsrtp, ``zhanye_sdk.kernels.srtp``) and sent on a duplicate
of the connection's UDP socket. Both links send the same bytes for the same calls.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Sequence

from zhanye_sdk.kernels.srtp import SrtpContext

__all__ = ["HISTORY", "AudioSendLink", "write_rtp_packet"]

#: Packets kept for retransmission (aiortc's ``RTP_HISTORY_SIZE``).
HISTORY = 128
_ONE_BYTE_PROFILE = 0xBEDE
_TWO_BYTE_PROFILE = 0x1000


def write_rtp_packet(
    *,
    ssrc: int,
    payload_type: int,
    sequence: int,
    timestamp: int,
    marker: bool,
    payload: bytes,
    extensions: Sequence[tuple[int, bytes]] = (),
) -> bytes:
    """One RTP packet (version 2, no CSRC, no padding) with RFC 8285 header extensions."""
    first = 0x80 | (0x10 if extensions else 0)
    header = struct.pack(
        "!BBHLL",
        first,
        (0x80 if marker else 0) | (payload_type & 0x7F),
        sequence & 0xFFFF,
        timestamp & 0xFFFFFFFF,
        ssrc & 0xFFFFFFFF,
    )
    if not extensions:
        return header + payload
    one_byte = all(0 < x_id <= 14 and 1 <= len(value) <= 16 for x_id, value in extensions)
    body = b"".join(
        (bytes([(x_id << 4) | (len(value) - 1)]) if one_byte else bytes([x_id, len(value)])) + value
        for x_id, value in extensions
    )
    body += b"\x00" * (-len(body) % 4)
    profile = _ONE_BYTE_PROFILE if one_byte else _TWO_BYTE_PROFILE
    return header + struct.pack("!HH", profile, len(body) // 4) + body + payload


class AudioSendLink:
    """One listener's audio stream: RTP headers, SRTP and the socket it leaves on.

    Args:
        fd: the connection's UDP socket (duplicated: the link's own descriptor).
        host, port: where the packets go (the selected ICE pair's remote address).
        profile, key_and_salt: the SRTP profile (OpenSSL's name) and the sending key.
        ssrc, payload_type: the stream's.
        sequence: the sequence number of the first packet.
        timestamp_origin: added to every timestamp given to ``send``.
        mid_id, mid: the ``sdes:mid`` extension's id and value (None: not negotiated).
        abs_send_time_id: the ``abs-send-time`` extension's id (None: not negotiated).
    """

    def __init__(
        self,
        fd: int,
        host: str,
        port: int,
        profile: str,
        key_and_salt: bytes,
        *,
        ssrc: int,
        payload_type: int,
        sequence: int,
        timestamp_origin: int,
        mid_id: int | None = None,
        mid: str | None = None,
        abs_send_time_id: int | None = None,
    ) -> None:
        if mid_id is not None and mid is not None:
            value = mid.encode()
            if not 0 < mid_id < 256 or len(value) > 255:
                raise ValueError(
                    "mid needs an id of 1–255 and at most 255 bytes, "
                    f"got id {mid_id} and {len(value)} bytes"
                )
            self._mid: tuple[int, bytes] | None = (mid_id, value)
        else:
            self._mid = None
        if abs_send_time_id is not None and not 0 < abs_send_time_id < 256:
            raise ValueError(f"abs-send-time needs an id of 1–255, got {abs_send_time_id}")
        if self._mid is not None and self._mid[0] == abs_send_time_id:
            raise ValueError(
                f"mid and abs-send-time need different ids, both got {abs_send_time_id}"
            )
        if not 0 <= payload_type < 128:
            raise ValueError(f"payload_type must be 0–127, got {payload_type}")
        self._abs_send_time_id = abs_send_time_id
        self._srtp = SrtpContext(profile, key_and_salt)
        self._socket = socket.socket(fileno=os.dup(fd))
        self._socket.setblocking(False)
        self._remote = (host, port)
        self._ssrc = ssrc
        self._payload_type = payload_type
        self._sequence = sequence & 0xFFFF
        self._origin = timestamp_origin & 0xFFFFFFFF
        self._history: list[tuple[int, bytes]] = [(0, b"")] * HISTORY
        self.packets_sent = 0
        self.octets_sent = 0
        self.last_timestamp = 0
        self.send_failures = 0

    @property
    def next_sequence(self) -> int:
        """The sequence number of the next packet."""
        return self._sequence

    def send(self, payloads: Sequence[bytes], timestamp: int, abs_send_time: int) -> int:
        """Send one tick's payloads stamped ``timestamp`` (before the origin); the packets
        the socket took."""
        sent = 0
        for i, payload in enumerate(payloads):
            extensions: list[tuple[int, bytes]] = []
            if self._mid is not None:
                extensions.append(self._mid)
            if self._abs_send_time_id is not None:
                value = struct.pack("!L", abs_send_time & 0xFFFFFF)[1:]
                extensions.append((self._abs_send_time_id, value))
            stamp = (self._origin + timestamp) & 0xFFFFFFFF
            plain = write_rtp_packet(
                ssrc=self._ssrc,
                payload_type=self._payload_type,
                sequence=self._sequence,
                timestamp=stamp,
                marker=i == len(payloads) - 1,
                payload=payload,
                extensions=extensions,
            )
            protected = self._srtp.protect(plain)
            self._history[self._sequence % HISTORY] = (self._sequence, protected)
            self._sequence = (self._sequence + 1) & 0xFFFF
            self.last_timestamp = stamp
            self.packets_sent += 1
            self.octets_sent += len(payload)
            try:
                self._socket.sendto(protected, self._remote)
            except OSError:
                self.send_failures += 1
            else:
                sent += 1
        return sent

    def retransmit(self, sequence: int) -> bool:
        """Send the packet of ``sequence`` again if it is still kept (a NACK)."""
        kept, packet = self._history[sequence % HISTORY]
        if kept != sequence or not packet:
            return False
        try:
            self._socket.sendto(packet, self._remote)
        except OSError:
            self.send_failures += 1
            return False
        return True

    def close(self) -> None:
        """Close the link's descriptor (the connection's socket stays open)."""
        self._socket.close()
