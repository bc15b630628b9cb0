"""Background work that survives its process: a queue in the database every host runs.

Why the database and not a queue library over Redis: the embedded default has no Redis and must
run the same jobs (the README's first command), and a job's work is database writes anyway, so
the queue row can be fenced in the same transactions as the work it guards (below); PostgreSQL
and SQLite both do the one atomic step it needs (a conditional UPDATE).

* ``submit(unit, kind, ref)`` adds a ``queued`` row of :class:`~anxinma.issuer.store.models.Job`
  in the caller's transaction: the job exists exactly when what asked for it committed.
* Every process with background threads runs a runner: every :data:`POLL` seconds (at once after
  a local submit) it claims the oldest job that is queued, or running with its lease run out (its
  process was killed or deployed away), by one conditional UPDATE that only one host can win, and
  calls the job's handler with a :class:`Lease`.
* The handler does its work in units (an import's chunk) and calls :meth:`Lease.keep` inside each
  unit's transaction: the lease is extended only where this host still owns it, else
  :class:`LeaseLost` rolls the unit back. So a host that stalled past its lease can never commit
  over the host that took the job on, and every unit commits exactly once.
* A job whose handler raises ends ``failed`` (handlers record their own reasons); a job claimed
  more than :data:`MAX_ATTEMPTS` times (it kills its process each time) ends ``failed`` too.
* Scheduled jobs (the daily job): each round the runner asks every schedule what is due now and
  adds it unless a job of that kind and ref exists (the unique index makes one win across
  hosts), so no host needs cron and two hosts never both add it.

Without background threads (one-shot CLI commands, some tests) nothing runs by itself;
:meth:`Jobs.wait` runs what is queued in the calling thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxinma.issuer.store.db import Store
from anxinma.issuer.store.models import Job, utcnow

log = logging.getLogger("anxinma.issuer.jobs")

#: How long a claim holds without being renewed: longer than any unit of work (an import's
#: chunk of 250 rows takes well under a second), short enough that a killed host's job is taken
#: on within a minute.
LEASE = timedelta(seconds=30)
#: Seconds between two looks at the queue when nothing was submitted here.
POLL = 1.0
MAX_ATTEMPTS = 5
ACTIVE = ("queued", "running")


class LeaseLost(Exception):
    """Another host holds the job now: the unit of work in hand is rolled back, the job left to it."""


@dataclass(frozen=True)
class Lease:
    """A claim on one job, renewed inside the transactions of its work."""

    job_id: int
    owner: str
    ref: str
    length: timedelta = LEASE

    def keep(self, session: Session) -> None:
        """Extend the claim in ``session``'s transaction, or raise :class:`LeaseLost` when this
        host no longer owns the job (the transaction then rolls back with the work it holds)."""
        moved = session.execute(
            update(Job)
            .where(Job.id == self.job_id, Job.owner == self.owner, Job.state == "running")
            .values(lease_until=utcnow() + self.length, updated_at=utcnow())
            .returning(Job.id)
        ).first()
        if moved is None:
            raise LeaseLost(f"job {self.job_id} is held by another host now")


Handler = Callable[[Lease], None]
#: What a kind does when the queue gives one of its jobs up (claimed too often): record why.
GiveUp = Callable[[int, str], None]
#: What is due at a moment: (kind, ref) to add once, or None.
Schedule = Callable[[datetime], "tuple[str, str] | None"]


class Jobs:
    """The queue's runner for one process: handlers by kind, a claim loop in a daemon thread."""

    def __init__(self, store: Store, *, lease: timedelta = LEASE, poll: float = POLL) -> None:
        self.store = store
        self.lease = lease
        self.poll = poll
        self.owner = f"{socket.gethostname()[:60]}:{os.getpid()}:{os.urandom(4).hex()}"
        self._handlers: dict[str, Handler] = {}
        self._give_up: dict[str, GiveUp] = {}
        self._schedules: list[Schedule] = []
        self._added: set[tuple[str, str]] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()

    def register(self, kind: str, handler: Handler, give_up: GiveUp | None = None) -> None:
        """``handler(lease)`` runs a job of ``kind`` (``lease.ref`` names it); ``give_up(job_id,
        ref)`` records the failure of one the queue abandons (claimed :data:`MAX_ATTEMPTS` times)."""
        self._handlers[kind] = handler
        if give_up is not None:
            self._give_up[kind] = give_up

    def schedule(self, due: Schedule) -> None:
        """Ask ``due(now)`` every round what job should exist now (:meth:`ensure` adds it)."""
        self._schedules.append(due)

    def ensure(self, kind: str, ref: str) -> bool:
        """Add ``kind``/``ref`` unless a job of that pair exists, whatever its state (a done
        daily job is not run again by the schedule); True if this call added it."""
        if (kind, ref) in self._added:
            return False
        try:
            with self.store.write() as session:
                if session.execute(select(Job.id).where(Job.kind == kind, Job.ref == ref)).first() is None:
                    session.add(Job(kind=kind, ref=ref, state="queued", attempts=0))
                    added = True
                else:
                    added = False
        except IntegrityError:  # another host added it between the look and the insert
            added = False
        self._added.add((kind, ref))
        return added

    def submit(self, session: Session, kind: str, ref: str) -> None:
        """Queue ``kind``/``ref`` in the caller's transaction (a second submit of the same pair
        while it is queued or running is the same job). The runner here looks at once."""
        if kind not in self._handlers:
            raise KeyError(f"no handler for jobs of kind {kind!r}")
        held = session.execute(select(Job).where(Job.kind == kind, Job.ref == ref)).scalar_one_or_none()
        if held is None:
            session.add(Job(kind=kind, ref=ref, state="queued", attempts=0))
        elif held.state not in ACTIVE:
            held.state, held.owner, held.lease_until, held.attempts = "queued", None, None, 0
        self._wake.set()

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run the claim loop in a daemon thread (services with background threads)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="anxinma-jobs", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                for due in self._schedules:
                    wanted = due(utcnow())
                    if wanted is not None:
                        self.ensure(*wanted)
                ran = self.run_once()
                failing = False
            except Exception as exc:  # the database blinked: look again next round
                if not failing:  # once a streak, not every second while the database is away
                    log.warning(
                        "job runner cannot reach the database, retrying: %s", str(exc).splitlines()[0]
                    )
                failing, ran = True, False
            if not ran:
                self._wake.wait(self.poll)
                self._wake.clear()

    def run_once(self, only: tuple[str, str] | None = None) -> bool:
        """Claim one job (``only`` that kind and ref) and run it to its end here; False when
        none was free."""
        with self._busy:
            claimed = self._claim(only)
            if claimed is None:
                return False
            job_id, kind, ref, attempts = claimed
            lease = Lease(job_id, self.owner, ref, self.lease)
            handler = self._handlers.get(kind)
            if handler is None or attempts > MAX_ATTEMPTS:
                why = "no handler here" if handler is None else f"claimed {attempts} times"
                log.error("job %s (%s %s) failed: %s", job_id, kind, ref, why)
                self._end(lease, "failed")
                if kind in self._give_up:
                    self._give_up[kind](job_id, ref)
                return True
            log.info("job %s (%s %s) started, attempt %d", job_id, kind, ref, attempts)
            try:
                handler(lease)
            except LeaseLost:
                log.warning("job %s (%s %s) taken over by another host", job_id, kind, ref)
                return True
            except Exception:  # the handler records its own failure; this is the last guard
                log.exception("job %s (%s %s) failed", job_id, kind, ref)
                self._end(lease, "failed")
                return True
            self._end(lease, "done")
            return True

    def _claim(self, only: tuple[str, str] | None = None) -> tuple[int, str, str, int] | None:
        now = utcnow()
        free = or_(Job.lease_until.is_(None), Job.lease_until < now)
        which = select(Job.id).where(Job.state.in_(ACTIVE), free)
        if only is not None:
            which = which.where(Job.kind == only[0], Job.ref == only[1])
        with self.store.write() as session:
            candidate = session.execute(which.order_by(Job.id).limit(1)).scalar()
            if candidate is None:
                return None
            # Only one host's UPDATE matches: PostgreSQL re-checks the condition on the row a
            # concurrent claim just changed; SQLite's writers are serialised (BEGIN IMMEDIATE).
            row = session.execute(
                update(Job)
                .where(Job.id == candidate, Job.state.in_(ACTIVE), free)
                .values(
                    state="running",
                    owner=self.owner,
                    lease_until=now + self.lease,
                    attempts=Job.attempts + 1,
                    updated_at=now,
                )
                .returning(Job.id, Job.kind, Job.ref, Job.attempts)
            ).first()
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]), int(row[3]))

    def _end(self, lease: Lease, state: str) -> None:
        with self.store.write() as session:
            session.execute(
                update(Job)
                .where(Job.id == lease.job_id, Job.owner == lease.owner)
                .values(state=state, lease_until=None, updated_at=utcnow())
            )

    # -- waiting and stopping --------------------------------------------------------------

    def pending(self) -> int:
        """Jobs queued or running on any host (the queue depth the metrics report)."""
        with self.store.read() as session:
            return int(session.execute(select(func.count(Job.id)).where(Job.state.in_(ACTIVE))).scalar_one())

    def wait(self, timeout: float | None = 30.0) -> None:
        """Until the queue is empty (tests, the CLI): with no runner thread, run jobs here."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.pending():
            if self._thread is None:
                if not self.run_once():
                    time.sleep(0.05)  # held by another host under its lease
            else:
                self._wake.set()
                time.sleep(0.05)
            if deadline is not None and time.monotonic() > deadline:
                return

    def run_here(self, kind: str, ref: str, timeout: float | None = None) -> str | None:
        """Run the job ``kind``/``ref`` in this process (the CLI), or wait while another host
        holds it; its final state ("done" or "failed"), None at the timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self.store.read() as session:
                state = session.execute(select(Job.state).where(Job.kind == kind, Job.ref == ref)).scalar()
            if state is None or state not in ACTIVE:
                return state
            if not self.run_once((kind, ref)):
                time.sleep(0.2)  # another host holds it under its lease
            if deadline is not None and time.monotonic() > deadline:
                return None

    def close(self) -> None:
        """Stop looking for jobs; a job running now keeps its thread until the process ends
        (then its lease runs out and another host resumes it)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None


__all__ = ["LEASE", "GiveUp", "Handler", "Jobs", "Lease", "LeaseLost", "Schedule"]
