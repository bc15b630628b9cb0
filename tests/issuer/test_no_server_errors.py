"""No input gives a 500 (issue 17, finding 3): what an attacker sent, and the same class of input
sent to every route of the app's URL map, on SQLite and PostgreSQL.

* a complaint without ``summary`` and a resolve without a body failed an ``assert`` (500);
* ids beyond what the store holds overflowed the database: SQLite beyond 64 bits, PostgreSQL
  beyond 32 (its ``INTEGER``), in the path, in a query filter or cursor, in a body's
  ``enterprise_id`` — each is now 404 (a path id names no row) or 400 (a query or body value);
* a body that is JSON but no object (``[]``, ``"x"``, ``null``) reaches every POST and PATCH;
* ``/check-ins/months?until=0000-01`` answered ``"since": "-001-02"``, outside ``YYYY-MM``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.routing import Rule

from anxinma.issuer.services.checkins import MONTH, month_before
from tests.conftest import LiveIssuer
from tests.issuer.console_support import Console
from tests.issuer.routes_support import FIXED, token_client, upload
from tests.issuer.test_tenant_routes import BODIES

#: Ids the store cannot hold: PostgreSQL's INTEGER ends at 2**31 - 1, a serial at 2**32 - 1,
#: SQLite's INTEGER at 2**63 - 1, and beyond 64 bits no driver binds it.
TOO_BIG = (2**31, 2**32, 2**53, 2**63, 2**64)

#: Bodies that get a route past its validation to the lookup of the id in its path.
PATH_BODIES: dict[str, dict[str, Any]] = {
    **BODIES,
    "visits_public.consumer_rating": {"json": {"token": "axv_" + "x" * 20, "score": 4}},
    "visits_public.consumer_complaint": {
        "json": {"token": "axv_" + "x" * 20, "category": "other", "summary": "服务迟到了半小时"}
    },
    "visits_public.worker_rating": {"json": {"score": 4, "signature": "AAAA"}},
}


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _filled(rule: Rule, value: int) -> str:
    return re.sub(
        r"<(?:\w+:)?(\w+)>",
        lambda m: FIXED.get(m.group(1), str(value)),
        rule.rule,
    )


@pytest.fixture
def visit(issuer_on: LiveIssuer) -> dict[str, Any]:
    issued = issuer_on.credential()
    response = issuer_on.api("POST", "/api/v1/visits", token="", json={"code": issued["code"]})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_complaint_without_a_summary_is_refused_naming_the_field(
    issuer_on: LiveIssuer, visit: dict[str, Any]
) -> None:
    path = f"/api/v1/visits/{visit['visit_id']}/complaint"
    for body in ({"token": visit["rating_token"]}, {"token": visit["rating_token"], "summary": None}):
        response = issuer_on.api("POST", path, token="", json=body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_failed"
        assert error["fields"]["summary"] == {
            "zh": "必填，5 到 500 个字",
            "en": "required: 5 to 500 characters",
        }


def test_resolving_a_complaint_without_a_body_is_refused_naming_the_field(
    issuer_on: LiveIssuer, visit: dict[str, Any]
) -> None:
    filed = issuer_on.api(
        "POST",
        f"/api/v1/visits/{visit['visit_id']}/complaint",
        token="",
        json={"token": visit["rating_token"], "summary": "服务迟到了半小时"},
    )
    assert filed.status_code == 201, filed.text
    path = f"/api/v1/complaints/{filed.json()['id']}/resolve"
    for kwargs in ({}, {"json": {}}, {"data": "  "}):
        response = issuer_on.api("POST", path, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 400, response.text
        assert "resolution" in response.json()["error"]["fields"]
    for kwargs in ({"json": []}, {"json": "已处理"}, {"data": "null"}, {"data": "{"}):
        response = issuer_on.api("POST", path, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 400, response.text
        assert "body" in response.json()["error"]["fields"]


@pytest.mark.parametrize("value", TOO_BIG)
def test_the_visit_endpoints_answer_404_for_an_id_the_store_cannot_hold(
    issuer_on: LiveIssuer, value: int
) -> None:
    """The attacker's list, each with a body that passes validation (so the id is looked up)."""
    enterprise = issuer_on.token("enterprise_admin", int(issuer_on.enterprise()["id"]))  # type: ignore[call-overload]
    token = "axv_" + "x" * 20
    calls = [
        (f"/api/v1/visits/{value}/complaint", "", {"token": token, "summary": "服务迟到了半小时"}),
        (f"/api/v1/visits/{value}/rating", "", {"token": token, "score": 4}),
        (f"/api/v1/visits/{value}/rating/worker", "", {"score": 4, "signature": "AAAA"}),
        (f"/api/v1/visits/{value}/rating/enterprise", enterprise, {"score": 4}),
        (f"/api/v1/complaints/{value}/resolve", None, {"resolution": "已回访处理"}),
    ]
    for path, bearer, body in calls:
        response = issuer_on.api("POST", path, token=bearer, json=body)
        assert response.status_code == 404, f"{path}: {response.status_code} {response.text[:200]}"
        assert response.json()["error"]["code"] == "not_found"


def test_no_route_of_the_map_fails_on_an_id_the_store_cannot_hold(issuer_on: LiveIssuer) -> None:
    """Every route with an integer in its path, by an issuer admin's token (the API) or session
    (the consoles), each id of :data:`TOO_BIG`: 404, as for an id no row has."""
    app = issuer_on.app
    api = token_client(issuer_on, issuer_on.admin_token)
    console = Console.signed_in(issuer_on, "issuer_admin")
    failures, checked = [], 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "<int:" not in rule.rule:
            continue
        for method in _methods(rule):
            for value in TOO_BIG:
                path = _filled(rule, value)
                body = PATH_BODIES.get(rule.endpoint, {})
                if rule.rule.startswith("/console/"):
                    form = {  # a fresh upload each time: a file object is read once
                        k: (upload(v[0].getvalue(), v[1]) if isinstance(v, tuple) else v)
                        for k, v in body.get("data", {}).items()
                    }
                    got = console.get(path) if method == "GET" else console.post(path, form)
                else:
                    got = api.open(method, path, **{k: v for k, v in body.items() if k == "json"})
                checked += 1
                if got.status_code != 404:
                    failures.append(f"{method} {path}: {got.status_code}")
    assert checked > 100, checked
    assert not failures, "\n".join(failures)


#: Query integers of the API's listings, each set beyond what the store holds.
QUERY_INTS = ("worker_id", "enterprise_id", "after")


def test_a_query_id_the_store_cannot_hold_is_400_on_every_listing(issuer_on: LiveIssuer) -> None:
    api = token_client(issuer_on, issuer_on.admin_token)
    failures, checked = [], 0
    for rule in sorted(issuer_on.app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/") or "GET" not in (rule.methods or ()) or rule.arguments:
            continue
        for name in QUERY_INTS:
            for value in (2**31, 2**63, "²", "1" * 30):
                got = api.open("GET", f"{rule.rule}?{name}={value}&worker_id=1")
                checked += 1
                if got.status_code >= 500:
                    failures.append(f"GET {rule.rule}?{name}={value}: {got.status_code}")
                elif got.status_code == 400 and name not in got.get_json()["error"].get("fields", {}):
                    failures.append(f"GET {rule.rule}?{name}={value}: 400 not naming {name}")
    assert checked > 50, checked
    assert not failures, "\n".join(failures)


def test_a_body_enterprise_id_the_store_cannot_hold_is_400(issuer_on: LiveIssuer) -> None:
    for path, body in (
        ("/api/v1/workers", {"name": "王秀英", "enterprise_id": 2**31}),
        ("/api/v1/tokens", {"role": "enterprise_admin", "enterprise_id": 2**31}),
        ("/api/v1/tokens", {"role": "enterprise_admin", "enterprise_id": 2**64}),
    ):
        response = issuer_on.api("POST", path, json=body)
        assert response.status_code == 400, f"{path}: {response.status_code} {response.text[:200]}"
        assert "enterprise_id" in response.json()["error"]["fields"]


#: POST routes that read no body (whatever is sent, they do what their path says).
READ_NO_BODY = {"api.revoke_token": "revokes the token its path names (here the caller's own)"}


def test_every_post_and_patch_refuses_a_body_that_is_not_a_json_object(live_issuer: LiveIssuer) -> None:
    """``[]``, ``"x"``, ``null`` and ``1`` are JSON but not the object a route reads: 400
    (or a 4xx before the body is read: no token, a role that may not), never a 500."""
    api = token_client(live_issuer, live_issuer.admin_token)
    failures, checked = [], 0
    for rule in sorted(live_issuer.app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/") or rule.endpoint in READ_NO_BODY:
            continue
        for method in set(_methods(rule)) & {"POST", "PATCH"}:
            path = _filled(rule, 1)
            for raw in ("[]", '"x"', "null", "1", "[" * 5000, "{"):
                got = api.open(method, path, data=raw, content_type="application/json")
                checked += 1
                if not 400 <= got.status_code < 500:
                    failures.append(f"{method} {path} {raw[:10]}: {got.status_code}")
    assert checked > 60, checked
    assert not failures, "\n".join(failures)


def test_the_month_window_never_starts_before_the_first_month_the_format_writes(
    issuer_on: LiveIssuer,
) -> None:
    assert month_before("0000-01", 11) == "0000-01"
    assert month_before("0001-01", 11) == "0000-02"
    assert month_before("2025-03", 14) == "2024-01"
    response = issuer_on.api("GET", "/api/v1/check-ins/months?until=0000-01&worker_id=0")
    assert response.status_code == 200, response.text
    assert MONTH.match(response.json()["since"]), response.json()


#: The integers the consoles read from a query or a form.
CONSOLE_INTS = ("page", "after", "before", "enterprise", "enterprise_id", "worker", "score", "scale")


@pytest.mark.parametrize("value", ["²", "٣", str(2**31), str(2**64), "1" * 30])
def test_no_console_page_or_form_fails_on_a_number_it_cannot_use(issuer_on: LiveIssuer, value: str) -> None:
    """Every console route, signed in as the issuer admin, with each integer it reads (query and
    form) set to a non-ASCII digit or a number beyond the store: a page or a refusal, no 500."""
    console = Console.signed_in(issuer_on, "issuer_admin")
    query = "&".join(f"{name}={value}" for name in CONSOLE_INTS)
    failures, checked = [], 0
    for rule in sorted(issuer_on.app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/console/") or rule.endpoint in ("console.logout",):
            continue
        path = _filled(rule, 1)
        for method in _methods(rule):
            if method == "GET":
                got = console.get(f"{path}?{query}")
            else:
                form: dict[str, Any] = {name: value for name in CONSOLE_INTS}
                form["worker"] = [value, "1"]
                got = console.post(path, form)
            checked += 1
            if got.status_code >= 500:
                failures.append(f"{method} {path}: {got.status_code}")
    assert checked > 40, checked
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/v1/blacklist?all=null", "all"),
        ("/api/v1/complaints?resolved=", "resolved"),
        ("/api/v1/complaints?enterprise_id=0&enterprise_id=%F0%9F%98%8D", "enterprise_id"),
        ("/api/v1/visits?after=", "after"),
        ("/api/v1/ratings?source=", "source"),
        ("/api/v1/workers?status=active&status=left", "status"),
        ("/api/v1/check-ins/months?worker_id=1&until=", "until"),
        ("/api/v1/workers/1/scans?since=", "since"),
    ],
)
def test_a_query_the_document_does_not_allow_is_refused_not_guessed(
    live_issuer: LiveIssuer, query: str, field: str
) -> None:
    """Found by schemathesis (ST201): an empty value, ``null`` for a boolean, a parameter given
    twice were read as absent or as their first value; now 400 naming the parameter."""
    response = live_issuer.api("GET", query)
    assert response.status_code == 400, f"{query}: {response.status_code} {response.text[:200]}"
    assert field in response.json()["error"]["fields"]
