"""Shared by the check-in tests: cards carrying credentials the live issuer bound to them, a
bundle synced from it, and what the issuer's own database kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from anxinma import credential as fmt
from anxinma.ndef import NdefForm, encode_message
from tests.nfc.emulator import EmulatedCard, attribute_block


def carrying(card: EmulatedCard, message: bytes) -> EmulatedCard:
    """``card`` as the station leaves it: the NDEF message in its data blocks, the length in its
    attribute block (what a write over the radio produces, tests/nfc/test_reader_udp.py)."""
    blocks = len(card.memory) // 16 - 1
    data = message + bytes(-len(message) % 16)
    card.memory[:] = attribute_block(blocks, len(message)) + data + bytes(16 * blocks - len(data))
    return card


def issued_card(
    issuer: Any, number: int, enterprise_id: int, *, name: str = "李小霞"
) -> tuple[EmulatedCard, dict[str, Any]]:
    """A new worker of ``enterprise_id`` and a card with their credential, bound to the card."""
    card = EmulatedCard.blank(number)
    worker = issuer.worker(enterprise_id, name=name)
    answer = issuer.credential(int(worker["id"]), card_uid=card.idm.hex())
    credential = fmt.decode(bytes.fromhex(answer["hex"]))
    return carrying(card, encode_message(credential, issuer.url, NdefForm.BOTH)), answer


def copy_of(original: EmulatedCard, number: int) -> EmulatedCard:
    """A cloner's copy: every block of ``original`` on a card with another IDm."""
    copy = EmulatedCard.blank(number)
    copy.memory[:] = original.memory
    return copy


def sync_bundle(issuer: Any, directory: Path) -> Path:
    """A real bundle of the running issuer (its root pinned), as ``anxinma verifier sync`` makes."""
    from anxinma.verifier.sync import sync

    sync(issuer.url, directory, root_key=issuer.root_public_key)
    return directory


def check_ins_at(issuer: Any) -> list[tuple[int, str, str]]:
    """(worker, month, card UID) of every check-in the issuer's database holds, in id order."""
    from anxinma.issuer.store.models import CheckIn

    with issuer.runtime.store.read() as session:
        return [
            (row.worker_id, row.month, row.card_uid)
            for row in session.execute(select(CheckIn).order_by(CheckIn.id)).scalars()
        ]
