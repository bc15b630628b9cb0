"""Reading and writing NTAG21x cards through nfcpy's real tag classes over a simulated chip."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from anxinma.errors import CardNotFormatted, CardReadOnly, CardRemoved, CardTooSmall, NoCard
from anxinma.ndef import NdefForm, encode_message
from anxinma.nfc.reader import Reader, card_password
from tests.nfc.credentials import BASE_URL, make_credential
from tests.nfc.ntag import FakeDevice, SimulatedNtag

Build = Callable[..., tuple[Reader, FakeDevice]]


@pytest.mark.parametrize(("name", "capacity"), [("NTAG213", 137), ("NTAG215", 492), ("NTAG216", 868)])
def test_ntag21x_products_are_recognised_with_their_capacity(
    fake_reader: Build, name: str, capacity: int
) -> None:
    reader, _ = fake_reader(SimulatedNtag.create(name))
    card = reader.wait_for_card(timeout=1)
    assert card.product == f"NXP {name}"
    assert card.uid == bytes.fromhex("04ab87f2ca1190")
    assert card.is_ntag21x and card.can_lock
    info = card.ndef_info()
    assert (info.formatted, info.writable, info.capacity, info.length) == (True, True, capacity, 0)


def test_a_written_message_is_on_the_chip_and_read_back(fake_reader: Build) -> None:
    chip = SimulatedNtag.create("NTAG215")
    reader, _ = fake_reader(chip)
    card = reader.wait_for_card(timeout=1)
    message = encode_message(make_credential(card_uid=chip.uid), BASE_URL, NdefForm.BOTH)
    card.write_message(message)
    assert card.read_message() == message
    # Type 2 TLV with the 3-byte length form (the message is longer than 254 bytes)
    assert (
        chip.user_data()[: 4 + len(message)]
        == bytes([0x03, 0xFF]) + len(message).to_bytes(2, "big") + message
    )


def test_the_lock_control_tlv_stays_when_the_message_fits_without_its_room(fake_reader: Build) -> None:
    chip = SimulatedNtag.create("NTAG213")
    reader, _ = fake_reader(chip)
    card = reader.wait_for_card(timeout=1)
    card.write_message(encode_message(make_credential(), BASE_URL, NdefForm.EXTERNAL))  # 130 bytes
    assert chip.user_data()[:5] == bytes.fromhex("0103A00C34")


def test_a_message_too_big_for_the_card_is_refused(fake_reader: Build) -> None:
    reader, _ = fake_reader(SimulatedNtag.create("NTAG213"))
    card = reader.wait_for_card(timeout=1)
    message = encode_message(make_credential(card_uid=bytes(7)), BASE_URL, NdefForm.BOTH)
    with pytest.raises(CardTooSmall) as caught:
        card.write_message(message)
    assert "use a larger card (NTAG215/NTAG216)" in caught.value.message  # a 473-byte message
    assert "请换更大的卡（NTAG215/NTAG216）" in caught.value.message_zh


def test_lock_makes_the_card_read_only_for_good(fake_reader: Build) -> None:
    chip = SimulatedNtag.create("NTAG213")
    reader, device = fake_reader(chip)
    card = reader.wait_for_card(timeout=1)
    message = encode_message(make_credential(card_uid=chip.uid), BASE_URL, NdefForm.EXTERNAL)
    card.write_message(message)
    card.lock()
    assert (
        chip.page(2)[2:] == b"\xff\xff" and chip.page(40)[:3] == b"\xff\xff\xff"
    )  # static, dynamic lock bits
    assert chip.page(3)[3] == 0x0F  # CC: no write access
    with pytest.raises(CardReadOnly, match="locked"):
        card.write_message(bytes(10))
    chip.memory[12 + 3] = 0x00  # even a card whose CC lies about it refuses: the lock bits hold
    device.present(chip)
    fresh = reader.wait_for_card(timeout=1)
    with pytest.raises(CardReadOnly):
        fresh.write_message(bytes(10))
    assert fresh.read_message() == message


def test_a_card_pulled_mid_write_is_reported_removed_and_can_be_written_again(fake_reader: Build) -> None:
    chip = SimulatedNtag.create("NTAG215", pull_after_writes=5)
    reader, device = fake_reader(chip)
    card = reader.wait_for_card(timeout=1)
    message = encode_message(make_credential(card_uid=chip.uid), BASE_URL, NdefForm.BOTH)
    with pytest.raises(CardRemoved) as caught:
        card.write_message(message)
    assert "同一张卡" in caught.value.message_zh
    assert chip.user_data()[:2] == b"\x03\x00"  # nfcpy zeroed the length first: an empty card, not garbage
    chip.pull_after_writes = None
    device.present(chip)
    again = reader.wait_for_card(timeout=1)
    again.write_message(message)
    assert again.read_message() == message


def test_an_unformatted_ntag_is_reported_and_can_be_formatted(fake_reader: Build) -> None:
    chip = SimulatedNtag.create("NTAG213", formatted=False)
    reader, _ = fake_reader(chip)
    card = reader.wait_for_card(timeout=1)
    with pytest.raises(CardNotFormatted, match="--format"):
        card.read_message()
    card.format()
    assert chip.page(3) == bytes([0xE1, 0x10, 0x12, 0x00])
    assert card.ndef_info().formatted and card.read_message() == b""


def test_password_protection_refuses_writes_without_the_secret(fake_reader: Build) -> None:
    chip = SimulatedNtag.create("NTAG213")
    reader, device = fake_reader(chip)
    card = reader.wait_for_card(timeout=1)
    message = encode_message(make_credential(card_uid=chip.uid), BASE_URL, NdefForm.EXTERNAL)
    card.write_message(message)
    card.protect_with_password(b"station secret")
    cfg = chip.product.cfg * 4
    assert chip.memory[cfg + 3] == 3  # AUTH0: from page 3
    assert bytes(chip.memory[cfg + 8 : cfg + 14]) == card_password(b"station secret", chip.uid)
    device.present(chip)
    fresh = reader.wait_for_card(timeout=1)
    assert fresh.read_message() == message  # phones still read it
    with pytest.raises(CardReadOnly, match="password"):
        fresh.write_message(bytes(20))
    with pytest.raises(CardReadOnly, match="refused the password"):
        fresh.authenticate(b"a wrong secret")
    device.present(chip)
    fresh = reader.wait_for_card(timeout=1)
    fresh.authenticate(b"station secret")
    fresh.write_message(message[:-1] + b"\x00")
    assert chip.user_data()[1] == len(message)


def test_the_password_differs_from_card_to_card() -> None:
    assert card_password(b"secret", bytes(7)) != card_password(b"secret", bytes(6) + b"\x01")
    assert len(card_password(b"secret", bytes(7))) == 6


def test_waiting_with_no_card_gives_up_in_time(fake_reader: Build) -> None:
    reader, _ = fake_reader()
    with pytest.raises(NoCard) as caught:
        reader.wait_for_card(timeout=0.3)
    assert "0.3" in caught.value.message_zh


def test_a_random_single_size_uid_is_flagged_and_a_seven_byte_one_is_not(fake_reader: Build) -> None:
    reader, _ = fake_reader(SimulatedNtag.create("NTAG213", uid=bytes.fromhex("08a1b2c3")))
    assert reader.wait_for_card(timeout=1).uid_is_random  # ISO/IEC 14443-3: 08h = random NUID
    reader, _ = fake_reader(SimulatedNtag.create("NTAG213"))
    assert not reader.wait_for_card(timeout=1).uid_is_random


def test_waiting_for_removal_sees_a_card_that_stays_and_one_that_goes() -> None:
    from tests.nfc.ntag import frontend_with

    chip = SimulatedNtag.create("NTAG213")
    device = FakeDevice(chip, auto_lift=False)
    reader = Reader(frontend_with(device), "fake", ("106A",))
    card = reader.wait_for_card(timeout=1)
    assert reader.wait_for_removal(card, timeout=0.2) is False
    chip.in_field = False
    assert reader.wait_for_removal(card, timeout=0.2) is True
