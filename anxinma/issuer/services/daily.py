"""The daily job: set attention (安心码 yellow) where a health certificate or insurance
lapsed, and clear it where the dates say so; run by ``anxinma jobs daily``."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_, select

from anxinma.issuer.services import stats
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.workers import Workers
from anxinma.issuer.store.models import Worker

#: How the audit log names the daily job.
DAILY_JOB = Principal("system", "daily", Role.ISSUER_ADMIN)


class Daily:
    """The daily job of one issuer."""

    def __init__(self, ctx: Context, workers: Workers) -> None:
        self.ctx = ctx
        self.workers = workers

    def run(self, today: date | None = None, *, batch: int = 500) -> dict[str, int]:
        """Set attention where a certificate or insurance lapsed (and clear it where the dates
        say so); index range scans on (attention, date), one transaction per batch."""
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
                if len(workers) < batch:
                    break
                last = workers[-1].id
        self.workers.scans.flush()
        return counts

    def snapshot(self, day: date) -> int:
        """Keep the day's 持证率/亮证率 figures of every enterprise (the dashboard's history),
        audited as the daily job's run; returns the number of enterprises."""
        rows, count = stats.day_rows(self.ctx.store, self.ctx.issuer_id, day)
        with self.ctx.tx() as unit:
            stats.keep(unit.session, day, stats.PERIODS, rows)
            unit.record(DAILY_JOB, "stats.snapshot", "daily_stats", day.isoformat(), enterprises=count)
        return count


__all__ = ["Daily"]
