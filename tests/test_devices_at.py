"""AT core: bytes in, events out (no I/O)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.devices import at
from zhanye_sdk.devices.at import (
    NEED_DATA,
    AtCommand,
    AtConnection,
    CallDisconnected,
    CallerId,
    CallListEntry,
    CommandFailed,
    MessageDelivered,
    NewMessage,
    PromptReady,
    Response,
    Ring,
    StatusReportDelivered,
    UnparsedLine,
    UssdReceived,
    VendorUrc,
    parse_csq,
    split_fields,
)
from zhanye_sdk.devices.at_errors import (
    AtCommandError,
    AtTimeout,
    CmeError,
    CmsError,
    cme_error,
    cms_error,
)
from zhanye_sdk.errors import DeviceError, InvalidInput, ProtocolError


def drain(conn: AtConnection) -> list[object]:
    out: list[object] = []
    while (event := conn.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def feed(conn: AtConnection, data: bytes, *, chunk: int | None = None) -> list[object]:
    out: list[object] = []
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        conn.receive_data(data[i : i + step])
        out += drain(conn)
    return out


def test_all_is_exported() -> None:
    for name in at.__all__:
        assert hasattr(at, name)
    assert len(set(at.__all__)) == len(at.__all__)


def test_simple_command_and_response() -> None:
    conn = AtConnection()
    cmd = AtCommand("AT+CSQ", prefix="+CSQ")
    assert conn.send(cmd, 0.0) == b"AT+CSQ\r"
    events = feed(conn, b"\r\n+CSQ: 23,99\r\n\r\nOK\r\n")
    assert events == [Response(cmd, ("+CSQ: 23,99",), "OK")]
    assert events[0].values("+CSQ") == [["23", "99"]]  # type: ignore[attr-defined]
    assert conn.command_in_flight is None


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_echo_on_and_cr_only_line_ends_with_any_chunking(chunk: int) -> None:
    conn = AtConnection()
    cmd = AtCommand("AT+CGSN")
    conn.send(cmd, 0.0)
    events = feed(conn, b"AT+CGSN\r\r\n867000000000001\r\rOK\r", chunk=chunk)
    assert events == [Response(cmd, ("867000000000001",))]


def test_urc_in_the_middle_of_a_response_is_dispatched_not_swallowed() -> None:
    conn = AtConnection()
    cmd = AtCommand("AT+COPS?", prefix="+COPS")
    conn.send(cmd, 0.0)
    data = (
        b'\r\n+COPS: 0,0,"CHINA MOBILE",2\r\n'
        b"\r\n^RSSI: 18\r\n"
        b"\r\nRING\r\n"
        b'\r\n+CLIP: "13800138000",129,"",,"",0\r\n'
        b'\r\n+CMTI: "SM",3\r\n'
        b"\r\nOK\r\n"
    )
    events = feed(conn, data)
    assert events == [
        VendorUrc("huawei", "^RSSI", ("18",), "^RSSI: 18"),
        Ring(),
        CallerId("13800138000", 129, 0, None),
        NewMessage("SM", 3),
        Response(cmd, ('+COPS: 0,0,"CHINA MOBILE",2',)),
    ]


def test_caller_number_kept_exactly_and_withheld_numbers() -> None:
    conn = AtConnection()
    events = feed(
        conn,
        b'+CLIP: "13800138000",129\r\n'
        b'+CLIP: "+8613800138000",145,,,,0\r\n'
        b'+CLIP: "",128,,,,1\r\n'
        b'+CLIP: "",128,,,,2\r\n',
    )
    assert events[0] == CallerId("13800138000", 129, None, None)
    assert events[1] == CallerId("+8613800138000", 145, 0, None)
    assert isinstance(events[2], CallerId) and events[2].withheld and events[2].number is None
    assert isinstance(events[3], CallerId) and events[3].unavailable


def test_cmgs_prompt_without_line_end_then_payload() -> None:
    conn = AtConnection()
    cmd = AtCommand("AT+CMGS=18", payload=b"0011000B91", prefix="+CMGS")
    conn.send(cmd, 0.0)
    assert feed(conn, b"\r\n> ") == [PromptReady(cmd)]
    assert conn.send_payload() == b"0011000B91\x1a"
    # echo of the payload (terminated by Ctrl-Z) then the result
    events = feed(conn, b"0011000B91\x1a\r\n+CMGS: 42\r\n\r\nOK\r\n", chunk=3)
    assert events == [Response(cmd, ("+CMGS: 42",))]


def test_prompt_split_across_reads_and_bare_gt() -> None:
    conn = AtConnection()
    cmd = AtCommand("AT+CMGS=5", payload=b"00")
    conn.send(cmd, 0.0)
    assert feed(conn, b"AT+CMGS=5\r\r\n>") == [PromptReady(cmd)]
    assert feed(conn, b" \r\n+CMGS: 1\r\nOK\r\n") == [Response(cmd, ("+CMGS: 1",))]


def test_send_payload_without_prompt_is_refused() -> None:
    conn = AtConnection()
    with pytest.raises(ProtocolError):
        conn.send_payload()


def test_cme_and_cms_errors_are_typed_with_meaning_and_retryable() -> None:
    conn = AtConnection()
    conn.send(AtCommand("AT+CPIN?"), 0.0)
    (failed,) = feed(conn, b"\r\n+CME ERROR: 14\r\n")
    assert isinstance(failed, CommandFailed)
    assert isinstance(failed.error, CmeError)
    assert failed.error.code == 14 and failed.error.meaning == "SIM busy"
    assert failed.error.retryable and isinstance(failed.error, DeviceError)

    conn.send(AtCommand("AT+CMGS=10", payload=b"00"), 0.0)
    (failed,) = feed(conn, b"+CMS ERROR: 42\r\n")
    assert isinstance(failed, CommandFailed) and isinstance(failed.error, CmsError)
    assert failed.error.code == 42 and failed.error.retryable
    assert "congestion" in str(failed.error)

    conn.send(AtCommand("AT+CMGS=10", payload=b"00"), 0.0)
    (failed,) = feed(conn, b"+CMS ERROR: 21\r\n")
    assert isinstance(failed, CommandFailed) and not failed.error.retryable


def test_verbose_cme_text_maps_back_to_the_code() -> None:
    error = cme_error("SIM busy")
    assert error.code == 14 and error.retryable
    assert cme_error("incorrect password").code == 16
    unknown = cms_error("something odd")
    assert unknown.code is None and unknown.meaning == "something odd"
    assert cms_error("530").retryable  # vendor range


def test_bare_error_and_call_control_results() -> None:
    conn = AtConnection()
    conn.send(AtCommand("AT+FOO"), 0.0)
    (failed,) = feed(conn, b"ERROR\r\n")
    assert isinstance(failed, CommandFailed) and isinstance(failed.error, AtCommandError)

    dial = AtCommand("ATD13800138000;", call_control=True)
    conn.send(dial, 0.0)
    (failed,) = feed(conn, b"\r\nBUSY\r\n")
    assert isinstance(failed, CommandFailed)
    assert isinstance(failed.error, AtCommandError) and failed.error.result == "BUSY"


def test_no_carrier_outside_a_command_is_a_urc() -> None:
    conn = AtConnection()
    assert feed(conn, b"\r\nNO CARRIER\r\n") == [CallDisconnected("NO CARRIER")]
    cmd = AtCommand("AT+CSQ")
    conn.send(cmd, 0.0)
    events = feed(conn, b"+CSQ: 1,1\r\nNO CARRIER\r\nOK\r\n")
    assert events == [CallDisconnected("NO CARRIER"), Response(cmd, ("+CSQ: 1,1",))]


def test_clcc_lines_belong_to_an_at_clcc_command_but_are_urcs_otherwise() -> None:
    conn = AtConnection()
    cmd = AtCommand("AT+CLCC", prefix="+CLCC")
    conn.send(cmd, 0.0)
    line = b'+CLCC: 1,1,4,0,0,"13800138000",129\r\n'
    (resp,) = feed(conn, line + b"OK\r\n")
    assert isinstance(resp, Response)
    entry = CallListEntry.parse(resp.values("+CLCC")[0])
    assert entry.incoming and entry.state == 4 and entry.number == "13800138000"
    assert feed(conn, line) == [entry]


def test_cmt_and_cds_carry_their_pdu_line() -> None:
    conn = AtConnection()
    events = feed(
        conn,
        b"+CMT: ,24\r\n0791448720003023240DD0E474D81C0EBB01000011101131521400"
        b"0BE474D81C0EBB5DE3771B\r\n",
    )
    assert isinstance(events[0], MessageDelivered) and events[0].length == 24
    assert events[0].pdu.startswith("0791")
    events = feed(conn, b"+CDS: 25\r\n0006D60B911326880736F4111011719551401110117195714000\r\n")
    assert isinstance(events[0], StatusReportDelivered)


def test_cmt_without_pdu_line_reports_and_keeps_the_next_line() -> None:
    conn = AtConnection()
    events = feed(conn, b"+CMT: ,24\r\nRING\r\n")
    assert isinstance(events[0], UnparsedLine) and "PDU" in events[0].reason
    assert events[1] == Ring()


def test_ussd_and_vendor_missed_call() -> None:
    conn = AtConnection()
    events = feed(conn, b'+CUSD: 0,"balance 12.50",15\r\nMISSED_CALL: 10:23AM 13800138000\r\n')
    assert events[0] == UssdReceived(0, "balance 12.50", 15)
    assert isinstance(events[1], VendorUrc) and events[1].name == "MISSED_CALL"


def test_timeout_is_driven_by_the_callers_clock() -> None:
    conn = AtConnection()
    cmd = AtCommand("AT+CSQ", timeout=2.0)
    conn.send(cmd, 10.0)
    conn.expire(11.9)
    assert drain(conn) == []
    conn.expire(12.0)
    (failed,) = drain(conn)
    assert isinstance(failed, CommandFailed) and isinstance(failed.error, AtTimeout)
    assert failed.error.retryable
    assert conn.command_in_flight is None


def test_one_command_in_flight() -> None:
    conn = AtConnection()
    conn.send(AtCommand("AT"), 0.0)
    with pytest.raises(ProtocolError, match="still in flight"):
        conn.send(AtCommand("AT+CSQ"), 0.0)


def test_invalid_commands_are_rejected() -> None:
    for bad in ["", "CSQ", "AT+CSQ\r", "AT\x1a"]:
        with pytest.raises(InvalidInput):
            AtCommand(bad)


def test_bad_bytes_never_kill_the_reader() -> None:
    conn = AtConnection()
    cmd = AtCommand("AT")
    conn.send(cmd, 0.0)
    events = feed(conn, b"\xff\xfe\x80garbage\r\n\x00\x01\r\nOK\r\n")
    assert [type(e) for e in events] == [UnparsedLine, UnparsedLine, Response]
    assert "UTF-8" in events[0].reason  # type: ignore[attr-defined]


def test_endless_line_is_dropped_with_an_error() -> None:
    conn = AtConnection()
    events = feed(conn, b"A" * (at.MAX_LINE + 10))
    assert len(events) == 1 and isinstance(events[0], UnparsedLine)
    events = feed(conn, b"A" * 100 + b"\r\nRING\r\n")
    assert events == [Ring()]


def test_malformed_urc_is_reported() -> None:
    conn = AtConnection()
    (event,) = feed(conn, b"+CMTI: garbage\r\n")
    assert isinstance(event, UnparsedLine) and "+CMTI" in event.reason


def test_reset_returns_the_abandoned_command() -> None:
    conn = AtConnection()
    cmd = AtCommand("AT")
    conn.send(cmd, 0.0)
    conn.receive_data(b"partial")
    assert conn.reset() == cmd
    assert conn.command_in_flight is None and drain(conn) == []


@pytest.mark.parametrize(
    ("fields", "dbm", "tech"),
    [
        (["0", "99"], -113, "gsm"),
        (["31", "0"], -51, "gsm"),
        (["100", "99"], -116, "td-scdma"),
        (["191", "99"], -25, "td-scdma"),
        (["99", "99"], None, None),
    ],
)
def test_csq(fields: list[str], dbm: int | None, tech: str | None) -> None:
    q = parse_csq(fields)
    assert q.dbm == dbm and q.technology == tech


def test_csq_out_of_range() -> None:
    with pytest.raises(ProtocolError):
        parse_csq(["55", "0"])
    with pytest.raises(ProtocolError):
        parse_csq(["x"])


def test_split_fields_quotes() -> None:
    assert split_fields('1,"a,b",,"x"') == ["1", "a,b", "", "x"]


# ---------------------------------------------------------------- property tests

LINES = st.sampled_from(
    [
        b"OK",
        b"ERROR",
        b"RING",
        b"+CME ERROR: 14",
        b"+CMS ERROR: 500",
        b'+CLIP: "1",129',
        b"+CMT: ,3",
        b"> ",
        b"NO CARRIER",
        b'+CMTI: "SM",',
        b"^RSSI:",
        b"+CLCC: 1,",
        b"\x1a",
        b"AT",
        b"^PSTNRING",
        b'^PSTNCLIP: "02188886666",129',
        b"^PSTNCLIP:",
        b"^PSTNEND",
        b"^PSTNCONN",
    ]
)
JUNK = st.one_of(st.binary(max_size=40), LINES)
ENDS = st.sampled_from([b"\r\n", b"\r", b"\n", b""])


@given(
    st.lists(st.tuples(JUNK, ENDS), max_size=40),
    st.lists(st.integers(1, 9), min_size=1, max_size=5),
    st.booleans(),
)
def test_fuzz_random_and_truncated_bytes(
    pieces: list[tuple[bytes, bytes]], chunks: list[int], with_payload: bool
) -> None:
    data = b"".join(a + b for a, b in pieces)
    conn = AtConnection()
    cmd = AtCommand("AT+CMGS=3", payload=b"00") if with_payload else AtCommand("AT+CLCC")
    conn.send(cmd, 0.0)
    pos, k, finished = 0, 0, 0
    while pos < len(data):
        n = chunks[k % len(chunks)]
        conn.receive_data(data[pos : pos + n])
        pos += n
        k += 1
        for event in drain(conn):
            assert event is not NEED_DATA
            if isinstance(event, UnparsedLine):
                assert event.reason
            if isinstance(event, PromptReady):
                conn.send_payload()
            if isinstance(event, Response | CommandFailed):
                finished += 1
    assert finished <= 1
    conn.expire(1e9)
    events = drain(conn)
    assert finished + sum(isinstance(e, CommandFailed) for e in events) == 1
    assert conn.command_in_flight is None


@given(
    st.lists(
        st.sampled_from([b"RING", b'+CMTI: "SM",1', b"^BOOT: 1,2", b'+CLIP: "9",129']), max_size=6
    ),
    st.integers(1, 5),
)
def test_urcs_between_response_lines_never_enter_the_response(
    urcs: list[bytes], chunk: int
) -> None:
    conn = AtConnection()
    cmd = AtCommand("AT+CGSN")
    conn.send(cmd, 0.0)
    data = b"\r\n867000000000001\r\n" + b"".join(b"\r\n" + u + b"\r\n" for u in urcs) + b"OK\r\n"
    events = feed(conn, data, chunk=chunk)
    assert events[-1] == Response(cmd, ("867000000000001",))
    assert len(events) == len(urcs) + 1


def test_custom_vendor_plugin() -> None:
    conn = AtConnection(vendor_urcs=[at.VendorUrcs("zte", ("+ZUSIMR",))])
    events = feed(conn, b"+ZUSIMR:2\r\n^RSSI: 18\r\n")
    assert events[0] == VendorUrc("zte", "+ZUSIMR", ("2",), "+ZUSIMR:2")
    assert isinstance(events[1], UnparsedLine)  # the default plug-ins were replaced
