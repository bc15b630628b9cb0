"""Reading and writing over nfcpy's udp driver: a real ContactlessFrontend against emulated Type 3 cards."""

from __future__ import annotations

import pytest

from anxinma.errors import CardReadOnly, CardRemoved, CardTooSmall, CardUnsupported
from anxinma.ndef import NdefForm, encode_message
from anxinma.nfc.reader import Reader
from tests.nfc.credentials import BASE_URL, make_credential
from tests.nfc.emulator import CardEmulator, EmulatedCard


def test_a_card_is_read_written_and_read_back_over_the_radio() -> None:
    blank = EmulatedCard.blank(1)
    with CardEmulator([blank]) as emulator, Reader.open(emulator.path) as reader:
        card = reader.wait_for_card(timeout=3)
        assert card.uid == blank.idm and card.tag_type == "Type3Tag"
        assert card.ndef_info().capacity == 64 * 16 and card.read_message() == b""
        message = encode_message(make_credential(card_uid=card.uid), BASE_URL, NdefForm.BOTH)
        card.write_message(message)
        assert blank.message() == message and not blank.write_pending


def test_the_next_card_is_found_after_the_first_is_taken_away() -> None:
    first, second = EmulatedCard.blank(1), EmulatedCard.blank(2)
    with CardEmulator([first, second]) as emulator, Reader.open(emulator.path) as reader:
        card = reader.wait_for_card(timeout=3)
        card.write_message(b"\xd0\x00\x00")  # an empty record
        assert reader.wait_for_removal(card, timeout=3)
        assert reader.wait_for_card(timeout=3).uid == second.idm
        assert emulator.lifted == [first]


def test_a_card_pulled_mid_write_is_removed_and_left_marked_incomplete() -> None:
    torn = EmulatedCard.blank(1, pull_after_writes=3)
    with CardEmulator([torn]) as emulator, Reader.open(emulator.path) as reader:
        card = reader.wait_for_card(timeout=3)
        message = encode_message(make_credential(card_uid=card.uid), BASE_URL, NdefForm.BOTH)
        with pytest.raises(CardRemoved):
            card.write_message(message)
        assert torn.write_pending  # Type 3 WriteF flag: readers know the data is incomplete
        emulator.present(torn)
        again = reader.wait_for_card(timeout=3)
        assert not again.ndef_info().readable
        again.write_message(message)
        assert torn.message() == message and not torn.write_pending


def test_a_read_only_card_refuses_a_write() -> None:
    with (
        CardEmulator([EmulatedCard.blank(1, writable=False)]) as emulator,
        Reader.open(emulator.path) as reader,
    ):
        card = reader.wait_for_card(timeout=3)
        with pytest.raises(CardReadOnly):
            card.write_message(b"\xd0\x00\x00")


def test_a_small_card_is_too_small_for_both_records() -> None:
    with CardEmulator([EmulatedCard.blank(1, blocks=13)]) as emulator, Reader.open(emulator.path) as reader:
        card = reader.wait_for_card(timeout=3)
        with pytest.raises(CardTooSmall):
            card.write_message(encode_message(make_credential(card_uid=card.uid), BASE_URL, NdefForm.BOTH))


def test_a_generic_type3_card_cannot_be_locked_and_says_so() -> None:
    with CardEmulator([EmulatedCard.blank(1)]) as emulator, Reader.open(emulator.path) as reader:
        card = reader.wait_for_card(timeout=3)
        assert not card.can_lock
        with pytest.raises(CardUnsupported, match="NTAG21x"):
            card.lock()
