"""NXP's NTAG21x originality signature (AN11350): a published example verifies, forgeries do not."""

from __future__ import annotations

from collections.abc import Callable

from anxinma.nfc.originality import OriginalityStatus, check_ntag21x
from anxinma.nfc.reader import Reader
from tests.nfc.emulator import CardEmulator, EmulatedCard
from tests.nfc.ntag import GENUINE_SIGNATURE, GENUINE_UID, FakeDevice, SimulatedNtag


def test_the_published_ntag21x_example_verifies_under_nxps_key() -> None:
    assert check_ntag21x(GENUINE_UID, GENUINE_SIGNATURE).status is OriginalityStatus.GENUINE


def test_a_signature_copied_to_a_chip_with_another_uid_is_not_genuine() -> None:
    clone_uid = GENUINE_UID[:6] + bytes([GENUINE_UID[6] ^ 0x01])
    result = check_ntag21x(clone_uid, GENUINE_SIGNATURE)
    assert result.status is OriginalityStatus.NOT_GENUINE
    assert "clone" in result.reason


def test_a_tampered_signature_is_not_genuine() -> None:
    tampered = bytes([GENUINE_SIGNATURE[0] ^ 0x80]) + GENUINE_SIGNATURE[1:]
    assert check_ntag21x(GENUINE_UID, tampered).status is OriginalityStatus.NOT_GENUINE


def test_all_zero_or_missing_signatures_are_unreadable() -> None:
    assert check_ntag21x(GENUINE_UID, bytes(32)).status is OriginalityStatus.UNREADABLE
    assert check_ntag21x(GENUINE_UID, None).status is OriginalityStatus.UNREADABLE
    assert check_ntag21x(GENUINE_UID, GENUINE_SIGNATURE[:16]).status is OriginalityStatus.UNREADABLE


def test_read_sig_is_sent_to_an_ntag213_and_checked(
    fake_reader: Callable[..., tuple[Reader, FakeDevice]],
) -> None:
    card = SimulatedNtag.create("NTAG213")
    reader, _ = fake_reader(card)
    result = reader.wait_for_card(timeout=1).originality()
    assert result.status is OriginalityStatus.GENUINE
    assert b"\x3c\x00" in card.log


def test_a_clone_ntag215_answering_with_someone_elses_signature_is_caught(
    fake_reader: Callable[..., tuple[Reader, FakeDevice]],
) -> None:
    clone = SimulatedNtag.create("NTAG215", uid=bytes.fromhex("04112233445566"), signature=GENUINE_SIGNATURE)
    reader, _ = fake_reader(clone)
    assert reader.wait_for_card(timeout=1).originality().status is OriginalityStatus.NOT_GENUINE


def test_a_felica_card_has_no_nxp_signature_to_check() -> None:
    with CardEmulator([EmulatedCard.blank(1)]) as emulator, Reader.open(emulator.path) as reader:
        assert reader.wait_for_card(timeout=3).originality().status is OriginalityStatus.UNAVAILABLE
