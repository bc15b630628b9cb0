"""The enterprise API under /api/v1 (JSON, Bearer auth). Each route's ``@operation`` declares it
for /api/v1/openapi.json (generated: :mod:`.apidoc`) with the models of :mod:`.schemas`, which
also validate its body; ``tests/issuer/test_openapi.py`` checks real responses against them."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from anxinma import credential as fmt
from anxinma.issuer.errors import Unauthorized, ValidationFailed
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Unit
from anxinma.issuer.services.issuer import IssuerServices
from anxinma.issuer.services.issuing import Issued, IssueItem
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.validation import (
    BlacklistFields,
    EnterpriseFields,
    WorkerUpdate,
    worker_input,
)
from anxinma.issuer.web import schemas as s
from anxinma.issuer.web.apidoc import created, listing, operation
from anxinma.issuer.web.importing import read_upload
from anxinma.issuer.web.params import body, json_object
from anxinma.issuer.web.serialize import blacklist_json, credential_json, enterprise_json, worker_json

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
#: What a write answers besides success (400 body, 401, 403, 404, 409, 413).
WRITE_ERRORS = (400, 401, 403, 404, 409, 413)
#: What adding an enterprise or a blacklist entry answers besides success (409: it exists).
ADD_ERRORS = (400, 401, 403, 409)


def service() -> IssuerServices:
    return current_app.extensions["anxinma"].service  # type: ignore[no-any-return]


def base_url() -> str:
    return current_app.extensions["anxinma"].config.base_url  # type: ignore[no-any-return]


def principal() -> Principal:
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "send Authorization: Bearer <token>", message_zh="请在 Authorization 头中提供 Bearer 令牌"
            )
        g.principal = service().accounts.authenticate(token.strip(), client=client_address())
    return g.principal  # type: ignore[no-any-return]


def client_address() -> str:
    """The caller's address for the per-client limits: the socket's, or the one the trusted
    proxies forwarded (``ANXINMA_PROXIES``: ProxyFix rewrites ``remote_addr``; a header from
    anyone else is ignored)."""
    return request.remote_addr or "unknown"


def fingerprint() -> str:
    return hashlib.sha256(
        request.method.encode() + request.path.encode() + b"\n" + request.get_data(cache=True)
    ).hexdigest()


def idempotent(who: Principal, work: Callable[[Unit], tuple[int, dict[str, Any]]]) -> Response:
    """Run ``work`` once per ``Idempotency-Key`` (a repeat answers the first answer, replayed)."""
    status, payload, replayed = service().idempotent(
        who, request.headers.get("Idempotency-Key"), fingerprint(), work
    )
    return reply(status, payload, replayed)


def issued_json(issued: Issued) -> dict[str, Any]:
    """A credential just issued: with its signed forms and the serial it replaced."""
    return credential_json(
        issued.row, base_url(), signed=issued.credential, replaced_serial=issued.replaced_serial
    )


def reply(status: int, payload: dict[str, Any], replayed: bool = False) -> Response:
    response = jsonify(payload)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


# -- sessions ---------------------------------------------------------------------------------


@blueprint.post("/sessions")
@created(
    "Sign in (console): a short-lived session token",
    s.Session,
    s.SessionCreate,
    errors=(400, 401, 429),
    public=True,
    description="Failed sign-ins are limited per account (10 in 5 minutes) and per client (30 an hour): "
    "429 with Retry-After (docs/api.md, sign-in limits).",
)
def create_session() -> Response:
    data = s.SessionCreate.parse(body())
    token, expires, user = service().accounts.login(data.username, data.password, client=client_address())
    return reply(
        201,
        {
            "token": token,
            "expires_at": expires.isoformat(),
            "role": user.role,
            "enterprise_id": user.enterprise_id,
        },
    )


@blueprint.get("/me")
@operation("Who the token speaks for", answer=s.Me, errors=(401,))
def me() -> Response:
    who = principal()
    shown: dict[str, Any] = {"role": who.role.value, "enterprise_id": who.enterprise_id, "kind": who.kind}
    if who.district is not None:
        shown["district"] = who.district
    return reply(200, shown)


# -- enterprises ------------------------------------------------------------------------------


@blueprint.post("/enterprises")
@created("Register an enterprise (issuer_admin)", s.Enterprise, EnterpriseFields, errors=ADD_ERRORS)
def create_enterprise() -> Response:
    who, data = principal(), body()
    enterprise = service().run(service().enterprises.create, who, data)
    return reply(201, enterprise_json(enterprise))


@blueprint.get("/enterprises")
@listing("List enterprises", s.EnterpriseList, s.EnterpriseQuery)
def list_enterprises() -> Response:
    query = s.EnterpriseQuery.parse(request.args)
    after, limit = query.after, query.per_page
    rows = service().enterprises.listing(principal(), after=after, limit=limit)
    return reply(
        200,
        {
            "items": [enterprise_json(e) for e in rows],
            "next_after": rows[-1].id if len(rows) == limit else None,
        },
    )


@blueprint.get("/enterprises/<int:enterprise_id>")
@operation("One enterprise", answer=s.Enterprise, errors=(401, 403, 404))
def get_enterprise(enterprise_id: int) -> Response:
    return reply(200, enterprise_json(service().enterprises.get(principal(), enterprise_id)))


@blueprint.post("/enterprises/<int:enterprise_id>/credentials")
@created(
    "Issue the enterprise's own credential (一企一证一码)", s.Credential, idempotent=True, errors=WRITE_ERRORS
)
def issue_enterprise_credential(enterprise_id: int) -> Response:
    who = principal()
    body()

    def work(unit: Unit) -> tuple[int, dict[str, Any]]:
        issued = service().issuing.issue_enterprise(unit, who, enterprise_id)
        return 201, issued_json(issued)

    return idempotent(who, work)


@blueprint.get("/enterprises/<int:enterprise_id>/credential")
@operation("The enterprise's live credential", answer=s.Credential, errors=(401, 403, 404))
def get_enterprise_credential(enterprise_id: int) -> Response:
    return reply(
        200, credential_json(service().issuing.enterprise_credential(principal(), enterprise_id), base_url())
    )


# -- workers ----------------------------------------------------------------------------------


@blueprint.post("/workers")
@created("Register a worker", s.Worker, s.WorkerRegistration, errors=WRITE_ERRORS)
def register_worker() -> Response:
    who, data = principal(), json_object()
    service().scope(who).require(Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
    registration = s.WorkerRegistration.parse(data)
    worker = service().run(
        service().workers.register, who, registration.to_input(), registration.enterprise_id
    )
    return reply(201, worker_json(*service().workers.get(who, worker.id)))  # as stored, trainings too


@blueprint.get("/workers")
@listing("List or search workers (keyset with after=, or page=)", s.WorkerList, s.WorkerQuery)
def list_workers() -> Response:
    who = principal()
    query = s.WorkerQuery.parse(request.args)
    per_page, after, page = query.per_page, query.after, query.page
    rows, more = service().workers.listing(
        who,
        enterprise_id=query.enterprise_id,
        q=query.q,
        status=query.status,
        page=page,
        per_page=per_page,
        after=after,
    )
    return reply(
        200,
        {
            "items": [worker_json(w) for w in rows],
            "page": None if after is not None else page,
            "per_page": per_page,
            "has_more": more,
            "next_after": rows[-1].id if more and rows else None,
        },
    )


@blueprint.get("/workers/<int:worker_id>")
@operation("One worker's archive", answer=s.Worker, errors=(401, 403, 404))
def get_worker(worker_id: int) -> Response:
    worker, trainings, live = service().workers.get(principal(), worker_id)
    return reply(200, worker_json(worker, trainings, live))


@blueprint.patch("/workers/<int:worker_id>")
@operation(
    "Update a worker's archive (attention follows)",
    answer=s.Worker,
    body=WorkerUpdate,
    body_required=False,
    errors=(400, 401, 403, 404),
)
def update_worker(worker_id: int) -> Response:
    who, data = principal(), json_object()
    service().scope(who).require(Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
    fields = worker_input(data, partial=True)
    service().run(service().workers.update, who, worker_id, fields)
    worker, trainings, live = service().workers.get(who, worker_id)
    return reply(200, worker_json(worker, trainings, live))


@blueprint.post("/workers/import")
@operation(
    "Bulk import (CSV or XLSX); ?issue=true also issues",
    answer=s.ImportReport,
    query=s.ImportQuery,
    upload="file",
    errors=(400, 401, 403, 404, 413),
)
def import_workers() -> Response:
    who = principal()
    service().scope(who).require(Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
    upload = request.files.get("file")
    if upload is not None:
        data, filename = upload.read(), upload.filename or ""
    else:
        data, filename = request.get_data(cache=True), ""
    if not data:
        raise ValidationFailed(
            {"file": ("请上传 CSV 或 XLSX 文件（字段名 file）", "upload a CSV or XLSX file as 'file'")}
        )
    rows = read_upload(data, filename)
    query = s.ImportQuery.parse(request.args)
    report = service().imports.import_rows(who, query.enterprise_id, rows, issue=query.issue)
    return reply(200, report.to_json())


@blueprint.get("/workers/<int:worker_id>/scans")
@operation("Online scans per day (亮证率)", answer=s.ScanDays, query=s.ScanQuery, errors=(400, 401, 403, 404))
def worker_scans(worker_id: int) -> Response:
    query = s.ScanQuery.parse(request.args)
    until = query.until or today_in_china()
    since = query.since or until - timedelta(days=30)
    days = service().workers.scan_counts(principal(), worker_id, since, until)
    return reply(200, {"worker_id": worker_id, "days": [{"day": d.isoformat(), "scans": n} for d, n in days]})


# -- credentials ------------------------------------------------------------------------------


@blueprint.post("/workers/<int:worker_id>/credentials")
@created(
    "Issue a credential (revokes the worker's previous one: replaced)",
    s.Credential,
    s.IssueRequest,
    body_required=False,
    idempotent=True,
    errors=WRITE_ERRORS,
)
def issue_credential(worker_id: int) -> Response:
    who = principal()
    wanted = s.IssueRequest.parse(body())
    item = IssueItem(worker_id, wanted.card_uid, wanted.holder_key)

    def work(unit: Unit) -> tuple[int, dict[str, Any]]:
        issued = service().issuing.issue_many(unit, who, [item])[0]
        return 201, issued_json(issued)

    return idempotent(who, work)


@blueprint.post("/workers/<int:worker_id>/enrolments")
@created(
    "A one-time link that enrols the worker's phone (valid 15 minutes unless asked)",
    s.Enrolment,
    s.EnrolmentRequest,
    errors=(400, 401, 403, 404, 409, 413),
    description="The worker's enterprise_admin, issuer_admin or card_operator; 409 for a worker who left "
    "or is blacklisted (docs/page.md, the worker's phone).",
)
def create_enrolment(worker_id: int) -> Response:
    """A one-time link that enrols the worker's phone (docs/page.md, "The worker's phone")."""
    who, wanted = principal(), s.EnrolmentRequest.parse(body())
    made = service().run(service().enrolments.create, who, worker_id, wanted.minutes)
    return reply(
        201,
        {
            "url": f"{base_url()}/w/{made.token}",
            "expires_at": made.row.expires_at.isoformat(),
            "worker_id": worker_id,
        },
    )


@blueprint.get("/credentials/<int:serial>")
@operation("One credential", answer=s.Credential, errors=(401, 403, 404))
def get_credential(serial: int) -> Response:
    return reply(200, credential_json(service().issuing.get(principal(), serial), base_url()))


@blueprint.get("/credentials/<int:serial>/qr.<any(png, svg):kind>")
@operation(
    "The credential's QR code (qr.png: PNG, qr.svg: SVG)",
    media={"image/png": None, "image/svg+xml": None},
    ok_description="the image",
    query=s.QrQuery,
    errors=(400, 401, 404),
)
def credential_qr(serial: int, kind: str) -> Response:
    from anxinma.qr import make_qr

    row = service().issuing.get(principal(), serial)
    scale = s.QrQuery.parse(request.args).scale
    out = io.BytesIO()
    make_qr(fmt.decode(row.raw), base_url()).save(out, kind=kind, scale=scale, border=4)
    mime = "image/png" if kind == "png" else "image/svg+xml"
    response = Response(out.getvalue(), mimetype=mime)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _status_change(serial: int, action: str) -> Response:
    who, data = principal(), body()
    reason = (s.RevokeRequest if action == "revoke" else s.StatusRequest).parse(data).reason

    def work(unit: Unit) -> tuple[int, dict[str, Any]]:
        row, changed = service().revocation.change_status(unit, who, serial, action, reason)
        payload = credential_json(row, base_url())
        payload["changed"] = changed
        return 200, payload

    return idempotent(who, work)


_STATUS_CHANGE: dict[str, Any] = {"answer": s.Credential, "idempotent": True, "errors": WRITE_ERRORS}


@blueprint.post("/credentials/<int:serial>/revoke")
@operation("Revoke (final)", body=s.RevokeRequest, **_STATUS_CHANGE)
def revoke(serial: int) -> Response:
    return _status_change(serial, "revoke")


@blueprint.post("/credentials/<int:serial>/suspend")
@operation("Suspend", body=s.StatusRequest, body_required=False, **_STATUS_CHANGE)
def suspend(serial: int) -> Response:
    return _status_change(serial, "suspend")


@blueprint.post("/credentials/<int:serial>/reinstate")
@operation("Reinstate a suspended credential", body=s.StatusRequest, body_required=False, **_STATUS_CHANGE)
def reinstate(serial: int) -> Response:
    return _status_change(serial, "reinstate")


# -- blacklist --------------------------------------------------------------------------------


@blueprint.post("/blacklist")
@created(
    "Blacklist a person (失信名单): revokes all their credentials",
    s.BlacklistEntry,
    BlacklistFields,
    errors=ADD_ERRORS,
)
def blacklist_add() -> Response:
    who, data = principal(), body()
    entry, revoked = service().run(service().revocation.blacklist_add, who, data)
    payload = blacklist_json(entry)
    payload["revoked_serials"] = revoked
    return reply(201, payload)


@blueprint.get("/blacklist")
@listing("The blacklist", s.BlacklistList, s.BlacklistQuery)
def blacklist_list() -> Response:
    query = s.BlacklistQuery.parse(request.args)
    rows = service().revocation.blacklist(principal(), active_only=not query.all, after=query.after)
    return reply(200, {"items": [blacklist_json(e) for e in rows]})


@blueprint.post("/blacklist/<int:entry_id>/remove")
@operation(
    "Remove an entry (with reason)",
    answer=s.BlacklistEntry,
    body=s.BlacklistRemove,
    errors=(400, 401, 403, 404, 409),
)
def blacklist_remove(entry_id: int) -> Response:
    who = principal()
    reason = s.BlacklistRemove.parse(body()).reason
    entry = service().run(service().revocation.blacklist_remove, who, entry_id, reason)
    return reply(200, blacklist_json(entry))


# -- tokens -----------------------------------------------------------------------------------


@blueprint.post("/tokens")
@created("Create an API token (issuer_admin)", s.Token, s.TokenCreate, errors=(400, 401, 403, 404))
def create_token() -> Response:
    who, data = principal(), json_object()
    service().scope(who).require(Role.ISSUER_ADMIN)
    wanted = s.TokenCreate.parse(data)
    token_id, token = service().accounts.create_token(
        wanted.role, wanted.enterprise_id, wanted.label, principal=who, district=wanted.district
    )
    return reply(
        201,
        {
            "id": token_id,
            "token": token,
            "role": wanted.role.value,
            "enterprise_id": wanted.enterprise_id,
            "district": wanted.district,
        },
    )


@blueprint.post("/tokens/<int:token_id>/revoke")
@operation("Revoke an API token", answer=s.TokenRevoked, errors=(401, 403, 404))
def revoke_token(token_id: int) -> Response:
    who = principal()
    service().accounts.revoke_token(who, token_id)
    return reply(200, {"id": token_id, "revoked": True})


__all__ = ["blueprint"]
