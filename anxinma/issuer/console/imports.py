"""Bulk import in the console: upload, a preview with every row's errors before anything is
written, then the import in the background, in chunks, with a progress bar the page polls.

The rules are the service's (:func:`validate_import_rows`, :meth:`IssuerService.preview_import`,
:meth:`IssuerService.import_valid_rows`, the same the API's import runs); this module only
keeps the job: the parsed rows encrypted until the job has run, the preview, the progress
and the report. A person already registered at the enterprise is "existing", so the same
file imported twice creates nothing the second time.

A job survives a restart of the service only as far as it got: rows of finished chunks are
committed, a job whose process died stays "running" without progress and the page says it
was interrupted; importing the file again creates only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Response, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from sqlalchemy import select, update
from werkzeug.wrappers import Response as BaseResponse

from anxinma.errors import AnxinmaError
from anxinma.issuer.auth import Principal, Role
from anxinma.issuer.console.base import (
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
from anxinma.issuer.errors import ApiError, ValidationFailed
from anxinma.issuer.importing import read_upload
from anxinma.issuer.models import ImportJob, utcnow
from anxinma.issuer.rules import today_in_china
from anxinma.issuer.service import ImportReport, ImportRow, IssuerService, validate_import_rows

log = logging.getLogger("anxinma.issuer.console")

#: Rows per transaction while a job runs: small enough that other writers never wait long.
CHUNK = 250
#: Rows of each kind the preview page lists (the error report has all of them).
PREVIEW_ERRORS = 1000
PREVIEW_SAMPLE = 20
#: A running job without progress for this long was interrupted (its process stopped).
STALE = timedelta(minutes=5)
#: A preview not imported within this long loses its rows (they hold identity numbers).
KEEP_PREVIEW = timedelta(hours=24)
_CONTEXT = "import_job.rows"
WRITERS = (Role.ENTERPRISE_ADMIN, Role.ISSUER_ADMIN)


def _masked(value: Any, keep_head: int, keep_tail: int) -> str:
    text = str(value or "")
    if len(text) <= keep_head + keep_tail:
        return text
    return text[:keep_head] + "*" * (len(text) - keep_head - keep_tail) + text[-keep_tail:]


def _shown(raw: dict[str, Any]) -> dict[str, str]:
    """A row as the preview shows it: identity and phone numbers masked, the rest as typed."""
    return {
        "name": str(raw.get("name", ""))[:32],
        "id_number": _masked(raw.get("id_number"), 3, 4),
        "phone": _masked(raw.get("phone"), 3, 4),
        "categories": str(raw.get("categories", ""))[:64],
        "health_certificate_valid_until": str(raw.get("health_certificate_valid_until", ""))[:32],
        "insurance_valid_until": str(raw.get("insurance_valid_until", ""))[:32],
        "star_level": str(raw.get("star_level", ""))[:8],
    }


@dataclass(frozen=True)
class Preview:
    """What an import would do (nothing written yet)."""

    rows: int
    new: int
    existing: int
    errors: list[dict[str, Any]]  # {"row", "fields": {name: {"zh", "en"}}, "shown": {...}}
    sample: list[dict[str, Any]]  # {"row", "outcome": new|existing, "shown": {...}}

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "new": self.new,
            "existing": self.existing,
            "errors": self.errors,
            "sample": self.sample,
        }


def preview(
    svc: IssuerService, principal: Principal, enterprise_id: int, rows: list[dict[str, Any]]
) -> Preview:
    errors: list[dict[str, Any]] = []
    valid = validate_import_rows(rows, errors)
    found, refused = svc.preview_import(principal, enterprise_id, valid)
    errors.extend(refused.values())
    errors.sort(key=lambda e: int(e["row"]))
    for error in errors:
        error["shown"] = _shown(rows[int(error["row"]) - 2])
    sample = [
        {
            "row": item.row,
            "outcome": "existing" if item.row in found else "new",
            "shown": _shown(rows[item.row - 2]),
        }
        for item in valid[:PREVIEW_SAMPLE]
        if item.row not in refused
    ]
    new = len(valid) - len(found) - len(refused)
    return Preview(len(rows), new, len(found), errors, sample)


def _job(job_id: int, principal: Principal) -> ImportJob:
    """The job, if the caller's scope holds its enterprise (else 404, as for a worker)."""
    with service().store.read() as session:
        job = session.get(ImportJob, job_id)
    if job is None or not service().visible(principal, job.enterprise_id):
        abort(404)
    return job


def _state(job: ImportJob) -> str:
    if job.state == "running" and utcnow() - job.updated_at > STALE:
        return "interrupted"
    return job.state


# -- running a job -------------------------------------------------------------------------


def run_job(svc: IssuerService, job_id: int, principal: Principal) -> None:
    """Import the job's rows chunk by chunk, recording progress after each; the job ends
    ``done`` (payload erased, report kept) or ``failed`` with the reason."""
    store = svc.store
    try:
        with store.read() as session:
            job = session.get(ImportJob, job_id)
            assert job is not None and job.payload is not None
            rows: list[dict[str, Any]] = json.loads(svc.vault.decrypt(job.payload, _CONTEXT))
            enterprise_id, issue = job.enterprise_id, job.issue
        report = ImportReport(rows=len(rows))
        valid: list[ImportRow] = validate_import_rows(rows, report.errors)
        processed = len(rows) - len(valid)
        _progress(svc, job_id, processed, report)
        for start in range(0, len(valid), CHUNK):
            chunk = valid[start : start + CHUNK]
            svc.import_valid_rows(principal, enterprise_id, chunk, report, issue=issue)
            processed += len(chunk)
            _progress(svc, job_id, processed, report)
        for error in report.errors:
            error["shown"] = _shown(rows[int(error["row"]) - 2])
        with store.write() as session:
            session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(
                    state="done",
                    payload=None,
                    result=json.dumps(
                        {"errors": report.errors, "credentials": len(report.credentials)}, ensure_ascii=False
                    ),
                    updated_at=utcnow(),
                )
            )
    except Exception as exc:
        if isinstance(exc, AnxinmaError):
            message = {"zh": exc.message_zh, "en": exc.message}
        else:
            log.exception("import job %s failed", job_id)
            message = {"zh": "服务器内部错误，导入中止", "en": "internal error: the import stopped"}
        with store.write() as session:
            session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(
                    state="failed",
                    payload=None,
                    message=json.dumps(message, ensure_ascii=False)[:500],
                    updated_at=utcnow(),
                )
            )


def _progress(svc: IssuerService, job_id: int, processed: int, report: ImportReport) -> None:
    with svc.store.write() as session:
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(
                processed=processed,
                created=len(report.created),
                existing=len(report.existing),
                failed=len(report.errors),
                updated_at=utcnow(),
            )
        )


def start(svc: IssuerService, job_id: int, principal: Principal, *, issue: bool) -> bool:
    """Move the job from ``ready`` to ``running`` (once: a second click finds it running)
    and run it in a background thread. Returns False when it was not ready."""
    with svc.store.write() as session:
        moved = session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.state == "ready")
            .values(state="running", issue=issue, updated_at=utcnow())
            .returning(ImportJob.id)
        ).first()
    if not moved:
        return False
    threading.Thread(
        target=run_job, args=(svc, job_id, principal), name=f"import-{job_id}", daemon=True
    ).start()
    return True


def expire(svc: IssuerService) -> int:
    """Erase the rows of previews nobody imported within :data:`KEEP_PREVIEW` (identity numbers
    are not kept for a file that was only looked at); returns how many jobs expired."""
    message = json.dumps(
        {
            "zh": "预览超过 24 小时未导入，已删除文件内容，请重新上传",
            "en": "the preview was not imported within 24 hours; its rows were deleted: upload the file again",
        },
        ensure_ascii=False,
    )
    with svc.store.write() as session:
        expired = session.execute(
            update(ImportJob)
            .where(ImportJob.state == "ready", ImportJob.created_at < utcnow() - KEEP_PREVIEW)
            .values(state="failed", payload=None, message=message, updated_at=utcnow())
            .returning(ImportJob.id)
        ).all()
    return len(expired)


# -- pages ---------------------------------------------------------------------------------


def _recent(who: Principal) -> list[ImportJob]:
    with service().store.read() as session:
        query = select(ImportJob).order_by(ImportJob.id.desc()).limit(10)
        if who.enterprise_id is not None:
            query = query.where(ImportJob.enterprise_id == who.enterprise_id)
        return list(session.execute(query).scalars())


@blueprint.route("/import", methods=["GET", "POST"])
@page(*WRITERS)
def imports() -> BaseResponse | str | tuple[str, int]:
    who = me()
    problem: str | None = None
    if request.method == "POST":
        upload = request.files.get("file")
        data = upload.read() if upload is not None else b""
        filename = (upload.filename or "upload") if upload is not None else ""
        enterprise_id = who.enterprise_id
        if enterprise_id is None:
            raw = request.form.get("enterprise_id", "")
            enterprise_id = int(raw) if raw.isdigit() else None
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
            expire(service())
            with service().store.write() as session:
                job = ImportJob(
                    enterprise_id=enterprise_id,
                    actor=who.actor,
                    filename=filename[-128:],
                    sha256=digest,
                    payload=service().vault.encrypt(json.dumps(rows, ensure_ascii=False), _CONTEXT),
                    state="ready",
                    total=len(rows),
                    preview=json.dumps(plan.to_json(), ensure_ascii=False),
                )
                session.add(job)
                session.flush()
                job_id = job.id
            return redirect(url_for("console.import_job", job_id=job_id), 303)
    recent = _recent(who)
    return (
        render_template(
            "issuer/import.html",
            problem=problem,
            enterprises=enterprise_choices(who) if who.enterprise_id is None else [],
            recent=recent,
            names=enterprise_names({j.enterprise_id for j in recent}) if who.enterprise_id is None else {},
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
    with service().store.read() as session:
        earlier = session.execute(
            select(ImportJob.id, ImportJob.created_at)
            .where(
                ImportJob.enterprise_id == job.enterprise_id,
                ImportJob.sha256 == job.sha256,
                ImportJob.id < job.id,
                ImportJob.state == "done",
            )
            .order_by(ImportJob.id.desc())
            .limit(1)
        ).first()
    message = json.loads(job.message) if job.message else None
    return render_template(
        "issuer/import_job.html",
        job=job,
        state=_state(job),
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
    state = _state(job)
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


__all__ = ["Preview", "preview", "run_job", "start"]
