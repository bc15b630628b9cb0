"""The tenant rule, tested from the app's URL map: every route that names a record in its path,
and every listing, called by another enterprise's API token and console session.

A route with a path parameter, given enterprise A's id by a caller of enterprise B, must answer
exactly what it answers for an id that does not exist (404 for a route B may call, 403 where
B's role may not call it at all) and never 2xx; a listing (a GET without path parameters),
asked for A's rows, shows none of A's data. Nothing of A changes: not one audit entry is
written (every change is audited, test_audit_routes). A new route is covered by being in the
map; only the routes :data:`~tests.issuer.routes_support.NOT_TENANT_ROUTES` names are left
out, each with its reason.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.routing import Rule

from tests.conftest import LiveIssuer, random_id_number
from tests.issuer.console_support import Console
from tests.issuer.routes_support import World, build_world, not_tenant, path_for, token_client, upload

#: A minimal valid body per endpoint, so a route reaches its lookup instead of stopping at
#: its validation (the form of a console route, the JSON of an API route).
BODIES: dict[str, dict[str, Any]] = {
    "api.revoke": {"json": {"reason": "lost"}},
    "api.suspend": {"json": {}},
    "api.reinstate": {"json": {}},
    "api.update_worker": {"json": {"phone": "13900002222"}},
    "api.issue_credential": {"json": {}},
    "api.issue_enterprise_credential": {"json": {}},
    "api.blacklist_remove": {"json": {"reason": "误列"}},
    "api.revoke_token": {"json": {}},
    "visits.enterprise_rating": {"json": {"score": 4}},
    "visits.resolve_complaint": {"json": {"resolution": "已回访处理"}},
    "console.change": {"data": {"confirm": "1", "reason": "lost"}},
    "console.edit_worker": {"data": {"name": "王芳", "categories": "cleaning"}},
    "console.issue": {"data": {}},
    "console.rate_visit": {"data": {"score": "4"}},
    "console.resolve_complaint": {"data": {"resolution": "已回访处理"}},
    "console.import_run": {"data": {}},
    "console.batch_report": {
        "data": {"report": upload(b"worker_id,status\n1,done\n", "r.csv")},
        "content_type": "multipart/form-data",
    },
    "console.admin_enterprise_issue": {"data": {}},
    "console.admin_token_revoke": {"data": {"confirm": "1"}},
    "console.admin_user_toggle": {"data": {}},
    "console.blacklist_remove": {"data": {"confirm": "1", "reason": "误列"}},
    "console.redlist_remove": {"data": {"reason": "企业申请"}},
}

MISSING = 987_654  # an id no table holds


def _routes(app: Any) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if not not_tenant(r)), key=lambda r: (r.rule, r.endpoint)
    )


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


class Caller:
    """One intruder of enterprise B: an API token or a console session."""

    def __init__(self, world: World, kind: str, role: str) -> None:
        self.kind, self.role = kind, role
        issuer = world.issuer
        if kind == "token":
            self.client = token_client(issuer, issuer.token(role, world.b))
            self.console: Console | None = None
        else:
            self.console = Console.signed_in(issuer, role, world.b)

    def call(self, method: str, path: str, endpoint: str) -> Any:
        body = dict(BODIES.get(endpoint, {}))
        if "data" in body:  # a fresh upload each time: a file object is read once
            body["data"] = {
                k: (upload(v[0].getvalue(), v[1]) if isinstance(v, tuple) else v)
                for k, v in body["data"].items()
            }
        if self.console is not None:
            if method == "GET":
                return self.console.get(path)
            return self.console.post(path, body.get("data", {}), content_type=body.get("content_type"))
        return self.client.open(method, path, **{k: v for k, v in body.items() if k == "json"})

    def __repr__(self) -> str:
        return f"{self.role}@B by {self.kind}"


def _leaks(world: World, response: Any) -> list[str]:
    """What of enterprise A a response shows: its markers in the text, its ids in JSON."""
    text = response.get_data().decode("utf-8", "replace")  # a QR or a PDF is bytes
    found = [m for m in world.markers if m in text]
    if response.mimetype == "application/json":
        wanted = {
            "enterprise_id": world.a,
            "worker_id": world.ids["worker_id"],
            "serial": world.ids["serial"],
            "credential_serial": world.ids["serial"],
        }

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    if key in wanted and item == wanted[key]:
                        found.append(f"{key}={item}")
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(json.loads(text or "null"))
    return found


@pytest.fixture
def world(live_issuer: LiveIssuer) -> World:
    return build_world(live_issuer)


def walk_as_another_tenant(world: World, caller: Any, *, consoles: bool) -> tuple[list[str], int]:
    """Every route of the URL map (the console pages when ``consoles``, else the API and the
    rest) called by ``caller`` with A's ids and with ids no row has: A's must answer exactly as
    nothing does, and no answer may show A's rows. The failures, and how many calls judged."""
    failures: list[str] = []
    checked = 0
    for rule in _routes(world.issuer.app):
        if rule.rule.startswith("/console/") != consoles:
            continue  # a console page answers a session, an API route a token
        for method in _methods(rule):
            if rule.arguments - {"kind", "action"}:
                theirs = path_for(rule, world.ids)
                nothing = path_for(rule, {name: MISSING for name in world.ids})
                assert theirs is not None and nothing is not None, (
                    f"no id for {rule.rule}: add it to the world"
                )
                got = caller.call(method, theirs, rule.endpoint)
                absent = caller.call(method, nothing, rule.endpoint)
                checked += 1
                if got.status_code < 400 or got.status_code != absent.status_code:
                    failures.append(
                        f"{method} {theirs}: {got.status_code} for A's id, {absent.status_code} for none"
                    )
                failures += [f"{method} {theirs} shows {leak}" for leak in _leaks(world, got)]
            elif method == "GET":
                for query in ("", f"?enterprise_id={world.a}", f"?enterprise={world.a}"):
                    got = caller.call(method, rule.rule + query, rule.endpoint)
                    checked += 1
                    failures += [f"GET {rule.rule}{query} shows {leak}" for leak in _leaks(world, got)]
    return failures, checked


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        ("token", "enterprise_admin"),
        ("session", "enterprise_admin"),
        ("token", "card_operator"),
        ("session", "card_operator"),
    ],
)
def test_another_enterprise_never_reaches_a_record_or_a_row(world: World, kind: str, role: str) -> None:
    caller = Caller(world, kind, role)
    before = world.audit_count()
    failures, checked = walk_as_another_tenant(world, caller, consoles=kind == "session")
    assert not failures, f"{caller}:\n" + "\n".join(failures)
    assert checked > 40, checked  # the map was walked
    written = world.audit_since(before)
    assert not [e for e in written if e.action not in ("user.create", "token.create")], [
        (e.actor, e.action, e.target_id) for e in written
    ]


def test_the_owner_does_reach_them(world: World) -> None:
    """The same paths with A's own token answer 2xx: the refusals above are the tenant rule's."""
    owner = token_client(world.issuer, world.issuer.token("enterprise_admin", world.a))
    for path in (
        f"/api/v1/workers/{world.ids['worker_id']}",
        f"/api/v1/credentials/{world.ids['serial']}",
        f"/api/v1/enterprises/{world.a}",
        f"/api/v1/enterprises/{world.a}/credential",
    ):
        assert owner.open("GET", path).status_code == 200, path
    listed = owner.open("GET", "/api/v1/workers").get_json()["items"]
    assert [w["id"] for w in listed] == [world.ids["worker_id"]]
    assert random_id_number()  # the fixture helpers stay importable for new routes' bodies
