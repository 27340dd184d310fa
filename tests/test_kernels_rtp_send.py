"""The audio send link: native and twin send the same bytes, which a libsrtp receiver
reads back as the RTP aiortc would have written; bad arguments get a clear error."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pylibsrtp import Policy, Session

from zhanye_sdk.kernels import rtp_send as twin

PROFILES = {
    "SRTP_AES128_CM_SHA1_80": (30, Policy.SRTP_PROFILE_AES128_CM_SHA1_80),
    "SRTP_AEAD_AES_128_GCM": (28, Policy.SRTP_PROFILE_AEAD_AES_128_GCM),
    "SRTP_AEAD_AES_256_GCM": (44, Policy.SRTP_PROFILE_AEAD_AES_256_GCM),
}
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


@pytest.fixture(scope="module")
def receiver() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def sender() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def _drain(sock: socket.socket, count: int) -> list[bytes]:
    return [sock.recv(2048) for _ in range(count)]


def _empty(sock: socket.socket) -> None:
    sock.setblocking(False)
    try:
        while True:
            sock.recv(2048)
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(2)


@st.composite
def streams(draw: st.DrawFn) -> dict[str, Any]:
    profile = draw(st.sampled_from(sorted(PROFILES)))
    mid = draw(st.none() | st.text("0123456789abcdefghij", min_size=1, max_size=20))
    mid_id = draw(st.integers(1, 14) | st.integers(15, 255)) if mid is not None else None
    # An SDP gives each extension its own id.
    free = st.integers(1, 14) | st.integers(15, 255)
    abs_send_time_id = draw(st.none() | free.filter(lambda x: x != mid_id))
    return {
        "profile": profile,
        "key_and_salt": draw(
            st.binary(min_size=PROFILES[profile][0], max_size=PROFILES[profile][0])
        ),
        "ssrc": draw(st.integers(0, 2**32 - 1)),
        "payload_type": draw(st.integers(0, 127)),
        "sequence": draw(st.integers(0, 65535) | st.integers(65500, 65535)),
        "timestamp_origin": draw(st.integers(0, 2**32 - 1)),
        "mid_id": mid_id,
        "mid": mid,
        "abs_send_time_id": abs_send_time_id,
    }


ticks = st.lists(
    st.tuples(
        st.lists(st.binary(max_size=300), max_size=3),
        st.integers(0, 2**40),
        st.integers(0, 2**40),
    ),
    min_size=1,
    max_size=6,
)


def _link(module: Any, sender: socket.socket, receiver: socket.socket, stream: dict) -> Any:
    host, port = receiver.getsockname()
    return module.AudioSendLink(
        sender.fileno(),
        host,
        port,
        stream["profile"],
        stream["key_and_salt"],
        ssrc=stream["ssrc"],
        payload_type=stream["payload_type"],
        sequence=stream["sequence"],
        timestamp_origin=stream["timestamp_origin"],
        mid_id=stream["mid_id"],
        mid=stream["mid"],
        abs_send_time_id=stream["abs_send_time_id"],
    )


def _run(link: Any, receiver: socket.socket, tick_list: list) -> list[bytes]:
    datagrams: list[bytes] = []
    for payloads, timestamp, send_time in tick_list:
        assert link.send(payloads, timestamp, send_time) == len(payloads)
        datagrams += _drain(receiver, len(payloads))
    return datagrams


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stream=streams(), tick_list=ticks)
def test_native_and_twin_send_the_same_bytes_that_read_back_as_aiortc_rtp(
    native: ModuleType,
    sender: socket.socket,
    receiver: socket.socket,
    stream: dict,
    tick_list: list,
) -> None:
    _empty(receiver)
    ours = _link(native, sender, receiver, stream)
    theirs = _link(twin, sender, receiver, stream)
    try:
        sent = _run(ours, receiver, tick_list)
        assert sent == _run(theirs, receiver, tick_list)
        assert (ours.packets_sent, ours.octets_sent, ours.last_timestamp, ours.next_sequence) == (
            theirs.packets_sent,
            theirs.octets_sent,
            theirs.last_timestamp,
            theirs.next_sequence,
        )
        assert ours.send_failures == theirs.send_failures == 0
        if sent:  # a NACK gets the same packet again, from either
            last = (ours.next_sequence - 1) & 0xFFFF
            assert ours.retransmit(last) and theirs.retransmit(last)
            assert _drain(receiver, 2) == [sent[-1], sent[-1]]
        assert not ours.retransmit((ours.next_sequence + 5) & 0xFFFF)
        assert not theirs.retransmit((theirs.next_sequence + 5) & 0xFFFF)
    finally:
        ours.close()
        theirs.close()

    session = Session(
        Policy(
            key=stream["key_and_salt"],
            ssrc_type=Policy.SSRC_ANY_INBOUND,
            srtp_profile=PROFILES[stream["profile"]][1],
        )
    )
    extensions = []
    if stream["mid"] is not None:
        extensions.append(RTCRtpHeaderExtensionParameters(id=stream["mid_id"], uri=MID_URI))
    if stream["abs_send_time_id"] is not None:
        extensions.append(
            RTCRtpHeaderExtensionParameters(id=stream["abs_send_time_id"], uri=ABS_URI)
        )
    ids = HeaderExtensionsMap()
    ids.configure(RTCRtpParameters(headerExtensions=extensions))
    sequence = stream["sequence"]
    packets = iter(sent)
    for payloads, timestamp, send_time in tick_list:
        for i, payload in enumerate(payloads):
            packet = RtpPacket.parse(session.unprotect(next(packets)), ids)
            assert packet.ssrc == stream["ssrc"]
            assert packet.payload_type == stream["payload_type"]
            assert packet.sequence_number == sequence
            assert packet.timestamp == (stream["timestamp_origin"] + timestamp) & 0xFFFFFFFF
            assert packet.marker == (i == len(payloads) - 1)
            assert packet.payload == payload
            assert packet.extensions.mid == stream["mid"]
            if stream["abs_send_time_id"] is not None:
                assert packet.extensions.abs_send_time == send_time & 0xFFFFFF
            sequence = (sequence + 1) & 0xFFFF


@pytest.mark.parametrize("module_name", ["native", "twin"])
def test_bad_arguments_are_refused_with_what_was_expected(
    native: ModuleType, sender: socket.socket, module_name: str
) -> None:
    module = native if module_name == "native" else twin
    good: dict[str, Any] = {
        "ssrc": 1,
        "payload_type": 111,
        "sequence": 0,
        "timestamp_origin": 0,
    }
    fd = sender.fileno()
    with pytest.raises(ValueError, match="payload_type"):
        module.AudioSendLink(
            fd, "127.0.0.1", 9, "SRTP_AEAD_AES_128_GCM", bytes(28), **{**good, "payload_type": 128}
        )
    with pytest.raises(ValueError, match="28"):
        module.AudioSendLink(fd, "127.0.0.1", 9, "SRTP_AEAD_AES_128_GCM", bytes(30), **good)
    with pytest.raises(ValueError):
        module.AudioSendLink(fd, "127.0.0.1", 9, "SRTP_NULL", bytes(30), **good)
    with pytest.raises(ValueError, match="mid"):
        module.AudioSendLink(
            fd, "127.0.0.1", 9, "SRTP_AEAD_AES_128_GCM", bytes(28), **good, mid_id=0, mid="0"
        )
    with pytest.raises(ValueError, match="abs-send-time"):
        module.AudioSendLink(
            fd, "127.0.0.1", 9, "SRTP_AEAD_AES_128_GCM", bytes(28), **good, abs_send_time_id=0
        )
    with pytest.raises(ValueError, match="different ids"):
        module.AudioSendLink(
            fd,
            "127.0.0.1",
            9,
            "SRTP_AEAD_AES_128_GCM",
            bytes(28),
            **good,
            mid_id=3,
            mid="0",
            abs_send_time_id=3,
        )


@pytest.mark.parametrize("module_name", ["native", "twin"])
def test_a_closed_link_sends_nothing_and_the_socket_stays_open(
    native: ModuleType, receiver: socket.socket, module_name: str
) -> None:
    module = native if module_name == "native" else twin
    own = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    own.bind(("127.0.0.1", 0))
    stream = {
        "profile": "SRTP_AEAD_AES_128_GCM",
        "key_and_salt": os.urandom(28),
        "ssrc": 7,
        "payload_type": 111,
        "sequence": 1,
        "timestamp_origin": 0,
        "mid_id": None,
        "mid": None,
        "abs_send_time_id": None,
    }
    _empty(receiver)
    link = _link(module, own, receiver, stream)
    assert link.send([b"x"], 0, 0) == 1
    _drain(receiver, 1)
    link.close()
    assert link.send([b"y"], 960, 0) == 0
    assert link.send_failures == 1
    own.sendto(b"still open", receiver.getsockname())
    assert _drain(receiver, 1) == [b"still open"]
    own.close()
