"""SRTP: the native kernel protects and refuses exactly as libsrtp (its twin) does.

The twin is libsrtp through pylibsrtp, set up as aiortc sets it up, so "agrees with the
twin" here means "equals libsrtp byte for byte and error for error": on the sender's side
(every profile, CSRCs, header extensions, any payload, the sequence number wrapping), on
the odd network's side (reordering, duplicates, packets too old for the window) and on the
attacker's side (flipped bits, truncation, garbage, wrong keys).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zhanye_sdk._backend as backend
from zhanye_sdk.kernels import srtp as twin

PROFILES = {
    "SRTP_AES128_CM_SHA1_80": (30, 10),
    "SRTP_AEAD_AES_128_GCM": (28, 16),
    "SRTP_AEAD_AES_256_GCM": (44, 16),
}
profiles = st.sampled_from(sorted(PROFILES))
u32 = st.integers(0, 2**32 - 1)
# Anywhere, or close enough to 65535 that the rollover counter advances within a test.
start_seqs = st.one_of(st.integers(0, 65535), st.integers(65500, 65535))


def keys(profile: str) -> st.SearchStrategy[bytes]:
    size = PROFILES[profile][0]
    return st.binary(min_size=size, max_size=size)


@st.composite
def extensions(draw: st.DrawFn) -> bytes:
    """An RTP header extension, RFC 8285 one-byte (0xBEDE) or two-byte (0x100X) form."""
    if draw(st.booleans()):
        profile = 0xBEDE
    else:
        profile = 0x1000 | draw(st.integers(0, 15))  # the low 4 bits are "appbits"
    words = draw(st.integers(0, 16))
    body = draw(st.binary(min_size=4 * words, max_size=4 * words))
    return struct.pack("!HH", profile, words) + body


def rtp_packet(ssrc: int, seq: int) -> st.SearchStrategy[bytes]:
    """An RTP packet with this SSRC and SEQ, anything else random (at most 1340 bytes)."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        csrcs = draw(st.lists(u32, max_size=15))
        extension = draw(st.none() | extensions())
        first = 0x80 | (0x10 if extension is not None else 0) | len(csrcs)
        second = draw(st.integers(0, 1)) << 7 | draw(st.integers(0, 127))
        header = struct.pack("!BBHII", first, second, seq, draw(u32), ssrc)
        header += b"".join(struct.pack("!I", c) for c in csrcs)
        return header + (extension or b"") + draw(st.binary(max_size=1200))

    return build()


def simple_packet(seq: int, ssrc: int = 0x1234, payload: bytes = b"\x11" * 160) -> bytes:
    header = struct.pack("!BBHII", 0x80, 111, seq % 65536, (seq * 960) % 2**32, ssrc)
    return header + payload


Outcome = tuple[str, bytes | str]


def outcome(call: Callable[[bytes], bytes], packet: bytes) -> Outcome:
    """What a protect or unprotect did: the bytes, or the ValueError's message."""
    try:
        return ("ok", call(packet))
    except ValueError as exc:
        return ("refused", str(exc))


def pair(native: ModuleType, profile: str, key: bytes) -> tuple[Any, twin.SrtpContext]:
    return native.SrtpContext(profile, key), twin.SrtpContext(profile, key)


@settings(max_examples=50)
@given(profile=profiles, data=st.data())
def test_native_protects_byte_for_byte_as_libsrtp_and_each_reads_the_other(
    native: ModuleType, profile: str, data: st.DataObject
) -> None:
    key = data.draw(keys(profile))
    ours, theirs = pair(native, profile, key)
    ours_rx, theirs_rx = pair(native, profile, key)
    ssrcs = data.draw(st.lists(u32, min_size=1, max_size=3, unique=True))
    next_seq = {ssrc: data.draw(start_seqs) for ssrc in ssrcs}
    for _ in range(data.draw(st.integers(1, 8))):
        ssrc = data.draw(st.sampled_from(ssrcs))
        packet = data.draw(rtp_packet(ssrc, next_seq[ssrc]))
        next_seq[ssrc] = (next_seq[ssrc] + 1) % 65536
        protected = ours.protect(packet)
        assert protected == theirs.protect(packet)
        assert len(protected) == len(packet) + PROFILES[profile][1]
        assert ours_rx.unprotect(protected) == packet
        assert theirs_rx.unprotect(protected) == packet


@settings(max_examples=50)
@given(
    profile=profiles,
    start=start_seqs,
    steps=st.lists(
        st.one_of(st.integers(0, 3), st.integers(1, 40), st.integers(1000, 1100)),
        min_size=1,
        max_size=12,
    ),
    back=st.integers(0, 1023) | st.integers(1020, 1100),
)
def test_senders_agree_on_repeats_jumps_and_packets_too_old(
    native: ModuleType, profile: str, start: int, steps: list[int], back: int
) -> None:
    ours, theirs = pair(native, profile, bytes(PROFILES[profile][0]))
    seq = start
    for step in steps:
        seq += step
        assert outcome(ours.protect, simple_packet(seq)) == outcome(
            theirs.protect, simple_packet(seq)
        )
    # A retransmission (allowed) or a packet behind the window (refused), the same for both.
    late = simple_packet(seq - back)
    assert outcome(ours.protect, late) == outcome(theirs.protect, late)


@settings(max_examples=50)
@given(profile=profiles, data=st.data())
def test_receivers_agree_on_reordered_duplicated_and_old_packets(
    native: ModuleType, profile: str, data: st.DataObject
) -> None:
    key = data.draw(keys(profile))
    sender = native.SrtpContext(profile, key)
    seq = data.draw(start_seqs)
    sent: list[tuple[bytes, bytes]] = []
    for step in data.draw(
        st.lists(st.one_of(st.integers(1, 5), st.integers(1000, 1100)), min_size=1, max_size=20)
    ):
        seq += step
        plain = simple_packet(seq, payload=data.draw(st.binary(max_size=64)))
        sent.append((plain, sender.protect(plain)))
    order = data.draw(st.permutations(range(len(sent))))
    order += data.draw(st.lists(st.integers(0, len(sent) - 1), max_size=len(sent)))
    ours, theirs = pair(native, profile, key)
    for index in order:
        plain, protected = sent[index]
        got = outcome(ours.unprotect, protected)
        assert got == outcome(theirs.unprotect, protected)
        assert got[0] == "refused" or got[1] == plain


@settings(max_examples=60)
@given(profile=profiles, data=st.data())
def test_a_flipped_bit_is_refused_by_both_and_changes_nothing(
    native: ModuleType, profile: str, data: st.DataObject
) -> None:
    key = data.draw(keys(profile))
    ssrc, seq = data.draw(u32), data.draw(start_seqs)
    sender = native.SrtpContext(profile, key)
    packets = [data.draw(rtp_packet(ssrc, (seq + k) % 65536)) for k in range(3)]
    protected = [sender.protect(p) for p in packets]
    ours, theirs = pair(native, profile, key)
    assert ours.unprotect(protected[0]) == theirs.unprotect(protected[0]) == packets[0]
    bit = data.draw(st.integers(0, 8 * len(protected[1]) - 1))
    tampered = bytearray(protected[1])
    tampered[bit // 8] ^= 1 << (bit % 8)
    got = outcome(ours.unprotect, bytes(tampered))
    assert got[0] == "refused"
    assert got == outcome(theirs.unprotect, bytes(tampered))
    for plain, genuine in zip(packets[1:], protected[1:], strict=True):
        assert ours.unprotect(genuine) == theirs.unprotect(genuine) == plain


@settings(max_examples=60)
@given(profile=profiles, data=st.data())
def test_a_truncated_packet_is_refused_alike(
    native: ModuleType, profile: str, data: st.DataObject
) -> None:
    key = data.draw(keys(profile))
    protected = native.SrtpContext(profile, key).protect(
        data.draw(rtp_packet(data.draw(u32), data.draw(start_seqs)))
    )
    cut = protected[: data.draw(st.integers(0, len(protected) - 1))]
    ours, theirs = pair(native, profile, key)
    got = outcome(ours.unprotect, cut)
    assert got[0] == "refused"
    assert got == outcome(theirs.unprotect, cut)


# Random bytes, and random bytes behind a first byte with no CSRCs and no extension (so
# that they parse as RTP).
garbage_st = st.binary(max_size=1356) | st.builds(
    lambda first, rest: bytes([first & 0xE0]) + rest,
    st.integers(0, 255),
    st.binary(min_size=11, max_size=1300),
)


@settings(max_examples=200)
@given(profile=profiles, garbage=garbage_st)
def test_garbage_is_protected_or_refused_alike_and_never_crashes(
    native: ModuleType, profile: str, garbage: bytes
) -> None:
    key = bytes(range(PROFILES[profile][0]))
    ours, theirs = pair(native, profile, key)
    # Whatever parses as an RTP header is protected, whatever its version or padding bit.
    assert outcome(ours.protect, garbage) == outcome(theirs.protect, garbage)
    got = outcome(ours.unprotect, garbage)
    assert got[0] == "refused"
    assert got == outcome(theirs.unprotect, garbage)


@settings(max_examples=100)
@given(
    header=st.binary(min_size=12, max_size=12),
    csrc_count=st.integers(0, 15),
    extension_words=st.none() | st.integers(0, 65535),
    tail=st.binary(max_size=80),
)
def test_headers_announcing_more_than_they_hold_are_refused_alike(
    native: ModuleType,
    header: bytes,
    csrc_count: int,
    extension_words: int | None,
    tail: bytes,
) -> None:
    first = header[0] & 0xE0 | csrc_count | (0x10 if extension_words is not None else 0)
    packet = bytes([first]) + header[1:] + tail[: 4 * csrc_count]
    if extension_words is not None:
        packet += struct.pack("!HH", 0xBEDE, extension_words) + tail
    for profile in PROFILES:
        ours, theirs = pair(native, profile, bytes(PROFILES[profile][0]))
        assert outcome(ours.protect, packet) == outcome(theirs.protect, packet)
        assert outcome(ours.unprotect, packet) == outcome(theirs.unprotect, packet)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_key_of_another_length_is_refused_naming_the_expected_length(
    native: ModuleType, profile: str
) -> None:
    expected = PROFILES[profile][0]
    for size in [0, 1, expected - 2, expected - 1, expected + 1, 60]:
        messages = []
        for impl in (native.SrtpContext, twin.SrtpContext):
            with pytest.raises(ValueError, match=f"of {expected} bytes") as caught:
                impl(profile, bytes(size))
            messages.append(str(caught.value))
        assert messages[0] == messages[1]
        assert f"got {size}" in messages[0]


@pytest.mark.parametrize(
    ("profile", "key", "packet"),
    [
        ("SRTP_AES128_CM_SHA1_32", bytes(30), b""),
        (b"SRTP_AEAD_AES_128_GCM", bytes(28), b""),
        ("SRTP_AEAD_AES_128_GCM", bytearray(28), b""),
        ("SRTP_AEAD_AES_128_GCM", "00" * 28, b""),
        ("SRTP_AEAD_AES_128_GCM", bytes(28), bytearray(simple_packet(1))),
        ("SRTP_AEAD_AES_128_GCM", bytes(28), "not bytes"),
        ("SRTP_AEAD_AES_128_GCM", bytes(28), None),
    ],
)
def test_wrong_types_are_a_value_error_saying_what_is_expected(
    native: ModuleType, profile: object, key: object, packet: object
) -> None:
    messages = []
    for impl in (native.SrtpContext, twin.SrtpContext):
        with pytest.raises(ValueError, match="must be") as caught:
            impl(profile, key).protect(packet)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("impl", ["native", "twin"])
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_rollover_counter_advances_when_seq_wraps(
    native: ModuleType, impl: str, profile: str
) -> None:
    make = native.SrtpContext if impl == "native" else twin.SrtpContext
    key = bytes(range(PROFILES[profile][0]))
    tx, rx = make(profile, key), make(profile, key)
    packets = [simple_packet(seq) for seq in range(65530, 65542)]
    protected = [tx.protect(p) for p in packets]
    # The same packet under ROC 1 (after the wrap) and ROC 0 (a fresh context).
    wrapped = packets.index(simple_packet(65536))
    assert make(profile, key).protect(packets[wrapped]) != protected[wrapped]
    assert rx.unprotect(protected[0]) == packets[0]
    for plain, sealed in reversed(list(zip(packets[1:], protected[1:], strict=True))):
        assert rx.unprotect(sealed) == plain


@pytest.mark.parametrize("impl", ["native", "twin"])
def test_replays_and_packets_behind_the_window_are_refused(native: ModuleType, impl: str) -> None:
    make = native.SrtpContext if impl == "native" else twin.SrtpContext
    profile, key = "SRTP_AES128_CM_SHA1_80", bytes(30)
    tx, rx = make(profile, key), make(profile, key)
    protected = [tx.protect(simple_packet(seq)) for seq in range(1100)]
    assert rx.unprotect(protected[1099]) == simple_packet(1099)
    with pytest.raises(ValueError, match="replay"):
        rx.unprotect(protected[1099])
    assert rx.unprotect(protected[1099 - 1023]) == simple_packet(1099 - 1023)
    with pytest.raises(ValueError, match="too old"):
        rx.unprotect(protected[1099 - 1024])
    # The sender protects a retransmission again, identically.
    assert tx.protect(simple_packet(1000)) == protected[1000]
    with pytest.raises(ValueError, match="too old"):
        tx.protect(simple_packet(10))


def test_profile_and_repr(native: ModuleType) -> None:
    for name, (size, _) in PROFILES.items():
        ours, theirs = pair(native, name, bytes(size))
        assert ours.profile == theirs.profile == name
        assert repr(ours) == repr(theirs) == f'SrtpContext("{name}", <key>)'


def test_the_backend_binds_the_native_class_or_the_twin(native: ModuleType) -> None:
    expected = native.SrtpContext if backend.native_backend() == "native" else twin.SrtpContext
    assert backend.SrtpContext is expected
