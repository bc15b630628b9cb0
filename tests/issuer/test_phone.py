"""The worker's phone on the issuer's side (issue 18, item 1): phone credentials beside card
credentials, one-time enrolment links, and what each refuses (docs/page.md, "The worker's phone")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import update

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.issuer.services.enrolments import token_hash
from anxinma.issuer.store.models import Enrolment, utcnow
from tests.conftest import LiveIssuer


def _holder() -> ed25519.SigningKey:
    return ed25519.SigningKey.generate()


def phone(
    issuer: LiveIssuer, worker_id: int, key: bytes | str | None = None, **extra: Any
) -> requests.Response:
    holder = key if key is not None else _holder().public_key
    text = holder.hex() if isinstance(holder, bytes) else holder
    return issuer.api("POST", f"/api/v1/workers/{worker_id}/credentials", json={"holder_key": text, **extra})


def status_of(issuer: LiveIssuer, serial: int) -> str:
    return str(issuer.api("GET", f"/api/v1/credentials/{serial}").json()["status"])


def revoke(issuer: LiveIssuer, serial: int, reason: str) -> None:
    answer = issuer.api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": reason})
    assert answer.status_code == 200, answer.text


def test_a_worker_holds_a_card_and_a_phone_credential_at_once(live_issuer: LiveIssuer) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    card = live_issuer.credential(worker)
    holder = _holder()
    answer = phone(live_issuer, worker, holder.public_key)
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    assert issued["replaced_serial"] is None  # the card credential was not replaced
    assert fmt.decode_text(str(issued["code"])).claims.holder_key == holder.public_key
    assert status_of(live_issuer, int(card["serial"])) == "active"  # type: ignore[call-overload]
    # The card credential stays the worker's live credential in the archive.
    shown = live_issuer.api("GET", f"/api/v1/workers/{worker}").json()
    assert shown["credential"]["serial"] == card["serial"]


def test_a_new_phone_replaces_the_old_phone_credential_and_keeps_the_card(live_issuer: LiveIssuer) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    card = int(live_issuer.credential(worker)["serial"])  # type: ignore[call-overload]
    first = phone(live_issuer, worker).json()
    second = phone(live_issuer, worker).json()
    assert second["replaced_serial"] == first["serial"]
    assert status_of(live_issuer, int(first["serial"])) == "revoked"
    assert status_of(live_issuer, card) == "active"
    # …and a new card replaces the card only.
    third = live_issuer.credential(worker)
    assert third["replaced_serial"] == card and status_of(live_issuer, int(second["serial"])) == "active"


def test_a_lost_phone_revokes_only_the_phone_credential(live_issuer: LiveIssuer) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    card = int(live_issuer.credential(worker)["serial"])  # type: ignore[call-overload]
    mobile = int(phone(live_issuer, worker).json()["serial"])
    revoke(live_issuer, mobile, "lost")
    assert (status_of(live_issuer, mobile), status_of(live_issuer, card)) == ("revoked", "active")


@pytest.mark.parametrize("from_phone", [False, True])
def test_a_worker_who_left_loses_both_credentials(live_issuer: LiveIssuer, from_phone: bool) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    card = int(live_issuer.credential(worker)["serial"])  # type: ignore[call-overload]
    mobile = int(phone(live_issuer, worker).json()["serial"])
    revoke(live_issuer, mobile if from_phone else card, "left")
    assert (status_of(live_issuer, mobile), status_of(live_issuer, card)) == ("revoked", "revoked")
    assert live_issuer.api("GET", f"/api/v1/workers/{worker}").json()["status"] == "left"


def test_blacklisting_the_person_revokes_both_credentials(live_issuer: LiveIssuer) -> None:
    from tests.conftest import random_id_number

    id_number = random_id_number()
    worker = int(live_issuer.worker(id_number=id_number)["id"])  # type: ignore[call-overload]
    card = int(live_issuer.credential(worker)["serial"])  # type: ignore[call-overload]
    mobile = int(phone(live_issuer, worker).json()["serial"])
    listed = live_issuer.api(
        "POST",
        "/api/v1/blacklist",
        json={"id_number": id_number, "reason": "盗窃", "evidence_ref": "甬公(2026)1号"},
    )
    assert listed.status_code == 201, listed.text
    assert (status_of(live_issuer, mobile), status_of(live_issuer, card)) == ("revoked", "revoked")


def test_revoking_the_card_for_misconduct_leaves_the_phone(live_issuer: LiveIssuer) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    card = int(live_issuer.credential(worker)["serial"])  # type: ignore[call-overload]
    mobile = int(phone(live_issuer, worker).json()["serial"])
    revoke(live_issuer, card, "lost")
    assert (status_of(live_issuer, mobile), status_of(live_issuer, card)) == ("active", "revoked")


@pytest.mark.parametrize(
    "key",
    [
        "02" + "00" * 31,  # y = 2 has no x on the curve
        "00" * 32,  # a small-order point (anyone could make its proofs)
        "01" + "00" * 31,  # the identity
        "ff" * 32,  # y beyond the field
    ],
)
def test_a_holder_key_that_is_not_an_ed25519_point_is_a_bilingual_400(
    live_issuer: LiveIssuer, key: str
) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    answer = phone(live_issuer, worker, key)
    assert answer.status_code == 400, answer.text
    field = answer.json()["error"]["fields"]["holder_key"]
    assert "Ed25519" in field["zh"] and "Ed25519" in field["en"]
    assert live_issuer.api("GET", f"/api/v1/workers/{worker}").json()["credential"] is None


def test_the_holder_key_may_be_sent_as_base64url(live_issuer: LiveIssuer) -> None:
    import base64

    holder = _holder()
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    text = base64.urlsafe_b64encode(holder.public_key).rstrip(b"=").decode()
    answer = phone(live_issuer, worker, text)
    assert answer.status_code == 201, answer.text
    assert fmt.decode_text(str(answer.json()["code"])).claims.holder_key == holder.public_key


def test_a_phone_credential_with_a_card_uid_is_refused(live_issuer: LiveIssuer) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    answer = phone(live_issuer, worker, card_uid="04a1b2c3d4e5f6")
    assert answer.status_code == 400, answer.text
    assert "card_uid" in answer.json()["error"]["fields"]


# -- enrolment links ----------------------------------------------------------------------------


def enrolment(issuer: LiveIssuer, worker_id: int, token: str | None = None, **body: Any) -> requests.Response:
    return issuer.api("POST", f"/api/v1/workers/{worker_id}/enrolments", token=token, json=body)


def secret_of(url: str) -> str:
    return url.rsplit("/w/", 1)[1]


def test_an_enrolment_link_is_one_time_for_15_minutes_and_issues_a_phone_credential(
    live_issuer: LiveIssuer,
) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    before = utcnow()
    made = enrolment(live_issuer, worker)
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["url"].startswith(f"{live_issuer.url}/w/")
    from datetime import datetime

    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(minutes=14) < expires - before <= timedelta(minutes=15, seconds=5)
    page = requests.get(link["url"], timeout=10)
    assert page.status_code == 200 and 'data-mode="enrol"' in page.text
    holder = _holder()
    answer = requests.post(link["url"], json={"holder_key": holder.public_key.hex()}, timeout=10)
    assert answer.status_code == 201, answer.text
    issued = fmt.decode(bytes.fromhex(answer.json()["credential_hex"]))
    assert issued.claims.holder_key == holder.public_key and issued.claims.card_uid is None
    assert issued.claims.archive_id == worker
    # Used: the page says so in both languages; a second phone gets nothing.
    again = requests.get(link["url"], timeout=10)
    assert again.status_code == 410 and "已经用过" in again.text and "already used" in again.text
    second = requests.post(link["url"], json={"holder_key": _holder().public_key.hex()}, timeout=10)
    assert second.status_code == 410 and second.json()["error"]["reason"] == "used"
    assert status_of(live_issuer, int(answer.json()["serial"])) == "active"


def test_an_expired_or_forged_link_changes_nothing(live_issuer: LiveIssuer) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    link = enrolment(live_issuer, worker).json()
    with live_issuer.runtime.service.store.write() as session:
        session.execute(
            update(Enrolment)
            .where(Enrolment.token_hash == token_hash(secret_of(link["url"])))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    page = requests.get(link["url"], timeout=10)
    assert page.status_code == 410 and "已过期" in page.text and "expired" in page.text
    late = requests.post(link["url"], json={"holder_key": _holder().public_key.hex()}, timeout=10)
    assert late.status_code == 410 and late.json()["error"]["reason"] == "expired"
    forged = f"{live_issuer.url}/w/{secret_of(link['url'])[:-2]}xy"
    assert requests.get(forged, timeout=10).status_code == 404
    refused = requests.post(forged, json={"holder_key": _holder().public_key.hex()}, timeout=10)
    assert refused.status_code == 404 and "无效" in refused.json()["error"]["zh"]
    assert live_issuer.api("GET", f"/api/v1/workers/{worker}").json()["credential"] is None


def test_a_bad_key_leaves_the_link_unused(live_issuer: LiveIssuer) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    link = enrolment(live_issuer, worker).json()
    bad = requests.post(link["url"], json={"holder_key": "00" * 32}, timeout=10)
    assert bad.status_code == 400 and "Ed25519" in bad.json()["error"]["fields"]["holder_key"]["zh"]
    good = requests.post(link["url"], json={"holder_key": _holder().public_key.hex()}, timeout=10)
    assert good.status_code == 201, good.text


def test_enrolment_by_role_and_tenant(live_issuer: LiveIssuer) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    other = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    worker = int(live_issuer.worker(enterprise)["id"])  # type: ignore[call-overload]
    for role in ("enterprise_admin", "card_operator"):
        assert enrolment(live_issuer, worker, live_issuer.token(role, enterprise)).status_code == 201
        assert enrolment(live_issuer, worker, live_issuer.token(role, other)).status_code == 404
    assert enrolment(live_issuer, worker, live_issuer.token("regulator")).status_code == 403
    assert enrolment(live_issuer, worker, minutes=0).status_code == 400
    assert enrolment(live_issuer, worker, minutes=60).status_code == 201


def test_a_worker_who_left_cannot_be_enrolled(live_issuer: LiveIssuer) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    card = int(live_issuer.credential(worker)["serial"])  # type: ignore[call-overload]
    link = enrolment(live_issuer, worker).json()
    revoke(live_issuer, card, "left")
    assert enrolment(live_issuer, worker).status_code == 409
    late = requests.post(link["url"], json={"holder_key": _holder().public_key.hex()}, timeout=10)
    assert late.status_code == 409 and late.json()["error"]["reason"] == "worker_gone"


# -- the worker's own record: a request signed by the holder key ----------------------------------


def record_request(
    issuer: LiveIssuer, serial: int, key: ed25519.SigningKey, at: int | None = None
) -> requests.Response:
    import base64
    import time

    from anxinma.issuer.services.worker_self import worker_record_message

    moment = int(time.time()) if at is None else at
    message = worker_record_message(issuer.runtime.service.issuer_code, serial, moment)
    signature = base64.urlsafe_b64encode(key.sign(message)).rstrip(b"=").decode()
    return requests.post(
        f"{issuer.url}/w/record", json={"serial": serial, "time": moment, "signature": signature}, timeout=10
    )


def test_the_worker_reads_their_record_with_the_holder_key_and_nobody_else_does(
    live_issuer: LiveIssuer,
) -> None:
    import time

    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    holder = _holder()
    serial = int(phone(live_issuer, worker, holder.public_key).json()["serial"])
    card = int(live_issuer.credential(worker)["serial"])  # type: ignore[call-overload]
    answer = record_request(live_issuer, serial, holder)
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["worker"]["id"] == worker
    assert {c["serial"]: c["form"] for c in record["credentials"]} == {serial: "phone", card: "card"}
    assert len(record["months"]) == 12 and record["insurance"]["remind"] is False
    for refused in (
        record_request(live_issuer, serial, _holder()),  # another phone's key
        record_request(live_issuer, serial, holder, int(time.time()) - 600),  # an old request replayed
        record_request(live_issuer, card, holder),  # the card credential has no holder key
    ):
        assert refused.status_code == 401, refused.text
        assert "手机签名无效" in refused.json()["error"]["zh"]
    bad = requests.post(f"{live_issuer.url}/w/record", json={"serial": "x"}, timeout=10)
    assert bad.status_code == 400
    revoke(live_issuer, serial, "lost")  # the phone is lost: its key opens nothing any more
    lost = record_request(live_issuer, serial, holder)
    assert lost.status_code == 401 and "已吊销" in lost.json()["error"]["zh"]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"holder_key": 5}',
        b'{"holder_key": "' + b"x" * 1000 + b'"}',
        b'{"holder_key": "' + b"zz" * 32 + b'"}',
        b'{"holder_key": "AAAA", "card_uid": "04a1b2c3"}',
        b"{}",
    ],
)
def test_a_bad_enrolment_body_is_a_bilingual_400_and_leaves_the_link_unused(
    live_issuer: LiveIssuer, payload: bytes
) -> None:
    worker = int(live_issuer.worker()["id"])  # type: ignore[call-overload]
    link = enrolment(live_issuer, worker).json()["url"]
    answer = requests.post(link, data=payload, headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["zh"] and error["en"]
    assert requests.get(link, timeout=10).status_code == 200  # still unused


def test_two_phones_racing_on_one_link_get_one_credential(issuer_on: LiveIssuer) -> None:
    """On SQLite and PostgreSQL: the link's row is locked in the issuing transaction."""
    from concurrent.futures import ThreadPoolExecutor

    worker = int(issuer_on.worker()["id"])  # type: ignore[call-overload]
    link = enrolment(issuer_on, worker).json()["url"]

    def send(_: int) -> int:
        return requests.post(link, json={"holder_key": _holder().public_key.hex()}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(send, range(4)))
    assert statuses == [201, 410, 410, 410]
    from sqlalchemy import func, select

    from anxinma.issuer.store.models import Credential

    with issuer_on.runtime.store.read() as session:
        phones = session.execute(
            select(func.count()).where(Credential.worker_id == worker, Credential.form == "phone")
        ).scalar_one()
    assert phones == 1
