"""Bulk import in the console: upload, a preview with every row's errors before anything is
written, then the import in the background, in chunks, with a progress bar the page polls.

The rules are the import service's (:func:`validate_import_rows`, :meth:`Imports.preview`);
the job — the parsed rows kept encrypted until it has run, its progress, its report, the
background runner — is :class:`~anxinma.issuer.services.import_jobs.ImportJobs`'. This module
parses the upload, renders the pages and calls those. A person already registered at the
enterprise is "existing", so the same file imported twice creates nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from flask import Response, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from anxinma.issuer.errors import ApiError, ValidationFailed
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.import_jobs import shown, state_of
from anxinma.issuer.services.imports import validate_import_rows
from anxinma.issuer.services.issuer import IssuerServices
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.store.models import ImportJob
from anxinma.issuer.web.console.base import (
    api_message,
    blueprint,
    csv_response,
    enterprise_choices,
    enterprise_names,
    me,
    page,
    pick,
    section,
    service,
)
from anxinma.issuer.web.importing import read_upload
from anxinma.issuer.web.params import id_value

log = logging.getLogger("anxinma.issuer.web.console")

#: Rows of each kind the preview page lists (the error report has all of them).
PREVIEW_ERRORS = 1000
PREVIEW_SAMPLE = 20
WRITERS = (Role.ENTERPRISE_ADMIN, Role.ISSUER_ADMIN)


@dataclass(frozen=True)
class Preview:
    """What an import would do (nothing written yet)."""

    rows: int
    new: int
    existing: int
    errors: list[dict[str, Any]]  # {"row", "fields": {name: {"zh", "en"}}, "shown": {...}}
    sample: list[dict[str, Any]]  # {"row", "outcome": new|existing, "shown": {...}}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def preview(
    svc: IssuerServices, principal: Principal, enterprise_id: int, rows: list[dict[str, Any]]
) -> Preview:
    errors: list[dict[str, Any]] = []
    valid = validate_import_rows(rows, errors)
    found, refused = svc.imports.preview(principal, enterprise_id, valid)
    errors.extend(refused.values())
    errors.sort(key=lambda e: int(e["row"]))
    for error in errors:
        error["shown"] = shown(rows[int(error["row"]) - 2])
    sample = [
        {
            "row": item.row,
            "outcome": "existing" if item.row in found else "new",
            "shown": shown(rows[item.row - 2]),
        }
        for item in valid[:PREVIEW_SAMPLE]
        if item.row not in refused
    ]
    new = len(valid) - len(found) - len(refused)
    return Preview(len(rows), new, len(found), errors, sample)


def _job(job_id: int, principal: Principal) -> ImportJob:
    """The job, if the caller's scope holds its enterprise (else 404, as for a worker)."""
    return service().import_jobs.get(principal, job_id)


def start(svc: IssuerServices, job_id: int, principal: Principal, *, issue: bool) -> bool:
    """Start the job in the background (:meth:`ImportJobs.start`); False when it was not ready."""
    return svc.import_jobs.start(principal, job_id, issue=issue)


def expire(svc: IssuerServices) -> int:
    """Erase the rows of previews nobody imported in time (:meth:`ImportJobs.expire`)."""
    return svc.import_jobs.expire()


# -- pages ---------------------------------------------------------------------------------


@blueprint.route("/import", methods=["GET", "POST"])
@page(*WRITERS)
def imports() -> BaseResponse | str | tuple[str, int]:
    who = me()
    problem: str | None = None
    if request.method == "POST":
        upload = request.files.get("file")
        data = upload.read() if upload is not None else b""
        filename = (upload.filename or "upload") if upload is not None else ""
        raw = request.form.get("enterprise_id", "")
        asked = id_value(raw)
        enterprise_id = service().scope(who).choose(asked)
        try:
            if not data:
                raise ValidationFailed({"file": ("请选择 CSV 或 XLSX 文件", "choose a CSV or XLSX file")})
            if enterprise_id is None:
                raise ValidationFailed({"enterprise_id": ("请选择企业", "choose the enterprise")})
            rows = read_upload(data, filename)
            if not rows:
                raise ValidationFailed({"file": ("文件中没有数据行", "the file has no data rows")})
            plan = preview(service(), who, enterprise_id, rows)
        except ValidationFailed as exc:
            problem = "；".join(pick(zh, en) for zh, en in exc.fields.values())
        except ApiError as exc:
            problem = api_message(exc)
        else:
            digest = hashlib.sha256(data).hexdigest()
            job_id = service().import_jobs.create(who, enterprise_id, filename, digest, rows, plan.to_json())
            return redirect(url_for("console.import_job", job_id=job_id), 303)
    recent = service().import_jobs.recent(who)
    city_wide = service().scope(who).city_wide
    return (
        render_template(
            "issuer/import.html",
            problem=problem,
            enterprises=enterprise_choices(who) if city_wide else [],
            recent=recent,
            names=enterprise_names({j.enterprise_id for j in recent}) if city_wide else {},
        ),
        400 if problem else 200,
    )


@blueprint.get("/import/<int:job_id>")
@page(*WRITERS)
def import_job(job_id: int) -> str:
    section("console.imports")
    who = me()
    job = _job(job_id, who)
    plan = json.loads(job.preview or "{}")
    result = json.loads(job.result) if job.result else None
    earlier = service().import_jobs.earlier(job)
    message = json.loads(job.message) if job.message else None
    return render_template(
        "issuer/import_job.html",
        job=job,
        state=state_of(job),
        plan=plan,
        result=result,
        earlier=earlier,
        message=pick(message["zh"], message["en"]) if message else None,
        field_label=field_label,
    )


@blueprint.post("/import/<int:job_id>/run")
@page(*WRITERS)
def import_run(job_id: int) -> BaseResponse:
    who = me()
    _job(job_id, who)
    start(service(), job_id, who, issue=request.form.get("issue") == "1")
    return redirect(url_for("console.import_job", job_id=job_id), 303)


@blueprint.get("/import/<int:job_id>/status")
@page(*WRITERS)
def import_status(job_id: int) -> Response:
    """The progress the page polls (JSON; the page works without it, reloading itself)."""
    job = _job(job_id, me())
    state = state_of(job)
    return jsonify(
        {
            "state": state,
            "total": job.total,
            "processed": job.processed,
            "created": job.created,
            "existing": job.existing,
            "failed": job.failed,
            "percent": round(100 * job.processed / job.total) if job.total else 100,
        }
    )


@blueprint.get("/import/<int:job_id>/errors.csv")
@page(*WRITERS)
def import_errors(job_id: int) -> Response:
    """Every row the import refused (or, before it ran, would refuse), a line per field."""
    job = _job(job_id, me())
    errors = (
        json.loads(job.result)["errors"] if job.result else json.loads(job.preview or "{}").get("errors", [])
    )
    lines = [
        [error["row"], error.get("shown", {}).get("name", ""), field, message["zh"], message["en"]]
        for error in errors
        for field, message in error["fields"].items()
    ]
    return csv_response(
        f"import-{job_id}-errors.csv", ["row", "name", "field", "error_zh", "error_en"], lines
    )


@blueprint.get("/import/template.csv")
@page(*WRITERS)
def import_template() -> Response:
    """An empty file with the columns (Chinese names) and one example row to overwrite."""
    later = (today_in_china() + timedelta(days=365)).isoformat()
    return csv_response(
        "import-template.csv",
        ["姓名", "身份证号", "手机号", "服务类别", "健康证有效期", "保险有效期", "星级", "技能"],
        [["李小霞", "330203198001010028", "13800001111", "保洁、育婴", later, later, "4", "收纳、辅食"]],
    )


#: Column names of an import file, for the preview's headers and messages.
FIELD_LABELS: dict[str, Any] = {
    "name": lazy_gettext("Name"),
    "id_number": lazy_gettext("ID number"),
    "phone": lazy_gettext("Phone"),
    "categories": lazy_gettext("Categories"),
    "skills": lazy_gettext("Skills"),
    "star_level": lazy_gettext("Star level"),
    "health_certificate_valid_until": lazy_gettext("Health certificate until"),
    "insurance_valid_until": lazy_gettext("Insurance until"),
    "photo_url": lazy_gettext("Photo URL"),
    "trainings": lazy_gettext("Training"),
    "enterprise_id": lazy_gettext("Enterprise"),
    "file": lazy_gettext("File"),
}


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


__all__ = ["Preview", "expire", "preview", "start"]
