"""The console's import jobs: a file's rows kept encrypted from the preview until the import
has run, then the import as a durable job (:mod:`anxinma.issuer.services.jobs`), in chunks,
with progress a page polls.

The rules are the import service's (:func:`~anxinma.issuer.services.imports.validate_import_rows`,
:meth:`Imports.preview`, :meth:`Imports.import_valid_rows`, the same the API's import runs).
Each chunk commits together with the job's checkpoint (what the finished chunks created, found
and refused) and the renewal of its lease, so a job whose process is killed is resumed by any
host from its last committed chunk, with no row lost or done twice and the same report as an
uninterrupted run. Creating a job, starting it, its end and the expiry of unused previews are
audited; the workers it registers are audited by the workers service as they are created.
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
from anxinma.issuer.services.jobs import Jobs, Lease, LeaseLost
from anxinma.issuer.store.models import ImportJob, utcnow

log = logging.getLogger("anxinma.issuer.imports")

#: Rows per transaction while a job runs: small enough that other writers never wait long.
CHUNK = 250
#: A running job without progress for this long is waiting for a host to resume it (its
#: process stopped and no other host has taken it on: the queue does so within its lease).
STALE = timedelta(minutes=5)
#: The durable queue's kind of these jobs.
KIND = "import"
#: A preview not imported within this long loses its rows (they hold identity numbers).
KEEP_PREVIEW = timedelta(hours=24)
_CONTEXT = "import_job.rows"
_EXPIRED = {
    "zh": "预览超过 24 小时未导入，已删除文件内容，请重新上传",
    "en": "the preview was not imported within 24 hours; its rows were deleted: upload the file again",
}
_INTERNAL = {"zh": "服务器内部错误，导入中止", "en": "internal error: the import stopped"}
_GAVE_UP = {
    "zh": "导入多次中断后已停止：已导入的记录已保存，请联系管理员后重新上传以导入其余记录",
    "en": "the import stopped after being interrupted several times: rows imported so far are saved; "
    "ask the administrator, then upload the file again to import the rest",
}


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
        jobs.register(KIND, self._run_job, self._give_up)

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
        and queue it, in the same transaction, for whichever host runs jobs next. Returns False
        when it was not ready."""
        scope = self.ctx.scope(who)
        with self.ctx.tx() as unit:
            moved = unit.session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id, ImportJob.state == "ready", *scope.conditions(ImportJob))
                .values(state="running", issue=issue, actor=who.actor, updated_at=utcnow())
                .returning(ImportJob.id)
            ).first()
            if moved:
                unit.record(who, "import.start", "import_job", job_id, issue=issue)
                self.jobs.submit(unit.session, KIND, str(job_id))
        return bool(moved)

    def _run_job(self, lease: Lease) -> None:
        """The queue's handler: run (or resume) the import the lease names."""
        self.run(int(lease.ref), lease)

    def run(self, job_id: int, lease: Lease) -> None:
        """Import the job's rows chunk by chunk from its checkpoint, each chunk committed with
        its progress and the lease's renewal; the job ends ``done`` (payload erased, report
        kept) or ``failed`` with the reason. :class:`LeaseLost` (another host has the job now)
        passes through: that host finishes it."""
        who = SYSTEM
        try:
            with self.ctx.store.read() as session:
                job = session.get(ImportJob, job_id)
                if job is None or job.state != "running" or job.payload is None:
                    return  # finished, or never started: nothing to resume
                rows: list[dict[str, Any]] = json.loads(self.ctx.vault.decrypt(job.payload, _CONTEXT))
                enterprise_id, issue = job.enterprise_id, job.issue
                who = Principal.from_actor(job.actor)
                done = _Checkpoint.load(job.checkpoint)
            checks: list[dict[str, Any]] = []
            valid: list[ImportRow] = validate_import_rows(rows, checks)
            pieces = [valid[start : start + CHUNK] for start in range(0, len(valid), CHUNK)]
            if done.chunks == 0:
                with self.ctx.store.write() as session:
                    lease.keep(session)
                    self._progress(session, job_id, len(rows) - len(valid), done, checks)
            for index in range(done.chunks, len(pieces)):
                part = ImportReport()

                def commit(session: Any, part: ImportReport = part, index: int = index) -> None:
                    lease.keep(session)
                    done.add(part)
                    processed = len(rows) - len(valid) + sum(len(p) for p in pieces[: index + 1])
                    self._progress(session, job_id, processed, done, checks)

                try:
                    self.imports.import_valid_rows(
                        who, enterprise_id, pieces[index], part, issue=issue, then=commit
                    )
                except BaseException:
                    done.undo(part)  # the chunk rolled back: so did its share of the checkpoint
                    raise
            errors = sorted([*checks, *done.errors], key=lambda e: int(e["row"]))
            for error in errors:
                error["shown"] = shown(rows[int(error["row"]) - 2])
            result = {"errors": errors, "credentials": len(done.credentials)}
            self._finish(who, job_id, "done", lease, result=json.dumps(result, ensure_ascii=False))
        except LeaseLost:
            raise
        except Exception as exc:
            if isinstance(exc, AnxinmaError):
                message = {"zh": exc.message_zh, "en": exc.message}
            else:
                log.exception("import job %s failed", job_id)
                message = _INTERNAL
            self._finish(who, job_id, "failed", lease, message=json.dumps(message, ensure_ascii=False)[:500])

    def _give_up(self, _queue_id: int, ref: str) -> None:
        self._finish(SYSTEM, int(ref), "failed", None, message=json.dumps(_GAVE_UP, ensure_ascii=False))

    def _progress(
        self, session: Any, job_id: int, processed: int, done: _Checkpoint, checks: list[dict[str, Any]]
    ) -> None:
        """The counters the page polls and the checkpoint, in the chunk's transaction
        (bookkeeping of the job, not a change to audit: the workers it registers are audited
        by the workers service as they are created)."""
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(
                processed=processed,
                created=len(done.created),
                existing=len(done.existing),
                failed=len(checks) + len(done.errors),
                checkpoint=done.dump(),
                updated_at=utcnow(),
            )
        )

    def _finish(self, who: Principal, job_id: int, state: str, lease: Lease | None, **values: Any) -> None:
        with self.ctx.tx() as unit:
            if lease is not None:
                lease.keep(unit.session)  # only the host holding the job ends it
            unit.session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(state=state, payload=None, checkpoint=None, updated_at=utcnow(), **values)
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


class _Checkpoint:
    """What the finished chunks of a job did: the job's report as far as it has committed."""

    def __init__(self, chunks: int = 0, **lists: list[Any]) -> None:
        self.chunks = chunks
        self.created: list[int] = list(lists.get("created", []))
        self.existing: list[int] = list(lists.get("existing", []))
        self.errors: list[dict[str, Any]] = list(lists.get("errors", []))
        self.credentials: list[int] = list(lists.get("credentials", []))
        self._added: ImportReport | None = None

    @classmethod
    def load(cls, text: str | None) -> _Checkpoint:
        return cls(**json.loads(text)) if text else cls()

    def dump(self) -> str:
        fields = {"created": self.created, "existing": self.existing, "errors": self.errors}
        return json.dumps(
            {"chunks": self.chunks, **fields, "credentials": self.credentials}, ensure_ascii=False
        )

    def add(self, part: ImportReport) -> None:
        """Count a chunk in (inside its transaction, before it commits)."""
        self.chunks += 1
        for name in _LISTS:
            getattr(self, name).extend(getattr(part, name))
        self._added = part

    def undo(self, part: ImportReport) -> None:
        """Take back :meth:`add` of a chunk whose transaction rolled back after it."""
        if self._added is part:
            self.chunks -= 1
            for name in _LISTS:
                kept = getattr(self, name)
                del kept[len(kept) - len(getattr(part, name)) :]
        self._added = None


_LISTS = ("created", "existing", "errors", "credentials")


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


__all__ = ["CHUNK", "KEEP_PREVIEW", "KIND", "STALE", "ImportJobs", "shown", "state_of"]
