"""The SMS PDU codec: published PDUs, splitting boundaries, round trips, reassembly, fuzzing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from zhanye_sdk.devices import gsm7, pdu
from zhanye_sdk.devices.pdu import (
    ConcatInfo,
    IncomingSms,
    PduError,
    SmsAssembler,
    SmsDeliver,
    SmsStatusReport,
    SmsSubmit,
    count_parts,
    decode,
    encode_deliver,
    encode_status_report,
    encode_submit,
)
from zhanye_sdk.errors import InvalidInput

CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 23, 14, 30, 59, tzinfo=CST)


def deliver(hex_pdu: str) -> SmsDeliver:
    result = decode(hex_pdu)
    assert isinstance(result, SmsDeliver)
    return result


def submit(hex_pdu: str) -> SmsSubmit:
    result = decode(hex_pdu)
    assert isinstance(result, SmsSubmit)
    return result


# ------------------------------------------------------------------ GSM 7-bit


@pytest.mark.parametrize(
    ("text", "packed"),
    [
        ("hello", "E8329BFD06"),
        ("hellohello", "E8329BFD4697D9EC37"),  # 23.038-style worked example
        ("How are you?", "C8F71D14969741F977FD07"),
        ("12345678", "31D98C56B3DD70"),  # 8 septets fill exactly 7 octets
        ("€", "9B32"),  # escape 0x1B then 0x65
        ("", ""),
    ],
)
def test_gsm7_packing_vectors(text: str, packed: str) -> None:
    septets = gsm7.encode_septets(text)
    assert gsm7.pack_septets(septets).hex().upper() == packed
    assert gsm7.decode_septets(gsm7.unpack_septets(bytes.fromhex(packed), len(septets))) == text


@pytest.mark.parametrize("ch", list("€[]{}^~\\|\x0c"))
def test_extension_characters_cost_two_septets(ch: str) -> None:
    assert gsm7.septet_count(ch * 3) == 6
    assert gsm7.encode_septets(ch)[0] == gsm7.ESCAPE
    assert count_parts("a" * 158 + ch) == ("gsm7", 1, 160)
    assert count_parts("a" * 159 + ch) == ("gsm7", 2, 161)


def test_gsm7_rejects_look_alikes_and_names_the_index() -> None:
    assert not gsm7.is_gsm7("ç")  # only Ç (0x09) is in the table; no silent substitution
    assert gsm7.is_gsm7("Ç@£$¥èéùìòØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\r\n")
    with pytest.raises(InvalidInput, match="index 2"):
        gsm7.encode_septets("ab你")


def test_gsm7_decoding_is_lenient_about_unknown_escapes() -> None:
    # An escape before a code the extension table lacks shows the base character.
    assert gsm7.decode_septets(bytes([0x1B, 0x41, 0x1B, 0x65])) == "A€"
    assert gsm7.decode_septets(bytes([0x41, 0x1B])) == "A "


@given(st.binary(max_size=200), st.integers(0, 12))
def test_gsm7_pack_unpack_round_trip_after_any_header(raw: bytes, header_len: int) -> None:
    septets = bytes(b & 0x7F for b in raw)
    header = bytes(range(1, header_len + 1))
    packed = gsm7.pack_septets(septets, header=header)
    skip = gsm7.header_septets(header_len) if header_len else 0
    assert packed[:header_len] == header
    assert len(packed) == ((skip + len(septets)) * 7 + 7) // 8
    assert gsm7.unpack_septets(packed, skip + len(septets))[skip:] == septets


# ----------------------------------------------------------- published PDUs


def test_classic_hellohello_submit_encodes_exactly() -> None:
    parts = encode_submit("+46708251358", "hellohello", validity=dt.timedelta(days=4))
    assert [p.hex for p in parts] == ["0011000B916407281553F80000AA0AE8329BFD4697D9EC37"]
    assert parts[0].tpdu_length == 23
    assert (parts[0].part, parts[0].parts, parts[0].reference) == (1, 1, None)


def test_classic_hellohello_submit_decodes() -> None:
    s = submit("0011000B916407281553F80000AA0AE8329BFD4697D9EC37")
    assert s.smsc is None
    assert s.recipient == "+46708251358"
    assert s.recipient_type == 0x91
    assert s.text == "hellohello"
    assert s.validity == dt.timedelta(days=4)
    assert s.encoding == "gsm7"
    assert not s.status_report_request


def test_classic_deliver_with_smsc_and_plus_two_hours() -> None:
    d = deliver("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
    assert d.smsc == "+27381000015"
    # Type 0xC8 is not international: the digits come back exactly, with no "+".
    assert d.sender == "27838890001"
    assert d.sender_type == 0xC8
    assert d.text == "hellohello"
    assert d.timestamp == dt.datetime(
        1999, 3, 29, 15, 16, 59, tzinfo=dt.timezone(dt.timedelta(hours=2))
    )
    assert d.timestamp.utcoffset() == dt.timedelta(hours=2)


def test_deliver_how_are_you() -> None:
    d = deliver("07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07")
    assert (d.smsc, d.sender, d.text) == ("+31624000000", "+31641600986", "How are you?")
    # Zone octet 0x08: sign bit set on a zero value, i.e. UTC (23.040 §9.2.3.11).
    assert d.timestamp == dt.datetime(2002, 8, 26, 19, 37, 41, tzinfo=dt.UTC)
    assert d.more_messages is False


def test_ucs2_chinese_deliver_built_field_by_field() -> None:
    hex_pdu = (
        "0891683108200505F0"  # SMSC +8613800250500
        "04"  # SMS-DELIVER, no more messages
        "0D91683108108300F0"  # sender +8613800138000
        "00"  # PID
        "08"  # DCS: UCS2
        "62113241039523"  # 2026-11-23 14:30:59, zone 0x23 = +32 quarters = +08:00
        "08"  # 8 octets
        "4F60597D4E16754C"  # 你好世界
    )
    d = deliver(hex_pdu)
    assert d.smsc == "+8613800250500"
    assert d.sender == "+8613800138000"
    assert d.text == "你好世界"
    assert d.encoding == "ucs2"
    assert d.timestamp == T0
    assert d.concat is None


@pytest.mark.parametrize(
    ("zone", "offset"),
    [
        ("23", dt.timedelta(hours=8)),
        ("0A", dt.timedelta(hours=-5)),  # sign bit is bit 3 of the first semi-octet
        ("49", dt.timedelta(hours=-3, minutes=-30)),
        ("00", dt.timedelta(0)),
        ("E1", dt.timedelta(hours=2, minutes=30)),  # bad BCD digit reads as 0 (as Android)
    ],
)
def test_time_zone_octet(zone: str, offset: dt.timedelta) -> None:
    d = deliver("00040B911346610089F60000621132410395" + zone + "00")
    assert d.timestamp.utcoffset() == offset
    assert d.text == ""


def test_alphanumeric_sender_decodes_from_7bit() -> None:
    # Cross-checked with python-gsmmodem's decoder: type 0xD0, 20 semi-octets.
    d = deliver("0891683108100005F00414D04374DA1D6EBEC5697619000862113221005049086D4B8BD5002020AC")
    assert d.sender == "ChinaMobile"
    assert d.sender_type == 0xD0
    assert d.text == "测试 €"
    assert d.timestamp.utcoffset() == dt.timedelta(hours=-3, minutes=-30)


def test_published_status_report_without_smsc() -> None:
    r = decode("06000B910221815716F2709021510121807090215101718000", with_smsc=False)
    assert isinstance(r, SmsStatusReport)
    assert r.message_reference == 0
    assert r.recipient == "+20121875612"
    tz = dt.timezone(dt.timedelta(hours=2))
    assert r.timestamp == dt.datetime(2007, 9, 12, 15, 10, 12, tzinfo=tz)
    assert r.discharge_time == dt.datetime(2007, 9, 12, 15, 10, 17, tzinfo=tz)
    assert r.status == 0 and r.delivered and not r.pending and not r.failed
    assert "received" in r.status_meaning


def test_status_report_with_smsc_and_failure() -> None:
    hex_pdu = encode_status_report(
        0x2A, "+8613800138000", 0x46, T0, T0 + dt.timedelta(days=2), smsc="+8613800250500"
    )
    assert hex_pdu.startswith("0891683108200505F0062A0D91683108108300F0")
    r = decode(hex_pdu)
    assert isinstance(r, SmsStatusReport)
    assert r.smsc == "+8613800250500"
    assert r.message_reference == 0x2A
    assert r.failed and not r.delivered
    assert r.status_meaning == "validity period expired"
    assert r.discharge_time - r.timestamp == dt.timedelta(days=2)


def test_status_report_optional_part_is_read_and_junk_ignored() -> None:
    base = encode_status_report(1, "10086", 0x21, T0)
    r = decode(base + "07" + "00" + "00" + "05" + "E8329BFD06")  # PI: PID, DCS, UDL
    assert isinstance(r, SmsStatusReport)
    assert r.text == "hello" and r.pending
    junk = decode(base + "FF")  # a PI announcing fields that are not there
    assert isinstance(junk, SmsStatusReport)
    assert junk.status == 0x21 and junk.text is None


def test_eight_bit_data_with_port_header() -> None:
    hex_pdu = (
        "00"  # no SMSC
        "44"  # DELIVER, UDHI
        "0B911346610089F6"
        "00"
        "04"  # 8-bit data
        "62113241039523"
        "0B"  # 7 header octets + 4 data octets
        "0605040B8423F0"  # UDHL 6, IEI 05 (16-bit ports)
        "DEADBEEF"
    )
    d = deliver(hex_pdu)
    assert d.encoding == "8bit"
    assert d.text is None
    assert d.user_data == bytes.fromhex("DEADBEEF")
    assert d.information_elements == ((0x05, bytes.fromhex("0B8423F0")),)
    assert d.concat is None


def test_flash_message_class_and_national_sender_type() -> None:
    d = deliver("0004" + "0BA13108108300F0" + "0010" + "62113241039523" + "05E8329BFD06")
    assert d.message_class == 0
    assert d.sender == "13800138000"  # national (0xA1): no "+", no prefix invented
    assert d.text == "hello"


def test_concatenated_gsm7_part_with_fill_bit() -> None:
    parts = encode_deliver("10086", "x" * 200, T0, reference=0xCC)
    assert len(parts) == 2
    # UDH 050003CC0201 then one fill bit: the first text septet starts at bit 49.
    assert "050003CC0201" in parts[0]
    d = deliver(parts[0])
    assert d.concat == ConcatInfo(reference=0xCC, parts=2, part=1)
    assert d.user_data_header == bytes.fromhex("050003CC0201")
    assert d.text == "x" * 153


def test_concat_element_with_impossible_numbers_is_ignored() -> None:
    # part 3 of 2: 23.040 says ignore the element; the text still arrives.
    ud = gsm7.pack_septets(gsm7.encode_septets("hello"), header=bytes.fromhex("050003CC0203"))
    assert ud.hex().upper() == "050003CC0203" + "D06536FB0D"  # one fill bit, then "hello"
    d = deliver("0044" + "0B911346610089F6" + "0000" + "62113241039523" + "0C" + ud.hex())
    assert d.concat is None
    assert d.text == "hello"


# --------------------------------------------------------------- encoding rules


def test_numbers_keep_what_the_user_gave() -> None:
    assert submit(encode_submit("+8613800138000", "a")[0].hex).recipient_type == 0x91
    national = submit(encode_submit("13800138000", "a")[0].hex)
    assert (national.recipient, national.recipient_type) == ("13800138000", 0x81)
    assert submit(encode_submit("10086", "a")[0].hex).recipient == "10086"
    assert submit(encode_submit("008613800138000", "a")[0].hex).recipient == "008613800138000"
    assert submit(encode_submit("+86 138-0013-8000", "a")[0].hex).recipient == "+8613800138000"
    assert submit(encode_submit("*123#", "a")[0].hex).recipient == "*123#"


@pytest.mark.parametrize("number", ["ChinaMobile", "", "+", "1380013800A", "1" * 21])
def test_submit_refuses_what_is_not_a_phone_number(number: str) -> None:
    with pytest.raises(InvalidInput):
        encode_submit(number, "hi")


def test_alphanumeric_submit_error_says_why() -> None:
    with pytest.raises(InvalidInput, match="alphanumeric addresses can only be senders"):
        encode_submit("Bank", "hi")


def test_smsc_field_and_tpdu_length() -> None:
    (part,) = encode_submit("13800138000", "hi", smsc="+8613800250500")
    assert part.hex.startswith("0891683108200505F0")
    assert part.tpdu_length == len(part.hex) // 2 - 9
    assert submit(part.hex).smsc == "+8613800250500"


def test_announced_tpdu_length_decides_the_smsc_field() -> None:
    (part,) = encode_submit("10086", "hi", smsc="+8613800250500")
    assert submit_tpdu(part.hex, part.tpdu_length).smsc == "+8613800250500"
    bare = part.hex[18:]
    assert submit_tpdu(bare, part.tpdu_length).recipient == "10086"
    with pytest.raises(PduError, match="not an SMSC field"):
        decode(part.hex, tpdu_length=part.tpdu_length - 1)


def submit_tpdu(hex_pdu: str, length: int) -> SmsSubmit:
    result = decode(hex_pdu, tpdu_length=length)
    assert isinstance(result, SmsSubmit)
    return result


def test_sender_type_override_for_national_numbers() -> None:
    d = deliver(encode_deliver("13800138000", "hi", T0, sender_type=0xA1)[0])
    assert (d.sender, d.sender_type) == ("13800138000", 0xA1)
    with pytest.raises(InvalidInput, match="not international"):
        encode_deliver("+8613800138000", "hi", T0, sender_type=0xA1)


def test_status_report_request_and_message_references() -> None:
    parts = encode_submit("13800138000", "y" * 400, status_report=True, message_reference=254)
    assert [submit(p.hex).message_reference for p in parts] == [254, 255, 0]
    assert all(submit(p.hex).status_report_request for p in parts)
    assert int(parts[0].hex[2:4], 16) == 0x61  # SUBMIT | SRR | UDHI


@pytest.mark.parametrize(
    ("validity", "vp"),
    [
        (dt.timedelta(minutes=5), 0),
        (dt.timedelta(minutes=1), 0),  # rounds up to the 5-minute minimum
        (dt.timedelta(minutes=6), 1),
        (dt.timedelta(hours=12), 143),
        (dt.timedelta(hours=12, seconds=1), 144),
        (dt.timedelta(hours=24), 167),
        (dt.timedelta(hours=25), 168),  # 2 days
        (dt.timedelta(days=4), 170),
        (dt.timedelta(days=30), 196),
        (dt.timedelta(days=31), 197),  # 5 weeks
        (dt.timedelta(weeks=63), 255),
        (dt.timedelta(weeks=500), 255),  # clamped
    ],
)
def test_relative_validity_encoding(validity: dt.timedelta, vp: int) -> None:
    assert pdu.vp_from_validity(validity) == vp
    (part,) = encode_submit("10086", "a", validity=validity)
    assert int(part.hex[2:4], 16) & 0x18 == 0x10  # TP-VPF = 10, relative
    assert submit(part.hex).validity == pdu.validity_from_vp(vp)


def test_every_vp_octet_round_trips() -> None:
    for vp in range(256):
        assert pdu.vp_from_validity(pdu.validity_from_vp(vp)) == vp


@given(st.timedeltas(min_value=dt.timedelta(microseconds=1), max_value=dt.timedelta(weeks=63)))
def test_validity_is_never_shortened(validity: dt.timedelta) -> None:
    assert pdu.validity_from_vp(pdu.vp_from_validity(validity)) >= validity


def test_bad_arguments_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        encode_submit("10086", "a", validity=dt.timedelta(0))
    with pytest.raises(InvalidInput):
        encode_submit("10086", "a" * 200, reference=256)
    with pytest.raises(InvalidInput):
        encode_submit("10086", "a", message_reference=-1)
    with pytest.raises(InvalidInput, match="lone surrogate"):
        encode_submit("10086", "a\ud800b")
    with pytest.raises(InvalidInput, match="timezone-aware"):
        encode_deliver("10086", "a", dt.datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="quarter hours"):
        encode_deliver(
            "10086", "a", dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(minutes=7)))
        )
    with pytest.raises(InvalidInput, match="at most 11"):
        encode_deliver("ABCDEFGHIJKL", "a", T0)


# ----------------------------------------------------------- splitting boundaries


def texts_of(parts: list[pdu.SubmitPart]) -> list[str]:
    return [submit(p.hex).text or "" for p in parts]


def test_exactly_160_septets_is_one_part_and_161_is_two() -> None:
    assert len(encode_submit("10086", "a" * 160)) == 1
    parts = encode_submit("10086", "a" * 161, reference=9)
    assert texts_of(parts) == ["a" * 153, "a" * 8]
    assert [(p.part, p.parts, p.reference) for p in parts] == [(1, 2, 9), (2, 2, 9)]
    assert all(p.tpdu_length <= 140 + 13 for p in parts)


def test_exactly_70_ucs2_units_is_one_part_and_71_is_two() -> None:
    assert len(encode_submit("10086", "你" * 70)) == 1
    assert texts_of(encode_submit("10086", "你" * 71)) == ["你" * 67, "你" * 4]


def test_escape_pair_at_septet_153_moves_to_the_next_part() -> None:
    # Septets 0-151 are "a", the escape would be septet 152 (the 153rd) and its code 153.
    assert texts_of(encode_submit("10086", "a" * 152 + "€" + "b" * 10)) == [
        "a" * 152,
        "€" + "b" * 10,
    ]
    # One septet later the pair fits after 153 septets exactly.
    assert texts_of(encode_submit("10086", "a" * 153 + "€" + "b" * 9)) == ["a" * 153, "€" + "b" * 9]


def test_surrogate_pair_at_unit_67_moves_to_the_next_part() -> None:
    text = "你" * 66 + "😀" + "你" * 10
    assert count_parts(text) == ("ucs2", 2, 78)
    assert texts_of(encode_submit("10086", text)) == ["你" * 66, "😀" + "你" * 10]


def test_sixteen_bit_reference_budget() -> None:
    parts = encode_submit("10086", "a" * 161, reference=0x1234, reference_16bit=True)
    assert texts_of(parts) == ["a" * 152, "a" * 9]
    s = submit(parts[0].hex)
    assert s.concat == ConcatInfo(reference=0x1234, parts=2, part=1, reference_bits=16)
    assert "0608041234" in parts[0].hex
    assert texts_of(encode_submit("10086", "你" * 133, reference_16bit=True)) == ["你" * 66] * 2 + [
        "你"
    ]


def test_part_limit() -> None:
    assert count_parts("a" * 153 * 255).parts == 255
    with pytest.raises(InvalidInput, match="at most 255"):
        encode_submit("10086", "a" * (153 * 255 + 1))


def test_force_ucs2_and_count_parts() -> None:
    assert count_parts("") == ("gsm7", 1, 0)
    assert count_parts("hello {}") == ("gsm7", 1, 10)
    assert count_parts("你好") == ("ucs2", 1, 2)
    assert submit(encode_submit("10086", "hi", force_ucs2=True)[0].hex).encoding == "ucs2"


# ------------------------------------------------------------------ round trips

gsm_text = st.text(alphabet=gsm7.DEFAULT_ALPHABET.replace("\xa0", "") + "€[]{}^~\\|\x0c")
cjk_text = st.text(alphabet=st.sampled_from("你好世界短信签名测试😀👍🏽🇨🇳a€"))
any_text = st.one_of(st.text(), gsm_text, cjk_text, gsm_text.map(lambda t: t * 4))
numbers = st.one_of(
    st.from_regex(r"\+[1-9][0-9]{5,14}", fullmatch=True),
    st.from_regex(r"[0-9*#]{1,20}", fullmatch=True),
)
zones = st.integers(-79, 79).map(lambda q: dt.timezone(dt.timedelta(minutes=15 * q)))
timestamps = st.builds(
    lambda naive, tz: naive.replace(tzinfo=tz),
    st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2089, 12, 31, 23, 59, 59)).map(
        lambda t: t.replace(microsecond=0)
    ),
    zones,
)


@given(numbers, any_text, st.booleans(), st.integers(0, 0xFFFF))
def test_submit_round_trip(number: str, text: str, ref16: bool, reference: int) -> None:
    reference = reference if ref16 else reference & 0xFF
    parts = encode_submit(number, text, reference=reference, reference_16bit=ref16)
    encoding, n_parts, _ = count_parts(text, reference_16bit=ref16)
    assert len(parts) == n_parts
    decoded = [submit(p.hex) for p in parts]
    assert "".join(d.text or "" for d in decoded) == text
    for p, d in zip(parts, decoded, strict=True):
        assert p.hex == p.hex.upper()
        assert p.tpdu_length == len(p.hex) // 2 - 1
        assert d.recipient == number
        assert d.encoding == encoding == ("gsm7" if gsm7.is_gsm7(text) else "ucs2")
        header = len(d.user_data_header)
        if encoding == "gsm7":  # TP-UD fits in 140 octets
            assert (gsm7.header_septets(header) if header else 0) + len(d.user_data) <= 160
        else:
            assert header + len(d.user_data) <= 140
        if n_parts > 1:
            assert d.concat == ConcatInfo(reference, n_parts, p.part, 16 if ref16 else 8)
        else:
            assert d.concat is None


@given(
    st.one_of(numbers, st.text(alphabet="ABC@xyz_Δ", min_size=1, max_size=11)),
    any_text,
    timestamps,
)
def test_deliver_round_trip(sender: str, text: str, timestamp: dt.datetime) -> None:
    assume(sender.strip() == sender and sender.strip(" ") != "")
    decoded = [deliver(h) for h in encode_deliver(sender, text, timestamp, smsc="+8613800250500")]
    assert "".join(d.text or "" for d in decoded) == text
    for d in decoded:
        assert d.sender == sender
        assert d.timestamp == timestamp
        assert d.timestamp.utcoffset() == timestamp.utcoffset()
        assert d.smsc == "+8613800250500"


@given(numbers, st.integers(0, 255), st.integers(0, 255), timestamps, timestamps)
def test_status_report_round_trip(
    number: str, mr: int, status: int, scts: dt.datetime, discharge: dt.datetime
) -> None:
    r = decode(encode_status_report(mr, number, status, scts, discharge))
    assert isinstance(r, SmsStatusReport)
    assert (r.message_reference, r.recipient, r.status) == (mr, number, status)
    assert (r.timestamp, r.discharge_time) == (scts, discharge)
    assert r.delivered + r.pending + r.failed == 1


# -------------------------------------------------------------------- reassembly


def delivers(text: str, **kwargs: object) -> list[SmsDeliver]:
    return [deliver(h) for h in encode_deliver("+8613800138000", text, T0, **kwargs)]  # type: ignore[arg-type]


@given(any_text, st.randoms(use_true_random=False), st.integers(0, 6), st.booleans())
def test_parts_reassemble_in_any_order_with_duplicates(
    text: str, rnd: object, dups: int, ref16: bool
) -> None:
    import random

    assert isinstance(rnd, random.Random)
    parts = delivers(text, reference=77, reference_16bit=ref16)
    feed = parts + [rnd.choice(parts) for _ in range(dups)]
    rnd.shuffle(feed)
    assembler = SmsAssembler()
    got = [m for m in (assembler.add(p, now=float(i)) for i, p in enumerate(feed)) if m]
    if len(parts) == 1:
        assert len(got) == len(feed)  # a single part has no key to de-duplicate on
    else:
        assert len(got) == 1
    assert all(m.text == text and m.complete and m.parts == len(parts) for m in got)
    assert got[0].timestamp == T0 and got[0].sender == "+8613800138000"
    assert assembler.pending == 0
    assert assembler.expire(now=1e9) == []


def test_assembler_joins_escape_and_surrogate_pairs_split_by_another_sender() -> None:
    # A foreign encoder that cut "€" between its escape and code, and "😀" between halves.
    def part(n: int, encoding: str, body: bytes) -> SmsDeliver:
        return SmsDeliver(
            smsc=None,
            sender="10086",
            sender_type=0x81,
            text=None,
            timestamp=T0,
            encoding=encoding,  # type: ignore[arg-type]
            concat=ConcatInfo(5, 2, n),
            user_data_header=b"",
            user_data=body,
        )

    a = SmsAssembler()
    assert a.add(part(2, "gsm7", bytes([0x65, 0x41])), 0.0) is None
    whole = a.add(part(1, "gsm7", bytes([0x41, 0x1B])), 1.0)
    assert whole is not None and whole.text == "A€A"
    b = SmsAssembler()
    emoji = "😀".encode("utf-16-be")
    assert b.add(part(1, "ucs2", emoji[:2]), 0.0) is None
    got = b.add(part(2, "ucs2", emoji[2:]), 0.0)
    assert got is not None and got.text == "😀"


def test_incomplete_message_expires_with_holes_marked() -> None:
    p1, p2, p3 = delivers("a" * 153 + "b" * 153 + "c" * 10, reference=3)
    a = SmsAssembler(timeout=60.0)
    assert a.add(p1, now=100.0) is None
    assert a.add(p3, now=110.0) is None
    assert a.expire(now=159.0) == []
    (late,) = a.expire(now=160.0)
    assert late == IncomingSms(
        sender="+8613800138000",
        text="a" * 153 + "[…]" + "c" * 10,
        timestamp=T0,
        parts=3,
        complete=False,
        missing=(2,),
        smsc=None,
        encoding="gsm7",
    )
    assert a.pending == 0 and a.expire(now=1e6) == []


def test_duplicate_after_completion_is_not_delivered_again() -> None:
    p1, p2 = delivers("x" * 200, reference=1)
    a = SmsAssembler(timeout=60.0)
    assert a.add(p1, 0.0) is None
    assert a.add(p2, 1.0) is not None
    assert a.add(p1, 2.0) is None  # e.g. re-read with AT+CMGL after a reconnect
    assert a.pending == 0
    assert a.expire(10.0) == []


def test_reused_reference_with_new_content_is_a_new_message() -> None:
    first = delivers("x" * 200, reference=1)
    second = delivers("y" * 200, reference=1)
    a = SmsAssembler()
    assert a.add(first[0], 0.0) is None
    assert a.add(first[1], 0.0) is not None
    assert a.add(second[1], 5.0) is None
    again = a.add(second[0], 6.0)
    assert again is not None and again.text == "y" * 200


def test_parts_of_different_senders_or_references_do_not_mix() -> None:
    a = SmsAssembler()
    one = delivers("x" * 200, reference=1)
    two = delivers("y" * 200, reference=2)
    other = [deliver(h) for h in encode_deliver("10010", "z" * 200, T0, reference=1)]
    assert a.add(one[0], 0) is None
    assert a.add(two[1], 0) is None
    assert a.add(other[1], 0) is None
    assert a.pending == 3
    done = a.add(one[1], 0)
    assert done is not None and done.text == "x" * 200
    rest = sorted((m.sender, m.text) for m in a.drain())
    assert rest == [("+8613800138000", "[…]" + "y" * 47), ("10010", "[…]" + "z" * 47)]


def test_too_many_pending_messages_give_back_the_oldest() -> None:
    a = SmsAssembler(max_pending=2)
    for ref in range(3):
        assert a.add(delivers("q" * 200, reference=ref)[0], float(ref)) is None
    assert a.pending == 2
    (oldest,) = a.expire(now=3.0)
    assert oldest.missing == (2,) and not oldest.complete


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("hex_pdu", "message", "octet"),
    [
        ("", "empty", 0),
        ("0011G0", "non-hex character 'G' at position 4", 2),
        ("001", "odd number of hex digits", 1),
        ("07917283010010", "SMSC address", 1),
        ("0003", "reserved message type", 1),
        ("000401", "sender address", 3),
        ("00040B911346610089F600006211324103952305E8", "TP-UD", 20),
        ("00040B911346610089F60000621132410395230005", None, None),
        (
            "0044" + "0B911346610089F6" + "0000" + "62113241039523" + "050700030102E8",
            "overruns",
            20,
        ),
        (
            "0044" + "0B911346610089F6" + "0008" + "62113241039523" + "04030502AB",
            "past the end",
            21,
        ),
        ("00040B911346610089F60000621332410395230000", "not a valid date", 12),
        ("00040B911346610089F600006A1132410395230000", "not two decimal", 12),
    ],
)
def test_malformed_pdus_name_what_and_where(
    hex_pdu: str, message: str | None, octet: int | None
) -> None:
    if message is None:  # trailing octets after the user data are ignored
        assert deliver(hex_pdu).text == ""
        return
    with pytest.raises(PduError, match=message) as info:
        decode(hex_pdu)
    assert info.value.octet == octet
    assert isinstance(info.value, InvalidInput)


@given(st.binary(max_size=200), st.booleans(), st.none() | st.integers(-3, 210))
def test_random_bytes_only_ever_raise_pdu_error(
    raw: bytes, with_smsc: bool, tpdu_length: int | None
) -> None:
    try:
        result = decode(raw.hex(), with_smsc=with_smsc, tpdu_length=tpdu_length)
    except PduError:
        return
    assert isinstance(result, SmsDeliver | SmsSubmit | SmsStatusReport)


@given(st.text(max_size=80))
def test_random_strings_only_ever_raise_pdu_error(text: str) -> None:
    try:
        decode(text)
    except PduError:
        pass


@st.composite
def valid_pdus(draw: st.DrawFn) -> str:
    text = draw(any_text)
    kind = draw(st.sampled_from(["submit", "deliver", "report"]))
    if kind == "submit":
        validity = draw(st.none() | st.timedeltas(dt.timedelta(minutes=1), dt.timedelta(weeks=70)))
        parts = encode_submit(draw(numbers), text, validity=validity, smsc="+8613800250500")
        return draw(st.sampled_from([p.hex for p in parts]))
    if kind == "deliver":
        return draw(st.sampled_from(encode_deliver(draw(numbers), text, draw(timestamps))))
    return encode_status_report(1, draw(numbers), 0, draw(timestamps))


@given(valid_pdus(), st.data())
def test_truncated_valid_pdus_raise_pdu_error(hex_pdu: str, data: st.DataObject) -> None:
    assert decode(hex_pdu) is not None
    cut = data.draw(st.integers(0, len(hex_pdu) // 2 - 1))
    with pytest.raises(PduError):
        decode(hex_pdu[: 2 * cut])


@given(valid_pdus(), st.data())
def test_corrupted_valid_pdus_never_raise_anything_else(hex_pdu: str, data: st.DataObject) -> None:
    raw = bytearray.fromhex(hex_pdu)
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        decode(raw.hex())
    except PduError:
        pass


def test_public_names() -> None:
    assert sorted(pdu.__all__) == pdu.__all__
    assert sorted(gsm7.__all__) == gsm7.__all__
    for name in pdu.__all__:
        assert hasattr(pdu, name)
