"""SRTP protection of RTP packets, the twin of ``zhanye_sdk_native/src/srtp.rs``: libsrtp.

Every other module here is a numpy twin of its Rust kernel. For SRTP the twin is the
implementation the Rust one must equal: libsrtp itself, through pylibsrtp (a dependency of
aiortc, so always installed), configured exactly as aiortc 1.16's
``RTCDtlsTransport._setup_srtp`` configures it: ``Policy(key=key_and_salt,
ssrc_type=SSRC_ANY_OUTBOUND or SSRC_ANY_INBOUND, srtp_profile=...)`` with
``allow_repeat_tx = True`` and ``window_size = 1024``, one session for each direction.

libsrtp's errors are translated into the native kernel's messages (one ``ValueError`` each),
so the two backends refuse the same packets with the same words. One limit is the twin's
own: pylibsrtp works in a 1500-byte buffer, so it protects at most 1356 bytes of RTP and
unprotects at most 1500 bytes of SRTP; the native kernel has no such limit.
"""

from __future__ import annotations

from typing import Final

import pylibsrtp
from pylibsrtp import Policy, Session

__all__ = ["SrtpContext"]

# name -> (libsrtp profile, master key bytes, master salt bytes, tag bytes)
_PROFILES: Final = {
    "SRTP_AES128_CM_SHA1_80": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14, 10),
    "SRTP_AEAD_AES_128_GCM": (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16, 12, 16),
    "SRTP_AEAD_AES_256_GCM": (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32, 12, 16),
}
_RTP_HEADER_LEN: Final = 12
_REPLAY_WINDOW: Final = 1024
# pylibsrtp's buffer is 1500 bytes, of which protect keeps 144 for a tag and an MKI.
_MAX_PROTECT: Final = 1500 - 144
_MAX_UNPROTECT: Final = 1500

_MALFORMED: Final = "malformed RTP packet: its CSRC list or header extension runs past its end"
_AUTHENTICATION_FAILED: Final = (
    "SRTP authentication failed: the packet was altered or protected with another key"
)
_REPLAYED: Final = "SRTP replay: a packet with this SSRC and index was already received"
_TOO_OLD: Final = (
    f"SRTP packet too old: its index is {_REPLAY_WINDOW} or more behind the newest packet "
    "of its SSRC"
)


def _missing_tag(tag_len: int) -> str:
    return (
        f"SRTP packet too short: no room for its {tag_len}-byte authentication tag "
        "after the RTP header"
    )


def _type_name(obj: object) -> str:
    return type(obj).__name__


class SrtpContext:
    """SRTP protection of RTP packets (not RTCP) under one DTLS-SRTP master key and salt.

    Any number of SSRCs, each with its rollover counter and a 1024-packet replay window;
    ``protect`` and ``unprotect`` keep separate streams (two libsrtp sessions).

    Args:
        profile: ``"SRTP_AES128_CM_SHA1_80"``, ``"SRTP_AEAD_AES_128_GCM"`` or
            ``"SRTP_AEAD_AES_256_GCM"`` (OpenSSL's names).
        key_and_salt: the master key followed by the master salt: 30, 28 or 44 bytes.

    Raises:
        ValueError: an unknown profile, or a key and salt that is not bytes of the
            profile's length.
    """

    __slots__ = ("_profile", "_rx", "_tag_len", "_tx")

    def __init__(self, profile: str, key_and_salt: bytes) -> None:
        if not isinstance(profile, str) or profile not in _PROFILES:
            raise ValueError(f"profile must be one of {', '.join(_PROFILES)}, got {profile!r}")
        if not isinstance(key_and_salt, bytes):
            raise ValueError(f"key_and_salt must be bytes, got {_type_name(key_and_salt)}")
        libsrtp_profile, key_len, salt_len, tag_len = _PROFILES[profile]
        expected = key_len + salt_len
        if len(key_and_salt) != expected:
            # libsrtp would take a longer key and use its start: refuse it, as the native does.
            raise ValueError(
                f"{profile} takes a master key and salt of {expected} bytes "
                f"({key_len} + {salt_len}), got {len(key_and_salt)}"
            )
        self._profile = profile
        self._tag_len = tag_len
        self._tx = Session(_policy(key_and_salt, Policy.SSRC_ANY_OUTBOUND, libsrtp_profile))
        self._rx = Session(_policy(key_and_salt, Policy.SSRC_ANY_INBOUND, libsrtp_profile))

    @property
    def profile(self) -> str:
        """The profile's OpenSSL name, e.g. ``"SRTP_AEAD_AES_128_GCM"``."""
        return self._profile

    def protect(self, packet: bytes) -> bytes:
        """The SRTP packet of an RTP packet: payload encrypted, tag appended.

        Raises:
            ValueError: not bytes, not an RTP packet, or a sequence number 1024 or more
                behind the newest one protected for its SSRC.
        """
        _check_packet(packet, _MAX_PROTECT)
        try:
            return self._tx.protect(packet)
        except pylibsrtp.Error as exc:
            raise ValueError(self._message(exc)) from None

    def unprotect(self, packet: bytes) -> bytes:
        """The RTP packet of an SRTP packet, once authenticated and not a replay.

        Raises:
            ValueError: not bytes, not an SRTP packet, a replay, too old, or not
                authentic; the context is left as it was.
        """
        _check_packet(packet, _MAX_UNPROTECT)
        try:
            return self._rx.unprotect(packet)
        except pylibsrtp.Error as exc:
            raise ValueError(self._message(exc)) from None

    def _message(self, exc: pylibsrtp.Error) -> str:
        reason = str(exc)
        if reason == "unsupported parameter":  # srtp_validate_rtp_header
            return _MALFORMED
        if reason in ("error parsing data", "cipher failure"):
            # No room for the tag: parse_err, or cipher_fail from GCM when the packet is
            # shorter than the tag (libsrtp's unsigned length arithmetic takes that path).
            return _missing_tag(self._tag_len)
        if reason == "authentication failure":
            return _AUTHENTICATION_FAILED
        if reason == "replay check failed (bad index)":
            return _REPLAYED
        if reason == "replay check failed (index too old)":
            return _TOO_OLD
        return f"libsrtp refused the packet: {reason}"

    def __repr__(self) -> str:
        return f'SrtpContext("{self._profile}", <key>)'


def _policy(key_and_salt: bytes, ssrc_type: int, libsrtp_profile: int) -> Policy:
    policy = Policy(key=key_and_salt, ssrc_type=ssrc_type, srtp_profile=libsrtp_profile)
    policy.allow_repeat_tx = True
    policy.window_size = _REPLAY_WINDOW
    return policy


def _check_packet(packet: object, most: int) -> None:
    if not isinstance(packet, bytes):
        raise ValueError(f"packet must be bytes, got {_type_name(packet)}")
    if len(packet) > most:
        raise ValueError(
            f"packet too long for libsrtp's buffer (the twin's limit): at most {most} bytes, "
            f"got {len(packet)}"
        )
    if len(packet) < _RTP_HEADER_LEN:
        raise ValueError(
            f"an RTP packet is at least {_RTP_HEADER_LEN} bytes (the fixed header), "
            f"got {len(packet)}"
        )
