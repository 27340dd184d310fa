"""The twin of the native ``AudioReceiveLink``: one participant's audio read off the
connection's UDP socket with kernel arrival times (``SO_TIMESTAMPNS``).

Every datagram waiting is read; one from the participant's address that is RTP (not
RTCP, RFC 5761) of an audio payload type is unprotected by the SRTP twin (libsrtp,
``zhanye_sdk.kernels.srtp``) and parsed; everything else is handed back as it came. A
packet that does not authenticate is handed back too (aiortc's own SRTP session may
still read it); a replayed, too old or malformed one is dropped. Both links give the
same packets for the same datagrams.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterable

from zhanye_sdk.kernels.intake import AudioIntake
from zhanye_sdk.kernels.jitter import AdaptiveJitterBuffer
from zhanye_sdk.kernels.srtp import SrtpContext

__all__ = ["MAX_DATAGRAM", "AudioReceiveLink", "ReceivedAudio", "ReceivedOther", "rtp_payload"]

#: The largest datagram read whole (a longer one is dropped).
MAX_DATAGRAM = 65_536
#: SSRC, payload type, sequence, timestamp, marker, payload, arrival (monotonic seconds).
ReceivedAudio = tuple[int, int, int, int, bool, bytes, float]
#: A datagram handed back: its bytes and sender ``(host, port)``.
ReceivedOther = tuple[bytes, tuple[str, int]]

_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@qq")
_AUTHENTICATION_FAILED = "SRTP authentication failed"


def rtp_payload(packet: bytes) -> bytes | None:
    """The payload of a plain RTP packet (after CSRCs and extension, before padding);
    None when the header announces more than the packet holds."""
    if len(packet) < 12:
        return None
    start = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        if len(packet) < start + 4:
            return None
        start += 4 + 4 * int.from_bytes(packet[start + 2 : start + 4], "big")
    end = len(packet)
    if packet[0] & 0x20:
        padding = packet[-1]
        if padding == 0 or padding > end:
            return None
        end -= padding
    if start > end:
        return None
    return packet[start:end]


class AudioReceiveLink:
    """Reads one participant's audio off a duplicate of the connection's socket.

    Args:
        fd: the connection's UDP socket.
        host, port: the participant's address (the selected ICE pair's remote one).
        profile, key_and_salt: the SRTP profile (OpenSSL's name) and the receiving key.
        payload_types: the audio payload types read here (Opus, RED).
    """

    def __init__(
        self,
        fd: int,
        host: str,
        port: int,
        profile: str,
        key_and_salt: bytes,
        *,
        payload_types: Iterable[int],
    ) -> None:
        types = list(payload_types)
        for pt in types:
            if not 0 <= pt < 128:
                raise ValueError(f"payload types are 0–127, got {pt}")
        self._audio_types = frozenset(types)
        self._srtp = SrtpContext(profile, key_and_salt)
        self._socket = socket.socket(fileno=os.dup(fd))
        self._socket.setblocking(False)
        self._socket.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        self._remote = (host, port)
        self._closed = False
        self.packets = 0
        self.refused = 0
        self.forwarded = 0

    def drain(self, max: int = 256) -> tuple[list[ReceivedAudio], list[ReceivedOther]]:
        """Read every datagram waiting (at most ``max``): audio, and the rest for aiortc."""
        audio: list[ReceivedAudio] = []
        other: list[ReceivedOther] = []
        if self._closed:
            return audio, other
        offset = time.monotonic() - time.time()
        read = 0
        while read < max:
            try:
                data, ancillary, flags, sender = self._socket.recvmsg(
                    MAX_DATAGRAM, socket.CMSG_SPACE(_TIMESPEC.size)
                )
            except InterruptedError:
                continue
            except OSError:
                break
            if flags & socket.MSG_TRUNC:
                continue
            read += 1
            arrival = time.monotonic()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
                    seconds, nanoseconds = _TIMESPEC.unpack(value[: _TIMESPEC.size])
                    arrival = seconds + nanoseconds * 1e-9 + offset
            source = (sender[0], sender[1])
            if not self._is_audio(data, source):
                self.forwarded += 1
                other.append((data, source))
                continue
            try:
                plain = self._srtp.unprotect(data)
            except ValueError as exc:
                self.refused += 1
                if str(exc).startswith(_AUTHENTICATION_FAILED):
                    self.forwarded += 1
                    other.append((data, source))
                continue
            payload = rtp_payload(plain)
            if payload is None:
                self.refused += 1
                continue
            self.packets += 1
            sequence, timestamp, ssrc = struct.unpack_from("!HLL", plain, 2)
            audio.append(
                (
                    ssrc,
                    plain[1] & 0x7F,
                    sequence,
                    timestamp,
                    bool(plain[1] & 0x80),
                    payload,
                    arrival,
                )
            )
        return audio, other

    def drain_into(
        self,
        intake: AudioIntake,
        buffer: AdaptiveJitterBuffer,
        *,
        max: int = 256,
        take: bool = True,
    ) -> tuple[list[ReceivedOther], int, list[tuple[int, list[int]]], list[int]]:
        """Read every datagram waiting (at most ``max``): each audio packet goes through
        ``intake`` into ``buffer`` (none when ``take`` is false: the receiver is off), the
        rest is handed back. Returns the other datagrams, the audio packets taken, the
        holes to ask for again as ``(ssrc, sequence numbers)`` and the SSRCs seen."""
        audio, other = self.drain(max)
        if not take:
            return other, 0, [], []
        wall_offset = time.time() - time.monotonic()
        nacks: list[tuple[int, list[int]]] = []
        seen: list[int] = []
        for ssrc, payload_type, sequence, timestamp, _, payload, arrival in audio:
            if ssrc not in seen:
                seen.append(ssrc)
            lost = intake.take(
                ssrc, payload_type, sequence, timestamp, payload, arrival, wall_offset, buffer
            )
            if lost:
                nacks.append((ssrc, lost))
        return other, len(audio), nacks, seen

    def _is_audio(self, data: bytes, source: tuple[str, int]) -> bool:
        return (
            source == self._remote
            and len(data) >= 12
            and data[0] >> 6 == 2
            and not 192 <= data[1] <= 223
            and data[1] & 0x7F in self._audio_types
        )

    def close(self) -> None:
        """Close the link's descriptor (the connection's socket stays open)."""
        self._closed = True
        self._socket.close()
