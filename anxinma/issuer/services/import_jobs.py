"""The console's import jobs: a file's rows kept encrypted from the preview until the import
has run, then the import in the background (through :class:`~anxinma.issuer.services.jobs.Jobs`),
in chunks, with progress a page polls.

The rules are the import service's (:func:`~anxinma.issuer.services.imports.validate_import_rows`,
:meth:`Imports.preview`, :meth:`Imports.import_valid_rows`, the same the API's import runs).
A job survives a restart only as far as it got: rows of finished chunks are committed, a job
whose process died stays ``running`` without progress (the page says it was interrupted), and
importing the file again creates only what is missing. Creating a job, starting it, its end
and the expiry of unused previews are audited; the workers it registers are audited by the
workers service as they are created.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from anxinma.errors import AnxinmaError
from anxinma.issuer.services.auth import SYSTEM, Principal
from anxinma.issuer.services.context import Context
from anxinma.issuer.services.imports import ImportReport, ImportRow, Imports, validate_import_rows
from anxinma.issuer.services.jobs import Jobs
from anxinma.issuer.store.models import ImportJob, utcnow

log = logging.getLogger("anxinma.issuer.imports")

#: Rows per transaction while a job runs: small enough that other writers never wait long.
CHUNK = 250
#: A running job without progress for this long was interrupted (its process stopped).
STALE = timedelta(minutes=5)
#: A preview not imported within this long loses its rows (they hold identity numbers).
KEEP_PREVIEW = timedelta(hours=24)
_CONTEXT = "import_job.rows"
_EXPIRED = {
    "zh": "预览超过 24 小时未导入，已删除文件内容，请重新上传",
    "en": "the preview was not imported within 24 hours; its rows were deleted: upload the file again",
}
_INTERNAL = {"zh": "服务器内部错误，导入中止", "en": "internal error: the import stopped"}


def state_of(job: ImportJob) -> str:
    """The job's state as a person reads it: a running job without progress was interrupted."""
    if job.state == "running" and utcnow() - job.updated_at > STALE:
        return "interrupted"
    return job.state


class ImportJobs:
    """Import jobs of one issuer, under the caller's scope."""

    def __init__(self, ctx: Context, imports: Imports, jobs: Jobs) -> None:
        self.ctx = ctx
        self.imports = imports
        self.jobs = jobs

    # -- reading ----------------------------------------------------------------------------

    def get(self, who: Principal, job_id: int) -> ImportJob:
        """The job, or 404 when the caller's scope does not hold its enterprise."""
        with self.ctx.store.read() as session:
            return self.ctx.scope(who).get(session, ImportJob, job_id)

    def recent(self, who: Principal, limit: int = 10) -> list[ImportJob]:
        query = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
        with self.ctx.store.read() as session:
            return list(session.execute(self.ctx.scope(who).filter(query, ImportJob)).scalars())

    def earlier(self, job: ImportJob) -> Any:
        """(id, created_at) of the last finished import of the same file at the same enterprise."""
        with self.ctx.store.read() as session:
            return session.execute(
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

    # -- writing ----------------------------------------------------------------------------

    def create(
        self,
        who: Principal,
        enterprise_id: int,
        filename: str,
        sha256: str,
        rows: list[dict[str, Any]],
        preview: dict[str, Any],
    ) -> int:
        """Keep a previewed file's rows (encrypted) as a ``ready`` job; returns its id."""
        self.expire()
        with self.ctx.tx() as unit:
            self.ctx.scope(who).target(unit.session, enterprise_id)
            job = ImportJob(
                enterprise_id=enterprise_id,
                actor=who.actor,
                filename=filename[-128:],
                sha256=sha256,
                payload=self.ctx.vault.encrypt(json.dumps(rows, ensure_ascii=False), _CONTEXT),
                state="ready",
                total=len(rows),
                preview=json.dumps(preview, ensure_ascii=False),
            )
            unit.session.add(job)
            unit.session.flush()
            unit.record(who, "import.create", "import_job", job.id, rows=len(rows), sha256=sha256)
            return int(job.id)

    def start(self, who: Principal, job_id: int, *, issue: bool) -> bool:
        """Move the job from ``ready`` to ``running`` (once: a second click finds it running)
        and submit it to the background runner. Returns False when it was not ready."""
        scope = self.ctx.scope(who)
        with self.ctx.tx() as unit:
            moved = unit.session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id, ImportJob.state == "ready", *scope.conditions(ImportJob))
                .values(state="running", issue=issue, updated_at=utcnow())
                .returning(ImportJob.id)
            ).first()
            if moved:
                unit.record(who, "import.start", "import_job", job_id, issue=issue)
        if not moved:
            return False
        self.jobs.submit(lambda: self.run(job_id, who), name=f"import-{job_id}")
        return True

    def run(self, job_id: int, who: Principal) -> None:
        """Import the job's rows chunk by chunk, recording progress after each; the job ends
        ``done`` (payload erased, report kept) or ``failed`` with the reason."""
        try:
            with self.ctx.store.read() as session:
                job = session.get(ImportJob, job_id)
                assert job is not None and job.payload is not None
                rows: list[dict[str, Any]] = json.loads(self.ctx.vault.decrypt(job.payload, _CONTEXT))
                enterprise_id, issue = job.enterprise_id, job.issue
            report = ImportReport(rows=len(rows))
            valid: list[ImportRow] = validate_import_rows(rows, report.errors)
            processed = len(rows) - len(valid)
            self._progress(job_id, processed, report)
            for start in range(0, len(valid), CHUNK):
                chunk = valid[start : start + CHUNK]
                self.imports.import_valid_rows(who, enterprise_id, chunk, report, issue=issue)
                processed += len(chunk)
                self._progress(job_id, processed, report)
            for error in report.errors:
                error["shown"] = shown(rows[int(error["row"]) - 2])
            result = {"errors": report.errors, "credentials": len(report.credentials)}
            self._finish(who, job_id, "done", result=json.dumps(result, ensure_ascii=False))
        except Exception as exc:
            if isinstance(exc, AnxinmaError):
                message = {"zh": exc.message_zh, "en": exc.message}
            else:
                log.exception("import job %s failed", job_id)
                message = _INTERNAL
            self._finish(who, job_id, "failed", message=json.dumps(message, ensure_ascii=False)[:500])

    def _progress(self, job_id: int, processed: int, report: ImportReport) -> None:
        """The counters the page polls (bookkeeping of the job, not a change to audit: the
        workers it registers are audited as they are created)."""
        with self.ctx.store.write() as session:
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

    def _finish(self, who: Principal, job_id: int, state: str, **values: Any) -> None:
        with self.ctx.tx() as unit:
            unit.session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(state=state, payload=None, updated_at=utcnow(), **values)
            )
            unit.record(who, f"import.{state}", "import_job", job_id)

    def expire(self) -> int:
        """Erase the rows of previews nobody imported within :data:`KEEP_PREVIEW` (identity
        numbers are not kept for a file that was only looked at); returns how many expired."""
        with self.ctx.tx() as unit:
            expired = unit.session.execute(
                update(ImportJob)
                .where(ImportJob.state == "ready", ImportJob.created_at < utcnow() - KEEP_PREVIEW)
                .values(
                    state="failed",
                    payload=None,
                    message=json.dumps(_EXPIRED, ensure_ascii=False),
                    updated_at=utcnow(),
                )
                .returning(ImportJob.id)
            ).all()
            if expired:
                ids = sorted(int(row[0]) for row in expired)
                unit.record(SYSTEM, "import.expire", "import_job", ids[0], jobs=ids)
        return len(expired)


def _masked(value: Any, keep_head: int, keep_tail: int) -> str:
    text = str(value or "")
    if len(text) <= keep_head + keep_tail:
        return text
    return text[:keep_head] + "*" * (len(text) - keep_head - keep_tail) + text[-keep_tail:]


def shown(raw: dict[str, Any]) -> dict[str, str]:
    """A row as a page shows it: identity and phone numbers masked, the rest as typed."""
    return {
        "name": str(raw.get("name", ""))[:32],
        "id_number": _masked(raw.get("id_number"), 3, 4),
        "phone": _masked(raw.get("phone"), 3, 4),
        "categories": str(raw.get("categories", ""))[:64],
        "health_certificate_valid_until": str(raw.get("health_certificate_valid_until", ""))[:32],
        "insurance_valid_until": str(raw.get("insurance_valid_until", ""))[:32],
        "star_level": str(raw.get("star_level", ""))[:8],
    }


__all__ = ["CHUNK", "KEEP_PREVIEW", "STALE", "ImportJobs", "shown", "state_of"]
