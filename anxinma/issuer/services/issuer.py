"""The services of one issuer, composed once per process: the one place the web layer, the CLI
and the benchmarks reach them (``current_app.extensions["anxinma"].service``).

Why a facade at all: the runtime hands one object to every request, and the services depend on
each other (an import registers workers and may issue; issuing revokes the credential it
replaces; the daily job refreshes workers' attention), so they are wired here, in one order,
rather than by every caller. It decides nothing itself: each job is its own module.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from anxinma.issuer.services.accounts import Accounts
from anxinma.issuer.services.batches import CardBatches
from anxinma.issuer.services.checkins import CheckIns
from anxinma.issuer.services.context import Context
from anxinma.issuer.services.credit import Credit
from anxinma.issuer.services.daily import Daily
from anxinma.issuer.services.enrolments import Enrolments
from anxinma.issuer.services.enterprises import Enterprises
from anxinma.issuer.services.import_jobs import ImportJobs
from anxinma.issuer.services.imports import Imports
from anxinma.issuer.services.issuing import Issuing
from anxinma.issuer.services.jobs import Jobs
from anxinma.issuer.services.live import LiveRecords
from anxinma.issuer.services.reports import CodeReports
from anxinma.issuer.services.revocation import Revocation
from anxinma.issuer.services.visits import ServiceLoop
from anxinma.issuer.services.watchlists import Watchlists
from anxinma.issuer.services.worker_self import WorkerRecords
from anxinma.issuer.services.workers import Workers


class IssuerServices(Context):
    """One issuer's services: ``accounts``, ``enterprises``, ``workers``, ``imports``,
    ``import_jobs``, ``issuing``, ``enrolments``, ``revocation``, ``daily``, ``visits``, ``reports``,
    ``checkins``, ``batches``, ``watchlists``, ``jobs``, ``credit`` (grades, red list, public
    directory) and the live record, on one :class:`Context` (its transactions, its
    scope)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.live = LiveRecords(self.store, self.keys, self.issuer_code)
        self.scans = self.live.scans
        self.accounts = Accounts(self)
        self.enterprises = Enterprises(self)
        self.workers = Workers(self, self.scans)
        self.revocation = Revocation(self)
        self.issuing = Issuing(self, self.revocation)
        self.enrolments = Enrolments(self, self.issuing)
        self.imports = Imports(self, self.workers, self.issuing)
        self.visits = ServiceLoop(self)
        self.reports = CodeReports(self)
        self.checkins = CheckIns(self)
        self.batches = CardBatches(self)
        self.worker_records = WorkerRecords(self, self.visits, self.checkins)
        self.watchlists = Watchlists(self)
        self.jobs = Jobs(self.store, lease=timedelta(seconds=self.config.job_lease))
        self.import_jobs = ImportJobs(self, self.imports, self.jobs)
        at = time.fromisoformat(self.config.daily_at) if self.config.daily_at else None
        self.credit = Credit(self)
        self.live.credit = self.credit
        self.daily = Daily(self, self.workers, self.jobs, at=at, credit=self.credit)
        if self.config.background:  # one-shot CLI commands run no jobs (Jobs.wait runs them in place)
            self.jobs.start()

    def live_record(self, code: Any) -> str:
        """The signed live record of the presented credential (:class:`LiveRecords`)."""
        return self.live.record(code)

    def close(self) -> None:
        self.jobs.close()
        self.scans.flush()


__all__ = ["IssuerServices"]
