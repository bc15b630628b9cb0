"""pycose, an independent COSE implementation, verifies every test vector (docs/format.md §9).

pycose 1.1 needs cbor2 < 6 while the project uses current cbor2, so pycose runs in its own
virtualenv, ``.interop-venv``, which scripts/test creates; this test talks to it through a
subprocess and never imports pycose here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import cbor2
import pytest

from anxinma import ed25519
from tests.vectors import CREDENTIAL_VECTORS

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
INTEROP_PYTHON = ROOT / ".interop-venv" / "bin" / "python"
SCRIPT = ROOT / "tests" / "interop" / "pycose_verify.py"
POSITIVE = CREDENTIAL_VECTORS  # the credential vectors, not the other formats' files beside them


def pycose_verdicts(cases: list[dict[str, str]]) -> dict[str, Any]:
    if not INTEROP_PYTHON.exists():
        pytest.fail(f"{INTEROP_PYTHON} is missing: `bash scripts/test` creates it (pycose 1.1, cbor2 < 6)")
    run = subprocess.run(
        [str(INTEROP_PYTHON), str(SCRIPT)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    output: dict[str, Any] = json.loads(run.stdout)
    return output


def credential_in_presentation(data: bytes) -> bytes:
    """The credential inside a dynamic code, cut out by cbor2 (not by anxinma): the first member
    of the array of three, written again in deterministic CBOR (docs/format.md §12)."""
    members = cbor2.loads(data)
    assert isinstance(members, list) and len(members) == 3
    return cbor2.dumps(members[0], canonical=True)


@pytest.fixture(scope="module")
def verdicts() -> dict[str, Any]:
    cases = []
    for path in POSITIVE:
        vector = json.loads(path.read_text("utf-8"))
        raw = bytes.fromhex(vector["credential_hex"])
        public = vector["issuer_public_key"]
        name = vector["name"]
        cases.append({"name": name, "hex": raw.hex(), "public_key": public})
        in_payload = bytearray(raw)
        in_payload[20] ^= 0x01  # inside the claims: the issuer code
        cases.append({"name": f"{name}/tampered-claims", "hex": in_payload.hex(), "public_key": public})
        in_signature = bytearray(raw)
        in_signature[-1] ^= 0x80
        cases.append({"name": f"{name}/tampered-signature", "hex": in_signature.hex(), "public_key": public})
        other = ed25519.SigningKey(bytes(32)).public_key.hex()
        cases.append({"name": f"{name}/other-key", "hex": raw.hex(), "public_key": other})
    presentation = json.loads((VECTORS / "presentation.json").read_text("utf-8"))
    inner = credential_in_presentation(bytes.fromhex(presentation["presentation_hex"]))
    public = presentation["issuer_public_key"]
    cases.append({"name": "presentation/credential", "hex": inner.hex(), "public_key": public})
    output = pycose_verdicts(cases)
    output["by_name"] = {r["name"]: r for r in output["results"]}
    return output


def test_the_interop_venv_holds_pycose_1_1_on_cbor2_5(verdicts: dict[str, Any]) -> None:
    assert verdicts["pycose"].startswith("1.1.")
    assert int(verdicts["cbor2"].split(".")[0]) < 6


@pytest.mark.parametrize("path", POSITIVE, ids=[p.stem for p in POSITIVE])
def test_pycose_verifies_the_vector_with_the_issuer_public_key(path: Path, verdicts: dict[str, Any]) -> None:
    vector = json.loads(path.read_text("utf-8"))
    result = verdicts["by_name"][vector["name"]]
    assert result["error"] is None
    assert result["verified"] is True
    assert result["alg"] == "EDDSA"
    assert result["kid"] == vector["kid"]


@pytest.mark.parametrize("path", POSITIVE, ids=[p.stem for p in POSITIVE])
def test_pycose_refuses_the_vector_tampered_or_under_another_key(
    path: Path, verdicts: dict[str, Any]
) -> None:
    name = json.loads(path.read_text("utf-8"))["name"]
    for variant in ("tampered-claims", "tampered-signature", "other-key"):
        assert verdicts["by_name"][f"{name}/{variant}"]["verified"] is False, variant


def test_pycose_verifies_the_credential_inside_the_dynamic_code(verdicts: dict[str, Any]) -> None:
    presentation = json.loads((VECTORS / "presentation.json").read_text("utf-8"))
    inner = credential_in_presentation(bytes.fromhex(presentation["presentation_hex"]))
    assert inner.hex() == presentation["credential"]  # cbor2 finds the very bytes anxinma signs over
    result = verdicts["by_name"]["presentation/credential"]
    assert result["error"] is None and result["verified"] is True and result["alg"] == "EDDSA"
