"""A two-enterprise world for the tests generated from the app's URL map (test_tenant_routes,
test_audit_routes): enterprise A holds one of everything a route can name (worker, credential
bound to a card, the enterprise's own code, a visit with a rating and a complaint, a check-in,
a card batch, an import job), enterprise B the same few things, so a caller of B has rows of
its own to compare with. ``path_for`` fills a rule's parameters with A's ids."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from anxinma import credential as fmt
from anxinma.issuer.services.auth import SYSTEM, Principal, Role
from anxinma.issuer.store.models import AuditEntry
from tests.conftest import LiveIssuer, random_id_number

#: Endpoints no tenant owns: public documents, the consumer's and the worker's own routes
#: (authorised by a visit's token or a holder key, not by an enterprise), signing in and out,
#: static files and the verifier's page. Each with why it is not a tenant route.
NOT_TENANT_ROUTES: dict[str, str] = {
    "static": "static files",
    "public.discovery": "public discovery document",
    "public.jwks_json": "public keys",
    "public.status_list": "public status list (every verifier reads it)",
    "public.status_list_compact": "public status list",
    "public.status_freshness": "public status freshness",
    "public.trust_list": "public trust list",
    "public.trust_list_status": "public trust-list status",
    "public.audit_checkpoint": "public signed head of the audit chain (a count and a hash)",
    "live.live_record": "the live record: authorised by presenting the credential itself",
    "openapi.openapi_json": "the API document",
    "visits_public.confirm_entry": "the consumer at the door: presents the credential",
    "visits_public.consumer_rating": "the consumer: the visit's one-time token",
    "visits_public.consumer_complaint": "the consumer: the visit's one-time token",
    "visits_public.worker_rating": "the worker: the holder key's signature",
    "checkins_public.record_phone_check_in": "the worker's phone: the holder key's signature",
    "visits_public.report_code": "the consumer reporting a fake code: no account, nothing about them",
    "phone.phone_page": "the worker's phone page: what it shows is held on the phone",
    "phone.service_worker": "the phone page's service worker script",
    "phone.enrolment_page": "the worker's phone: the enrolment link's one-time secret",
    "phone.enrol": "the worker's phone: the enrolment link's one-time secret",
    "phone.record": "the worker's phone: a request signed by the holder key of its own credential",
    "api.create_session": "signing in",
    "api.me": "the caller itself",
    "console.login": "signing in",
    "console.logout": "signing out",
    "console.import_template": "an empty template file",
    "directory.listing": "the public enterprise directory: what the platform publishes about every enterprise",
    "directory.enterprise": "an enterprise's public page (grade and its figures): published for everyone",
    "directory.compare": "the public comparison of enterprises",
    "directory.lists": "the published red and black lists",
}


def not_tenant(rule: Rule) -> bool:
    return rule.endpoint in NOT_TENANT_ROUTES or rule.endpoint.startswith("verifier_page.")


@dataclass
class World:
    issuer: LiveIssuer
    a: int
    b: int
    ids: dict[str, int] = field(default_factory=dict)  # A's ids by rule parameter name
    b_ids: dict[str, int] = field(default_factory=dict)  # B's, where a route names one
    markers: list[str] = field(default_factory=list)  # text of A that no page of B shows

    def audit_count(self) -> int:
        from sqlalchemy import func, select

        with self.issuer.runtime.store.read() as session:
            return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())

    def audit_since(self, count: int) -> list[AuditEntry]:
        from sqlalchemy import select

        with self.issuer.runtime.store.read() as session:
            return list(session.execute(select(AuditEntry).order_by(AuditEntry.seq).offset(count)).scalars())


#: Values of rule parameters that name no record (a QR's format, a change's action).
FIXED = {"kind": "png", "action": "suspend"}


def path_for(rule: Rule, ids: dict[str, int], **fixed: str) -> str | None:
    """The rule's path with its parameters filled from ``ids`` (None: a parameter unknown)."""
    values: dict[str, Any] = {}
    for name in rule.arguments:
        if name in fixed:
            values[name] = fixed[name]
        elif name in FIXED:
            values[name] = FIXED[name]
        elif name in ids:
            values[name] = ids[name]
        else:
            return None
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
    return path


def _enterprise_with_data(issuer: LiveIssuer, name: str, worker_name: str, uid: str) -> dict[str, Any]:
    enterprise = int(issuer.enterprise(name)["id"])  # type: ignore[call-overload]
    worker = int(issuer.worker(enterprise, name=worker_name)["id"])  # type: ignore[call-overload]
    issued = issuer.credential(worker, card_uid=uid)
    own = issuer.api("POST", f"/api/v1/enterprises/{enterprise}/credentials", json={}).json()
    visit = issuer.api("POST", "/api/v1/visits", token="", json={"code": issued["code"]}).json()
    token = visit["rating_token"]
    issuer.api(
        "POST",
        f"/api/v1/visits/{visit['visit_id']}/complaint",
        token="",
        json={"token": token, "category": "other", "summary": "服务迟到了半小时"},
    )
    complaints = issuer.api("GET", f"/api/v1/complaints?enterprise_id={enterprise}").json()["items"]
    moment = datetime.now(fmt.CHINA_TZ)
    issuer.api(
        "POST",
        "/api/v1/check-ins",
        json={
            "code": issued["code"],
            "card_uid": uid,
            "month": moment.strftime("%Y-%m"),
            "station": "测试站",
            "tapped_at": moment.isoformat(),
        },
    )
    services = issuer.runtime.service
    batch = services.batches.create(SYSTEM, [worker], "A batch")
    owner = Principal("token", "fixture", Role.ENTERPRISE_ADMIN, enterprise)
    rows = [{"name": "王秀英", "id_number": random_id_number(), "phone": "13900000001", "categories": "保洁"}]
    job = services.import_jobs.create(owner, enterprise, "w.csv", "0" * 64, rows, {"rows": 1})
    return {
        "enterprise_id": enterprise,
        "worker_id": worker,
        "serial": int(issued["serial"]),
        "enterprise_serial": int(own["serial"]),
        "visit_id": int(visit["visit_id"]),
        "complaint_id": int(complaints[0]["id"]),
        "batch_id": int(batch or 0),
        "job_id": job,
    }


def build_world(issuer: LiveIssuer) -> World:
    """Enterprises A and B, each with a worker, credentials, a visit, a complaint, a check-in,
    a batch and an import job; the ids a rule parameter may name are A's."""
    a = _enterprise_with_data(issuer, "甲方独有家政服务有限公司", "龚龘龘", "04a1b2c3d4e5f6")
    b = _enterprise_with_data(issuer, "乙方家政服务有限公司", "李小霞", "04a1b2c3d4e5f7")
    world = World(issuer, a["enterprise_id"], b["enterprise_id"])
    world.ids = {**a, "token_id": 1, "user_id": 1, "entry_id": 1}
    world.b_ids = {**b, "token_id": 1, "user_id": 1, "entry_id": 1}
    world.markers = [
        "甲方独有",
        "龚*龘",
        "龚龘龘",
        f'/workers/{a["worker_id"]}"',
        f'/credentials/{a["serial"]}"',
    ]
    return world


def token_client(issuer: LiveIssuer, token: str) -> Any:
    """A test client that sends ``token`` as its Bearer token on every request."""
    client: FlaskClient = issuer.app.test_client()

    class Bearer:
        def open(self, method: str, path: str, **kwargs: Any) -> TestResponse:
            headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
            return client.open(path, method=method, headers=headers, **kwargs)

    return Bearer()


def upload(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name
