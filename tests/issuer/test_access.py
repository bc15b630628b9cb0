"""Authentication, roles and tenant isolation: another enterprise's token gets 404/403 and
changes nothing (checked in the database), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from anxinma.issuer.store.models import AuditEntry, Credential, Worker
from tests.conftest import LiveIssuer, random_id_number


def _snapshot(issuer: LiveIssuer) -> tuple[Any, ...]:
    with issuer.runtime.store.read() as session:
        return (
            session.execute(select(func.count(AuditEntry.seq))).scalar(),
            tuple(
                session.execute(
                    select(Credential.serial, Credential.status, Credential.status_value).order_by(
                        Credential.serial
                    )
                ).all()
            ),
            tuple(
                session.execute(
                    select(Worker.id, Worker.name, Worker.status, Worker.phone_hash).order_by(Worker.id)
                ).all()
            ),
        )


def test_other_enterprise_token_gets_404_or_403_on_every_endpoint_and_changes_nothing(
    issuer_on: LiveIssuer,
) -> None:
    ours = int(issuer_on.enterprise()["id"])  # type: ignore[call-overload]
    theirs = int(issuer_on.enterprise()["id"])  # type: ignore[call-overload]
    worker = int(issuer_on.worker(ours)["id"])  # type: ignore[call-overload]
    serial = int(issuer_on.credential(worker)["serial"])  # type: ignore[call-overload]
    issuer_on.api("POST", f"/api/v1/enterprises/{ours}/credentials", json={})
    intruder = issuer_on.token("enterprise_admin", theirs)
    csv = "姓名,身份证号,手机号,服务类别\n王芳," + random_id_number() + ",13800001111,保洁\n"
    matrix: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/api/v1/workers/{worker}", {}),
        ("PATCH", f"/api/v1/workers/{worker}", {"json": {"phone": "13900002222"}}),
        ("GET", f"/api/v1/workers/{worker}/scans", {}),
        ("POST", f"/api/v1/workers/{worker}/credentials", {"json": {}}),
        (
            "POST",
            "/api/v1/workers",
            {
                "json": {
                    "name": "王芳",
                    "id_number": random_id_number(),
                    "phone": "13800001111",
                    "categories": ["保洁"],
                    "enterprise_id": ours,
                }
            },
        ),
        (
            "POST",
            f"/api/v1/workers/import?enterprise_id={ours}",
            {"files": {"file": ("w.csv", csv.encode())}},
        ),
        ("GET", f"/api/v1/credentials/{serial}", {}),
        ("GET", f"/api/v1/credentials/{serial}/qr.png", {}),
        ("POST", f"/api/v1/credentials/{serial}/revoke", {"json": {"reason": "left"}}),
        ("POST", f"/api/v1/credentials/{serial}/suspend", {"json": {}}),
        ("POST", f"/api/v1/credentials/{serial}/reinstate", {"json": {}}),
        ("GET", f"/api/v1/enterprises/{ours}", {}),
        ("GET", f"/api/v1/enterprises/{ours}/credential", {}),
        ("POST", f"/api/v1/enterprises/{ours}/credentials", {"json": {}}),
        ("POST", "/api/v1/enterprises", {"json": {"name": "别家", "credit_code": "91330200MA2AAAAA0X"}}),
        (
            "POST",
            "/api/v1/blacklist",
            {"json": {"id_number": random_id_number(), "reason": "x", "evidence_ref": "y"}},
        ),
        ("GET", "/api/v1/blacklist", {}),
        ("POST", "/api/v1/tokens", {"json": {"role": "issuer_admin"}}),
    ]
    before = _snapshot(issuer_on)
    for method, path, kwargs in matrix:
        response = issuer_on.api(method, path, token=intruder, **kwargs)
        assert response.status_code in (403, 404), (
            f"{method} {path}: {response.status_code} {response.text[:200]}"
        )
        assert "error" in response.json()
    listing = issuer_on.api("GET", f"/api/v1/workers?enterprise_id={ours}", token=intruder).json()
    assert listing["items"] == []
    assert _snapshot(issuer_on) == before
    # The owner's token does reach them.
    owner = issuer_on.token("enterprise_admin", ours)
    assert issuer_on.api("GET", f"/api/v1/workers/{worker}", token=owner).status_code == 200
    assert [w["id"] for w in issuer_on.api("GET", "/api/v1/workers", token=owner).json()["items"]] == [worker]


def test_card_operator_may_issue_for_any_enterprise_but_not_revoke(issuer_on: LiveIssuer) -> None:
    operator = issuer_on.token("card_operator")
    first = issuer_on.worker()
    issued = issuer_on.api(
        "POST",
        f"/api/v1/workers/{first['id']}/credentials",
        token=operator,
        json={"card_uid": "04112233445566"},
    )
    assert issued.status_code == 201
    again = issuer_on.api(
        "POST",
        f"/api/v1/workers/{first['id']}/credentials",
        token=operator,
        json={"card_uid": "04998877665544"},
    )
    assert again.json()["replaced_serial"] == issued.json()["serial"]
    serial = again.json()["serial"]
    assert (
        issuer_on.api(
            "POST", f"/api/v1/credentials/{serial}/revoke", token=operator, json={"reason": "lost"}
        ).status_code
        == 403
    )
    assert issuer_on.api("POST", "/api/v1/workers", token=operator, json={}).status_code == 403


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer axm_nope", "Basic abc", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"]
)
def test_missing_or_bad_credentials_get_401(live_issuer: LiveIssuer, header: str) -> None:
    response = live_issuer.api(
        "GET", "/api/v1/workers", token="", headers={"Authorization": header} if header else {}
    )
    assert response.status_code == 401
    assert response.json()["error"]["zh"]


def test_revoked_token_stops_working(live_issuer: LiveIssuer) -> None:
    token_id, token = live_issuer.runtime.service.accounts.create_token(
        __import__("anxinma.issuer.services.auth", fromlist=["Role"]).Role.REGULATOR
    )
    assert live_issuer.api("GET", "/api/v1/workers", token=token).status_code == 200
    assert live_issuer.api("POST", f"/api/v1/tokens/{token_id}/revoke").status_code == 200
    assert live_issuer.api("GET", "/api/v1/workers", token=token).status_code == 401


def test_console_login_gives_a_short_lived_session_with_the_users_role(live_issuer: LiveIssuer) -> None:
    from anxinma.issuer.services.auth import Role

    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    live_issuer.runtime.service.accounts.create_user(
        "zhang.admin", "correct horse battery", Role.ENTERPRISE_ADMIN, enterprise
    )
    wrong = live_issuer.api(
        "POST", "/api/v1/sessions", token="", json={"username": "zhang.admin", "password": "nope"}
    )
    assert wrong.status_code == 401
    session = live_issuer.api(
        "POST",
        "/api/v1/sessions",
        token="",
        json={"username": "zhang.admin", "password": "correct horse battery"},
    ).json()
    me = live_issuer.api("GET", "/api/v1/me", token=session["token"]).json()
    assert me == {"role": "enterprise_admin", "enterprise_id": enterprise, "kind": "session"}
    assert live_issuer.api("POST", "/api/v1/enterprises", token=session["token"], json={}).status_code == 403


def test_oversized_body_is_413_and_writes_nothing(live_issuer: LiveIssuer) -> None:
    before = _snapshot(live_issuer)
    response = live_issuer.api("POST", "/api/v1/workers", json={"name": "王芳" * 40000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert _snapshot(live_issuer) == before


def test_ids_beyond_the_store_are_404_never_a_server_error(live_issuer: LiveIssuer) -> None:
    # Found by schemathesis: SQLite cannot bind integers beyond 64 bits.
    for path in (
        "/api/v1/credentials/112410654050488434688",
        "/api/v1/workers/9007199254740992",
        "/status/330200/99999999999999999999",
    ):
        response = live_issuer.api("GET", path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    patched = live_issuer.api("PATCH", "/api/v1/workers/9007199254740992", json={"name": "王芳"})
    assert patched.status_code == 404


def test_unknown_fields_in_a_status_change_are_refused(live_issuer: LiveIssuer) -> None:
    serial = live_issuer.credential()["serial"]
    response = live_issuer.api(
        "POST", f"/api/v1/credentials/{serial}/suspend", json={"reason": "x", "until": "2030"}
    )
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"until"}
    assert live_issuer.api("GET", f"/api/v1/credentials/{serial}").json()["status"] == "active"


def test_each_role_may_do_what_docs_api_md_says_and_no_more(issuer_on: LiveIssuer) -> None:
    enterprise = int(issuer_on.enterprise()["id"])  # type: ignore[call-overload]
    worker = int(issuer_on.worker(enterprise)["id"])  # type: ignore[call-overload]
    tokens = {
        "issuer_admin": issuer_on.admin_token,
        "regulator": issuer_on.token("regulator"),
        "enterprise_admin": issuer_on.token("enterprise_admin", enterprise),
        "card_operator": issuer_on.token("card_operator"),
    }

    def new_worker_body() -> dict[str, Any]:
        return {
            "name": "周慧",
            "id_number": random_id_number(),
            "phone": "13700001234",
            "categories": ["保洁"],
            "enterprise_id": enterprise,
        }

    expected = {
        # role: (list workers, register a worker, suspend, issue, blacklist list, create enterprise)
        "issuer_admin": (200, 201, 200, 201, 200, 400),
        "regulator": (200, 403, 200, 403, 200, 403),
        "enterprise_admin": (200, 201, 200, 201, 403, 403),
        "card_operator": (200, 403, 403, 201, 403, 403),
    }
    for role, token in tokens.items():
        serial = issuer_on.credential(worker)["serial"]
        got = (
            issuer_on.api("GET", "/api/v1/workers", token=token).status_code,
            issuer_on.api("POST", "/api/v1/workers", token=token, json=new_worker_body()).status_code,
            issuer_on.api("POST", f"/api/v1/credentials/{serial}/suspend", token=token, json={}).status_code,
            issuer_on.api("POST", f"/api/v1/workers/{worker}/credentials", token=token, json={}).status_code,
            issuer_on.api("GET", "/api/v1/blacklist", token=token).status_code,
            issuer_on.api("POST", "/api/v1/enterprises", token=token, json={}).status_code,
        )
        assert got == expected[role], role


def test_repeating_a_revocation_with_its_idempotency_key_replays_it(live_issuer: LiveIssuer) -> None:
    serial = live_issuer.credential()["serial"]
    headers = {"Idempotency-Key": "revoke-7"}
    first = live_issuer.api(
        "POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "lost"}, headers=headers
    )
    again = live_issuer.api(
        "POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "lost"}, headers=headers
    )
    assert first.json()["changed"] is True and again.json()["changed"] is True  # the first answer, replayed
    assert again.headers["Idempotent-Replayed"] == "true"
    with live_issuer.runtime.store.read() as session:
        revocations = session.execute(
            select(func.count(AuditEntry.seq)).where(
                AuditEntry.action == "credential.revoke", AuditEntry.target_id == str(serial)
            )
        ).scalar()
    assert revocations == 1


def test_console_session_expires(live_issuer_factory: Any) -> None:
    import time

    from anxinma.issuer.services.auth import Role

    issuer = live_issuer_factory(session_seconds=1)
    issuer.runtime.service.accounts.create_user("li.reg", "a long enough password", Role.REGULATOR)
    token = issuer.api(
        "POST",
        "/api/v1/sessions",
        token="",
        json={"username": "li.reg", "password": "a long enough password"},
    ).json()["token"]
    assert issuer.api("GET", "/api/v1/me", token=token).status_code == 200
    time.sleep(2.1)
    expired = issuer.api("GET", "/api/v1/me", token=token)
    assert expired.status_code == 401 and "过期" in expired.json()["error"]["zh"]
