"""按月打卡 at the issuer: once per worker and month, only genuine live bound cards, tenants apart.

Everything talks HTTP to the served app and reads the issuer's own database to check what was
kept; the idempotency tests run on SQLite and PostgreSQL (``issuer_on``).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from anxinma import credential as fmt
from anxinma.issuer.store.models import CheckIn
from tests.conftest import LiveIssuer


def now_in_china() -> datetime:
    return datetime.now(fmt.CHINA_TZ).replace(microsecond=0)


def body_for(
    issued: dict[str, Any], *, uid: str | None = None, at: datetime | None = None, **extra: Any
) -> dict[str, Any]:
    moment = at or now_in_china()
    return {
        "code": issued["code"],
        "card_uid": uid or issued["card_uid"],
        "month": moment.astimezone(fmt.CHINA_TZ).strftime("%Y-%m"),
        "station": "海曙区服务站 1",
        "tapped_at": moment.isoformat(),
        **extra,
    }


def rows(issuer: LiveIssuer) -> list[tuple[int, str, int, str]]:
    with issuer.runtime.store.read() as session:
        return [
            (r.worker_id, r.month, r.credential_serial, r.card_uid)
            for r in session.execute(select(CheckIn).order_by(CheckIn.id)).scalars()
        ]


def bound_credential(
    issuer: LiveIssuer, enterprise_id: int | None = None, uid: str = "04a1b2c3d4e5f6"
) -> dict[str, Any]:
    worker = issuer.worker(enterprise_id)
    return issuer.credential(int(worker["id"]), card_uid=uid)


def test_a_check_in_counts_once_per_worker_and_month_whoever_repeats_it(issuer_on: LiveIssuer) -> None:
    issued = bound_credential(issuer_on)
    operator = issuer_on.token("card_operator")
    first = issuer_on.api("POST", "/api/v1/check-ins", token=operator, json=body_for(issued))
    assert first.status_code == 201, first.text
    record = first.json()
    assert record["created"] is True and record["worker_id"] == issued["worker_id"]
    assert record["display_name"] == "李*霞" and record["credential_serial"] == issued["serial"]
    again = issuer_on.api("POST", "/api/v1/check-ins", token=operator, json=body_for(issued))
    later = body_for(issued, station="江北区服务站", at=now_in_china() + timedelta(seconds=5))
    elsewhere = issuer_on.api("POST", "/api/v1/check-ins", json=later)  # another station, admin token
    for repeat in (again, elsewhere):
        assert repeat.status_code == 200, repeat.text
        assert repeat.json()["id"] == record["id"] and repeat.json()["created"] is False
        assert repeat.json()["station"] == "海曙区服务站 1"  # the first report stands
    assert rows(issuer_on) == [(issued["worker_id"], record["month"], issued["serial"], issued["card_uid"])]
    last_month = now_in_china().replace(day=1) - timedelta(days=1)
    previous = issuer_on.api(
        "POST", "/api/v1/check-ins", token=operator, json=body_for(issued, at=last_month)
    )
    assert previous.status_code == 409 and previous.json()["error"]["code"] == "not_yet_valid"  # issued today


def test_concurrent_reports_of_one_check_in_record_it_once(issuer_on: LiveIssuer) -> None:
    issued = bound_credential(issuer_on)
    token = issuer_on.token("card_operator")
    answers: list[int] = []
    barrier = threading.Barrier(8)

    def report() -> None:
        barrier.wait()
        answers.append(
            issuer_on.api("POST", "/api/v1/check-ins", token=token, json=body_for(issued)).status_code
        )

    threads = [threading.Thread(target=report) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] * 7 + [201]
    assert len(rows(issuer_on)) == 1


def test_a_copied_card_an_unbound_a_suspended_and_a_revoked_credential_do_not_check_in(
    live_issuer: LiveIssuer,
) -> None:
    enterprise = int(live_issuer.enterprise()["id"])
    bound = bound_credential(live_issuer, enterprise)
    copied = live_issuer.api("POST", "/api/v1/check-ins", json=body_for(bound, uid="04ffffffffffff"))
    unbound = live_issuer.credential(int(live_issuer.worker(enterprise)["id"]))
    not_bound = live_issuer.api("POST", "/api/v1/check-ins", json=body_for(unbound, uid="04a1b2c3d4e5f6"))
    suspended = bound_credential(live_issuer, enterprise, "04000000000002")
    live_issuer.api("POST", f"/api/v1/credentials/{suspended['serial']}/suspend", json={})
    on_suspended = live_issuer.api("POST", "/api/v1/check-ins", json=body_for(suspended))
    revoked = bound_credential(live_issuer, enterprise, "04000000000003")
    live_issuer.api("POST", f"/api/v1/credentials/{revoked['serial']}/revoke", json={"reason": "left"})
    after = now_in_china() + timedelta(seconds=2)  # whole seconds: make sure the tap follows the revocation
    on_revoked = live_issuer.api("POST", "/api/v1/check-ins", json=body_for(revoked, at=after))
    outcomes = {
        name: (answer.status_code, answer.json()["error"]["code"])
        for name, answer in (
            ("copied", copied),
            ("unbound", not_bound),
            ("suspended", on_suspended),
            ("revoked", on_revoked),
        )
    }
    assert outcomes == {
        "copied": (409, "card_mismatch"),
        "unbound": (409, "not_bound"),
        "suspended": (409, "suspended"),
        "revoked": (409, "revoked"),
    }
    assert "复制卡" in copied.json()["error"]["zh"] and "copy" in copied.json()["error"]["en"]
    forged = dict(body_for(bound))
    tampered = bytearray(fmt.parse_text(bound["code"]))
    tampered[-1] ^= 1  # a flipped signature bit: not the bytes this issuer signed
    forged["code"] = tampered.hex()
    assert live_issuer.api("POST", "/api/v1/check-ins", json=forged).status_code == 404
    assert rows(live_issuer) == []


def test_a_check_in_tapped_before_a_revocation_still_counts_and_one_after_does_not(
    live_issuer: LiveIssuer,
) -> None:
    before = bound_credential(live_issuer)
    tapped = now_in_china()  # the card was tapped, then the credential revoked, then the queue sent
    live_issuer.api("POST", f"/api/v1/credentials/{before['serial']}/revoke", json={"reason": "lost"})
    queued = live_issuer.api("POST", "/api/v1/check-ins", json=body_for(before, at=tapped))
    assert queued.status_code == 201, queued.text
    after = bound_credential(live_issuer, uid="04000000000009")
    live_issuer.api("POST", f"/api/v1/credentials/{after['serial']}/revoke", json={"reason": "lost"})
    refused = live_issuer.api(
        "POST", "/api/v1/check-ins", json=body_for(after, at=now_in_china() + timedelta(seconds=2))
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "revoked"
    assert [worker for worker, *_ in rows(live_issuer)] == [before["worker_id"]]


def test_bad_check_in_bodies_name_every_bad_field(live_issuer: LiveIssuer) -> None:
    issued = bound_credential(live_issuer)
    future = now_in_china() + timedelta(hours=1)
    answer = live_issuer.api(
        "POST",
        "/api/v1/check-ins",
        json={"code": "12", "card_uid": "zz", "month": "2025-13", "tapped_at": "yesterday", "x": 1},
    )
    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == {"code", "card_uid", "month", "tapped_at", "x"}
    wrong_month = live_issuer.api("POST", "/api/v1/check-ins", json={**body_for(issued), "month": "2020-01"})
    assert set(wrong_month.json()["error"]["fields"]) == {"month"}
    ahead = live_issuer.api("POST", "/api/v1/check-ins", json=body_for(issued, at=future))
    assert ahead.status_code == 400 and set(ahead.json()["error"]["fields"]) == {"tapped_at"}
    naive = live_issuer.api(
        "POST", "/api/v1/check-ins", json={**body_for(issued), "tapped_at": "2025-03-05T09:00:00"}
    )
    assert naive.status_code == 400 and "tapped_at" in naive.json()["error"]["fields"]
    assert rows(live_issuer) == []


def test_another_enterprise_cannot_record_or_see_a_workers_check_ins(live_issuer: LiveIssuer) -> None:
    ours, theirs = int(live_issuer.enterprise()["id"]), int(live_issuer.enterprise()["id"])
    issued = bound_credential(live_issuer, ours)
    own_token = live_issuer.token("enterprise_admin", ours)
    other_token = live_issuer.token("enterprise_admin", theirs)
    other_desk = live_issuer.token("card_operator", theirs)
    for token in (other_token, other_desk):
        refused = live_issuer.api("POST", "/api/v1/check-ins", token=token, json=body_for(issued))
        assert refused.status_code == 404, refused.text
    regulator = live_issuer.token("regulator")
    assert (
        live_issuer.api("POST", "/api/v1/check-ins", token=regulator, json=body_for(issued)).status_code
        == 403
    )
    assert rows(live_issuer) == []  # nothing changed

    recorded = live_issuer.api("POST", "/api/v1/check-ins", token=own_token, json=body_for(issued))
    assert recorded.status_code == 201
    month, worker = recorded.json()["month"], issued["worker_id"]

    def listed(token: str, query: str) -> list[int]:
        answer = live_issuer.api("GET", f"/api/v1/check-ins?{query}", token=token)
        assert answer.status_code == 200, answer.text
        return [item["worker_id"] for item in answer.json()["items"]]

    assert listed(own_token, f"month={month}") == [worker]
    assert listed(other_token, "") == []
    assert listed(other_token, f"enterprise_id={ours}") == []
    assert listed(other_token, f"worker_id={worker}") == []
    assert listed(regulator, f"enterprise_id={ours}&month={month}") == [worker]
    months = live_issuer.api("GET", f"/api/v1/check-ins/months?worker_id={worker}", token=other_token).json()
    assert months["items"] == []
    counts = live_issuer.api(
        "GET", f"/api/v1/check-ins/counts?month={month}&enterprise_id={ours}", token=other_token
    ).json()
    assert counts["items"] == [] and counts["total"] == 0
    assert live_issuer.api("GET", "/api/v1/check-ins", token="").status_code == 401


def test_months_per_worker_and_counts_per_enterprise_give_a_console_its_columns(
    live_issuer: LiveIssuer,
) -> None:
    first, second = int(live_issuer.enterprise()["id"]), int(live_issuer.enterprise()["id"])
    this_month = now_in_china().strftime("%Y-%m")
    checked = [bound_credential(live_issuer, first, f"04{i:012x}") for i in range(3)]
    absent = live_issuer.worker(first)
    other = bound_credential(live_issuer, second, "04ffffff000001")
    for issued in [*checked, other]:
        assert live_issuer.api("POST", "/api/v1/check-ins", json=body_for(issued)).status_code == 201
    # A check-in of last year, written as the store would hold it (the credentials are new).
    with live_issuer.runtime.store.write() as session:
        session.add(
            CheckIn(
                worker_id=checked[0]["worker_id"],
                enterprise_id=first,
                month="2024-11",
                credential_serial=checked[0]["serial"],
                card_uid=checked[0]["card_uid"],
                station="s",
                tapped_at=datetime(2024, 11, 3, tzinfo=UTC),
                recorded_by="test",
            )
        )
    token = live_issuer.token("enterprise_admin", first)
    ids = ",".join(str(i["worker_id"]) for i in checked)
    months = live_issuer.api(
        "GET", f"/api/v1/check-ins/months?worker_id={ids}&worker_id={absent['id']}&since=2024-01", token=token
    )
    assert months.status_code == 200, months.text
    by_worker = {item["worker_id"]: item["months"] for item in months.json()["items"]}
    assert by_worker == {
        checked[0]["worker_id"]: ["2024-11", this_month],
        checked[1]["worker_id"]: [this_month],
        checked[2]["worker_id"]: [this_month],
        absent["id"]: [],
    }
    default_window = live_issuer.api(
        "GET", f"/api/v1/check-ins/months?worker_id={checked[0]['worker_id']}", token=token
    )
    assert default_window.json()["items"][0]["months"] == [this_month]  # the last 12 months
    counts = live_issuer.api("GET", "/api/v1/check-ins/counts").json()
    assert counts["month"] == this_month
    assert {(i["enterprise_id"], i["checked_in"]) for i in counts["items"]} == {(first, 3), (second, 1)}
    assert counts["total"] == 4
    own = live_issuer.api("GET", "/api/v1/check-ins/counts", token=token).json()
    assert own["items"] == [{"enterprise_id": first, "checked_in": 3}]
    quiet = live_issuer.api(
        "GET", f"/api/v1/check-ins/counts?month=2024-11&enterprise_id={first},{second}"
    ).json()
    assert quiet["items"] == [
        {"enterprise_id": first, "checked_in": 1},
        {"enterprise_id": second, "checked_in": 0},
    ]
    listing = live_issuer.api("GET", f"/api/v1/check-ins?enterprise_id={first}&per_page=2").json()
    assert listing["has_more"] is True and [i["month"] for i in listing["items"]] == [this_month] * 2
    assert live_issuer.api("GET", "/api/v1/check-ins/months").status_code == 400
    assert live_issuer.api("GET", "/api/v1/check-ins?month=March").status_code == 400


def exercise(issuer: LiveIssuer, check: Any) -> None:
    """Every check-in route, successes and errors, through ``check`` (tests/issuer/test_openapi.py)."""
    issued = bound_credential(issuer, uid="04cafe00000001")
    body = body_for(issued)
    check("/api/v1/check-ins", "post", issuer.api("POST", "/api/v1/check-ins", json=body))
    check("/api/v1/check-ins", "post", issuer.api("POST", "/api/v1/check-ins", json=body))
    check("/api/v1/check-ins", "post", issuer.api("POST", "/api/v1/check-ins", json={**body, "month": "x"}))
    check(
        "/api/v1/check-ins",
        "post",
        issuer.api("POST", "/api/v1/check-ins", json={**body, "card_uid": "04cafe00000002"}),
    )
    month = body["month"]
    check("/api/v1/check-ins", "get", issuer.api("GET", f"/api/v1/check-ins?month={month}"))
    check("/api/v1/check-ins", "get", issuer.api("GET", "/api/v1/check-ins?page=0"))
    check(
        "/api/v1/check-ins/months",
        "get",
        issuer.api("GET", f"/api/v1/check-ins/months?worker_id={issued['worker_id']}"),
    )
    check("/api/v1/check-ins/months", "get", issuer.api("GET", "/api/v1/check-ins/months"))
    check("/api/v1/check-ins/counts", "get", issuer.api("GET", f"/api/v1/check-ins/counts?month={month}"))
    check("/api/v1/check-ins/counts", "get", issuer.api("GET", "/api/v1/check-ins/counts", token=""))


@pytest.mark.parametrize("role", ["issuer_admin", "card_operator", "enterprise_admin"])
def test_each_recording_role_records_and_the_count_is_one(live_issuer: LiveIssuer, role: str) -> None:
    enterprise = int(live_issuer.enterprise()["id"])
    issued = bound_credential(live_issuer, enterprise)
    token = live_issuer.token(role, enterprise if role == "enterprise_admin" else None)
    assert live_issuer.api("POST", "/api/v1/check-ins", token=token, json=body_for(issued)).status_code == 201
    with live_issuer.runtime.store.read() as session:
        assert session.execute(select(func.count()).select_from(CheckIn)).scalar_one() == 1
