"""The daily job: set attention (安心码 yellow) where a health certificate or insurance
lapsed, and clear it where the dates say so, then keep the day's figures, then grade every
enterprise (docs/credit.md) and keep the grades' history.

It is a durable job of the queue (:mod:`anxinma.issuer.services.jobs`, kind ``daily``, one a
day): the hosts' runners add the day's job once it is past :data:`DAILY_AT` in China, and
``anxinma jobs daily`` (cron, or by hand with ``--date``) queues it and runs it in place. A run
whose process is killed is resumed by any host when its lease runs out; it is safe to run twice
(each batch reads what is still to do), so a resumed run only finishes the work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from anxinma import credential as fmt
from anxinma.issuer.services import stats
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context
from anxinma.issuer.services.credit import Credit
from anxinma.issuer.services.jobs import Jobs, Lease
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.workers import Workers
from anxinma.issuer.store.models import Worker

#: How the audit log names the daily job.
DAILY_JOB = Principal("system", "daily", Role.ISSUER_ADMIN)
#: The queue's kind of the daily job; its ``ref`` is the day (ISO).
KIND = "daily"
#: When, in China, the hosts add the day's job by default (after midnight's lapses).
DAILY_AT = time(0, 10)

Keep = Callable[[Session], None]


class Daily:
    """The daily job of one issuer."""

    def __init__(
        self,
        ctx: Context,
        workers: Workers,
        jobs: Jobs | None = None,
        *,
        at: time | None = DAILY_AT,
        credit: Credit | None = None,
    ) -> None:
        self.ctx = ctx
        self.workers = workers
        self.credit = credit
        self.at = at
        #: What the last run in this process did (``anxinma jobs daily`` prints it).
        self.last: dict[str, int] = {}
        if jobs is not None:
            jobs.register(KIND, self._run_job)
            if at is not None:
                jobs.schedule(self._due)

    def _due(self, now: datetime) -> tuple[str, str] | None:
        """The day's job once it is past ``at`` in China (the queue adds it once)."""
        local = now.astimezone(fmt.CHINA_TZ)
        assert self.at is not None
        return (KIND, local.date().isoformat()) if local.time() >= self.at else None

    def _run_job(self, lease: Lease) -> None:
        day = date.fromisoformat(lease.ref)
        self.last = self.run(day, keep=lease.keep)
        self.last["enterprises"] = self.snapshot(day, keep=lease.keep)
        if self.credit is not None:
            self.last["graded"] = self.grade(day, keep=lease.keep)

    def run(self, today: date | None = None, *, batch: int = 500, keep: Keep | None = None) -> dict[str, int]:
        """Set attention where a certificate or insurance lapsed (and clear it where the dates
        say so); index range scans on (attention, date), one transaction per batch (each renews
        the job's lease when ``keep`` is given)."""
        day = today or today_in_china()
        job = DAILY_JOB
        counts = {"attention_set": 0, "attention_cleared": 0}
        lapsed = and_(
            Worker.attention.is_(False),
            or_(
                Worker.health_valid_until < day,
                Worker.insurance_valid_until < day,
                Worker.health_valid_until.is_(None),
                Worker.insurance_valid_until.is_(None),
            ),
        )
        restored = and_(
            Worker.attention.is_(True), Worker.health_valid_until >= day, Worker.insurance_valid_until >= day
        )
        for condition, key in ((lapsed, "attention_set"), (restored, "attention_cleared")):
            last = 0
            while True:
                with self.ctx.tx() as unit:
                    workers = list(
                        unit.session.execute(
                            select(Worker)
                            .where(condition, Worker.id > last)
                            .order_by(Worker.id)
                            .limit(batch)
                            .with_for_update()
                        ).scalars()
                    )
                    for worker in workers:
                        if self.workers.refresh_attention(unit, job, worker, day):
                            counts[key] += 1
                    if keep is not None:
                        keep(unit.session)
                if len(workers) < batch:
                    break
                last = workers[-1].id
        self.workers.scans.flush()
        return counts

    def snapshot(self, day: date, *, keep: Keep | None = None) -> int:
        """Keep the day's 持证率/亮证率 figures of every enterprise (the dashboard's history),
        audited as the daily job's run; returns the number of enterprises."""
        rows, count = stats.day_rows(self.ctx.store, self.ctx.issuer_id, day)
        with self.ctx.tx() as unit:
            if keep is not None:
                keep(unit.session)
            stats.keep(unit.session, day, stats.PERIODS, rows)
            unit.record(DAILY_JOB, "stats.snapshot", "daily_stats", day.isoformat(), enterprises=count)
        return count

    def grade(self, day: date, *, keep: Keep | None = None) -> int:
        """Grade every enterprise of the issuer on ``day`` and keep the grades (the history of
        the public page), audited as the daily job's run; returns the number graded (an
        enterprise with no registered worker is kept as not graded)."""
        assert self.credit is not None
        grades = self.credit.grades(day)
        graded = sum(1 for _inputs, grade in grades.values() if grade.graded)
        with self.ctx.tx() as unit:
            if keep is not None:
                keep(unit.session)
            self.credit.keep(unit, day, grades)
            unit.record(DAILY_JOB, "credit.grade", "credit_grades", day.isoformat(), graded=graded)
        return graded


__all__ = ["DAILY_AT", "KIND", "Daily"]
