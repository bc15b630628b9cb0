"""确认入户, 三方互评 and 投诉 against the served issuer (anxinma/issuer/services/visits.py): a visit per
confirmation, one rating per visit and side (also under concurrent requests), complaints seen by
the worker's enterprise and the regulator only, the worker signing with the holder key."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select, update

from anxinma import ed25519
from anxinma.issuer.services.visits import VISITS_PER_CREDENTIAL_PER_DAY, worker_rating_message
from anxinma.issuer.store.models import Complaint, Rating, Visit, utcnow
from tests.conftest import LiveIssuer


def visits_of(issuer: LiveIssuer, serial: int) -> int:
    with issuer.runtime.store.read() as session:
        return int(
            session.execute(
                select(func.count(Visit.id)).where(Visit.credential_serial == serial)
            ).scalar_one()
        )


def confirm(issuer: LiveIssuer, code: str) -> dict[str, object]:
    response = issuer.api("POST", "/api/v1/visits", token="", json={"code": code})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def live_rating(issuer: LiveIssuer, code: str) -> dict[str, object]:
    import jwt

    token = issuer.api("POST", "/api/v1/live", token="", json={"code": code}).json()["token"]
    return jwt.decode(token, options={"verify_signature": False})["rating"]  # type: ignore[no-any-return]


def test_confirm_entry_records_a_visit_and_the_consumer_rates_it_exactly_once(issuer_on: LiveIssuer) -> None:
    issued = issuer_on.credential()
    code, serial = str(issued["code"]), int(issued["serial"])  # type: ignore[call-overload]
    assert visits_of(issuer_on, serial) == 0
    visit = confirm(issuer_on, code)
    assert visits_of(issuer_on, serial) == 1
    assert visit["serial"] == serial and str(visit["rating_token"]).startswith("axv_")
    assert visit["display_name"] == "李*霞"
    with issuer_on.runtime.store.read() as session:  # only the token's hash is kept
        stored = session.execute(select(Visit.__table__.c.token_hash)).scalar_one()
    assert stored != visit["rating_token"] and len(stored) == 64
    path = f"/api/v1/visits/{visit['visit_id']}/rating"

    wrong = issuer_on.api("POST", path, token="", json={"token": "axv_guess", "score": 5})
    assert wrong.status_code == 403 and wrong.json()["error"]["zh"] == "评价凭证与此次入户记录不符"
    first = issuer_on.api(
        "POST", path, token="", json={"token": visit["rating_token"], "score": 4, "comment": "很细心"}
    )
    assert first.status_code == 201, first.text
    assert first.json()["rating"] == {"count": 1, "average": 4.0, "verified_count": 0}
    assert live_rating(issuer_on, code) == {"count": 1, "average": 4.0, "verified_count": 0}

    again = issuer_on.api("POST", path, token="", json={"token": visit["rating_token"], "score": 1})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_rated"
    assert "已经评价过" in again.json()["error"]["zh"]
    assert live_rating(issuer_on, code) == {"count": 1, "average": 4.0, "verified_count": 0}

    second_visit = confirm(issuer_on, code)  # the next service is a new visit and a new rating,
    second = issuer_on.api(
        "POST",
        f"/api/v1/visits/{second_visit['visit_id']}/rating",
        token="",
        json={"token": second_visit["rating_token"], "score": 5},
    )
    # stored, but from the same client within 30 days it does not count (the rating rule).
    assert second.status_code == 201 and second.json()["flag"] == "client_repeat"
    assert live_rating(issuer_on, code) == {"count": 1, "average": 4.0, "verified_count": 0}


def test_concurrent_ratings_of_one_visit_store_one(issuer_on: LiveIssuer) -> None:
    visit = confirm(issuer_on, str(issuer_on.credential()["code"]))
    path = f"/api/v1/visits/{visit['visit_id']}/rating"
    statuses: list[int] = []
    start = threading.Barrier(6)

    def rate(score: int) -> None:
        start.wait()
        response = issuer_on.api(
            "POST", path, token="", json={"token": visit["rating_token"], "score": score}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=rate, args=(1 + n % 5,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409, 409, 409]
    with issuer_on.runtime.store.read() as session:
        assert session.execute(select(func.count(Rating.id))).scalar_one() == 1


def test_entry_is_refused_for_a_credential_out_of_service_or_not_ours(live_issuer: LiveIssuer) -> None:
    issued = live_issuer.credential()
    serial = int(issued["serial"])  # type: ignore[call-overload]
    for action, word in (("suspend", "已暂停"), ("revoke", "已吊销")):
        body = {"reason": "left"} if action == "revoke" else {}
        assert live_issuer.api("POST", f"/api/v1/credentials/{serial}/{action}", json=body).status_code == 200
        refused = live_issuer.api("POST", "/api/v1/visits", token="", json={"code": issued["code"]})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_in_service"
        assert word in refused.json()["error"]["zh"]
    assert visits_of(live_issuer, serial) == 0
    payment = live_issuer.api("POST", "/api/v1/visits", token="", json={"code": "wxp://f2f0Xy1"})
    assert payment.status_code == 400 and payment.json()["error"]["code"] == "validation_failed"
    other = bytearray(bytes.fromhex(str(issued["hex"])))
    other[-1] ^= 1  # one signature bit: not the bytes that were issued
    unknown = live_issuer.api("POST", "/api/v1/visits", token="", json={"code": other.hex()})
    assert unknown.status_code == 404, unknown.text


def test_complaints_reach_the_workers_enterprise_and_the_regulator_only(live_issuer: LiveIssuer) -> None:
    own = live_issuer.enterprise()
    other = live_issuer.enterprise()
    worker = live_issuer.worker(int(own["id"]))  # type: ignore[call-overload]
    issued = live_issuer.credential(int(worker["id"]))  # type: ignore[call-overload]
    visit = confirm(live_issuer, str(issued["code"]))
    path = f"/api/v1/visits/{visit['visit_id']}/complaint"
    with_phone = live_issuer.api(
        "POST", path, token="", json={"token": visit["rating_token"], "summary": "请回电 138 0013 8000"}
    )
    assert with_phone.status_code == 400 and "电话号码" in str(with_phone.json()["error"]["fields"])
    filed = live_issuer.api(
        "POST",
        path,
        token="",
        json={"token": visit["rating_token"], "category": "attitude", "summary": "服务态度差，提前离开"},
    )
    assert filed.status_code == 201, filed.text
    complaint = filed.json()
    assert complaint["worker_display_name"] == "李*霞" and complaint["resolved"] is False
    again = live_issuer.api(
        "POST", path, token="", json={"token": visit["rating_token"], "summary": "再投诉一次"}
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_complained"

    own_token = live_issuer.token("enterprise_admin", int(own["id"]))  # type: ignore[call-overload]
    other_token = live_issuer.token("enterprise_admin", int(other["id"]))  # type: ignore[call-overload]
    regulator = live_issuer.token("regulator")

    def seen(token: str) -> list[int]:
        listed = live_issuer.api("GET", "/api/v1/complaints", token=token).json()["items"]
        return [int(c["id"]) for c in listed]

    assert seen(own_token) == [complaint["id"]]
    assert seen(regulator) == [complaint["id"]]
    assert seen(other_token) == []
    resolve = f"/api/v1/complaints/{complaint['id']}/resolve"
    assert (
        live_issuer.api("POST", resolve, token=other_token, json={"resolution": "不是我们的"}).status_code
        == 404
    )
    done = live_issuer.api("POST", resolve, token=own_token, json={"resolution": "已约谈服务员并回访"})
    assert done.status_code == 200 and done.json()["resolved"] is True
    assert live_issuer.api("POST", resolve, token=regulator, json={"resolution": "再处理"}).status_code == 409
    open_ones = live_issuer.api("GET", "/api/v1/complaints?resolved=false", token=regulator).json()["items"]
    assert open_ones == []


def test_the_enterprise_rates_its_own_worker_once_and_it_does_not_move_the_public_average(
    live_issuer: LiveIssuer,
) -> None:
    own = live_issuer.enterprise()
    other = live_issuer.enterprise()
    issued = live_issuer.credential(int(live_issuer.worker(int(own["id"]))["id"]))  # type: ignore[call-overload]
    visit = confirm(live_issuer, str(issued["code"]))
    path = f"/api/v1/visits/{visit['visit_id']}/rating/enterprise"
    other_token = live_issuer.token("enterprise_admin", int(other["id"]))  # type: ignore[call-overload]
    own_token = live_issuer.token("enterprise_admin", int(own["id"]))  # type: ignore[call-overload]
    assert live_issuer.api("POST", path, token=other_token, json={"score": 1}).status_code == 404
    assert (
        live_issuer.api("POST", path, json={"score": 5}).status_code == 403
    )  # issuer_admin is not the employer
    rated = live_issuer.api("POST", path, token=own_token, json={"score": 5, "comment": "守时"})
    assert rated.status_code == 201 and rated.json()["source"] == "enterprise"
    assert live_issuer.api("POST", path, token=own_token, json={"score": 4}).status_code == 409
    assert live_rating(live_issuer, str(issued["code"])) == {"count": 0, "average": None, "verified_count": 0}
    listed = live_issuer.api("GET", "/api/v1/visits", token=own_token).json()["items"]
    assert [(v["id"], v["rated"]) for v in listed] == [
        (visit["visit_id"], {"consumer": False, "enterprise": True, "worker": False})
    ]
    assert live_issuer.api("GET", "/api/v1/visits", token=other_token).json()["items"] == []


def test_the_worker_rates_the_enterprise_by_signing_with_the_holder_key(live_issuer: LiveIssuer) -> None:
    phone = ed25519.SigningKey.generate()
    worker = live_issuer.worker()
    response = live_issuer.api(
        "POST",
        f"/api/v1/workers/{worker['id']}/credentials",
        json={"holder_key": phone.public_key.hex()},
    )
    assert response.status_code == 201, response.text
    visit = confirm(live_issuer, str(response.json()["code"]))
    path = f"/api/v1/visits/{visit['visit_id']}/rating/worker"
    code = live_issuer.runtime.service.issuer_code

    def signed(
        key: ed25519.SigningKey, score: int, comment: str, visit_id: object = visit["visit_id"]
    ) -> str:
        message = worker_rating_message(code, int(visit_id), score, comment)  # type: ignore[call-overload]
        return base64.urlsafe_b64encode(key.sign(message)).rstrip(b"=").decode()

    stranger = ed25519.SigningKey.generate()
    forged = {"score": 1, "comment": "差", "signature": signed(stranger, 1, "差")}
    assert live_issuer.api("POST", path, token="", json=forged).status_code == 403
    moved = {"score": 5, "comment": "好", "signature": signed(phone, 4, "好")}  # signed another score
    assert live_issuer.api("POST", path, token="", json=moved).status_code == 403
    good = {"score": 4, "comment": "工资按时", "signature": signed(phone, 4, "工资按时")}
    rated = live_issuer.api("POST", path, token="", json=good)
    assert rated.status_code == 201 and rated.json()["source"] == "worker"
    assert live_issuer.api("POST", path, token="", json=good).status_code == 409
    # The signature covers the comment as the phone sent it, spaces and line breaks included
    # (the stored comment is tidied); and it closes with the consumers' window.
    spaced = confirm(live_issuer, str(response.json()["code"]))
    words = "工资按时  发放\n"
    kept = live_issuer.api(
        "POST",
        f"/api/v1/visits/{spaced['visit_id']}/rating/worker",
        token="",
        json={"score": 5, "comment": words, "signature": signed(phone, 5, words, spaced["visit_id"])},
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["comment"] == "工资按时 发放"
    late = confirm(live_issuer, str(response.json()["code"]))
    with live_issuer.runtime.store.write() as session:
        session.execute(
            update(Visit)
            .where(Visit.id == late["visit_id"])
            .values(confirmed_at=utcnow() - timedelta(days=31))
        )
    closed = live_issuer.api(
        "POST",
        f"/api/v1/visits/{late['visit_id']}/rating/worker",
        token="",
        json={"score": 3, "signature": signed(phone, 3, "", late["visit_id"])},
    )
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "rating_closed"

    plain = confirm(live_issuer, str(live_issuer.credential()["code"]))  # no holder key in it
    refused = live_issuer.api(
        "POST",
        f"/api/v1/visits/{plain['visit_id']}/rating/worker",
        token="",
        json={"score": 4, "signature": signed(phone, 4, "", plain["visit_id"])},
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_holder_key"


def test_a_photographed_code_cannot_inflate_the_display_rate(
    live_issuer_factory: Callable[..., LiveIssuer],
) -> None:
    issuer = live_issuer_factory(extra={"visit_rate_limit": "1000 per minute"})
    issued = issuer.credential()
    for _ in range(VISITS_PER_CREDENTIAL_PER_DAY):
        confirm(issuer, str(issued["code"]))
    capped = issuer.api("POST", "/api/v1/visits", token="", json={"code": issued["code"]})
    assert capped.status_code == 429 and "上限" in capped.json()["error"]["zh"]
    assert visits_of(issuer, int(issued["serial"])) == VISITS_PER_CREDENTIAL_PER_DAY  # type: ignore[call-overload]

    strict = live_issuer_factory(extra={"visit_rate_limit": "2 per minute"})
    code = str(strict.credential()["code"])
    answers = [
        strict.api("POST", "/api/v1/visits", token="", json={"code": code}).status_code for _ in range(3)
    ]
    assert answers == [201, 201, 429]


def test_ratings_and_complaints_close_thirty_days_after_the_visit(live_issuer: LiveIssuer) -> None:
    visit = confirm(live_issuer, str(live_issuer.credential()["code"]))
    with live_issuer.runtime.store.write() as session:
        session.execute(update(Visit).values(confirmed_at=utcnow() - timedelta(days=31)))
    late = live_issuer.api(
        "POST",
        f"/api/v1/visits/{visit['visit_id']}/rating",
        token="",
        json={"token": visit["rating_token"], "score": 5},
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "rating_closed"
    with live_issuer.runtime.store.read() as session:
        assert session.execute(select(func.count(Complaint.id))).scalar_one() == 0
