"""The dynamic code in verify.js (Chromium): the holder proof rule's case table
(tests/vectors/holder-proof-rules.json, which test_holder_rules.py runs against the library) and
the presentation vectors (tests/vectors/presentation.json, which test_credential_presentation.py
runs through the offline verifier), so the page and the library cannot drift."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.vectors import DIRECTORY
from tests.verifier.test_page_verify import static_site  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser
RULES: dict[str, Any] = json.loads((DIRECTORY / "holder-proof-rules.json").read_text("utf-8"))
VECTOR: dict[str, Any] = json.loads((DIRECTORY / "presentation.json").read_text("utf-8"))

RULE = """(cases) => cases.map((c) => {
  const judged = AnxinmaVerify.holderRule(c.base, c.holder_bound, c.proof, c.age);
  return judged ? [judged.status, judged.reason.key] : [c.base, null];
})"""

#: Each vector case as the page reads it: text or bytes → decodeCode → the proof judged on a
#: credential whose own verdict is valid (the vectors' premise), at the case's time.
VECTORS = """async (vector) => {
  const V = AnxinmaVerify, out = [];
  const shown = V.decodeCode(V.fromHex(vector.presentation_hex));
  const checks = {
    credential: V.hex(shown.bytes) === vector.credential,
    proofInput: V.hex(V.proofInput(shown.bytes, vector.time)) === vector.proof_input_hex,
    time: shown.presentation.time === vector.time,
    window: [V.PROOF_MAX_AGE, V.PROOF_MAX_AHEAD],
  };
  for (const c of vector.cases) {
    let cred;
    try {
      cred = V.decodeCode(c.text !== undefined ? V.parseText(c.text) : V.fromHex(c.hex));
    } catch (err) {
      if (!(err instanceof V.Refused)) throw err;
      out.push(["malformed", "malformed"]);
      continue;
    }
    const result = await V.withHolderProof({ status: "valid", reasons: [] }, cred, c.verify_at);
    out.push([result.status, result.reasons.length ? result.reasons[0].key : null]);
  }
  return { checks, out };
}"""


def test_every_rule_case_gives_the_python_verdict(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
) -> None:
    page = browser_context().new_page()
    page.goto(static_site)
    results = page.evaluate(RULE, RULES["cases"])
    wrong = [
        (case["name"], got)
        for case, got in zip(RULES["cases"], results, strict=True)
        if got != [case["status"], case["reason"]]
    ]
    assert not wrong


def test_every_presentation_vector_gets_its_verdict_in_the_page(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
) -> None:
    page = browser_context().new_page()
    page.goto(static_site)
    got = page.evaluate(VECTORS, VECTOR)
    assert got["checks"] == {
        "credential": True,
        "proofInput": True,
        "time": True,
        "window": [RULES["max_age_seconds"], RULES["max_ahead_seconds"]],
    }
    wrong = [
        (case["name"], result)
        for case, result in zip(VECTOR["cases"], got["out"], strict=True)
        if result[0] != case["status"] or (case["reason"] is not None and result[1] != case["reason"])
    ]
    assert not wrong
