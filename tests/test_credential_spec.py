"""docs/format.md against the code: its generated tables are current, its CDDL describes the
vectors, and the facts it states in prose match the implementation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import cbor2
import pycddl
import pytest

from anxinma import credential as fmt
from tests.vectors import CREDENTIAL_VECTORS

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "format.md").read_text("utf-8")
VECTORS = ROOT / "tests" / "vectors"
POSITIVE = CREDENTIAL_VECTORS  # the credential vectors, not the other formats' files beside them
NEGATIVE: list[dict[str, Any]] = json.loads((VECTORS / "negative.json").read_text("utf-8"))


def test_the_generated_tables_of_the_format_document_are_current() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "format_tables.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr


def cddl_text() -> str:
    # §2.2 (the credential) and §12.2 (the dynamic code, whose rules name §2.2's): one schema.
    blocks = re.findall(r"```cddl\n(.*?)```", DOC, re.S)
    assert len(blocks) == 2, "docs/format.md has the credential's and the dynamic code's CDDL"
    return "\n".join(blocks)


def schema(rule: str) -> pycddl.Schema:
    """A schema whose first rule is ``rule``. For the envelope, ``bstr .cbor X`` is read as
    ``bstr`` and the embedded items are checked against their own rules: cddl-rs mis-aligns
    ``.cbor`` inside arrays."""
    text = cddl_text()
    if rule in ("anxinma-credential-v1", "anxinma-presentation-v1"):
        text = re.sub(r"bstr \.cbor [\w-]+", "bstr", text)
    return pycddl.Schema(f"start = {rule}\n{text}")


ENVELOPE, PROTECTED, CLAIMS = (schema(r) for r in ("anxinma-credential-v1", "protected-header", "claims"))


def cddl_accepts(data: bytes) -> bool:
    try:
        ENVELOPE.validate_cbor(data)
        outer = cbor2.loads(data)
        PROTECTED.validate_cbor(outer[0])
        CLAIMS.validate_cbor(outer[2])
    except Exception:  # pycddl raises its own ValidationError, or cbor2 on a broken input
        return False
    return True


@pytest.mark.parametrize("path", POSITIVE, ids=[p.stem for p in POSITIVE])
def test_every_vector_matches_the_cddl_of_the_specification(path: Path) -> None:
    assert cddl_accepts(bytes.fromhex(json.loads(path.read_text("utf-8"))["credential_hex"]))


#: Negative vectors whose fault is one of structure, which CDDL states (§2.2); the others break
#: rules CDDL cannot express (deterministic encoding, size, masking, date order: §4).
#: ``mistyped-display-name`` is structural too, but cddl-rs does not apply the base type of
#: ``tstr .size`` (it accepts bytes), so it is left to the decoder's own check.
STRUCTURAL = {
    "empty", "truncated", "not-cbor", "tagged-cose-sign1", "tagged-cwt", "array-of-three",
    "map-not-array", "payload-not-bytes", "unprotected-header-not-empty", "protected-header-not-a-map",
    "unknown-algorithm", "protected-header-extra-member", "kid-wrong-size", "signature-wrong-size",
    "unknown-type", "type-not-integer", "missing-type", "missing-serial", "mistyped-serial",
    "negative-serial", "extra-claim", "registered-claim-not-in-v1", "undefined-category-bit",
    "date-out-of-range", "card-uid-too-short", "holder-key-not-okp", "float-claim-key",
}  # fmt: skip


@pytest.mark.parametrize("case", [c for c in NEGATIVE if c["name"] in STRUCTURAL], ids=lambda c: c["name"])
def test_the_cddl_refuses_every_structurally_broken_vector(case: dict[str, Any]) -> None:
    assert not cddl_accepts(bytes.fromhex(case["hex"]))


def test_the_category_table_of_the_document_is_the_code() -> None:
    rows = re.findall(r"^\| (\d) \| (\d+) \| `(\w+)` \| ([^|]+) \| `(\w+)` \|$", DOC, re.M)
    assert len(rows) == len(fmt.Category)
    for bit, value, member, label, slug in rows:
        category = fmt.Category[member]
        assert (category.bit, 1 << category.bit, category.value) == (int(bit), int(value), slug)
        assert label.startswith(category.zh)


def test_the_claim_table_of_the_document_is_the_code() -> None:
    section = DOC[DOC.index("### 3.1 The claim table") : DOC.index("### 3.2 Credential types")]
    keys = {int(k) for k in re.findall(r"^\| (-?\d+) \| `\w+`", section, re.M)}
    assert keys == {int(k) for k in fmt.ClaimKey}


def test_the_document_states_the_limits_the_code_enforces() -> None:
    assert f"at most {fmt.MAX_CREDENTIAL_BYTES} bytes" in DOC.replace("**", "")
    assert f"day = 0..{fmt.MAX_DAY}" in cddl_text()
    assert "bstr .size 2" in cddl_text() and fmt.KID_SIZE == 2


def test_the_dynamic_code_vector_matches_the_cddl_of_the_specification() -> None:
    vector = json.loads((ROOT / "tests" / "vectors" / "presentation.json").read_text("utf-8"))
    shown = bytes.fromhex(vector["presentation_hex"])
    schema("anxinma-presentation-v1").validate_cbor(shown)
    schema("proof-input").validate_cbor(bytes.fromhex(vector["proof_input_hex"]))
    assert cddl_accepts(bytes.fromhex(vector["credential"]))
    with pytest.raises(Exception):  # noqa: B017 - pycddl raises its own ValidationError
        schema("anxinma-presentation-v1").validate_cbor(bytes.fromhex(vector["credential"]))
