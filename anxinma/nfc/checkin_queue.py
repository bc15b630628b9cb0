"""The check-in station's queue: every accepted tap, on disk before the screen says "recorded",
kept until the issuer has it.

A SQLite file in WAL mode (``$ANXINMA_HOME/station/check-ins.sqlite3`` by default). The commit
that records a tap is fsynced (``synchronous=FULL``): once :meth:`CheckInQueue.record`
returns, a power cut or a killed process does not lose the check-in, and the next run sends it.
What happens afterwards (sent, refused by the issuer, a retry scheduled) and the tap log are
committed without waiting for the disk: losing one of those to a power cut only means the row
is sent again, which the issuer answers with the record it already has (200).

One row per issuer, worker and month (``UNIQUE``): a second tap in the month finds the row and
queues nothing, whatever the network did in between. A row moves ``queued`` → ``sent`` (the
issuer answered 201 new or 200 already recorded) or ``rejected`` (the issuer refused it, with
its reason: revoked since the last bundle, a copy, …). A rejected row does not block the month:
the worker's next tap replaces it (after a suspended credential is reinstated, say).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anxinma.nfc.local_store import LocalStore

__all__ = ["CheckInQueue", "NewCheckIn", "QueuedCheckIn", "default_queue_path"]

SCHEMA_VERSION = 1
STATES = ("queued", "sent", "rejected")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS check_ins (
    id INTEGER PRIMARY KEY,
    issuer_code INTEGER NOT NULL,
    worker_id INTEGER NOT NULL,
    month TEXT NOT NULL,
    serial INTEGER NOT NULL,
    enterprise_id INTEGER NOT NULL,
    display_name TEXT NOT NULL,
    card_uid TEXT NOT NULL,
    code TEXT NOT NULL,
    issuer_url TEXT NOT NULL,
    station TEXT NOT NULL,
    tapped_at TEXT NOT NULL,
    verdict TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    issuer_status INTEGER,
    issuer_record INTEGER,
    sent_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (issuer_code, worker_id, month)
);
CREATE INDEX IF NOT EXISTS check_ins_due ON check_ins (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS taps (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    card_uid TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status TEXT,
    worker_id INTEGER,
    month TEXT,
    reason TEXT
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _stamp(moment: datetime) -> str:
    """UTC, milliseconds: one format everywhere, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def default_queue_path(home: Path) -> Path:
    return home / "station" / "check-ins.sqlite3"


@dataclass(frozen=True)
class NewCheckIn:
    """A tap the station accepted, as it is recorded (and later sent)."""

    issuer_code: int
    worker_id: int  # the credential's archive id: the worker at the issuer
    month: str
    serial: int
    enterprise_id: int
    display_name: str
    card_uid: bytes
    code: str  # the credential's hex form, what the issuer is sent
    issuer_url: str
    station: str
    tapped_at: datetime
    verdict: str  # what the station's offline check said: valid, attention, status_unknown


@dataclass(frozen=True)
class QueuedCheckIn:
    id: int
    issuer_code: int
    worker_id: int
    month: str
    serial: int
    enterprise_id: int
    display_name: str
    card_uid: str
    code: str
    issuer_url: str
    station: str
    tapped_at: str
    verdict: str
    state: str
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    issuer_status: int | None
    issuer_record: int | None
    sent_at: str | None
    created_at: str

    def payload(self) -> dict[str, str]:
        """The body of ``POST /api/v1/check-ins`` (docs/interfaces.md)."""
        return {
            "code": self.code,
            "card_uid": self.card_uid,
            "month": self.month,
            "station": self.station,
            "tapped_at": self.tapped_at,
        }

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data.pop("code")
        return data


class CheckInQueue:
    """The queue file. Safe to share between the tap loop and the sender thread (one lock), and
    between processes (SQLite's own locking: a ``--sync-only`` run beside a station is fine)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store = LocalStore(path, _SCHEMA, SCHEMA_VERSION, what=("打卡队列", "check-in queue"))
        self._db, self._lock = self._store.db, self._store.lock
        self._transaction = self._store.transaction

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> CheckInQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recording ------------------------------------------------------------------------------

    def record(self, entry: NewCheckIn) -> tuple[QueuedCheckIn, bool]:
        """Record an accepted tap durably; returns (the row, whether it is new).

        When the worker already has a queued or sent row for that month, nothing is written and
        that row is returned; a rejected row is replaced by this tap.
        """
        with self._transaction(durable=True) as db:
            existing = db.execute(
                "SELECT * FROM check_ins WHERE issuer_code = ? AND worker_id = ? AND month = ?",
                (entry.issuer_code, entry.worker_id, entry.month),
            ).fetchone()
            if existing is not None and existing["state"] != "rejected":
                return _row(existing), False
            if existing is not None:
                db.execute("DELETE FROM check_ins WHERE id = ?", (existing["id"],))
            cursor = db.execute(
                "INSERT INTO check_ins (issuer_code, worker_id, month, serial, enterprise_id, display_name,"
                " card_uid, code, issuer_url, station, tapped_at, verdict, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.issuer_code,
                    entry.worker_id,
                    entry.month,
                    entry.serial,
                    entry.enterprise_id,
                    entry.display_name,
                    entry.card_uid.hex(),
                    entry.code,
                    entry.issuer_url,
                    entry.station,
                    entry.tapped_at.isoformat(timespec="milliseconds"),
                    entry.verdict,
                    _now(),
                ),
            )
            row = db.execute("SELECT * FROM check_ins WHERE id = ?", (cursor.lastrowid,)).fetchone()
            return _row(row), True

    def log_tap(
        self,
        card_uid: bytes,
        outcome: str,
        *,
        status: str | None = None,
        worker_id: int | None = None,
        month: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Every tap, refused ones too (not fsynced: a log, not a check-in)."""
        with self._transaction(durable=False) as db:
            db.execute(
                "INSERT INTO taps (at, card_uid, outcome, status, worker_id, month, reason)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_now(), card_uid.hex(), outcome, status, worker_id, month, reason),
            )

    # -- sending ---------------------------------------------------------------------------------

    def due(self, now: datetime, limit: int = 100) -> list[QueuedCheckIn]:
        """Queued rows whose next attempt is due, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM check_ins WHERE state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
                " ORDER BY id LIMIT ?",
                (_stamp(now), limit),
            ).fetchall()
        return [_row(row) for row in rows]

    def next_due(self) -> datetime | None:
        """When the earliest queued row is due (None when nothing is queued)."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) AS n, MIN(COALESCE(next_attempt_at, '')) AS at FROM check_ins WHERE state = 'queued'"
            ).fetchone()
        if not row["n"]:
            return None
        return datetime.fromisoformat(row["at"]) if row["at"] else datetime.now(UTC)

    def mark_sent(self, entry_id: int, issuer_status: int, issuer_record: int | None) -> None:
        with self._transaction(durable=False) as db:
            db.execute(
                "UPDATE check_ins SET state = 'sent', issuer_status = ?, issuer_record = ?, sent_at = ?,"
                " attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL WHERE id = ?",
                (issuer_status, issuer_record, _now(), entry_id),
            )

    def mark_rejected(self, entry_id: int, issuer_status: int, reason: str) -> None:
        with self._transaction(durable=False) as db:
            db.execute(
                "UPDATE check_ins SET state = 'rejected', issuer_status = ?, last_error = ?,"
                " attempts = attempts + 1, next_attempt_at = NULL WHERE id = ?",
                (issuer_status, reason, entry_id),
            )

    def mark_retry(self, entry_id: int, error: str, next_attempt_at: datetime) -> None:
        with self._transaction(durable=False) as db:
            db.execute(
                "UPDATE check_ins SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
                (error, _stamp(next_attempt_at), entry_id),
            )

    def retry_now(self) -> None:
        """Make every queued row due at once (an operator's ``--sync-only``)."""
        with self._transaction(durable=False) as db:
            db.execute("UPDATE check_ins SET next_attempt_at = NULL WHERE state = 'queued'")

    # -- reading ---------------------------------------------------------------------------------

    def entries(self, *, state: str | None = None, month: str | None = None) -> list[QueuedCheckIn]:
        query, args = "SELECT * FROM check_ins WHERE 1 = 1", list[str]()
        if state is not None:
            query, args = query + " AND state = ?", [*args, state]
        if month is not None:
            query, args = query + " AND month = ?", [*args, month]
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", args).fetchall()
        return [_row(row) for row in rows]

    def queued(self) -> int:
        """How many wait to be sent (an index count: cheap on every tap)."""
        with self._lock:
            return int(
                self._db.execute("SELECT COUNT(*) FROM check_ins WHERE state = 'queued'").fetchone()[0]
            )

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        with self._lock:
            for row in self._db.execute("SELECT state, COUNT(*) AS n FROM check_ins GROUP BY state"):
                counts[str(row["state"])] = int(row["n"])
        return counts

    def taps(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._db.execute("SELECT * FROM taps ORDER BY id")]


def _row(row: sqlite3.Row) -> QueuedCheckIn:
    return QueuedCheckIn(**{key: row[key] for key in row.keys()})  # noqa: SIM118 - sqlite3.Row
