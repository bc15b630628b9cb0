"""The enterprise console: workers (list, archive, register, edit), credentials (issue with
QR and badge downloads; revoke / suspend / reinstate after a confirmation) and the
enterprise's own code. Every read and write goes through the services (:mod:`anxinma.issuer.services`) with the
signed-in principal, so the tenant rules are the API's: another enterprise's worker is 404.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
from typing import Any

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from anxinma import credential as fmt
from anxinma.issuer.errors import ApiError, ValidationFailed
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.checkins import months_back, this_month
from anxinma.issuer.services.context import Unit
from anxinma.issuer.services.enrolments import DEFAULT_MINUTES
from anxinma.issuer.services.issuing import IssueItem
from anxinma.issuer.services.revocation import REVOKE_REASONS
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.validation import worker_input
from anxinma.issuer.services.visits import Window
from anxinma.issuer.store.models import Credential
from anxinma.issuer.web.console.base import (
    api_message,
    blueprint,
    enterprise_choices,
    field_errors,
    int_arg,
    me,
    page,
    parse_category_arg,
    section,
    service,
    tenant_columns,
)
from anxinma.issuer.web.console.present import Validity, with_times
from anxinma.issuer.web.params import id_value

PER_PAGE = 50
READERS = (Role.ENTERPRISE_ADMIN, Role.REGULATOR, Role.ISSUER_ADMIN)
WRITERS = (Role.ENTERPRISE_ADMIN, Role.ISSUER_ADMIN)
CHANGERS = (Role.ENTERPRISE_ADMIN, Role.REGULATOR, Role.ISSUER_ADMIN)
#: Who hands a worker the link that enrols their phone (the console's issuing roles).
ENROL_ROLES = (Role.ENTERPRISE_ADMIN, Role.ISSUER_ADMIN)
STATUSES = ("active", "left", "blacklisted")
ACTIONS = ("revoke", "suspend", "reinstate")
#: Months of 按月打卡 a worker's page shows, this one included.
CHECK_IN_MONTHS = 12
#: The ratings, visits and complaints a worker's page shows (each list links to all of them).
LATEST = Window(limit=10, newest_first=True)


def _live_credentials(who: Principal, worker_ids: list[int]) -> dict[int, Credential]:
    """The live (not revoked) credential of each listed worker the caller may see."""
    return service().issuing.live_of(who, worker_ids)


# -- the worker list -----------------------------------------------------------------------


@blueprint.get("/workers")
@page(*READERS)
def workers() -> str:
    who = me()
    q = request.args.get("q", "").strip()[:64]
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    category = parse_category_arg(request.args.get("category"))
    scope = service().scope(who)
    enterprise_id = int_arg("enterprise", 0) or None if scope.city_wide else None
    number = int_arg("page", 1, 1, 100000)
    filters: dict[str, Any] = {
        "enterprise_id": enterprise_id,
        "q": q or None,
        "status": status or None,
        "category": category,
    }
    rows, more = service().workers.listing(who, page=number, per_page=PER_PAGE, **filters)
    total = service().workers.count(who, **filters)
    today = today_in_china()
    live = _live_credentials(who, [w.id for w in rows])
    month = this_month()
    checked_in = {
        worker
        for worker, months in service().checkins.months(who, [w.id for w in rows], month, month)
        if months
    }
    choices, names = tenant_columns(who, {w.enterprise_id for w in rows})
    return render_template(
        "issuer/workers.html",
        rows=rows,
        more=more,
        total=total,
        number=number,
        q=q,
        status=status,
        category=request.args.get("category", ""),
        enterprise_id=enterprise_id,
        enterprises=choices,
        enterprise_names=names,
        live=live,
        checked_in=checked_in,
        month=month,
        validity=lambda until: Validity.of(until, today),
        can_write=who.role in WRITERS,
    )


# -- one worker ----------------------------------------------------------------------------


@blueprint.get("/workers/<int:worker_id>")
@page(*READERS)
def worker(worker_id: int) -> str:
    section("console.workers")
    who = me()
    archive = service().workers.archive(who, worker_id)
    today = today_in_china()
    loop = service().visits
    months = months_back(this_month(), CHECK_IN_MONTHS)
    found = dict(service().checkins.months(who, [worker_id], months[0], months[-1]))
    return render_template(
        "issuer/worker.html",
        a=archive,
        w=archive.worker,
        live=archive.live,
        live_phone=archive.live_phone,
        can_enrol=who.role in ENROL_ROLES,
        health=Validity.of(archive.worker.health_valid_until, today),
        insurance=Validity.of(archive.worker.insurance_valid_until, today),
        skills=json.loads(archive.worker.skills or "[]"),
        can_write=who.role in WRITERS,
        can_change=who.role in CHANGERS,
        can_rate=who.role == Role.ENTERPRISE_ADMIN,
        idem=secrets.token_urlsafe(16),
        done=request.args.get("done", ""),
        today=today,
        months=months,
        checked=set(found.get(worker_id, [])),
        summaries=loop.summaries(who, worker_id),
        ratings=with_times(loop.ratings(who, worker_id=worker_id, window=LATEST), "created_at"),
        visits=with_times(loop.visits(who, worker_id=worker_id, window=LATEST), "confirmed_at"),
        complaints=with_times(
            loop.complaints(who, worker_id=worker_id, window=LATEST), "filed_at", "resolved_at"
        ),
    )


# -- register and edit ---------------------------------------------------------------------

_OPTIONAL_FIELDS = (
    "skills",
    "star_level",
    "health_certificate_valid_until",
    "insurance_valid_until",
    "photo_url",
)


def _training(form: MultiDict[str, str]) -> list[dict[str, Any]] | None:
    name, issued_on = form.get("training_name", "").strip(), form.get("training_on", "").strip()
    if not (name or issued_on):
        return None
    return [
        {"name": name, "issued_on": issued_on, "institution": form.get("training_by", "").strip() or None}
    ]


def _register_data(form: MultiDict[str, str]) -> dict[str, Any]:
    """The fields of the register form in the API's names, so the API's rules judge them."""
    data: dict[str, Any] = {name: form.get(name, "").strip() for name in ("name", "id_number", "phone")}
    data["categories"] = form.getlist("categories")
    for name in _OPTIONAL_FIELDS:
        value = form.get(name, "").strip()
        if value:
            data[name] = value
    trainings = _training(form)
    if trainings:
        data["trainings"] = trainings
    return data


@blueprint.route("/workers/new", methods=["GET", "POST"])
@page(*WRITERS)
def register() -> BaseResponse | str | tuple[str, int]:
    who = me()
    scope = service().scope(who)
    enterprises = enterprise_choices(who) if scope.city_wide else []
    if request.method == "GET":
        return render_template(
            "issuer/worker_form.html", form={}, errors={}, problem=None, enterprises=enterprises, edit=None
        )
    form = request.form
    errors: dict[str, str] = {}
    problem: str | None = None
    raw = form.get("enterprise_id", "")
    enterprise_id = scope.choose(id_value(raw))
    if enterprise_id is None:
        errors["enterprise_id"] = _("Choose the enterprise")
    try:
        fields = worker_input(_register_data(form))
        if errors:
            raise ValidationFailed({})
        made = service().run(service().workers.register, who, fields, enterprise_id)
        target = url_for("console.worker", worker_id=made.id, done="registered")
        if form.get("issue") == "1":
            issued = service().run(
                lambda unit: service().issuing.issue_many(unit, who, [IssueItem(made.id)])[0]
            )
            target = url_for("console.credential", serial=issued.row.serial, done="issued")
        return redirect(target, 303)
    except ValidationFailed as exc:
        errors.update(field_errors(exc))
    except ApiError as exc:
        problem = api_message(exc)
    return (
        render_template(
            "issuer/worker_form.html",
            form=form,
            errors=errors,
            problem=problem,
            enterprises=enterprises,
            edit=None,
        ),
        400,
    )


@blueprint.route("/workers/<int:worker_id>/edit", methods=["GET", "POST"])
@page(*WRITERS)
def edit_worker(worker_id: int) -> BaseResponse | str | tuple[str, int]:
    section("console.workers")
    who = me()
    archive = service().workers.archive(who, worker_id)  # 404 outside the caller's scope
    w = archive.worker
    if request.method == "GET":
        values: dict[str, Any] = {
            "name": w.name,
            "phone": "",
            "skills": "、".join(json.loads(w.skills or "[]")),
            "star_level": w.star_level or "",
            "health_certificate_valid_until": w.health_valid_until.isoformat()
            if w.health_valid_until
            else "",
            "insurance_valid_until": w.insurance_valid_until.isoformat() if w.insurance_valid_until else "",
            "photo_url": w.photo_url or "",
            "categories": [c.value for c in fmt.categories_from_bits(w.categories)],
        }
        return render_template(
            "issuer/worker_form.html", form=values, errors={}, problem=None, enterprises=[], edit=archive
        )
    form = request.form
    data = _edit_data(form)
    try:
        fields = worker_input(data, partial=True)
        service().run(service().workers.update, who, worker_id, fields)
        return redirect(url_for("console.worker", worker_id=worker_id, done="updated"), 303)
    except ValidationFailed as exc:
        errors, problem = field_errors(exc), None
    except ApiError as exc:
        errors, problem = {}, api_message(exc)
    shown: dict[str, Any] = form.to_dict()
    shown["categories"] = form.getlist("categories")
    return (
        render_template(
            "issuer/worker_form.html",
            form=shown,
            errors=errors,
            problem=problem,
            enterprises=[],
            edit=archive,
        ),
        400,
    )


def _edit_data(form: MultiDict[str, str]) -> dict[str, Any]:
    """The fields of the edit form: an empty phone keeps the old one, an emptied optional
    field clears it, a training row adds to (replaces) the list only when filled in."""
    data: dict[str, Any] = {"name": form.get("name", "").strip(), "categories": form.getlist("categories")}
    if form.get("phone", "").strip():
        data["phone"] = form["phone"].strip()
    for name in _OPTIONAL_FIELDS:
        data[name] = form.get(name, "").strip() or None
    trainings = _training(form)
    if trainings:
        data["trainings"] = trainings
    return data


# -- credentials ---------------------------------------------------------------------------


@blueprint.post("/workers/<int:worker_id>/issue")
@page(Role.ENTERPRISE_ADMIN, Role.ISSUER_ADMIN)
def issue(worker_id: int) -> BaseResponse:
    """Issue (or replace) the worker's credential; a repeated click with the same form
    (its ``idem`` key) gives back the first credential instead of replacing it again."""
    who = me()

    def operation(unit: Unit) -> tuple[int, dict[str, Any]]:
        issued = service().issuing.issue_many(unit, who, [IssueItem(worker_id)])[0]
        return 201, {"serial": issued.row.serial}

    key = request.form.get("idem") or None
    fingerprint = hashlib.sha256(f"console-issue:{worker_id}".encode()).hexdigest()
    _, body, _ = service().idempotent(who, key and f"console:{key}", fingerprint, operation)
    return redirect(url_for("console.credential", serial=body["serial"], done="issued"), 303)


@blueprint.post("/workers/<int:worker_id>/enrol")
@page(*ENROL_ROLES)
def enrol_phone(worker_id: int) -> str:
    """A one-time link that enrols the worker's phone, shown as a QR for the worker to scan
    with that phone (docs/page.md, "The worker's phone"); a new link each time it is asked."""
    import segno

    section("console.workers")
    who = me()
    made = service().run(service().enrolments.create, who, worker_id, DEFAULT_MINUTES)
    url = f"{service().config.base_url}/w/{made.token}"
    qr = segno.make(url, error="m", boost_error=False)
    return render_template(
        "issuer/worker_enrol.html",
        w=service().workers.get(who, worker_id)[0],
        url=url,
        qr_svg=qr.svg_inline(scale=6, border=4, title=_("Enrolment QR code")),
        expires_at=made.row.expires_at,
        minutes=DEFAULT_MINUTES,
    )


def _credential_view(who: Principal, serial: int) -> tuple[Credential, fmt.Credential, str]:
    """The credential (404 outside the caller's scope), its signed form and its enterprise's name."""
    row = service().issuing.get(who, serial)
    signed = fmt.decode(row.raw)
    return row, signed, service().enterprises.get(who, row.enterprise_id).name


@blueprint.get("/credentials/<int:serial>")
@page(*READERS)
def credential(serial: int) -> str:
    who = me()
    row, signed, enterprise_name = _credential_view(who, serial)  # 404 before anything is said of it
    own_code = not service().scope(who).city_wide and row.subject_kind == "enterprise"
    section("console.enterprise" if own_code else "console.workers")
    return render_template(
        "issuer/credential.html",
        c=row,
        signed=signed,
        code=signed.to_url(service().config.base_url),
        enterprise_name=enterprise_name,
        done=request.args.get("done", ""),
        can_change=who.role in CHANGERS and row.status != "revoked",
    )


@blueprint.get("/credentials/<int:serial>/qr.<kind>")
@page(*READERS)
def credential_qr(serial: int, kind: str) -> Response:
    from anxinma.qr import make_qr

    if kind not in ("svg", "png"):
        abort(404)
    row = service().issuing.get(me(), serial)
    out = io.BytesIO()
    scale = int_arg("scale", 6, 1, 20)
    make_qr(fmt.decode(row.raw), service().config.base_url).save(
        out, kind=kind, scale=scale, border=4, **({"title": f"安心码 {serial}"} if kind == "svg" else {})
    )
    response = Response(out.getvalue(), mimetype="image/svg+xml" if kind == "svg" else "image/png")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="anxinma-{serial}.{kind}"'
    return response


@blueprint.get("/credentials/<int:serial>/badge.csv")
@page(*READERS)
def badge_csv(serial: int) -> Response:
    """The row ``anxinma badge --batch`` prints a badge from: ``code,enterprise_name,photo``."""
    from anxinma.issuer.web.console.base import csv_response

    _row, signed, enterprise_name = _credential_view(me(), serial)
    return csv_response(
        f"badge-{serial}.csv",
        ["code", "enterprise_name", "photo"],
        [[signed.to_url(service().config.base_url), enterprise_name, ""]],
    )


@blueprint.get("/credentials/<int:serial>/badge.pdf")
@page(*READERS)
def badge_pdf(serial: int) -> Response:
    """The printed badge (居家上门服务证) as a PDF (:mod:`anxinma.badge`; no photo: the
    station's batch brings portraits, the service fetches nothing from photo URLs)."""
    from anxinma.badge import BadgeItem, render_pdf

    row, signed, enterprise_name = _credential_view(me(), serial)
    if row.subject_kind != "worker":
        abort(404)
    pdf, _report = render_pdf([BadgeItem(signed, enterprise_name, service().config.base_url)])
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="badge-{serial}.pdf"'
    return response


@blueprint.route("/credentials/<int:serial>/<action>", methods=["GET", "POST"])
@page(*CHANGERS)
def change(serial: int, action: str) -> BaseResponse | str | tuple[str, int]:
    """Revoke, suspend or reinstate: a GET shows what will happen and asks for a reason, the
    POST of that page (with ``confirm``) does it."""
    if action not in ACTIONS:
        abort(404)
    who = me()
    row, signed, enterprise_name = _credential_view(who, serial)
    section("console.workers")
    problem: str | None = None
    if request.method == "POST" and request.form.get("confirm") == "1":
        reason = request.form.get("reason", "").strip() or None
        try:
            service().run(service().revocation.change_status, who, serial, action, reason)
        except ValidationFailed as exc:
            problem = "；".join(field_errors(exc).values())
        except ApiError as exc:
            problem = api_message(exc)
        else:
            target = (
                url_for("console.worker", worker_id=row.worker_id, done=action)
                if row.worker_id is not None
                else url_for("console.credential", serial=serial, done=action)
            )
            return redirect(target, 303)
    return (
        render_template(
            "issuer/confirm_change.html",
            c=row,
            signed=signed,
            action=action,
            reasons=REVOKE_REASONS,
            enterprise_name=enterprise_name,
            problem=problem,
        ),
        400 if problem else 200,
    )


# -- the enterprise's own code (一企一证一码) -------------------------------------------------


@blueprint.get("/enterprise")
@page(Role.ENTERPRISE_ADMIN)
def enterprise() -> str:
    who = me()
    own = service().scope(who).choose(None)
    assert own is not None  # an enterprise administrator's page
    ent = service().enterprises.get(who, own)
    try:
        row: Credential | None = service().issuing.enterprise_credential(who, own)
    except ApiError:
        row = None
    signed = fmt.decode(row.raw) if row is not None else None
    from anxinma.issuer.services.rules import mask_credit_code

    counts = {
        status: service().workers.count(who, status=status) for status in ("active", "left", "blacklisted")
    }
    return render_template(
        "issuer/enterprise.html",
        e=ent,
        c=row,
        signed=signed,
        code=signed.to_url(service().config.base_url) if signed else None,
        credit_masked=mask_credit_code(ent.credit_code),
        counts=counts,
    )
