"""Issuing credentials through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime

import jwt
import zxingcpp
from PIL import Image

from anxinma import credential as fmt
from anxinma.keys import TrustList
from anxinma.ndef import decode_message
from anxinma.status_list import load_status_list
from anxinma.verifier import Status, Verifier
from tests.conftest import LiveIssuer


def _verifier(issuer: LiveIssuer) -> Verifier:
    trust = TrustList.load(issuer.trust_list(), issuer.root_public_key, now=datetime.now(UTC))

    def key_for(code: int, kid: bytes) -> bytes | None:
        found = trust.issuer(code)
        key = found.keys.get(kid) if found else None
        return key.public_key if key else None

    status = load_status_list(issuer.status_list(0), key_for)
    return Verifier(trust, status_lists={(status.issuer_code, 0): status}, require_status=True)


def test_issued_credential_verifies_offline_and_its_forms_agree(issuer_on: LiveIssuer) -> None:
    issued = issuer_on.credential(card_uid="04A1B2C3D4E5F6")
    assert set(issued) >= {
        "serial",
        "code",
        "hex",
        "ndef_hex",
        "qr_url",
        "kid",
        "issued_at",
        "expires_at",
        "card_uid",
        "replaced_serial",
    }
    assert issued["card_uid"] == "04a1b2c3d4e5f6"
    cred = fmt.decode_text(str(issued["code"]))
    assert cred.to_hex() == issued["hex"]
    assert decode_message(bytes.fromhex(str(issued["ndef_hex"]))) == cred.to_bytes()
    assert cred.claims.serial == issued["serial"] and cred.claims.display_name == "李*霞"
    result = _verifier(issuer_on).verify(str(issued["code"]), card_uid=bytes.fromhex("04a1b2c3d4e5f6"))
    assert result.status is Status.VALID, result.reasons
    png = issuer_on.api("GET", f"/api/v1/credentials/{issued['serial']}/qr.png")
    assert png.headers["Content-Type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert fmt.parse_text(decoded[0].text) == cred.to_bytes()


def test_reissuing_revokes_the_replaced_credential_in_the_same_transaction(issuer_on: LiveIssuer) -> None:
    first = issuer_on.credential()
    second = issuer_on.credential(int(first["worker_id"]))  # type: ignore[call-overload]
    assert second["replaced_serial"] == first["serial"]
    old = issuer_on.api("GET", f"/api/v1/credentials/{first['serial']}").json()
    assert old["status"] == "revoked" and old["revocation"]["reason"] == "replaced"
    assert old["replaced_by"] == second["serial"]
    result = _verifier(issuer_on).verify(str(first["code"]))
    assert result.status is Status.REVOKED
    assert _verifier(issuer_on).verify(str(second["code"])).status is Status.VALID


def test_concurrent_issuing_allocates_distinct_gapless_serials(issuer_on: LiveIssuer) -> None:
    enterprise = int(issuer_on.enterprise()["id"])  # type: ignore[call-overload]
    workers = [int(issuer_on.worker(enterprise)["id"]) for _ in range(12)]  # type: ignore[call-overload]
    serials: list[int] = []
    errors: list[str] = []

    def issue(worker_id: int) -> None:
        response = issuer_on.api("POST", f"/api/v1/workers/{worker_id}/credentials", json={})
        if response.status_code == 201:
            serials.append(int(response.json()["serial"]))
        else:
            errors.append(response.text)

    threads = [threading.Thread(target=issue, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(serials) == list(range(min(serials), min(serials) + len(workers)))


def test_idempotency_key_replays_the_first_issue(issuer_on: LiveIssuer) -> None:
    worker = int(issuer_on.worker()["id"])  # type: ignore[call-overload]
    headers = {"Idempotency-Key": "batch-7-row-3"}
    first = issuer_on.api("POST", f"/api/v1/workers/{worker}/credentials", json={}, headers=headers)
    again = issuer_on.api("POST", f"/api/v1/workers/{worker}/credentials", json={}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["serial"] == first.json()["serial"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = issuer_on.api(
        "POST", f"/api/v1/workers/{worker}/credentials", json={"card_uid": "04aabbccdd"}, headers=headers
    )
    assert other.status_code == 409
    current = issuer_on.api("GET", f"/api/v1/workers/{worker}").json()
    assert current["credential"]["serial"] == first.json()["serial"]


def test_live_record_is_signed_and_only_for_the_presented_credential(live_issuer: LiveIssuer) -> None:
    issued = live_issuer.credential()
    response = live_issuer.api("POST", "/api/v1/live", token="", json={"code": issued["code"]})
    assert response.status_code == 200
    token = response.json()["token"]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "anxinma-live+jwt" and header["kid"] == issued["kid"]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(live_issuer.runtime.keys.key(str(header["kid"])).public_key)
    claims = jwt.decode(token, key, algorithms=["EdDSA"])
    assert claims["serial"] == issued["serial"] and claims["status"] == "valid"
    assert claims["categories"] == ["保洁", "育婴"]
    assert "id_number" not in str(claims) and "phone" not in claims
    forged = bytearray(bytes.fromhex(str(issued["hex"])))
    forged[-1] ^= 1
    assert live_issuer.api("POST", "/api/v1/live", token="", json={"code": forged.hex()}).status_code == 404
    assert live_issuer.api("POST", "/api/v1/live", token="", json={"code": "hello"}).status_code == 400


def test_discovery_document_has_absolute_urls_that_answer(live_issuer: LiveIssuer) -> None:
    document = live_issuer.api("GET", "/.well-known/anxinma", token="").json()
    assert document["issuer_code"] == live_issuer.runtime.service.issuer_code
    for name in ("trust_list", "jwks", "live_record"):
        assert str(document[name]).startswith(live_issuer.url + "/")
    live_issuer.credential()
    document = live_issuer.api("GET", "/.well-known/anxinma", token="").json()
    status_url = document["status_lists"][0]
    import requests

    first = requests.get(status_url, timeout=10)
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("application/statuslist+jwt")
    again = requests.get(status_url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert again.status_code == 304
    jwks = requests.get(document["jwks"], timeout=10).json()
    assert jwks["keys"][0]["kty"] == "OKP"


def test_concurrent_repeats_of_one_idempotency_key_issue_once(issuer_on: LiveIssuer) -> None:
    worker = int(issuer_on.worker()["id"])  # type: ignore[call-overload]
    results: list[tuple[int, int]] = []

    def issue() -> None:
        response = issuer_on.api(
            "POST",
            f"/api/v1/workers/{worker}/credentials",
            json={},
            headers={"Idempotency-Key": "station-3-card-17"},
        )
        results.append((response.status_code, int(response.json().get("serial", -1))))

    threads = [threading.Thread(target=issue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in results} == {201}
    assert len({serial for _, serial in results}) == 1
    from sqlalchemy import func, select

    from anxinma.issuer.store.models import Credential

    with issuer_on.runtime.store.read() as session:
        assert session.execute(select(func.count()).where(Credential.worker_id == worker)).scalar() == 1
