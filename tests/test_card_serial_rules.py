"""The card-serial rule's case table (tests/vectors/card-serial-rules.json): a chip's serial
number as Web NFC gives it, read as a card UID, and the card binding that follows — against
anxinma.ndef.serial_number_uid, the issuer's phone check-in (which refuses a serial number
with no UID), the offline verifier, and verify.js ``serialNumberUid`` in Chromium (which the
consumer page and static/worker/tap-checkin.js use), so they cannot drift."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from anxinma.issuer.errors import ValidationFailed
from anxinma.issuer.services.checkins import PhoneCheckIn
from anxinma.ndef import serial_number_uid
from tests.vectors import DIRECTORY
from tests.verifier.test_offline import make_issuer
from tests.verifier.test_page_verify import static_site  # noqa: F401  (a fixture)

RULES: dict[str, Any] = json.loads((DIRECTORY / "card-serial-rules.json").read_text("utf-8"))
CASES = RULES["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_python_side_reads_each_serial_number_as_the_table_says(
    case: dict[str, Any], tmp_path: Path
) -> None:
    uid = serial_number_uid(case["serial_number"])
    assert (uid.hex() if uid is not None else None) == case["uid"]
    with pytest.raises(ValidationFailed) as refused:
        PhoneCheckIn.parse({"serial_number": case["serial_number"]})  # the other fields are missing
    assert ("serial_number" in refused.value.fields) == (case["uid"] is None)
    issuer = make_issuer(tmp_path)
    credential = issuer.issue(7, card_uid=bytes.fromhex(RULES["bound_uid"]))
    result = issuer.verifier().verify(credential.to_bytes(), card_uid=uid)
    assert result.card_binding == case["binding"]


JS = """(args) => args.cases.map((c) => {
  const uid = AnxinmaVerify.serialNumberUid(c.serial_number);
  return [uid, uid === null ? "unchecked" : uid === args.bound ? "match" : "mismatch"];
})"""


@pytest.mark.browser
def test_verify_js_reads_each_serial_number_as_the_table_says(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
) -> None:
    page = browser_context().new_page()
    page.goto(static_site)
    seen = page.evaluate(JS, {"cases": CASES, "bound": RULES["bound_uid"]})
    wrong = [(c["name"], s) for c, s in zip(CASES, seen, strict=True) if s != [c["uid"], c["binding"]]]
    assert wrong == []
