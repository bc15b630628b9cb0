"""Background work that survives its process (issue 19, item 3; services/jobs.py).

The finding: a bulk import ran in a thread of the process that received it and died with it;
the page said "interrupted" five minutes later and the user uploaded again. Now: host A (a
process of its own) starts a 4,000-row import and is SIGKILLed after some chunks committed;
host B, on the same database and keys, resumes it from the last committed chunk when A's lease
runs out. Every valid row is a worker exactly once, the report is the one an uninterrupted
run gives, and each worker's registration is audited once. Both databases.

The queue's own rules: one host wins a claim, a host that lost its lease cannot commit, a job
claimed too often is given up and its import says why.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from anxinma.issuer.services.jobs import Jobs, Lease, LeaseLost
from anxinma.issuer.store.db import Store
from anxinma.issuer.store.models import AuditEntry, ImportJob, Job, Worker
from tests.conftest import LiveIssuer

pytestmark = pytest.mark.timeout(240)
REPO = Path(__file__).resolve().parents[2]
ROWS = 4000

HOST_A = textwrap.dedent(
    """
    import json, sys, time
    from datetime import date, timedelta
    from pathlib import Path
    from anxinma.issuer.services.auth import Principal, Role
    from anxinma.issuer.services.validation import id_check_character
    from tests.conftest import LiveIssuer, random_phone

    home, url, rows = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    issuer = LiveIssuer(home, url, job_lease=2)
    svc = issuer.runtime.service
    enterprise = int(issuer.enterprise("宁波好帮手家政服务有限公司")["id"])
    def person(i):  # distinct people: a birth date a day apart each
        first17 = f"330203{date(1970, 1, 1) + timedelta(days=i):%Y%m%d}123"
        return first17 + id_check_character(first17)

    data = [
        {"name": "陈" + chr(0x4E00 + i) + "芳", "id_number": person(i), "phone": random_phone(), "categories": "cleaning"}
        for i in range(rows)
    ]
    data[7]["id_number"] = "330203199001011234"  # a bad checksum: one row refused by the rules
    real = svc.imports.import_valid_rows

    def slow(*args, **kwargs):  # a busy host: each chunk takes a while, so the kill lands mid-job
        time.sleep(0.3)
        return real(*args, **kwargs)

    svc.imports.import_valid_rows = slow
    who = Principal("token", "a1", Role.ISSUER_ADMIN)
    job = svc.import_jobs.create(who, enterprise, "workers.csv", "0" * 64, data, {})
    print(json.dumps({"job": job, "enterprise": enterprise}), flush=True)
    svc.import_jobs.start(who, job, issue=False)
    time.sleep(600)
    """
)


def _host_b(
    home_a: Path, tmp_path: Path, database_url: str, factory: Callable[..., LiveIssuer]
) -> LiveIssuer:
    """A second host: its own home and port, the first host's keys and secrets (one issuer)."""
    home_b = tmp_path / "host-b"
    home_b.mkdir()
    for shared in ("keys", "secret"):
        (home_b / shared).symlink_to(home_a / shared, target_is_directory=True)
    return LiveIssuer(home_b, database_url, job_lease=2)


def test_an_import_whose_host_is_killed_is_resumed_by_another_with_no_row_lost_or_doubled(
    tmp_path: Path, database_url: str, live_issuer_factory: Callable[..., LiveIssuer]
) -> None:
    home_a = tmp_path / "host-a"
    home_a.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    host_a = subprocess.Popen(
        [sys.executable, "-c", HOST_A, str(home_a), database_url, str(ROWS)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert host_a.stdout is not None
        started = json.loads(host_a.stdout.readline())
        job_id = int(started["job"])
        store = Store(database_url)
        deadline = time.monotonic() + 120
        while True:  # kill A once some chunks are committed and the rest are not
            with store.read() as session:
                job = session.get(ImportJob, job_id)
                assert job is not None
                chunks = json.loads(job.checkpoint)["chunks"] if job.checkpoint else 0
            if job.state in ("done", "failed") or (job.state == "running" and chunks >= 2):
                break  # (a job still "ready" has not been started by host A yet)
            assert time.monotonic() < deadline, "host A made no progress"
            time.sleep(0.01)
        host_a.send_signal(signal.SIGKILL)
        host_a.wait(timeout=10)
        assert job.state == "running" and job.processed < ROWS, "the import ended before its host was killed"
        interrupted_at = job.processed
    finally:
        if host_a.poll() is None:
            host_a.kill()
            host_a.wait()
    host_b = _host_b(home_a, tmp_path, database_url, live_issuer_factory)
    try:
        host_b.runtime.service.jobs.wait(timeout=120)
        with store.read() as session:
            job = session.get(ImportJob, job_id)
            assert job is not None and job.state == "done", (job.state if job else None, job and job.message)
            queued = session.execute(
                select(Job).where(Job.kind == "import", Job.ref == str(job_id))
            ).scalar_one()
            workers = int(
                session.execute(
                    select(func.count())
                    .select_from(Worker)
                    .where(Worker.enterprise_id == int(started["enterprise"]))
                ).scalar_one()
            )
            registered = int(
                session.execute(
                    select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "worker.create")
                ).scalar_one()
            )
        assert (
            queued.state == "done"
            and queued.attempts == 2
            and queued.owner == host_b.runtime.service.jobs.owner
        )
        assert workers == ROWS - 1  # every valid row once: none lost, none doubled
        assert registered == ROWS - 1  # and audited once each
        assert (job.processed, job.created, job.existing, job.failed) == (ROWS, ROWS - 1, 0, 1)
        assert interrupted_at < ROWS
        result = json.loads(job.result or "{}")
        assert [error["row"] for error in result["errors"]] == [
            9
        ]  # the bad row, as an uninterrupted run says
        assert job.payload is None and job.checkpoint is None  # the identity numbers are gone
    finally:
        host_b.stop()
        store.dispose()


def test_one_host_wins_a_claim_and_a_host_that_lost_its_lease_cannot_commit(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'q.sqlite3'}")
    store.migrate()
    ran: list[str] = []
    first, second = (Jobs(store, lease=timedelta(seconds=60)) for _ in range(2))
    stalled: list[Lease] = []

    def stall(lease: Lease) -> None:  # a host that claims and then stops answering
        stalled.append(lease)
        raise LeaseLost("simulated: this host stops here")

    first.register("demo", stall)
    second.register("demo", lambda lease: ran.append(lease.owner))
    with store.write() as session:
        first.submit(session, "demo", "1")
    assert first.run_once() is True and second.run_once() is False  # claimed once, by the first
    with store.write() as session:  # the first host's lease runs out
        session.execute(Job.__table__.update().values(lease_until=None))
    assert second.run_once() is True and ran == [second.owner]
    with pytest.raises(LeaseLost), store.write() as session:
        stalled[0].keep(session)  # the first host wakes up: its unit of work is refused
    with store.read() as session:
        assert session.execute(select(Job.state, Job.owner)).one() == ("done", second.owner)
    store.dispose()


def test_a_job_claimed_too_often_is_given_up_and_its_import_says_why(live_issuer: LiveIssuer) -> None:
    from anxinma.issuer.services import jobs as queue

    svc = live_issuer.runtime.service
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    from anxinma.issuer.services.auth import Principal, Role

    who = Principal("token", "a1", Role.ISSUER_ADMIN)
    job_id = svc.import_jobs.create(who, enterprise, "w.csv", "1" * 64, [{"name": "x"}], {})
    svc.jobs.close()  # this host stops running jobs: the test drives the queue by hand
    with svc.store.write() as session:
        session.execute(ImportJob.__table__.update().where(ImportJob.id == job_id).values(state="running"))
        session.add(Job(kind="import", ref=str(job_id), state="running", attempts=queue.MAX_ATTEMPTS))
    assert svc.jobs.run_once() is True
    with svc.store.read() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None and job.state == "failed" and job.payload is None
        assert "多次中断" in (job.message or "")


def test_the_daily_job_is_added_once_by_many_hosts_and_run_by_one(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from anxinma.issuer.services.daily import KIND

    store = Store(f"sqlite:///{tmp_path / 'd.sqlite3'}")
    store.migrate()
    hosts = [Jobs(store) for _ in range(3)]
    runs: list[str] = []
    for host in hosts:
        host.register(KIND, lambda lease: runs.append(lease.ref))
    # 16:20 UTC is 00:20 in China: past the default 00:10, so the day's job is due.
    added = [host.ensure(KIND, "2026-12-09") for host in hosts]
    assert added == [True, False, False]
    assert sum(host.run_once() for host in hosts) == 1 and runs == ["2026-12-09"]
    assert hosts[0].ensure(KIND, "2026-12-09") is False  # done: the schedule does not add it again
    from anxinma.issuer.services.daily import Daily

    daily = Daily.__new__(Daily)
    daily.at = Daily.__init__.__kwdefaults__["at"]  # type: ignore[index]
    assert daily._due(datetime(2026, 12, 8, 16, 20, tzinfo=UTC)) == (KIND, "2026-12-09")
    assert daily._due(datetime(2026, 12, 8, 16, 5, tzinfo=UTC)) is None  # 00:05 in China: not yet
    store.dispose()
