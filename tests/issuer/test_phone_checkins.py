"""按月打卡 on the worker's phone (issue 18, item 4): ``POST /api/v1/check-ins/phone`` records
the card tapped on the phone, signed by the phone's holder key, as that month's check-in with
source ``phone`` under the desk's rules; every bad input is a 4xx in both languages that
records nothing and writes no audit entry."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.issuer.store.models import AuditEntry, CheckIn
from tests.conftest import LiveIssuer
from tests.issuer.phone_support import CardAndPhone, card_and_phone, phone_body

PATH = "/api/v1/check-ins/phone"


def _counts(issuer: LiveIssuer) -> tuple[int, int]:
    with issuer.runtime.store.read() as session:
        check_ins = session.execute(select(func.count()).select_from(CheckIn)).scalar_one()
        entries = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    return int(check_ins), int(entries)


def test_a_card_tapped_on_the_workers_phone_checks_in_once_a_month_with_source_phone(
    issuer_on: LiveIssuer,
) -> None:
    issuer = issuer_on
    code = issuer.runtime.service.issuer_code
    who = card_and_phone(issuer, int(issuer.enterprise()["id"]))
    first = phone_body(code, who)
    made = issuer.api("POST", PATH, token="", json=first)
    assert made.status_code == 201, made.text
    record = made.json()
    assert record["source"] == "phone" and record["created"] is True
    assert (record["worker_id"], record["card_uid"]) == (who.worker_id, who.card_uid.hex())
    assert record["credential_serial"] == who.card.claims.serial
    # A new tap the same month: the record there answers (the desk's idempotency rule).
    again = issuer.api("POST", PATH, token="", json=phone_body(code, who))
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["id"] == record["id"]
    # The first request sent again: a replay, refused.
    replay = issuer.api("POST", PATH, token="", json=first)
    assert replay.status_code == 409 and replay.json()["error"]["code"] == "replayed"
    listed = issuer.api("GET", f"/api/v1/check-ins?worker_id={who.worker_id}").json()["items"]
    assert [(item["source"], item["id"]) for item in listed] == [("phone", record["id"])]
    with issuer.runtime.store.read() as session:
        actors = list(
            session.execute(select(AuditEntry.actor).where(AuditEntry.action == "check_in.record")).scalars()
        )
    assert actors == [f"holder:{who.phone.claims.serial}"]


def test_a_desk_check_in_this_month_answers_the_phone(live_issuer: LiveIssuer) -> None:
    code = live_issuer.runtime.service.issuer_code
    who = card_and_phone(live_issuer, int(live_issuer.enterprise()["id"]))
    from datetime import datetime

    moment = datetime.now(fmt.CHINA_TZ)
    desk = {
        "code": who.card.to_hex(),
        "card_uid": who.card_uid.hex(),
        "month": moment.strftime("%Y-%m"),
        "station": "海曙区服务站",
        "tapped_at": moment.isoformat(),
    }
    assert live_issuer.api("POST", "/api/v1/check-ins", json=desk).status_code == 201
    answer = live_issuer.api("POST", PATH, token="", json=phone_body(code, who))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["source"], answer.json()["station"]) == ("desk", "海曙区服务站")


def _revoke(issuer: LiveIssuer, serial: int) -> None:
    answer = issuer.api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "lost"})
    assert answer.status_code == 200, answer.text


#: (name, the body's change, the status, error code): the issue's bad input, each on its own worker.
BAD: list[tuple[str, Callable[[LiveIssuer, int, CardAndPhone, CardAndPhone], dict[str, Any]], int, str]] = [
    (
        "signed by another phone",
        lambda i, c, w, o: phone_body(c, w, signer=ed25519.SigningKey.generate()),
        403,
        "forbidden",
    ),
    (
        "signed by another worker's phone",
        lambda i, c, w, o: phone_body(c, w, signer=o.phone_key),
        403,
        "forbidden",
    ),
    (
        "a card of another worker",
        lambda i, c, w, o: phone_body(c, w, card=o.card, serial_number=o.serial_number),
        409,
        "other_worker",
    ),
    (
        "a copied card (another chip)",
        lambda i, c, w, o: phone_body(c, w, serial_number="04:00:11:22:33:44:55"),
        409,
        "card_mismatch",
    ),
    (
        "a card credential bound to no card",
        lambda i, c, w, o: phone_body(c, w, card=w.phone),
        409,
        "not_bound",
    ),
    (
        "a time in the future",
        lambda i, c, w, o: phone_body(c, w, at=int(time.time()) + 600),
        400,
        "validation_failed",
    ),
    (
        "a time long past",
        lambda i, c, w, o: phone_body(c, w, at=int(time.time()) - 3600),
        400,
        "validation_failed",
    ),
    (
        "a tampered card",
        lambda i, c, w, o: phone_body(c, w, card=fmt.decode(w.card.to_bytes()[:-2] + b"\0\0")),
        404,
        "not_found",
    ),
    (
        "a truncated card",
        lambda i, c, w, o: {**phone_body(c, w), "card": w.card.to_hex()[:-20]},
        400,
        "validation_failed",
    ),
    ("no signature", lambda i, c, w, o: {**phone_body(c, w), "signature": ""}, 400, "validation_failed"),
    ("a short nonce", lambda i, c, w, o: phone_body(c, w, nonce="abc"), 400, "validation_failed"),
    (
        "a time as text",
        lambda i, c, w, o: {**phone_body(c, w), "time": "2026-12-08T10:00:00+08:00"},
        400,
        "validation_failed",
    ),
    ("an unknown field", lambda i, c, w, o: {**phone_body(c, w), "station": "x"}, 400, "validation_failed"),
    ("not an object", lambda i, c, w, o: [], 400, "validation_failed"),  # type: ignore[return-value, dict-item]
    (
        "a revoked card",
        lambda i, c, w, o: (_revoke(i, w.card.claims.serial), phone_body(c, w))[1],
        409,
        "revoked",
    ),
    (
        "a revoked phone",
        lambda i, c, w, o: (_revoke(i, w.phone.claims.serial), phone_body(c, w))[1],
        409,
        "phone_not_live",
    ),
]


@pytest.mark.parametrize(("name", "make", "status", "error"), BAD, ids=[case[0] for case in BAD])
def test_bad_phone_check_ins_are_refused_in_both_languages_and_record_nothing(
    live_issuer: LiveIssuer,
    name: str,
    make: Callable[[LiveIssuer, int, CardAndPhone, CardAndPhone], dict[str, Any]],
    status: int,
    error: str,
) -> None:
    enterprise = int(live_issuer.enterprise()["id"])
    code = live_issuer.runtime.service.issuer_code
    worker, other = card_and_phone(live_issuer, enterprise), card_and_phone(live_issuer, enterprise)
    payload = make(live_issuer, code, worker, other)
    before = _counts(live_issuer)
    answer = live_issuer.api("POST", PATH, token="", json=payload)
    assert answer.status_code == status, answer.text
    said = answer.json()["error"]
    assert said["code"] == error
    assert said["zh"] and said["en"] and said["zh"] != said["en"]
    for field in said.get("fields", {}).values():
        assert field["zh"] and field["en"]
    assert _counts(live_issuer) == before  # nothing recorded, nothing audited


def test_odd_bodies_are_4xx_never_500(live_issuer: LiveIssuer) -> None:
    who = card_and_phone(live_issuer, int(live_issuer.enterprise()["id"]))
    good = phone_body(live_issuer.runtime.service.issuer_code, who)
    odd: list[Any] = [
        "null",
        "not json",
        '"text"',
        "[1, 2]",
        {**good, "time": True},
        {**good, "time": 2**40},
        {**good, "time": -5},
        {**good, "time": 1.5},
        {**good, "serial_number": ["04"]},
        {**good, "credential": {"hex": good["credential"]}},
        {**good, "credential": "83" + good["credential"][2:]},  # shaped as a dynamic code
        {**good, "card": "9" * 5000},
        {**good, "signature": "=" * 86},
        {**good, "signature": "A" * 86},
        {**good, "nonce": "ü" * 20},
    ]
    before = _counts(live_issuer)
    for body in odd:
        if isinstance(body, str):
            answer = live_issuer.api(
                "POST", PATH, token="", data=body, headers={"Content-Type": "application/json"}
            )
        else:
            answer = live_issuer.api("POST", PATH, token="", json=body)
        assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.text[:200])
        said = answer.json()["error"]
        assert said["zh"] and said["en"], body
    assert _counts(live_issuer) == before
