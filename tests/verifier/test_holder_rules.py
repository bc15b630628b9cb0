"""The holder proof rule's case table (tests/vectors/holder-proof-rules.json) against
anxinma.verifier.holder; test_page_holder.py runs the same file through verify.js."""

from __future__ import annotations

import json
from typing import Any

import pytest

from anxinma.verifier import Status
from anxinma.verifier.holder import PROOF_MAX_AGE, PROOF_MAX_AHEAD, Proof, judge_holder_proof
from tests.vectors import DIRECTORY

RULES: dict[str, Any] = json.loads((DIRECTORY / "holder-proof-rules.json").read_text("utf-8"))


def test_the_table_states_the_library_window() -> None:
    assert (RULES["max_age_seconds"], RULES["max_ahead_seconds"]) == (PROOF_MAX_AGE, PROOF_MAX_AHEAD)
    assert PROOF_MAX_AGE <= 120


@pytest.mark.parametrize("case", RULES["cases"], ids=[c["name"] for c in RULES["cases"]])
def test_each_case_gets_its_verdict(case: dict[str, Any]) -> None:
    base = Status(case["base"])
    judged = judge_holder_proof(base, case["holder_bound"], Proof(case["proof"]), case["age"])
    status, reason = (base, None) if judged is None else (judged[0], judged[1].key)
    assert (status.value, reason) == (case["status"], case["reason"])


def test_a_revoked_credential_never_reads_as_anything_but_revoked() -> None:
    for proof in Proof:
        for age in (None, -1000, 0, 1000):
            assert (
                judge_holder_proof(Status.REVOKED, True, proof, age if proof is Proof.GOOD else None) is None
            )
