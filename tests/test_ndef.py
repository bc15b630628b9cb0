"""The NDEF form of a credential: records, order, decoding rules, Type 2 TLVs."""

from __future__ import annotations

import ndef
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxinma.errors import MalformedCredential
from anxinma.ndef import EXTERNAL_TYPE, NdefForm, decode_message, encode_message, parse_type2_tlv, type2_tlv
from tests.nfc.credentials import BASE_URL, make_credential

UID = bytes.fromhex("04ab87f2ca1190")


def records(message: bytes) -> list[ndef.Record]:
    return list(ndef.message_decoder(message, errors="strict"))


def test_both_form_puts_the_uri_first_so_phones_open_the_page() -> None:
    credential = make_credential(card_uid=UID)
    found = records(encode_message(credential, BASE_URL, NdefForm.BOTH))
    assert [r.type for r in found] == ["urn:nfc:wkt:U", EXTERNAL_TYPE]
    assert found[0].iri == credential.to_url(BASE_URL)
    assert bytes(found[1].data) == credential.to_bytes()


def test_uri_record_uses_the_https_prefix_code() -> None:
    message = encode_message(make_credential(), BASE_URL, NdefForm.URI)
    # header (a long record: the URL exceeds 255 bytes), type length 1, 4-byte payload length,
    # type "U", then URI identifier code 0x04 for "https://" (NFC URI RTD §3.2.2)
    assert message[0] & 0x10 == 0 and message[1] == 1
    assert message[6:8] == b"U\x04"
    assert b"https://" not in message


@pytest.mark.parametrize("form", list(NdefForm))
def test_every_form_decodes_to_the_binary_credential(form: NdefForm) -> None:
    credential = make_credential(card_uid=UID)
    assert decode_message(encode_message(credential, BASE_URL, form)) == credential.to_bytes()


def test_unrelated_records_on_a_shared_card_are_ignored() -> None:
    credential = make_credential()
    ours = records(encode_message(credential, BASE_URL, NdefForm.BOTH))
    transit = [
        ndef.TextRecord("宁波市民卡 transit card"),
        ndef.UriRecord("https://transit.example.cn/card/123"),  # a link that is not a 安心码
        ndef.Record("urn:nfc:ext:transit.example.cn:t", "", b"\x01\x02"),
    ]
    message = b"".join(ndef.message_encoder(transit[:2] + ours + transit[2:]))
    assert decode_message(message) == credential.to_bytes()


def test_uri_and_binary_records_that_disagree_are_malformed() -> None:
    first, second = make_credential(serial=1), make_credential(serial=2)
    message = b"".join(
        ndef.message_encoder(
            [ndef.UriRecord(first.to_url(BASE_URL)), ndef.Record(EXTERNAL_TYPE, "", second.to_bytes())]
        )
    )
    with pytest.raises(MalformedCredential, match="different credentials"):
        decode_message(message)


def test_a_message_without_a_credential_is_refused() -> None:
    message = b"".join(ndef.message_encoder([ndef.TextRecord("hello")]))
    with pytest.raises(MalformedCredential, match="no 安心码"):
        decode_message(message)


@pytest.mark.parametrize("garbage", [b"", b"\x00", b"\xd1\x01\xff", bytes(9000)])
def test_garbage_is_malformed_not_a_crash(garbage: bytes) -> None:
    with pytest.raises(MalformedCredential):
        decode_message(garbage)


def test_an_unreadable_card_says_what_to_do_not_what_ndeflib_said() -> None:
    with pytest.raises(MalformedCredential) as caught:
        decode_message(b"\xd1\x01\xff")  # a record head whose type runs past the end
    said = caught.value.explain()
    assert "ndef." not in said and "TYPE_LENGTH" not in said and "Record" not in said
    assert "tap again" in said and "重新刷卡" in said


@given(
    serial=st.integers(0, 2**32 - 1),
    archive_id=st.integers(0, 2**53 - 1),
    uid=st.none() | st.binary(min_size=4, max_size=10),
    form=st.sampled_from(list(NdefForm)),
)
def test_encode_then_decode_is_the_identity(
    serial: int, archive_id: int, uid: bytes | None, form: NdefForm
) -> None:
    credential = make_credential(serial=serial, archive_id=archive_id, card_uid=uid)
    assert decode_message(encode_message(credential, BASE_URL, form)) == credential.to_bytes()


@given(st.binary(max_size=600))
def test_type2_tlv_round_trips_short_and_long_messages(message: bytes) -> None:
    tlv = type2_tlv(message)
    assert tlv[0] == 0x03 and tlv[-1] == 0xFE
    assert len(tlv) == len(message) + (3 if len(message) < 255 else 5)
    assert parse_type2_tlv(tlv) == message


def test_type2_parser_skips_the_factory_lock_control_tlv() -> None:
    message = encode_message(make_credential(), BASE_URL, NdefForm.EXTERNAL)
    memory = bytes.fromhex("0103A00C34") + type2_tlv(message) + bytes(20)
    assert parse_type2_tlv(memory) == message


def test_type2_parser_refuses_a_truncated_tlv() -> None:
    with pytest.raises(MalformedCredential):
        parse_type2_tlv(bytes([0x03, 40]) + bytes(10))
