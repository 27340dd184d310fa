"""The audio receive link: native and twin read the same packets from the same datagrams
(the participant's audio unprotected and parsed, everything else handed back as it
came, forged and replayed packets refused), with the kernel's arrival times."""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhanye_sdk.kernels import rtp_receive as twin
from zhanye_sdk.kernels.srtp import SrtpContext

PROFILES = {
    "SRTP_AES128_CM_SHA1_80": 30,
    "SRTP_AEAD_AES_128_GCM": 28,
    "SRTP_AEAD_AES_256_GCM": 44,
}
AUDIO_TYPES = (111, 63)


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def sockets() -> Iterator[dict[str, socket.socket]]:
    """A sender, a stranger (another address) and one receiving socket per link."""
    made = {name: _socket() for name in ("sender", "stranger", "native", "twin")}
    yield made
    for sock in made.values():
        sock.close()


def _rtp(
    *, ssrc: int, pt: int, seq: int, ts: int, marker: bool, payload: bytes, csrcs: int, ext: bytes
) -> bytes:
    first = 0x80 | (0x10 if ext else 0) | csrcs
    header = struct.pack("!BBHLL", first, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    header += b"".join(struct.pack("!L", 1000 + i) for i in range(csrcs))
    if ext:
        body = ext + b"\x00" * (-len(ext) % 4)
        header += struct.pack("!HH", 0xBEDE, len(body) // 4) + body
    return header + payload


@st.composite
def traffic(draw: st.DrawFn) -> dict[str, Any]:
    """A profile and key, and datagrams as they may arrive: the participant's audio
    (maybe forged, replayed or of another payload type), RTCP, STUN-like bytes, and
    datagrams from another address."""
    profile = draw(st.sampled_from(sorted(PROFILES)))
    key = draw(st.binary(min_size=PROFILES[profile], max_size=PROFILES[profile]))
    ssrc = draw(st.integers(0, 2**32 - 1))
    seq = draw(st.integers(0, 65535))
    sender = SrtpContext(profile, key)
    datagrams: list[tuple[str, bytes]] = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(
            st.sampled_from(
                [
                    "audio",
                    "audio",
                    "audio",
                    "other_pt",
                    "forged",
                    "replay",
                    "rtcp",
                    "junk",
                    "stranger",
                ]
            )
        )
        if kind in ("audio", "other_pt", "forged", "replay"):
            plain = _rtp(
                ssrc=ssrc,
                pt=draw(st.sampled_from(AUDIO_TYPES)) if kind != "other_pt" else 96,
                seq=seq,
                ts=draw(st.integers(0, 2**32 - 1)),
                marker=draw(st.booleans()),
                payload=draw(st.binary(max_size=200)),
                csrcs=draw(st.integers(0, 3)),
                ext=draw(st.sampled_from([b"", b"\x10\x07", b"\x22abc"])),
            )
            protected = sender.protect(plain)
            seq = (seq + 1) & 0xFFFF
            if kind == "forged":
                at = draw(st.integers(12, len(protected) - 1))
                protected = protected[:at] + bytes([protected[at] ^ 0x01]) + protected[at + 1 :]
            datagrams.append(("sender", protected))
            if kind == "replay":
                datagrams.append(("sender", protected))
        elif kind == "rtcp":
            datagrams.append(("sender", b"\x80\xc8\x00\x06" + os.urandom(24)))
        elif kind == "junk":
            datagrams.append(("sender", draw(st.binary(min_size=1, max_size=40))))
        else:
            audio = _rtp(
                ssrc=ssrc, pt=111, seq=seq, ts=0, marker=False, payload=b"x", csrcs=0, ext=b""
            )
            datagrams.append(("stranger", sender.protect(audio)))
            seq = (seq + 1) & 0xFFFF
    return {"profile": profile, "key": key, "datagrams": datagrams}


def _link(module: Any, sockets: dict[str, socket.socket], name: str, case: dict) -> Any:
    host, port = sockets["sender"].getsockname()
    return module.AudioReceiveLink(
        sockets[name].fileno(), host, port, case["profile"], case["key"], payload_types=AUDIO_TYPES
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=traffic())
def test_native_and_twin_read_the_same_packets(
    native: ModuleType, sockets: dict[str, socket.socket], case: dict
) -> None:
    ours = _link(native, sockets, "native", case)
    theirs = _link(twin, sockets, "twin", case)
    try:
        for link in (ours, theirs):
            link.drain()  # what an earlier example left
        sent_at = time.monotonic()
        for who, datagram in case["datagrams"]:
            for target in ("native", "twin"):
                sockets[who].sendto(datagram, sockets[target].getsockname())
        time.sleep(0.02)
        ours_audio, ours_other = ours.drain()
        theirs_audio, theirs_other = theirs.drain()
        # Arrival times differ by the socket each went to; the rest is equal.
        assert [a[:6] for a in ours_audio] == [a[:6] for a in theirs_audio]
        assert ours_other == theirs_other
        assert (ours.packets, ours.refused, ours.forwarded) == (
            theirs.packets,
            theirs.refused,
            theirs.forwarded,
        )
        for audio in (ours_audio, theirs_audio):
            for *_, arrival in audio:
                assert sent_at - 0.01 <= arrival <= time.monotonic() + 0.01
        # Every datagram is read, handed back or refused; none twice.
        total = len(case["datagrams"])
        assert ours.forwarded == len(ours_other)
        assert (
            len(ours_audio) + len(ours_other)
            <= total
            <= (len(ours_audio) + len(ours_other) + ours.refused)
        )
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize("module_name", ["native", "twin"])
def test_audio_is_read_with_its_header_fields_and_kernel_arrival_time(
    native: ModuleType, sockets: dict[str, socket.socket], module_name: str
) -> None:
    module = native if module_name == "native" else twin
    key = os.urandom(28)
    case = {"profile": "SRTP_AEAD_AES_128_GCM", "key": key}
    link = _link(module, sockets, module_name, case)
    sender = SrtpContext("SRTP_AEAD_AES_128_GCM", key)
    try:
        link.drain()
        plain = _rtp(
            ssrc=7,
            pt=111,
            seq=65535,
            ts=960,
            marker=True,
            payload=b"opus",
            csrcs=1,
            ext=b"\x10\x07",
        )
        sockets["sender"].sendto(sender.protect(plain), sockets[module_name].getsockname())
        sent = time.monotonic()
        time.sleep(0.05)  # the packet waits: its arrival is when it came, not when read
        audio, other = link.drain()
        assert other == []
        assert [a[:6] for a in audio] == [(7, 111, 65535, 960, True, b"opus")]
        assert abs(audio[0][6] - sent) < 0.02
        # The same packet again is a replay: refused, not handed on.
        sockets["sender"].sendto(sender.protect(plain), sockets[module_name].getsockname())
        time.sleep(0.02)
        assert link.drain() == ([], [])
        assert link.refused == 1
    finally:
        link.close()
    assert link.drain() == ([], [])


@pytest.mark.parametrize("module_name", ["native", "twin"])
def test_bad_arguments_are_refused_with_what_was_expected(
    native: ModuleType, sockets: dict[str, socket.socket], module_name: str
) -> None:
    module = native if module_name == "native" else twin
    fd = sockets["native"].fileno()
    with pytest.raises(ValueError, match="0–127"):
        module.AudioReceiveLink(
            fd, "127.0.0.1", 9, "SRTP_AEAD_AES_128_GCM", bytes(28), payload_types=[128]
        )
    with pytest.raises(ValueError, match="28"):
        module.AudioReceiveLink(
            fd, "127.0.0.1", 9, "SRTP_AEAD_AES_128_GCM", bytes(30), payload_types=[111]
        )
    with pytest.raises(ValueError):
        module.AudioReceiveLink(fd, "127.0.0.1", 9, "SRTP_NULL", bytes(30), payload_types=[111])
