"""The byte budget of docs/nfc.md, measured: which forms of which credentials fit which chips.

The tables in docs/nfc.md are generated here from real signed credentials; the test fails when
the document and the measurement disagree (run ``python -m tests.nfc.test_budget`` to print them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ndef
import pytest

from anxinma import credential as fmt
from anxinma.errors import CardTooSmall
from anxinma.ndef import NdefForm, encode_message
from anxinma.nfc.budget import CHIPS, chip, larger_chips_text
from anxinma.nfc.reader import Reader
from tests.nfc.credentials import BASE_URL, make_credential
from tests.nfc.ntag import FakeDevice, SimulatedNtag

DOC = Path(__file__).resolve().parents[2] / "docs" / "nfc.md"
NTAG_UID = bytes.fromhex("04ab87f2ca1190")
FELICA_IDM = bytes.fromhex("02fe000000000001")
HOLDER_KEY = bytes(range(32))

CASES: list[tuple[str, Callable[[], fmt.Credential]]] = [
    ("worker, no card UID", lambda: make_credential()),
    ("worker, NTAG UID (7 B)", lambda: make_credential(card_uid=NTAG_UID)),
    ("worker, FeliCa IDm (8 B)", lambda: make_credential(card_uid=FELICA_IDM)),
    ("worker, 10-byte UID", lambda: make_credential(card_uid=bytes(range(1, 11)))),
    (
        "worker, NTAG UID, province scale¹",
        lambda: make_credential(card_uid=NTAG_UID, serial=1_000_000, enterprise_id=3_000),
    ),
    (
        "worker, NTAG UID, country scale²",
        lambda: make_credential(card_uid=NTAG_UID, serial=9_999_999, enterprise_id=70_000),
    ),
    ("worker, holder key, no UID", lambda: make_credential(holder_key=HOLDER_KEY)),
    ("worker, NTAG UID + holder key", lambda: make_credential(card_uid=NTAG_UID, holder_key=HOLDER_KEY)),
]
FORMS = (NdefForm.EXTERNAL, NdefForm.URI, NdefForm.BOTH)


def sizes(credential: fmt.Credential) -> dict[NdefForm, int]:
    return {form: len(encode_message(credential, BASE_URL, form)) for form in FORMS}


def size_table() -> str:
    lines = [
        "| credential | binary | external | uri | both |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, build in CASES:
        credential = build()
        measured = sizes(credential)
        cells = " | ".join(str(measured[form]) for form in FORMS)
        lines.append(f"| {label} | {len(credential.to_bytes())} | {cells} |")
    return "\n".join(lines)


def fit_table() -> str:
    header = " | ".join(f"{c.name} ({c.capacity()})" for c in CHIPS)
    lines = [f"| credential | {header} |", "| --- |" + " --- |" * len(CHIPS)]
    for label, build in CASES:
        measured = sizes(build())
        cells = []
        for entry in CHIPS:
            fitting = [form.value for form in FORMS if entry.fits(measured[form])]
            cells.append(", ".join(fitting) if fitting else "—")
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def test_docs_carry_the_measured_size_table() -> None:
    table = size_table()
    assert table in DOC.read_text("utf-8"), f"docs/nfc.md is out of date; the measured table is:\n{table}"


def test_docs_carry_the_measured_fit_table() -> None:
    table = fit_table()
    assert table in DOC.read_text("utf-8"), f"docs/nfc.md is out of date; the measured table is:\n{table}"


def test_a_uid_bound_credential_in_an_external_record_fits_ntag213() -> None:
    message = encode_message(make_credential(card_uid=NTAG_UID), BASE_URL, NdefForm.EXTERNAL)
    assert chip("NTAG213").fits(len(message))
    assert not chip("NTAG213").fits(len(message), compact=False)  # it needs the Lock Control TLV's room


def test_the_old_external_type_name_missed_ntag213_by_a_byte() -> None:
    credential = make_credential(card_uid=NTAG_UID)
    old = b"".join(ndef.message_encoder([ndef.Record("urn:nfc:ext:anxinma.cn:c", "", credential.to_bytes())]))
    assert len(old) == chip("NTAG213").capacity() + 1


def test_the_uri_form_of_a_uid_bound_credential_fits_ntag215_with_both_records() -> None:
    measured = sizes(make_credential(card_uid=NTAG_UID))
    assert chip("NTAG215").fits(measured[NdefForm.BOTH])
    assert not chip("NTAG213").fits(measured[NdefForm.URI])


def test_a_factory_ntag213_really_takes_the_uid_bound_external_message(
    fake_reader: Callable[..., tuple[Reader, FakeDevice]],
) -> None:
    card = SimulatedNtag.create("NTAG213")
    reader, _ = fake_reader(card)
    message = encode_message(make_credential(card_uid=card.uid), BASE_URL, NdefForm.EXTERNAL)
    found = reader.wait_for_card(timeout=1)
    assert found.ndef_info().capacity == 137  # factory layout, as nfcpy computes it
    found.write_message(message)
    assert card.user_data()[: 2 + len(message)] == bytes([0x03, len(message)]) + message
    assert found.ndef_info().capacity == chip("NTAG213").capacity()


def test_a_message_one_byte_over_ntag213_is_refused_before_anything_is_written(
    fake_reader: Callable[..., tuple[Reader, FakeDevice]],
) -> None:
    card = SimulatedNtag.create("NTAG213")
    reader, _ = fake_reader(card)
    found = reader.wait_for_card(timeout=1)
    before = card.user_data()
    with pytest.raises(CardTooSmall, match="143 bytes but this NXP NTAG213 holds 142"):
        found.write_message(bytes(143))
    assert card.user_data() == before and card.writes == 0


if __name__ == "__main__":  # pragma: no cover - prints the tables for docs/nfc.md
    print(size_table(), fit_table(), sep="\n\n")


def test_the_larger_card_advice_names_chips_of_the_cards_own_type() -> None:
    """What the reader and the station both tell an operator whose card is too small."""
    assert larger_chips_text(473, "Type2Tag") == "NTAG215/NTAG216"
    assert larger_chips_text(473, "Type4Tag") == "Type 4, 2048-byte NDEF file"
    assert larger_chips_text(100_000, "Type2Tag") == "—"  # none of the table holds it
    assert "NTAG215" in larger_chips_text(473, "Type1Tag")  # a type the table lacks: every chip
