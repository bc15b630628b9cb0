"""The live record's fields from its one prebuilt statement (store/db.py HotQuery), on SQLite and
PostgreSQL: the types the drivers give back (SQLite: dates and timestamps as text) and the
trainings aggregated into one column come out as the record always said them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import jwt

from tests.conftest import LiveIssuer


def _claims(issuer: LiveIssuer, code: object) -> dict[str, Any]:
    response = issuer.api("POST", "/api/v1/live", token="", json={"code": code})
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    kid = jwt.get_unverified_header(token)["kid"]
    key = Ed25519PublicKey.from_public_bytes(issuer.runtime.keys.key(str(kid)).public_key)
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["EdDSA"])
    return claims


def test_live_record_fields_and_trainings(issuer_on: LiveIssuer) -> None:
    today = date.today()
    worker = issuer_on.worker(
        trainings=[
            {"name": "母婴护理（高级）", "issued_on": "2025-03-01"},
            {"name": "保洁 A", "issued_on": "2024-01-05"},
            {"name": "收纳", "issued_on": "2025-11-20", "institution": "宁波职校"},
        ],
        health_certificate_valid_until=(today - timedelta(days=1)).isoformat(),
    )
    issued = issuer_on.credential(int(worker["id"]))  # type: ignore[call-overload]
    claims = _claims(issuer_on, issued["code"])
    assert claims["training"] == [
        {"name": "保洁 A", "issued_on": "2024-01-05"},
        {"name": "母婴护理（高级）", "issued_on": "2025-03-01"},
        {"name": "收纳", "issued_on": "2025-11-20"},
    ]
    assert claims["health_certificate"] == {
        "valid_until": (today - timedelta(days=1)).isoformat(),
        "valid": False,
    }
    assert claims["insurance"]["valid"] is True and claims["status"] == "attention"
    assert claims["expires_on"] > today.isoformat() and claims["rating"] == {
        "count": 0,
        "average": None,
        "verified_count": 0,
    }
    assert claims["revocation"] is None and claims["display_name"] == "李*霞"

    serial = issued["serial"]
    revoked = issuer_on.api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "lost"})
    assert revoked.status_code == 200
    after = _claims(issuer_on, issued["code"])
    assert after["status"] == "revoked" and after["revocation"]["reason"] == "lost"
    at = datetime.fromisoformat(after["revocation"]["at"])
    assert at.utcoffset() == timedelta(0) and abs(at.timestamp() - after["iat"]) < 120


def test_a_worker_without_trainings_and_a_name_holding_a_separator(issuer_on: LiveIssuer) -> None:
    bare = issuer_on.credential()
    assert _claims(issuer_on, bare["code"])["training"] == []
    odd = issuer_on.worker(
        trainings=[
            {"name": "a\x1eb\x1fc", "issued_on": "2025-01-02"},
            {"name": "d", "issued_on": "2024-01-02"},
        ]
    )
    issued = issuer_on.credential(int(odd["id"]))  # type: ignore[call-overload]
    assert _claims(issuer_on, issued["code"])["training"] == [
        {"name": "d", "issued_on": "2024-01-02"},
        {"name": "a\x1eb\x1fc", "issued_on": "2025-01-02"},
    ]
