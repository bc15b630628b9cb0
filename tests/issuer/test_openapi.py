"""The OpenAPI document matches the service: every route is documented, and real responses of
every endpoint (successes and errors) validate against the documented schemas."""

from __future__ import annotations

import re
from typing import Any

import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from werkzeug.routing import Rule

from tests.conftest import LiveIssuer, random_id_number
from tests.issuer.test_checkins import exercise as exercise_check_ins

#: Blueprints of the public JSON and document routes (besides everything under /api/).
PUBLIC_BLUEPRINTS = ("public", "live")


def _served(rule: Rule) -> list[tuple[str, set[str]]]:
    """The OpenAPI paths a rule serves, with their path parameters: ``<int:serial>`` becomes
    ``{serial}``; an ``any(png, svg)`` part is one path per value (each a route of its own)."""
    paths: list[tuple[str, set[str]]] = [(rule.rule, set())]
    for match in re.finditer(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", rule.rule):
        converter, arguments, name = match.groups()
        if converter == "any":
            values = [v.strip().strip("'\"") for v in (arguments or "").split(",")]
            paths = [(p.replace(match.group(0), v), names) for p, names in paths for v in values]
        else:
            paths = [(p.replace(match.group(0), "{" + name + "}"), names | {name}) for p, names in paths]
    return paths


def _api_rules(issuer: LiveIssuer) -> list[Rule]:
    return [
        rule
        for rule in issuer.app.url_map.iter_rules()
        if (rule.rule.startswith("/api/") or rule.endpoint.split(".")[0] in PUBLIC_BLUEPRINTS)
        and rule.endpoint != "openapi.openapi_json"
    ]


def _flask_paths(issuer: LiveIssuer) -> set[tuple[str, str]]:
    found = set()
    for rule in _api_rules(issuer):
        for path, _ in _served(rule):
            for method in rule.methods or ():
                if method not in ("HEAD", "OPTIONS"):
                    found.add((path, method.lower()))
    return found


def test_every_served_api_route_is_in_the_document(live_issuer: LiveIssuer) -> None:
    """Generated from the URL map: a route served under /api/ or by the public blueprints that
    the document leaves out (a new route without its ``@operation``), or documents with other
    path parameters, fails here by name."""
    document = live_issuer.api("GET", "/api/v1/openapi.json", token="").json()
    missing, wrong = [], []
    for rule in _api_rules(live_issuer):
        for path, names in _served(rule):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                entry = document["paths"].get(path, {}).get(method.lower())
                if entry is None:
                    missing.append(f"{method} {path} ({rule.endpoint})")
                    continue
                documented = {p["name"] for p in entry.get("parameters", ()) if p["in"] == "path"}
                if documented != names:
                    wrong.append(
                        f"{method} {path}: path parameters {sorted(documented)}, served {sorted(names)}"
                    )
    assert not missing, "served but not in the document: " + "; ".join(missing)
    assert not wrong, "; ".join(wrong)
    assert len(_api_rules(live_issuer)) > 40  # the filter found the API (not an empty pass)


class Checker:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(
            document,
            default_specification=__import__("referencing.jsonschema", fromlist=["DRAFT202012"]).DRAFT202012,
        )
        self.registry = Registry().with_resource("urn:openapi", resource)
        self.checked: set[tuple[str, str, str]] = set()

    def __call__(self, template: str, method: str, response: requests.Response) -> None:
        operation = self.document["paths"][template][method]
        status = str(response.status_code)
        assert status in operation["responses"], (
            f"{method} {template}: {status} is not documented: {response.text[:200]}"
        )
        content = operation["responses"][status].get("content", {})
        if "application/json" in content:
            schema = {"$ref": "urn:openapi" + content["application/json"]["schema"]["$ref"]}
            validator = Draft202012Validator(
                schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            errors = sorted(validator.iter_errors(response.json()), key=str)
            assert not errors, (
                f"{method} {template} {status}: {errors[0].message} at {list(errors[0].absolute_path)}"
            )
        else:
            media = response.headers.get("Content-Type", "").split(";")[0]
            assert not content or media in content, f"{method} {template}: {media} not documented"
        self.checked.add((template, method, status))


def test_every_route_is_documented_and_responses_match_the_document(issuer_on: LiveIssuer) -> None:
    document = issuer_on.api("GET", "/api/v1/openapi.json", token="").json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (p, m)
        for p, ops in document["paths"].items()
        for m in ops
        if m in ("get", "post", "patch", "put", "delete")
    }
    served = _flask_paths(issuer_on) - {("/api/v1/openapi.json", "get")}
    assert served == documented
    check = Checker(document)
    api = issuer_on.api

    from anxinma.issuer.services.validation import credit_check_character

    code = "91330200MA2H4X1Y2"
    enterprise = api(
        "POST",
        "/api/v1/enterprises",
        json={"name": "宁波测试家政有限公司", "credit_code": code + credit_check_character(code)},
    )
    check("/api/v1/enterprises", "post", enterprise)
    enterprise_id = enterprise.json()["id"]
    check("/api/v1/enterprises", "post", api("POST", "/api/v1/enterprises", json={"name": "x"}))
    check("/api/v1/enterprises", "get", api("GET", "/api/v1/enterprises"))
    check("/api/v1/enterprises/{enterprise_id}", "get", api("GET", f"/api/v1/enterprises/{enterprise_id}"))
    check("/api/v1/enterprises/{enterprise_id}", "get", api("GET", "/api/v1/enterprises/999"))
    check(
        "/api/v1/enterprises/{enterprise_id}/credentials",
        "post",
        api("POST", f"/api/v1/enterprises/{enterprise_id}/credentials"),
    )
    check(
        "/api/v1/enterprises/{enterprise_id}/credential",
        "get",
        api("GET", f"/api/v1/enterprises/{enterprise_id}/credential"),
    )

    body = {
        "name": "王秀英",
        "id_number": random_id_number(),
        "phone": "13800138000",
        "categories": ["保洁"],
        "enterprise_id": enterprise_id,
        "trainings": [{"name": "育婴员（五级）", "issued_on": "2025-03-01"}],
        "skills": ["收纳"],
        "star_level": 4,
    }
    worker = api("POST", "/api/v1/workers", json=body)
    check("/api/v1/workers", "post", worker)
    check("/api/v1/workers", "post", api("POST", "/api/v1/workers", json={**body, "phone": "1"}))
    check("/api/v1/workers", "post", api("POST", "/api/v1/workers", json=body))  # 409 duplicate
    worker_id = worker.json()["id"]
    check("/api/v1/workers", "get", api("GET", "/api/v1/workers?q=王"))
    check("/api/v1/workers", "get", api("GET", "/api/v1/workers?per_page=0"))
    check("/api/v1/workers", "get", api("GET", "/api/v1/workers", token=""))
    check("/api/v1/workers/{worker_id}", "get", api("GET", f"/api/v1/workers/{worker_id}"))
    check(
        "/api/v1/workers/{worker_id}",
        "patch",
        api("PATCH", f"/api/v1/workers/{worker_id}", json={"insurance_valid_until": "2030-01-01"}),
    )
    check(
        "/api/v1/workers/{worker_id}",
        "patch",
        api("PATCH", f"/api/v1/workers/{worker_id}", json={"insurance_valid_until": "soon"}),
    )
    csv = f"姓名,身份证号,手机号,服务类别\n李静,{random_id_number()},13900000001,育婴\n张敏,1,2,3\n".encode()
    check(
        "/api/v1/workers/import",
        "post",
        api("POST", f"/api/v1/workers/import?enterprise_id={enterprise_id}", files={"file": ("a.csv", csv)}),
    )
    check(
        "/api/v1/workers/import",
        "post",
        api("POST", "/api/v1/workers/import", files={"file": ("a.csv", b"foo,bar\n1,2\n")}),
    )

    issued = api(
        "POST",
        f"/api/v1/workers/{worker_id}/credentials",
        json={"card_uid": "04a1b2c3d4e5f6"},
        headers={"Idempotency-Key": "k1"},
    )
    check("/api/v1/workers/{worker_id}/credentials", "post", issued)
    check(
        "/api/v1/workers/{worker_id}/credentials",
        "post",
        api("POST", f"/api/v1/workers/{worker_id}/credentials", json={"card_uid": "zz"}),
    )
    serial = issued.json()["serial"]
    check("/api/v1/credentials/{serial}", "get", api("GET", f"/api/v1/credentials/{serial}"))
    check("/api/v1/credentials/{serial}/qr.png", "get", api("GET", f"/api/v1/credentials/{serial}/qr.png"))
    check("/api/v1/credentials/{serial}/qr.svg", "get", api("GET", f"/api/v1/credentials/{serial}/qr.svg"))
    check(
        "/api/v1/credentials/{serial}/suspend",
        "post",
        api("POST", f"/api/v1/credentials/{serial}/suspend", json={}),
    )
    check(
        "/api/v1/credentials/{serial}/reinstate",
        "post",
        api("POST", f"/api/v1/credentials/{serial}/reinstate", json={}),
    )
    check("/api/v1/live", "post", api("POST", "/api/v1/live", token="", json={"code": issued.json()["code"]}))
    check("/api/v1/live", "post", api("POST", "/api/v1/live", token="", json={"code": "12"}))
    check("/api/v1/workers/{worker_id}/scans", "get", api("GET", f"/api/v1/workers/{worker_id}/scans"))
    check(
        "/api/v1/credentials/{serial}/revoke",
        "post",
        api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "nope"}),
    )
    check(
        "/api/v1/credentials/{serial}/revoke",
        "post",
        api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "lost"}),
    )
    check(
        "/api/v1/credentials/{serial}/suspend",
        "post",
        api("POST", f"/api/v1/credentials/{serial}/suspend", json={}),
    )  # 409

    number = random_id_number()
    api("POST", "/api/v1/workers", json={**body, "id_number": number})
    listed = api(
        "POST",
        "/api/v1/blacklist",
        json={"id_number": number, "reason": "虚假资质", "evidence_ref": "甬商务〔2026〕7号"},
    )
    check("/api/v1/blacklist", "post", listed)
    check("/api/v1/blacklist", "post", api("POST", "/api/v1/blacklist", json={}))
    check("/api/v1/blacklist", "get", api("GET", "/api/v1/blacklist"))
    check(
        "/api/v1/blacklist/{entry_id}/remove",
        "post",
        api("POST", f"/api/v1/blacklist/{listed.json()['id']}/remove", json={"reason": "复核"}),
    )

    token = api("POST", "/api/v1/tokens", json={"role": "enterprise_admin", "enterprise_id": enterprise_id})
    check("/api/v1/tokens", "post", token)
    check("/api/v1/tokens", "post", api("POST", "/api/v1/tokens", json={"role": "king"}))
    check("/api/v1/me", "get", api("GET", "/api/v1/me", token=token.json()["token"]))
    check(
        "/api/v1/workers/{worker_id}", "get", api("GET", "/api/v1/workers/99999", token=token.json()["token"])
    )
    check(
        "/api/v1/tokens/{token_id}/revoke", "post", api("POST", f"/api/v1/tokens/{token.json()['id']}/revoke")
    )
    issuer_on.runtime.service.accounts.create_user(
        "wang.li",
        "a long enough password",
        __import__("anxinma.issuer.services.auth", fromlist=["Role"]).Role.REGULATOR,
    )
    check(
        "/api/v1/sessions",
        "post",
        api(
            "POST",
            "/api/v1/sessions",
            token="",
            json={"username": "wang.li", "password": "a long enough password"},
        ),
    )
    check(
        "/api/v1/sessions",
        "post",
        api("POST", "/api/v1/sessions", token="", json={"username": "wang.li", "password": "wrong"}),
    )

    check("/.well-known/anxinma", "get", api("GET", "/.well-known/anxinma", token=""))
    check("/jwks.json", "get", api("GET", "/jwks.json", token=""))
    check("/trust-list", "get", api("GET", "/trust-list", token=""))
    check("/status/{issuer_code}/{shard}", "get", api("GET", "/status/330200/0", token=""))
    check("/status/{issuer_code}/{shard}", "get", api("GET", "/status/330200/7", token=""))
    check("/status/{issuer_code}/{shard}/compact", "get", api("GET", "/status/330200/0/compact", token=""))
    check("/status/{issuer_code}/{shard}/compact", "get", api("GET", "/status/330200/7/compact", token=""))
    check("/status/{issuer_code}/freshness", "get", api("GET", "/status/330200/freshness", token=""))
    check("/status/{issuer_code}/freshness", "get", api("GET", "/status/110000/freshness", token=""))
    check("/trust-list/status", "get", api("GET", "/trust-list/status", token=""))

    exercise_check_ins(issuer_on, check)  # 按月打卡 (tests/issuer/test_checkins.py)
    from tests.issuer.phone_support import card_and_phone, phone_body

    enrol = f"/api/v1/workers/{worker_id}/enrolments"  # the worker's phone (docs/page.md)
    check("/api/v1/workers/{worker_id}/enrolments", "post", api("POST", enrol, json={"minutes": 20}))
    check("/api/v1/workers/{worker_id}/enrolments", "post", api("POST", enrol, json={"minutes": 0}))
    both = card_and_phone(issuer_on, enterprise_id)  # 按月打卡 by a tap on the worker's phone
    tapped = api("POST", "/api/v1/check-ins/phone", token="", json=phone_body(330200, both))
    assert tapped.status_code == 201, tapped.text
    check("/api/v1/check-ins/phone", "post", tapped)
    check("/api/v1/check-ins/phone", "post", api("POST", "/api/v1/check-ins/phone", token="", json={}))
    check("/audit/checkpoint", "get", api("GET", "/audit/checkpoint", token=""))
    reported = api(
        "POST",
        "/api/v1/reports",
        token="",
        json={"code": str(both.card.to_url(issuer_on.url)), "status": "revoked", "reason": "revoked_in_use"},
    )
    assert reported.status_code == 201, reported.text
    check("/api/v1/reports", "post", reported)
    check("/api/v1/reports", "post", api("POST", "/api/v1/reports", token="", json={"code": "x"}))
    check("/api/v1/reports", "get", api("GET", "/api/v1/reports"))

    _check_visits(issuer_on, check, enterprise_id)
    exercised = {(p, m) for p, m, _ in check.checked}
    assert exercised == documented, f"not exercised: {documented - exercised}"


def _check_visits(issuer: LiveIssuer, check: Checker, enterprise_id: int) -> None:
    """确认入户, ratings and complaints (anxinma/issuer/services/visits.py), successes and refusals."""
    import base64

    from anxinma import ed25519
    from anxinma.issuer.services.visits import worker_rating_message

    api = issuer.api
    phone = ed25519.SigningKey.generate()
    worker = issuer.worker(enterprise_id)
    code = api(
        "POST", f"/api/v1/workers/{worker['id']}/credentials", json={"holder_key": phone.public_key.hex()}
    ).json()["code"]
    visit = api("POST", "/api/v1/visits", token="", json={"code": code})
    check("/api/v1/visits", "post", visit)
    check("/api/v1/visits", "post", api("POST", "/api/v1/visits", token="", json={"code": "wxp://f2f0"}))
    visit_id, token = visit.json()["visit_id"], visit.json()["rating_token"]
    rating, t_rating = f"/api/v1/visits/{visit_id}/rating", "/api/v1/visits/{visit_id}/rating"
    check(t_rating, "post", api("POST", rating, token="", json={"token": token, "score": 5, "comment": "好"}))
    check(t_rating, "post", api("POST", rating, token="", json={"token": token, "score": 5}))  # 409
    check(t_rating, "post", api("POST", rating, token="", json={"token": "axv_no", "score": 5}))  # 403
    complaint, t_complaint = f"/api/v1/visits/{visit_id}/complaint", "/api/v1/visits/{visit_id}/complaint"
    filed = api(
        "POST", complaint, token="", json={"token": token, "category": "fee", "summary": "多收了费用"}
    )
    check(t_complaint, "post", filed)
    check(t_complaint, "post", api("POST", complaint, token="", json={"token": token, "summary": "x"}))  # 400
    enterprise_token = issuer.token("enterprise_admin", enterprise_id)
    by_enterprise = f"/api/v1/visits/{visit_id}/rating/enterprise"
    t_enterprise = "/api/v1/visits/{visit_id}/rating/enterprise"
    check(t_enterprise, "post", api("POST", by_enterprise, token=enterprise_token, json={"score": 4}))
    check(t_enterprise, "post", api("POST", by_enterprise, json={"score": 4}))  # 403: not the employer
    by_worker, t_worker = (
        f"/api/v1/visits/{visit_id}/rating/worker",
        "/api/v1/visits/{visit_id}/rating/worker",
    )
    message = worker_rating_message(issuer.runtime.service.issuer_code, visit_id, 3, "")
    signature = base64.urlsafe_b64encode(phone.sign(message)).rstrip(b"=").decode()
    check(t_worker, "post", api("POST", by_worker, token="", json={"score": 3, "signature": signature}))
    check(t_worker, "post", api("POST", by_worker, token="", json={"score": 3, "signature": "AAAA"}))
    check("/api/v1/visits", "get", api("GET", "/api/v1/visits", token=enterprise_token))
    check("/api/v1/visits", "get", api("GET", "/api/v1/visits", token=""))
    check(
        "/api/v1/ratings", "get", api("GET", f"/api/v1/ratings?enterprise_id={enterprise_id}&source=consumer")
    )
    check("/api/v1/ratings", "get", api("GET", "/api/v1/ratings?source=king"))
    check("/api/v1/complaints", "get", api("GET", "/api/v1/complaints?resolved=false"))
    resolve = f"/api/v1/complaints/{filed.json()['id']}/resolve"
    check(
        "/api/v1/complaints/{complaint_id}/resolve",
        "post",
        api("POST", resolve, json={"resolution": "已退款"}),
    )
    check(
        "/api/v1/complaints/{complaint_id}/resolve", "post", api("POST", resolve, json={"resolution": "再次"})
    )  # 409


def test_every_documented_body_field_is_accepted_and_no_other(live_issuer: LiveIssuer) -> None:
    """The request models of routes that parse their bodies elsewhere (web/visits.py, the check-in
    service) only document them: this keeps the two in step. Every JSON body the document
    declares is sent with each declared field (an invalid value) and one undeclared field: the
    route must refuse the undeclared one by name (the body is closed) and none of the declared
    ones as unknown."""
    document = live_issuer.api("GET", "/api/v1/openapi.json", token="").json()
    schemas = document["components"]["schemas"]
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    tokens = [None, live_issuer.token("regulator"), live_issuer.token("enterprise_admin", enterprise)]
    checked = []
    for path, operations in document["paths"].items():
        for method, entry in operations.items():
            content = entry.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = schemas[content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
            closed = schema.get("additionalProperties") is False
            body = {**{name: [[]] for name in schema["properties"]}, "zz_undeclared": 1}
            url = re.sub(r"\{\w+\}", "1", path)
            for token in tokens if entry.get("security") != [] else [""]:
                answer = live_issuer.api(method.upper(), url, token=token, json=body)
                if answer.status_code != 403:
                    break
            if answer.status_code == 404 and path not in PARSED_ELSEWHERE:
                continue  # the route looks its record up before it reads the body: nothing to judge
            assert answer.status_code == 400, f"{method} {path}: {answer.status_code} {answer.text[:200]}"
            fields = answer.json()["error"].get("fields", {})
            unknown = {name for name, says in fields.items() if says["en"] == "unknown field"}
            assert unknown <= {"zz_undeclared"}, f"{method} {path}: documented but refused: {unknown}"
            if closed:
                assert "zz_undeclared" in unknown, f"{method} {path}: an undeclared field was accepted"
            checked.append(path)
    assert set(checked) >= PARSED_ELSEWHERE, f"not judged: {PARSED_ELSEWHERE - set(checked)}"
    assert len(checked) >= 15


#: The bodies whose documented models do not parse them (web/visits.py, services/checkins.py).
PARSED_ELSEWHERE = {
    "/api/v1/visits",
    "/api/v1/visits/{visit_id}/rating",
    "/api/v1/visits/{visit_id}/complaint",
    "/api/v1/visits/{visit_id}/rating/enterprise",
    "/api/v1/visits/{visit_id}/rating/worker",
    "/api/v1/complaints/{complaint_id}/resolve",
    "/api/v1/check-ins",
    "/api/v1/check-ins/phone",
    "/api/v1/reports",
}
