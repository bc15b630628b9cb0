"""The dynamic code (docs/format.md §12) against its test vectors: exact bytes, text forms, the
first byte that tells it from a credential, and the verdicts of tests/vectors/presentation.json
through the offline verifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.errors import MalformedCredential
from anxinma.keys.store import KeyStatus
from anxinma.keys.trust_list import TrustedIssuer, TrustedKey, TrustList
from anxinma.verifier import OfflineVerifier, Status
from tests.vectors import CREDENTIAL_VECTORS, DIRECTORY, generate_presentation

VECTOR: dict[str, Any] = json.loads((DIRECTORY / "presentation.json").read_text("utf-8"))
HOLDER_KEY_VECTOR: dict[str, Any] = json.loads((DIRECTORY / "holder-key.json").read_text("utf-8"))


def test_the_committed_vector_is_what_the_generator_makes() -> None:
    assert (DIRECTORY / "presentation.json").read_text("utf-8") == generate_presentation.render(
        generate_presentation.build()
    )


def test_the_presentation_vector_is_not_read_as_a_credential_vector() -> None:
    assert DIRECTORY / "presentation.json" not in CREDENTIAL_VECTORS
    assert VECTOR["credential"] == HOLDER_KEY_VECTOR["credential_hex"]


def test_presenting_the_holder_key_vector_gives_the_vector_bytes() -> None:
    cred = fmt.decode(bytes.fromhex(VECTOR["credential"]))
    holder = ed25519.SigningKey(bytes.fromhex(VECTOR["holder_seed"]))
    shown = fmt.present(cred, holder, VECTOR["time"])
    assert shown.to_hex() == VECTOR["presentation_hex"]
    assert shown.signed_bytes().hex() == VECTOR["proof_input_hex"]
    assert shown.proof.hex() == VECTOR["proof_hex"]
    assert len(shown.raw) == VECTOR["size"] == len(cred.raw) + fmt.PRESENTATION_OVERHEAD
    assert shown.to_decimal() == VECTOR["decimal"]
    assert shown.to_url("https://v.anxinma.gov.cn") == VECTOR["url"]
    assert shown.qr_text("https://v.anxinma.gov.cn") == VECTOR["qr_text"]
    assert shown.proof_verifies()
    assert VECTOR["qr_version_m"] <= 12


def test_the_proof_input_is_the_context_the_credential_bytes_and_the_time() -> None:
    raw = bytes.fromhex(VECTOR["credential"])
    expected = (
        b"\x83\x77"
        + b"anxinma-presentation-v1"
        + b"\x58"
        + bytes((len(raw),))
        + raw
        + b"\x1a"
        + VECTOR["time"].to_bytes(4, "big")
    )
    assert fmt.proof_input(raw, VECTOR["time"]) == expected


@pytest.mark.parametrize("form", ["presentation_hex", "decimal", "url", "qr_text"])
def test_every_text_form_reads_back_to_the_presentation(form: str) -> None:
    data = fmt.parse_text(VECTOR[form])
    assert data.hex() == VECTOR["presentation_hex"]
    shown = fmt.decode_presentation(data)
    assert shown.credential.raw.hex() == VECTOR["credential"] and shown.time == VECTOR["time"]


def test_the_first_byte_tells_a_presentation_from_a_credential() -> None:
    shown = bytes.fromhex(VECTOR["presentation_hex"])
    raw = bytes.fromhex(VECTOR["credential"])
    assert fmt.is_presentation(shown) and not fmt.is_presentation(raw)
    with pytest.raises(MalformedCredential, match="dynamic code"):
        fmt.decode(shown)
    with pytest.raises(MalformedCredential, match="not a dynamic code"):
        fmt.decode_presentation(raw)
    assert fmt.to_decimal(raw).startswith("372") and not fmt.to_decimal(shown).startswith("372")
    assert shown.hex().startswith("83") and raw.hex().startswith("84")


@given(st.binary(min_size=1, max_size=400))
def test_no_input_is_both_a_credential_and_a_presentation(data: bytes) -> None:
    readers = 0
    for reader in (fmt.decode, fmt.decode_presentation):
        try:
            reader(data)
            readers += 1
        except MalformedCredential:
            pass
    assert readers <= 1


@given(st.integers(min_value=0, max_value=233))
def test_a_truncated_presentation_is_refused(cut: int) -> None:
    with pytest.raises(MalformedCredential):
        fmt.decode_presentation(bytes.fromhex(VECTOR["presentation_hex"])[:cut])


def test_present_refuses_a_card_credential_and_another_key() -> None:
    cred = fmt.decode(bytes.fromhex(VECTOR["credential"]))
    card = fmt.sign(fmt.Claims.from_mapping(generate_presentation.TYPICAL), ed25519.SigningKey(bytes(32)))
    holder = ed25519.SigningKey(bytes.fromhex(VECTOR["holder_seed"]))
    with pytest.raises(ValueError, match="no holder key"):
        fmt.present(card, holder, VECTOR["time"])
    with pytest.raises(ValueError, match="not the holder key"):
        fmt.present(cred, ed25519.SigningKey(bytes.fromhex(VECTOR["other_holder_seed"])), VECTOR["time"])
    with pytest.raises(ValueError, match="whole seconds"):
        fmt.present(cred, holder, 5)


def vector_verifier(at: int) -> OfflineVerifier:
    """A verifier that trusts the vector issuer key, with no status list: a genuine credential
    in its validity is ``valid`` (as the vector's verdicts assume)."""
    public = bytes.fromhex(VECTOR["issuer_public_key"])
    kid = fmt.derive_kid(public)
    now = datetime.fromtimestamp(at, UTC)
    trust = TrustList(
        sequence=1,
        issued_at=now - timedelta(days=1),
        expires_at=now + timedelta(days=30),
        issuers={
            330200: TrustedIssuer(
                330200,
                "宁波市商务局",
                "https://v.anxinma.gov.cn",
                {kid: TrustedKey(kid, public, KeyStatus.ACTIVE, None)},
            )
        },
        token="",
    )
    return OfflineVerifier(trust, clock=lambda: now)


@pytest.mark.parametrize("case", VECTOR["cases"], ids=[c["name"] for c in VECTOR["cases"]])
def test_the_vector_cases_get_their_verdicts(case: dict[str, Any]) -> None:
    code: str | bytes = case["text"] if "text" in case else bytes.fromhex(case["hex"])
    result = vector_verifier(case["verify_at"]).verify(code)
    assert result.status.value == case["status"]
    if case["reason"] is not None:
        assert result.to_json()["reason_keys"][0]["key"] == case["reason"]


def test_the_new_statuses_are_stable_names_and_not_genuine() -> None:
    for status in (Status.HOLDER_PROOF_MISSING, Status.HOLDER_PROOF_EXPIRED, Status.BAD_HOLDER_PROOF):
        assert status.value == status.name.lower()
        assert not status.genuine and status.label_zh and status.label_en


def test_the_c_readers_leave_the_presentation_to_its_own_reader() -> None:
    """The optional C readers (anxinma/credential/_speedups.c) decode the digits of either form
    and never take a presentation for a credential."""
    speedups = pytest.importorskip("anxinma.credential._speedups")
    shown = bytes.fromhex(VECTOR["presentation_hex"])
    assert speedups.decimal_to_bytes(VECTOR["decimal"]) == shown
    assert speedups.credential_fields(shown) is None
    assert speedups.credential_fields(bytes.fromhex(VECTOR["credential"])) is not None
