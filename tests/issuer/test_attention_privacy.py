"""The yellow's privacy (issue 17, finding 7; decided in docs/interfaces.md): attention stays in the
public status list because all it says is "a health certificate or an insurance has lapsed",
never which, nor since when; that is for the live record, which answers only a caller that
presents the credential itself."""

from __future__ import annotations

from datetime import date, timedelta

import jwt
import requests

from anxinma.keys import TrustList
from anxinma.status_list import CredentialStatus, load_compact_status_list, load_status_list
from tests.conftest import LiveIssuer


def test_the_public_list_does_not_say_which_cover_lapsed_but_the_live_record_does(
    live_issuer: LiveIssuer,
) -> None:
    past = (date.today() - timedelta(days=5)).isoformat()
    lapsed = {
        "health_certificate": live_issuer.worker(health_certificate_valid_until=past),
        "insurance": live_issuer.worker(insurance_valid_until=past),
    }
    issued = {item: live_issuer.credential(int(w["id"])) for item, w in lapsed.items()}  # type: ignore[call-overload]
    fine = live_issuer.credential()
    trust = TrustList.load(live_issuer.trust_list(), live_issuer.root_public_key)

    def key_for(issuer_code: int, kid: bytes) -> bytes | None:
        found = trust.issuer(issuer_code)
        key = found.keys.get(kid) if found else None
        return key.public_key if key else None

    code = live_issuer.runtime.service.issuer_code
    compact = requests.get(f"{live_issuer.url}/status/{code}/0/compact", timeout=10).content
    standard = requests.get(f"{live_issuer.url}/status/{code}/0", timeout=10).text
    for listed in (load_compact_status_list(compact, key_for), load_status_list(standard, key_for)):
        values = {item: listed.status(int(c["serial"])) for item, c in issued.items()}  # type: ignore[call-overload]
        assert values == {
            "health_certificate": CredentialStatus.ATTENTION,
            "insurance": CredentialStatus.ATTENTION,
        }
        assert listed.status(int(fine["serial"])) is CredentialStatus.VALID  # type: ignore[call-overload]
    for item, credential in issued.items():
        token = live_issuer.api("POST", "/api/v1/live", token="", json={"code": credential["code"]}).json()[
            "token"
        ]
        record = jwt.decode(token, options={"verify_signature": False})
        assert [entry["item"] for entry in record["attention"]] == [item]
