"""The enterprise API under /api/v1 (JSON, Bearer auth). docs/api.md and /api/v1/openapi.json
describe it; ``tests/issuer/test_openapi.py`` checks real responses against the document."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from anxinma import credential as fmt
from anxinma.issuer.errors import ApiError, Unauthorized, ValidationFailed, not_found
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Unit
from anxinma.issuer.services.issuer import IssuerServices
from anxinma.issuer.services.issuing import IssueItem
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.validation import worker_input
from anxinma.issuer.web.importing import read_upload
from anxinma.issuer.web.serialize import blacklist_json, credential_json, enterprise_json, worker_json

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


@blueprint.url_value_preprocessor
def _bound_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An id beyond what the store holds is simply not found (never a database overflow)."""
    for name, value in (values or {}).items():
        if isinstance(value, int) and value > (2**32 - 1 if name == "serial" else 2**53 - 1):
            raise not_found("record", "记录")


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
        g.principal = service().accounts.authenticate(token.strip())
    return g.principal  # type: ignore[no-any-return]


def body() -> Any:
    """The JSON body, refused with 413 beyond the JSON limit and 400 when it is not JSON."""
    from werkzeug.exceptions import RequestEntityTooLarge

    limit = current_app.extensions["anxinma"].config.max_json_bytes
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed({"body": ("请求体不是有效的 JSON", "the body is not valid JSON")}) from None


def fingerprint() -> str:
    return hashlib.sha256(
        request.method.encode() + request.path.encode() + b"\n" + request.get_data(cache=True)
    ).hexdigest()


def _int_arg(name: str, default: int | None, low: int = 0, high: int = 2**53 - 1) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationFailed({name: (f"应为 {low} 到 {high} 的整数", f"an integer from {low} to {high}")})
    return int(raw)


def reply(status: int, payload: dict[str, Any], replayed: bool = False) -> Response:
    response = jsonify(payload)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


# -- sessions ---------------------------------------------------------------------------------


@blueprint.post("/sessions")
def create_session() -> Response:
    data = body()
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("username"), str)
        or not isinstance(data.get("password"), str)
    ):
        raise ValidationFailed({"username": ("必填", "required"), "password": ("必填", "required")})
    token, expires, user = service().accounts.login(data["username"], data["password"])
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
def me() -> Response:
    who = principal()
    return reply(200, {"role": who.role.value, "enterprise_id": who.enterprise_id, "kind": who.kind})


# -- enterprises ------------------------------------------------------------------------------


@blueprint.post("/enterprises")
def create_enterprise() -> Response:
    who, data = principal(), body()
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ("请求体应为 JSON 对象", "the body must be a JSON object")})
    enterprise = service().run(service().enterprises.create, who, data)
    return reply(201, enterprise_json(enterprise))


@blueprint.get("/enterprises")
def list_enterprises() -> Response:
    after = _int_arg("after", 0) or 0
    limit = _int_arg("per_page", 50, 1, 200) or 50
    rows = service().enterprises.listing(principal(), after=after, limit=limit)
    return reply(
        200,
        {
            "items": [enterprise_json(e) for e in rows],
            "next_after": rows[-1].id if len(rows) == limit else None,
        },
    )


@blueprint.get("/enterprises/<int:enterprise_id>")
def get_enterprise(enterprise_id: int) -> Response:
    return reply(200, enterprise_json(service().enterprises.get(principal(), enterprise_id)))


@blueprint.post("/enterprises/<int:enterprise_id>/credentials")
def issue_enterprise_credential(enterprise_id: int) -> Response:
    who = principal()
    body()

    def operation(unit: Unit) -> tuple[int, dict[str, Any]]:
        issued = service().issuing.issue_enterprise(unit, who, enterprise_id)
        return 201, credential_json(
            issued.row, base_url(), signed=issued.credential, replaced_serial=issued.replaced_serial
        )

    status, payload, replayed = service().idempotent(
        who, request.headers.get("Idempotency-Key"), fingerprint(), operation
    )
    return reply(status, payload, replayed)


@blueprint.get("/enterprises/<int:enterprise_id>/credential")
def get_enterprise_credential(enterprise_id: int) -> Response:
    return reply(
        200, credential_json(service().issuing.enterprise_credential(principal(), enterprise_id), base_url())
    )


# -- workers ----------------------------------------------------------------------------------


@blueprint.post("/workers")
def register_worker() -> Response:
    who, data = principal(), body()
    service().scope(who).require(Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
    enterprise_id = data.get("enterprise_id") if isinstance(data, dict) else None
    if enterprise_id is not None and (not isinstance(enterprise_id, int) or isinstance(enterprise_id, bool)):
        raise ValidationFailed({"enterprise_id": ("应为整数", "an integer")})
    fields = worker_input(data, allowed_extra=("enterprise_id",))
    worker = service().run(service().workers.register, who, fields, enterprise_id)
    return reply(201, worker_json(worker, [], None))


@blueprint.get("/workers")
def list_workers() -> Response:
    who = principal()
    per_page = _int_arg("per_page", 20, 1, 100) or 20
    after = _int_arg("after", None)
    page = _int_arg("page", 1, 1, 10000) or 1
    status = request.args.get("status") or None
    if status is not None and status not in ("active", "left", "blacklisted"):
        raise ValidationFailed(
            {"status": ("应为 active、left 或 blacklisted", "one of active, left, blacklisted")}
        )
    rows, more = service().workers.listing(
        who,
        enterprise_id=_int_arg("enterprise_id", None),
        q=request.args.get("q") or None,
        status=status,
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
def get_worker(worker_id: int) -> Response:
    worker, trainings, live = service().workers.get(principal(), worker_id)
    return reply(200, worker_json(worker, trainings, live))


@blueprint.patch("/workers/<int:worker_id>")
def update_worker(worker_id: int) -> Response:
    who, data = principal(), body()
    service().scope(who).require(Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
    fields = worker_input(data, partial=True)
    service().run(service().workers.update, who, worker_id, fields)
    worker, trainings, live = service().workers.get(who, worker_id)
    return reply(200, worker_json(worker, trainings, live))


@blueprint.post("/workers/import")
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
    issue = request.args.get("issue", "").lower() in ("1", "true", "yes")
    report = service().imports.import_rows(who, _int_arg("enterprise_id", None), rows, issue=issue)
    return reply(200, report.to_json())


@blueprint.get("/workers/<int:worker_id>/scans")
def worker_scans(worker_id: int) -> Response:
    until = _date_arg("until") or today_in_china()
    since = _date_arg("since") or until - timedelta(days=30)
    days = service().workers.scan_counts(principal(), worker_id, since, until)
    return reply(200, {"worker_id": worker_id, "days": [{"day": d.isoformat(), "scans": n} for d, n in days]})


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed({name: ("日期格式应为 YYYY-MM-DD", "a date looks like YYYY-MM-DD")}) from None


# -- credentials ------------------------------------------------------------------------------


@blueprint.post("/workers/<int:worker_id>/credentials")
def issue_credential(worker_id: int) -> Response:
    who, data = principal(), body()
    if not isinstance(data, dict) or set(data) - {"card_uid", "holder_key"}:
        raise ValidationFailed(
            {"body": ("只接受 card_uid、holder_key 字段", "only card_uid and holder_key are accepted")}
        )
    holder_key = _holder_key(data.get("holder_key"))
    card_uid = None
    if data.get("card_uid") is not None:
        raw = data["card_uid"]
        try:
            card_uid = bytes.fromhex(str(raw).replace(":", "").replace(" ", ""))
        except ValueError:
            card_uid = b""
        if not 4 <= len(card_uid) <= 10:
            raise ValidationFailed(
                {"card_uid": ("卡号应为 4 到 10 字节的十六进制", "4 to 10 bytes in hex (an ISO 14443 UID)")}
            )

    def operation(unit: Unit) -> tuple[int, dict[str, Any]]:
        issued = service().issuing.issue_many(unit, who, [IssueItem(worker_id, card_uid, holder_key)])[0]
        return 201, credential_json(
            issued.row, base_url(), signed=issued.credential, replaced_serial=issued.replaced_serial
        )

    status, payload, replayed = service().idempotent(
        who, request.headers.get("Idempotency-Key"), fingerprint(), operation
    )
    return reply(status, payload, replayed)


def _holder_key(raw: Any) -> bytes | None:
    """The worker's phone key (32 bytes, hex or base64url) for the credential's ``cnf`` claim."""
    if raw is None:
        return None
    key = b""
    if isinstance(raw, str):
        try:
            key = (
                bytes.fromhex(raw)
                if len(raw) == 64
                else base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            )
        except ValueError:
            key = b""
    if len(key) != 32:
        raise ValidationFailed(
            {"holder_key": ("应为 32 字节的 Ed25519 公钥", "a 32-byte Ed25519 public key, hex or base64url")}
        )
    return key


@blueprint.post("/workers/<int:worker_id>/enrolments")
def create_enrolment(worker_id: int) -> Response:
    """A one-time link that enrols the worker's phone (docs/page.md, "The worker's phone"):
    ``{"minutes": 1…1440}`` optional (15 by default); 201 ``{"url", "expires_at"}``."""
    from anxinma.issuer.services.enrolments import DEFAULT_MINUTES, MAX_MINUTES

    who, data = principal(), body()
    if not isinstance(data, dict) or set(data) - {"minutes"}:
        raise ValidationFailed({"body": ("只接受 minutes 字段", "only minutes is accepted")})
    minutes = data.get("minutes", DEFAULT_MINUTES)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_MINUTES:
        raise ValidationFailed(
            {"minutes": (f"有效分钟数应为 1 到 {MAX_MINUTES}", f"minutes is 1 to {MAX_MINUTES}")}
        )
    made = service().run(service().enrolments.create, who, worker_id, minutes)
    return reply(
        201,
        {
            "url": f"{base_url()}/w/{made.token}",
            "expires_at": made.row.expires_at.isoformat(),
            "worker_id": worker_id,
        },
    )


@blueprint.get("/credentials/<int:serial>")
def get_credential(serial: int) -> Response:
    return reply(200, credential_json(service().issuing.get(principal(), serial), base_url()))


@blueprint.get("/credentials/<int:serial>/qr.<kind>")
def credential_qr(serial: int, kind: str) -> Response:
    from anxinma.qr import make_qr

    if kind not in ("png", "svg"):
        raise ApiError("qr.png or qr.svg", message_zh="仅支持 qr.png 或 qr.svg")
    row = service().issuing.get(principal(), serial)
    scale = _int_arg("scale", 8, 1, 40) or 8
    out = io.BytesIO()
    make_qr(fmt.decode(row.raw), base_url()).save(out, kind=kind, scale=scale, border=4)
    mime = "image/png" if kind == "png" else "image/svg+xml"
    response = Response(out.getvalue(), mimetype=mime)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _status_change(serial: int, action: str) -> Response:
    who, data = principal(), body()
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ("请求体应为 JSON 对象", "the body must be a JSON object")})
    unknown = set(data) - {"reason"}
    if unknown:
        raise ValidationFailed({name: ("未知字段", "unknown field") for name in sorted(unknown)})
    reason = data.get("reason")
    if action != "revoke" and reason is not None and (not isinstance(reason, str) or len(reason) > 16):
        raise ValidationFailed({"reason": ("原因最多 16 个字符", "at most 16 characters")})

    def operation(unit: Unit) -> tuple[int, dict[str, Any]]:
        row, changed = service().revocation.change_status(unit, who, serial, action, reason)
        payload = credential_json(row, base_url())
        payload["changed"] = changed
        return 200, payload

    status, payload, replayed = service().idempotent(
        who, request.headers.get("Idempotency-Key"), fingerprint(), operation
    )
    return reply(status, payload, replayed)


@blueprint.post("/credentials/<int:serial>/revoke")
def revoke(serial: int) -> Response:
    return _status_change(serial, "revoke")


@blueprint.post("/credentials/<int:serial>/suspend")
def suspend(serial: int) -> Response:
    return _status_change(serial, "suspend")


@blueprint.post("/credentials/<int:serial>/reinstate")
def reinstate(serial: int) -> Response:
    return _status_change(serial, "reinstate")


# -- blacklist --------------------------------------------------------------------------------


@blueprint.post("/blacklist")
def blacklist_add() -> Response:
    who, data = principal(), body()
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ("请求体应为 JSON 对象", "the body must be a JSON object")})
    entry, revoked = service().run(service().revocation.blacklist_add, who, data)
    payload = blacklist_json(entry)
    payload["revoked_serials"] = revoked
    return reply(201, payload)


@blueprint.get("/blacklist")
def blacklist_list() -> Response:
    rows = service().revocation.blacklist(
        principal(), active_only=request.args.get("all") not in ("1", "true"), after=_int_arg("after", 0) or 0
    )
    return reply(200, {"items": [blacklist_json(e) for e in rows]})


@blueprint.post("/blacklist/<int:entry_id>/remove")
def blacklist_remove(entry_id: int) -> Response:
    who, data = principal(), body()
    reason = data.get("reason") if isinstance(data, dict) else None
    entry = service().run(service().revocation.blacklist_remove, who, entry_id, reason)
    return reply(200, blacklist_json(entry))


# -- tokens -----------------------------------------------------------------------------------


@blueprint.post("/tokens")
def create_token() -> Response:
    who, data = principal(), body()
    service().scope(who).require(Role.ISSUER_ADMIN)
    try:
        role = Role(data.get("role"))
    except (ValueError, AttributeError):
        raise ValidationFailed({"role": ("角色无效", "one of " + ", ".join(r.value for r in Role))}) from None
    enterprise_id = data.get("enterprise_id")
    if enterprise_id is not None and (not isinstance(enterprise_id, int) or isinstance(enterprise_id, bool)):
        raise ValidationFailed({"enterprise_id": ("应为整数", "an integer")})
    label = data.get("label")
    token_id, token = service().accounts.create_token(
        role, enterprise_id, str(label)[:128] if label else None, principal=who
    )
    return reply(201, {"id": token_id, "token": token, "role": role.value, "enterprise_id": enterprise_id})


@blueprint.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Response:
    who = principal()
    service().accounts.revoke_token(who, token_id)
    return reply(200, {"id": token_id, "revoked": True})


__all__ = ["blueprint"]
