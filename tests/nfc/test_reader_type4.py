"""Reading and writing Type 4 (ISO-DEP) cards through nfcpy's real Type4Tag over a simulated chip."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from anxinma import credential as fmt
from anxinma.errors import CardNotFormatted, CardReadOnly, CardRemoved, CardTooSmall, CardUnsupported
from anxinma.ndef import NdefForm, decode_message, encode_message
from anxinma.nfc.budget import chip as budget_chip
from anxinma.nfc.originality import OriginalityStatus
from anxinma.nfc.reader import Card, Reader
from tests.nfc.credentials import BASE_URL, make_credential
from tests.nfc.ntag import FakeDevice
from tests.nfc.type4 import SimulatedType4

Build = Callable[..., tuple[Reader, FakeDevice]]
PN533, ACR122 = 262, 251  # what nfcpy's drivers receive at most: FSD 256 and FSD 128


@pytest.fixture
def type4_reader(fake_reader: Build) -> Build:
    """``fake_reader`` at a PN533's frame size, the reader these tests assume unless they say."""
    return functools.partial(fake_reader, frame_size=PN533)


def message_for(chip: SimulatedType4, form: NdefForm) -> bytes:
    return encode_message(make_credential(card_uid=chip.uid), BASE_URL, form)


def again(reader: Reader, device: FakeDevice, chip: SimulatedType4) -> Card:
    """The operator lifts the card and puts it down again: a new activation, nothing cached."""
    device.present(chip)
    return reader.wait_for_card(timeout=1)


@pytest.mark.parametrize(("file_size", "capacity"), [(256, 254), (2048, 2046)])
def test_a_type4_card_is_activated_over_iso_dep_and_reports_itself(
    type4_reader: Build, file_size: int, capacity: int
) -> None:
    chip = SimulatedType4.create(file_size=file_size)
    reader, _ = type4_reader(chip)
    card = reader.wait_for_card(timeout=1)
    assert chip.rats == b"\xe0\x80" and chip.state == "protocol"  # nfcpy's RATS, FSD 256
    assert (card.tag_type, card.product, card.uid) == ("Type4Tag", "Type4Tag", chip.uid)
    assert not card.uid_is_random and not card.is_ntag21x and not card.can_lock
    assert card.originality().status is OriginalityStatus.UNAVAILABLE
    info = card.ndef_info()
    assert (info.formatted, info.readable, info.writable, info.capacity, info.length) == (
        True, True, True, capacity, 0,
    )  # fmt: skip
    assert card.capacity() == capacity == budget_chip(f"Type 4, {file_size}-byte NDEF file").capacity()
    assert card.is_present()
    chip.in_field = False
    assert not card.is_present()


def test_an_ndef_message_is_read_with_the_type4_ndef_procedures(type4_reader: Build) -> None:
    message = encode_message(make_credential(card_uid=bytes(7)), BASE_URL, NdefForm.EXTERNAL)
    chip = SimulatedType4.create(message=message)
    reader, _ = type4_reader(chip)
    card = reader.wait_for_card(timeout=1)
    assert card.read_message() == message
    assert fmt.decode(decode_message(card.read_message())).claims.card_uid == bytes(7)
    assert [apdu.hex() for apdu in chip.apdus] == [
        "00a4040007d276000085010100",  # NDEF Tag Application Select (v2.0 AID, Le 00)
        "00a4000c02e103",  # Capability Container Select
        "00b0000002",  # CCLEN
        "00b000020d",  # the rest of the CC
        "00a4000c02e104",  # NDEF Select (the file id the CC names)
        "00b0000002",  # NLEN
        f"00b00002{len(message):02x}",  # the message, in one READ BINARY (MLe 256)
    ]


@pytest.mark.parametrize("frame_size", [PN533, ACR122])
@pytest.mark.parametrize(
    ("form", "file_size"), [(NdefForm.EXTERNAL, 256), (NdefForm.URI, 2048), (NdefForm.BOTH, 2048)]
)
def test_a_credential_is_written_and_read_back_byte_for_byte(
    type4_reader: Build, form: NdefForm, file_size: int, frame_size: int
) -> None:
    chip = SimulatedType4.create(file_size=file_size)
    reader, device = type4_reader(chip, frame_size=frame_size)
    card = reader.wait_for_card(timeout=1)
    message = message_for(chip, form)
    card.write_message(message)
    assert bytes(chip.ndef_file[: 2 + len(message)]) == len(message).to_bytes(2, "big") + message
    fresh = again(reader, device, chip)
    assert fresh.read_message() == message
    credential = fmt.decode(decode_message(fresh.read_message()))
    assert (
        credential.claims.card_uid == chip.uid
        and credential.to_bytes() == make_credential(card_uid=chip.uid).to_bytes()
    )


def test_a_message_in_one_update_carries_its_nlen_and_a_longer_one_sets_nlen_last(
    type4_reader: Build,
) -> None:
    small, large = SimulatedType4.create(file_size=2048), SimulatedType4.create(file_size=2048)
    reader, _ = type4_reader(small, large)
    card = reader.wait_for_card(timeout=1)
    external = message_for(small, NdefForm.EXTERNAL)  # 139 + 2 bytes: within MLc 255
    card.write_message(external)
    assert [apdu[:5].hex() for apdu in small.instructions(0xD6)] == [f"00d60000{2 + len(external):02x}"]
    card = reader.wait_for_card(timeout=1)  # the next card of the stack
    both = message_for(large, NdefForm.BOTH)  # 473 bytes: NLEN 0000 first, the message, NLEN last
    card.write_message(both)
    updates = large.instructions(0xD6)
    assert [apdu[:5].hex() for apdu in updates] == ["00d60000ff", "00d600ffdc", "00d6000002"]
    assert updates[0][5:7] == b"\x00\x00" and updates[-1][5:] == len(both).to_bytes(2, "big")


def test_long_commands_and_answers_are_chained_both_ways(type4_reader: Build) -> None:
    chip = SimulatedType4.create(file_size=2048)
    reader, device = type4_reader(chip, frame_size=ACR122)
    card = reader.wait_for_card(timeout=1)
    assert chip.rats == b"\xe0\x70" and chip.fsd == 128  # nfcpy asks for FSD 128 on a small reader
    message = message_for(chip, NdefForm.URI)
    card.write_message(message)
    pcbs = [frame[0] for frame in chip.frames]
    assert 0x12 in pcbs or 0x13 in pcbs  # the reader chained a 260-byte UPDATE BINARY (FSC 128)
    assert max(len(frame) for frame in chip.frames) == 128 - 2  # PCB + 125 bytes, CRC not sent
    assert {0xA2, 0xA3} & set(pcbs)  # and acknowledged the chip's chained READ BINARY answer
    assert again(reader, device, chip).read_message() == message


def test_a_lost_answer_is_sent_again_on_r_nak_and_the_update_is_not_repeated(type4_reader: Build) -> None:
    chip = SimulatedType4.create(file_size=2048)
    reader, device = type4_reader(chip)
    card = reader.wait_for_card(timeout=1)
    message = message_for(chip, NdefForm.EXTERNAL)
    chip.lose_answers = 1  # the answer to the NDEF application select goes missing
    card.write_message(message)
    naks = [frame for frame in chip.frames if frame[0] & 0xF6 == 0xB2]
    assert naks == [b"\xb2"]  # nfcpy asked again for block 0 and got it
    assert [apdu.hex() for apdu in chip.instructions(0xA4)] == [
        "00a4040007d276000085010100",  # carried out once, its answer sent twice
        "00a4000c02e103",
        "00a4000c02e104",
        "00a4000c02e104",  # the read-back selects the NDEF file again
    ]
    updates = chip.instructions(0xD6)
    assert len(updates) == 1 and updates[0][5:7] == len(message).to_bytes(2, "big")
    assert again(reader, device, chip).read_message() == message


def test_a_message_too_large_for_a_256_byte_file_is_refused_and_nothing_written(type4_reader: Build) -> None:
    chip = SimulatedType4.create(file_size=256)
    reader, _ = type4_reader(chip)
    card = reader.wait_for_card(timeout=1)
    external = message_for(chip, NdefForm.EXTERNAL)
    card.write_message(external)
    before = bytes(chip.ndef_file)
    uri = message_for(chip, NdefForm.URI)  # 334 bytes
    with pytest.raises(CardTooSmall) as caught:
        card.write_message(uri)
    assert f"the message is {len(uri)} bytes but this Type4Tag holds 254" in caught.value.message
    assert f"消息 {len(uri)} 字节" in caught.value.message_zh and "容纳 254 字节" in caught.value.message_zh
    # The advice names the Type 4 cards that hold it, not NTAGs this reader's card is not.
    assert "use a larger card (Type 4, 2048-byte NDEF file)" in caught.value.message
    assert "NTAG" not in caught.value.message and "NTAG" not in caught.value.message_zh
    assert bytes(chip.ndef_file) == before and len(chip.instructions(0xD6)) == 1  # the first write only


def test_a_message_of_exactly_the_file_capacity_fits_and_one_byte_more_does_not(type4_reader: Build) -> None:
    chip = SimulatedType4.create(file_size=256)
    reader, device = type4_reader(chip)
    card = reader.wait_for_card(timeout=1)
    with pytest.raises(CardTooSmall, match="255 bytes but this Type4Tag holds 254"):
        card.write_message(bytes(255))
    assert chip.instructions(0xD6) == []
    card.write_message(bytes(254))
    assert chip.nlen == 254 and again(reader, device, chip).read_message() == bytes(254)


def test_a_read_only_type4_card_is_reported_locked_and_left_alone(type4_reader: Build) -> None:
    chip = SimulatedType4.create(message=b"\xd1\x01\x01T\x00", read_only=True)
    reader, _ = type4_reader(chip)
    card = reader.wait_for_card(timeout=1)
    assert not card.ndef_info().writable
    with pytest.raises(CardReadOnly) as caught:
        card.write_message(message_for(chip, NdefForm.EXTERNAL))
    assert caught.value.message == "this Type4Tag is locked (read-only): use a blank card"
    assert "只读" in caught.value.message_zh
    assert chip.instructions(0xD6) == [] and chip.message == b"\xd1\x01\x01T\x00"


def test_a_card_that_refuses_the_update_is_read_only_and_its_session_survives(type4_reader: Build) -> None:
    # The CC grants write access but the NDEF file's own access rights ask for a key (an NTAG 424
    # DNA or DESFire whose file settings were changed): UPDATE BINARY answers 6982. The card is
    # still in the field and its ISO-DEP session still open, so reading it goes on working.
    original = b"\xd1\x01\x01T\x00"
    chip = SimulatedType4.create(message=original, write_needs_key=True)
    reader, _ = type4_reader(chip)
    card = reader.wait_for_card(timeout=1)
    with pytest.raises(CardReadOnly) as caught:
        card.write_message(message_for(chip, NdefForm.EXTERNAL))
    assert caught.value.message.startswith("the card refused the write")
    assert caught.value.message_zh.startswith("卡片拒绝写入")
    assert len(chip.instructions(0xD6)) == 1 and chip.message == original
    card.verify_message(original)  # reads the card again over the same session
    assert chip.state == "protocol" and chip.rats == b"\xe0\x80"


def test_a_type4_card_pulled_mid_write_is_reported_removed_and_can_be_written_again(
    type4_reader: Build,
) -> None:
    chip = SimulatedType4.create(file_size=2048, pull_after_updates=1)
    reader, device = type4_reader(chip)
    card = reader.wait_for_card(timeout=1)
    message = message_for(chip, NdefForm.BOTH)
    with pytest.raises(CardRemoved) as caught:
        card.write_message(message)
    assert "同一张卡" in caught.value.message_zh and "put the same card back" in caught.value.message
    assert chip.updates == 1 and chip.nlen == 0  # nfcpy writes NLEN 0000 first: empty, not torn
    assert bytes(chip.ndef_file[2:255]) == message[:253]  # the first 255 bytes: NLEN 0000 + data
    chip.pull_after_updates = None
    back = again(reader, device, chip)
    assert back.read_message() == b""
    back.write_message(message)
    assert chip.message == message and again(reader, device, chip).read_message() == message


def test_locking_a_type4_card_is_refused_and_nothing_is_sent(type4_reader: Build) -> None:
    chip = SimulatedType4.create()
    reader, _ = type4_reader(chip)
    card = reader.wait_for_card(timeout=1)
    card.write_message(message_for(chip, NdefForm.EXTERNAL))
    updates = len(chip.instructions(0xD6))
    with pytest.raises(CardUnsupported) as caught:
        card.lock()
    assert caught.value.message == "nfcpy cannot lock this Type4Tag (Type4Tag); use NTAG21x cards to lock"
    assert "无法锁定" in caught.value.message_zh
    assert len(chip.instructions(0xD6)) == updates and not chip.read_only


def test_a_type4_card_without_the_ndef_application_is_unformatted_and_not_formatted_here(
    type4_reader: Build,
) -> None:
    chip = SimulatedType4.create(has_ndef_application=False)
    reader, _ = type4_reader(chip)
    card = reader.wait_for_card(timeout=1)
    with pytest.raises(CardNotFormatted) as caught:
        card.read_message()
    assert "Type4Tag is not NDEF formatted" in caught.value.message and "--format" not in caught.value.message
    # nfcpy tried the v2.0 AID, then the v1.0 one; both were not found (6A82)
    assert [apdu[5:12].hex() for apdu in chip.apdus] == ["d2760000850101", "d2760000850100"]
    with pytest.raises(CardUnsupported, match="formats only NTAG213/215/216"):
        card.format()


def test_the_simulated_chip_answers_iso7816_status_words(type4_reader: Build) -> None:
    chip = SimulatedType4.create(file_size=256, message=b"\xd0\x00\x00")
    reader, _ = type4_reader(chip)
    tag = reader.wait_for_card(timeout=1).nfcpy_tag

    def sw(ins: int, p1: int, p2: int, data: bytes | None = None, mrl: int = 0) -> str:
        return bytes(tag.send_apdu(0, ins, p1, p2, data, mrl, check_status=False)[-2:]).hex()

    assert sw(0xB0, 0, 0, mrl=2) == "6986"  # no file selected yet
    assert sw(0xA4, 0x00, 0x0C, b"\xe1\x03") == "6a82"  # nor the application
    assert sw(0xA4, 0x04, 0x00, bytes.fromhex("d2760000850100"), 256) == "6a82"  # v1.0 AID: absent
    assert sw(0xA4, 0x04, 0x00, bytes.fromhex("d2760000850101"), 256) == "9000"
    assert sw(0xA4, 0x00, 0x0C, b"\xe1\x05") == "6a82"
    assert sw(0xA4, 0x00, 0x0C, b"\xe1\x03") == "9000"
    assert bytes(tag.send_apdu(0, 0xB0, 0, 0, mrl=15)).hex() == "000f20010000ff0406e10401000000"
    assert sw(0xD6, 0, 0, b"\x00\x10") == "6982"  # the CC file is read-only
    assert sw(0xB0, 0, 0x0F, mrl=1) == "6b00"  # offset beyond the 15-byte CC
    assert sw(0xB0, 0, 0x0E, mrl=4) == "6282"  # one byte left, four asked for
    assert sw(0xA4, 0x00, 0x0C, b"\xe1\x04") == "9000"
    assert sw(0xD6, 0x00, 0xFF, b"\x00\x00") == "6700"  # past the end of the 256-byte file
    assert sw(0xD6, 0x01, 0x00, b"\x00") == "6b00"  # offset 256: outside the file
    assert sw(0x00, 0, 0) == "6d00" and chip.message == b"\xd0\x00\x00"
    assert tag.clf.exchange(bytearray(b"\xc2"), 0.1) == b"\xc2"  # S(DESELECT)
    assert chip.state == "halt" and not tag.is_present
