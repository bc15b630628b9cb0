"""举报假码 (issue 17 finding 6) against the served issuer: a report needs nothing but the code and
asks nothing about the consumer, records the verdict and what the issuer's record says, is
limited per client, and is listed for the regulator (all) and for the enterprise (its own codes
only, through the tenant rule); a forged code is the regulator's only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from anxinma.issuer.services.reports import REPORTS_PER_CLIENT_PER_DAY
from anxinma.issuer.store.models import CodeReport
from tests.conftest import LiveIssuer


def report(issuer: LiveIssuer, body: dict[str, Any], address: str = "198.51.100.20") -> Any:
    return issuer.api("POST", "/api/v1/reports", token="", json=body, headers={"X-Forwarded-For": address})


def listed(issuer: LiveIssuer, token: str) -> list[dict[str, Any]]:
    response = issuer.api("GET", "/api/v1/reports", token=token)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


def test_a_report_of_a_revoked_code_reaches_its_enterprise_and_the_regulator_only(
    live_issuer_factory: Callable[..., LiveIssuer],
) -> None:
    issuer = live_issuer_factory(proxies=1)
    own, other = issuer.enterprise(), issuer.enterprise()
    worker = issuer.worker(int(own["id"]))  # type: ignore[call-overload]
    issued = issuer.credential(int(worker["id"]))  # type: ignore[call-overload]
    assert issuer.api("POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "left"}).ok
    filed = report(
        issuer,
        {
            "code": issued["code"],
            "status": "revoked",
            "reason_key": "revoked",
            "reason": "revoked_in_use",
            "note": "说是新换的证",
        },
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["serial"] == issued["serial"]

    forged = bytearray(bytes.fromhex(str(issued["hex"])))
    forged[-1] ^= 1  # our issuer code and serial, bytes we never signed
    assert report(issuer, {"code": forged.hex(), "status": "bad_signature", "reason": "cannot_verify"}).ok
    assert report(issuer, {"code": "wxp://f2f0Xy1", "status": "malformed", "reason": "cannot_verify"}).ok

    regulator = issuer.token("regulator")
    seen = {r["verdict"]["status"]: r for r in listed(issuer, regulator)}
    assert set(seen) == {"revoked", "bad_signature", "malformed"}
    revoked = seen["revoked"]
    assert (revoked["record_status"], revoked["enterprise_id"], revoked["reason"]) == (
        "revoked",
        own["id"],
        "revoked_in_use",
    )
    assert revoked["worker_display_name"] == "李*霞" and revoked["note"] == "说是新换的证"
    assert (seen["bad_signature"]["record_status"], seen["bad_signature"]["enterprise_id"]) == (
        "not_on_record",
        None,
    )
    assert seen["bad_signature"]["serial"] == issued["serial"]
    assert (seen["malformed"]["serial"], seen["malformed"]["issuer_code"]) == (None, None)

    own_token = issuer.token("enterprise_admin", int(own["id"]))  # type: ignore[call-overload]
    other_token = issuer.token("enterprise_admin", int(other["id"]))  # type: ignore[call-overload]
    assert [r["id"] for r in listed(issuer, own_token)] == [revoked["id"]]
    assert listed(issuer, other_token) == []
    asked = issuer.api("GET", f"/api/v1/reports?enterprise_id={own['id']}", token=other_token)
    assert asked.json()["items"] == []
    assert issuer.api("GET", "/api/v1/reports", token=issuer.token("card_operator")).status_code == 403
    assert issuer.api("GET", "/api/v1/reports", token="").status_code == 401


def test_a_report_asks_nothing_personal_and_is_limited_per_client(
    live_issuer_factory: Callable[..., LiveIssuer],
) -> None:
    issuer = live_issuer_factory(proxies=1)
    code = str(issuer.credential()["code"])
    base = {"code": code, "status": "valid", "reason": "wrong_person"}
    phone = report(issuer, {**base, "note": "请回电 138 0013 8000"})
    assert phone.status_code == 400 and "电话号码" in str(phone.json()["error"]["fields"])
    extra = report(issuer, {**base, "phone": "13800138000"})
    assert extra.status_code == 400 and "phone" in extra.json()["error"]["fields"]
    unknown_reason = report(issuer, {**base, "reason": "because"})
    assert unknown_reason.status_code == 400 and "reason" in unknown_reason.json()["error"]["fields"]
    assert report(issuer, {"status": "valid", "reason": "other"}).status_code == 400
    for _ in range(REPORTS_PER_CLIENT_PER_DAY):
        assert report(issuer, base).status_code == 201
    refused = report(issuer, base)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert "明天" in refused.json()["error"]["zh"] and "tomorrow" in refused.json()["error"]["en"]
    assert report(issuer, base, address="203.0.113.9").status_code == 201  # another network
    with issuer.runtime.store.read() as session:
        assert (
            session.execute(select(func.count(CodeReport.id))).scalar_one() == REPORTS_PER_CLIENT_PER_DAY + 1
        )
        hashes = set(session.execute(select(CodeReport.client_hash)).scalars())
    assert all(len(h) == 16 and "198.51" not in h for h in hashes)  # a keyed hash, not the address


def test_the_consoles_show_flagged_ratings_and_reports_to_whom_they_belong(
    live_issuer_factory: Callable[..., LiveIssuer],
) -> None:
    from tests.issuer.console_support import Console, text

    issuer = live_issuer_factory(extra={"visit_rate_limit": "1000 per minute"})
    own, other = issuer.enterprise(), issuer.enterprise()
    worker = issuer.worker(int(own["id"]))  # type: ignore[call-overload]
    issued = issuer.credential(int(worker["id"]))  # type: ignore[call-overload]
    for _ in range(3):  # one client rating one worker three times: two are stored, not counted
        visit = issuer.api("POST", "/api/v1/visits", token="", json={"code": issued["code"]}).json()
        body = {"token": visit["rating_token"], "score": 1}
        assert issuer.api("POST", f"/api/v1/visits/{visit['visit_id']}/rating", token="", json=body).ok
    assert report(issuer, {"code": issued["code"], "status": "valid", "reason": "wrong_person"}).ok
    assert report(issuer, {"code": "84ff", "status": "malformed", "reason": "cannot_verify"}).ok

    regulator = Console.signed_in(issuer, "regulator")
    page = regulator.get("/console/reports")
    assert page.status_code == 200, text(page)[:500]
    assert 'data-flagged="2"' in text(page) and "同一客户端 30 天内重复评价: 2" in text(page)
    assert text(page).count("data-report=") == 2 and "无法读取" in text(page)
    dashboard = text(regulator.get("/console/dashboard"))
    assert 'data-flagged="2" data-reports="2"' in dashboard and "假码举报" in dashboard

    mine = Console.signed_in(issuer, "enterprise_admin", int(own["id"]))  # type: ignore[call-overload]
    page = mine.get("/console/reports")
    assert 'data-flagged="2"' in text(page) and text(page).count("data-report=") == 1
    worker_page = mine.get(f"/console/workers/{worker['id']}")
    assert 'data-flagged="2"' in text(worker_page)

    theirs = Console.signed_in(issuer, "enterprise_admin", int(other["id"]))  # type: ignore[call-overload]
    page = theirs.get("/console/reports")
    assert 'data-flagged="0"' in text(page) and "data-report=" not in text(page)
