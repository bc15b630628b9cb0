"""The station's journal: what happened to each worker and card, durable before each next step.

A SQLite file in WAL mode. Every step is written *before* it is taken (intent) and again when
it is done, so a station restarted after a crash knows, for every worker, where it stopped:

``issue_requested`` (Idempotency-Key chosen) → ``issued`` (the credential and the exact NDEF
message stored) → ``write_started`` → ``written`` → ``verified`` → ``lock_started`` →
``locked`` → ``done``; an attempt whose card is replaced is ``abandoned`` and the next
attempt's credential replaces (the issuer revokes) its credential. One worker has at most one
attempt that is not abandoned, so a worker never ends with two live credentials from here.

Durability is paid where it decides something. The commits a resume depends on (the intent
to issue with its Idempotency-Key, the issuer's answer, done, abandoned) are fsynced
(``synchronous=FULL``). The card-side steps in between (write started, written, verified,
lock started, locked) and the event log are committed without waiting for the disk
(``NORMAL``): a power cut may take the last of them back, never corrupt the file, and a
resume that finds ``issued`` instead of ``written`` does the same thing, because it reads the
card and compares it with the stored message before writing.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import IO, Any

from anxinma.errors import StationError
from anxinma.nfc.batch import Batch
from anxinma.nfc.local_store import LocalStore

__all__ = ["Attempt", "Journal", "Step", "WorkerRecord"]

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workers (
    worker_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    display_name TEXT NOT NULL,
    enterprise_id TEXT NOT NULL,
    enterprise_name TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed', 'skipped')),
    attempt_id INTEGER REFERENCES attempts(id),
    reason TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    worker_id TEXT NOT NULL REFERENCES workers(worker_id),
    card_uid TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    step INTEGER NOT NULL,
    serial INTEGER,
    code TEXT,
    credential_hex TEXT,
    message_hex TEXT,
    form TEXT,
    replaced_serial INTEGER,
    originality TEXT,
    locked INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_card ON attempts (card_uid);
CREATE INDEX IF NOT EXISTS attempts_by_serial ON attempts (serial);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    worker_id TEXT,
    card_uid TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


class Step(IntEnum):
    """Where an attempt stands; the order is the order of the work."""

    ABANDONED = -1
    ISSUE_REQUESTED = 0
    ISSUED = 1
    WRITE_STARTED = 2
    WRITTEN = 3
    VERIFIED = 4
    LOCK_STARTED = 5
    LOCKED = 6
    DONE = 7


@dataclass(frozen=True)
class Attempt:
    """One card tried for one worker, with the issuer's answer once there is one."""

    id: int
    worker_id: str
    card_uid: bytes
    idempotency_key: str
    step: Step
    serial: int | None
    code: str | None
    credential_hex: str | None
    message_hex: str | None
    form: str | None
    replaced_serial: int | None
    originality: str | None
    locked: bool
    reason: str | None

    @property
    def message(self) -> bytes | None:
        return bytes.fromhex(self.message_hex) if self.message_hex is not None else None


@dataclass(frozen=True)
class WorkerRecord:
    worker_id: str
    position: int
    display_name: str
    enterprise_id: str
    enterprise_name: str
    state: str
    attempt_id: int | None
    reason: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Journal:
    """One batch's journal. Holds an exclusive lock on ``<journal>.lock`` while open, so two
    stations never work the same batch at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file: IO[str] | None = open(f"{path}.lock", "a")  # noqa: SIM115 - held open
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise StationError(
                f"another station is working on this batch (journal {path} is locked)",
                message_zh=f"另一个写卡站正在处理此批次（日志 {path} 已被锁定）",
            ) from None
        try:
            self._store = LocalStore(
                path, _SCHEMA, SCHEMA_VERSION, what=("写卡日志", "journal"), foreign_keys=True
            )
        except StationError:
            self._lock_file.close()
            raise
        self._db = self._store.db
        self._transaction = self._store.transaction

    def close(self) -> None:
        self._store.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the batch ----------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row["value"]) if row is not None else None

    def bind(self, batch: Batch, issuer_url: str) -> bool:
        """Attach the journal to ``batch`` and the issuer; returns True if the batch file changed
        since the journal began (new rows are added, finished ones kept).

        Raises :class:`StationError` if the journal belongs to another issuer: its
        Idempotency-Keys mean nothing there.
        """
        known_issuer = self.meta("issuer_url")
        if known_issuer is not None and known_issuer != issuer_url:
            raise StationError(
                f"this journal belongs to the issuer {known_issuer}, not {issuer_url}: use that "
                "--issuer, or start a new journal with --journal",
                message_zh=f"此日志属于发证服务 {known_issuer}，不是 {issuer_url}：请使用原 --issuer，或用 --journal 另建日志",
            )
        known_sha = self.meta("batch_sha256")
        now = _now()
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('issuer_url', ?)", (issuer_url,))
            db.execute("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", (now,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('batch_sha256', ?)", (batch.sha256,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('batch_file', ?)", (str(batch.path),))
            for position, row in enumerate(batch.workers):
                db.execute(
                    "INSERT INTO workers (worker_id, position, display_name, enterprise_id, enterprise_name,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (worker_id) DO UPDATE SET"
                    " position = excluded.position, display_name = excluded.display_name,"
                    " enterprise_id = excluded.enterprise_id, enterprise_name = excluded.enterprise_name",
                    (row.worker_id, position, row.display_name, row.enterprise_id, row.enterprise_name, now),
                )
        return known_sha is not None and known_sha != batch.sha256

    # -- reading ------------------------------------------------------------------------------

    def workers(self) -> list[WorkerRecord]:
        rows = self._db.execute("SELECT * FROM workers ORDER BY position").fetchall()
        return [_worker(row) for row in rows]

    def worker(self, worker_id: str) -> WorkerRecord:
        row = self._db.execute("SELECT * FROM workers WHERE worker_id = ?", (worker_id,)).fetchone()
        if row is None:
            raise StationError(f"worker {worker_id} is not in this journal")
        return _worker(row)

    def attempt(self, attempt_id: int) -> Attempt:
        row = self._db.execute("SELECT * FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
        return _attempt(row)

    def current_attempt(self, worker_id: str) -> Attempt | None:
        """The worker's attempt that is not abandoned, if any."""
        row = self._db.execute(
            "SELECT a.* FROM attempts a JOIN workers w ON w.attempt_id = a.id WHERE w.worker_id = ? AND a.step >= 0",
            (worker_id,),
        ).fetchone()
        return _attempt(row) if row is not None else None

    def attempts(self, worker_id: str) -> list[Attempt]:
        rows = self._db.execute(
            "SELECT * FROM attempts WHERE worker_id = ? ORDER BY id", (worker_id,)
        ).fetchall()
        return [_attempt(row) for row in rows]

    def card_holder(self, card_uid: bytes) -> str | None:
        """The worker whose live attempt is on this card (not abandoned; from the moment the issue
        was requested, since an unanswered request may have bound a credential to it)."""
        row = self._db.execute(
            "SELECT a.worker_id FROM attempts a JOIN workers w ON w.attempt_id = a.id"
            " WHERE a.card_uid = ? AND a.step >= ?",
            (card_uid.hex(), int(Step.ISSUE_REQUESTED)),
        ).fetchone()
        return str(row["worker_id"]) if row is not None else None

    def knows_card(self, card_uid: bytes) -> bool:
        """Whether any attempt of this batch used this card (a holder check comes first)."""
        row = self._db.execute("SELECT 1 FROM attempts WHERE card_uid = ?", (card_uid.hex(),)).fetchone()
        return row is not None

    def knows_serial(self, serial: int) -> bool:
        row = self._db.execute("SELECT 1 FROM attempts WHERE serial = ?", (serial,)).fetchone()
        return row is not None

    def largest_credential(self) -> int | None:
        row = self._db.execute("SELECT MAX(LENGTH(credential_hex)) / 2 AS size FROM attempts").fetchone()
        return int(row["size"]) if row is not None and row["size"] is not None else None

    def counts(self) -> dict[str, int]:
        counts = {"pending": 0, "done": 0, "failed": 0, "skipped": 0}
        for row in self._db.execute("SELECT state, COUNT(*) AS n FROM workers GROUP BY state"):
            counts[str(row["state"])] = int(row["n"])
        return counts

    def events(self, worker_id: str | None = None) -> list[dict[str, Any]]:
        if worker_id is None:
            rows = self._db.execute("SELECT * FROM events ORDER BY id").fetchall()
        else:
            rows = self._db.execute(
                "SELECT * FROM events WHERE worker_id = ? ORDER BY id", (worker_id,)
            ).fetchall()
        return [dict(row) for row in rows]

    # -- writing (each call one durable transaction) ------------------------------------------

    def begin_attempt(self, worker_id: str, card_uid: bytes, *, originality: str | None = None) -> Attempt:
        """Record the intent to issue for this card, with a fresh Idempotency-Key.

        The worker's previous attempt, if any, must have been abandoned first.
        """
        if self.current_attempt(worker_id) is not None:
            raise StationError(f"worker {worker_id} still has a live attempt")  # a bug, not a user error
        now = _now()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO attempts (worker_id, card_uid, idempotency_key, step, originality, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    worker_id,
                    card_uid.hex(),
                    f"anxinma-station-{uuid.uuid4()}",
                    int(Step.ISSUE_REQUESTED),
                    originality,
                    now,
                    now,
                ),
            )
            attempt_id = int(cursor.lastrowid or 0)
            db.execute(
                "UPDATE workers SET attempt_id = ?, updated_at = ? WHERE worker_id = ?",
                (attempt_id, now, worker_id),
            )
        return self.attempt(attempt_id)

    def record_issued(
        self,
        attempt_id: int,
        *,
        serial: int,
        code: str,
        credential_hex: str,
        message: bytes,
        form: str,
        replaced_serial: int | None,
    ) -> Attempt:
        with self._transaction() as db:
            db.execute(
                "UPDATE attempts SET step = ?, serial = ?, code = ?, credential_hex = ?, message_hex = ?, form = ?,"
                " replaced_serial = ?, updated_at = ? WHERE id = ? AND step = ?",
                (
                    int(Step.ISSUED),
                    serial,
                    code,
                    credential_hex,
                    message.hex(),
                    form,
                    replaced_serial,
                    _now(),
                    attempt_id,
                    int(Step.ISSUE_REQUESTED),
                ),
            )
        return self.attempt(attempt_id)

    def record_step(self, attempt_id: int, step: Step, *, locked: bool | None = None) -> Attempt:
        """A card-side step (not fsynced: see the module's note on durability)."""
        with self._transaction(durable=False) as db:
            if locked is None:
                db.execute(
                    "UPDATE attempts SET step = ?, updated_at = ? WHERE id = ?",
                    (int(step), _now(), attempt_id),
                )
            else:
                db.execute(
                    "UPDATE attempts SET step = ?, locked = ?, updated_at = ? WHERE id = ?",
                    (int(step), int(locked), _now(), attempt_id),
                )
        return self.attempt(attempt_id)

    def abandon(self, attempt_id: int, reason: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE attempts SET step = ?, reason = ?, updated_at = ? WHERE id = ?",
                (int(Step.ABANDONED), reason, _now(), attempt_id),
            )

    def finish(self, worker_id: str, attempt_id: int) -> None:
        now = _now()
        with self._transaction() as db:
            db.execute(
                "UPDATE attempts SET step = ?, updated_at = ? WHERE id = ?", (int(Step.DONE), now, attempt_id)
            )
            db.execute(
                "UPDATE workers SET state = 'done', reason = NULL, updated_at = ? WHERE worker_id = ?",
                (now, worker_id),
            )

    def set_worker_state(self, worker_id: str, state: str, reason: str | None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE workers SET state = ?, reason = ?, updated_at = ? WHERE worker_id = ?",
                (state, reason, _now(), worker_id),
            )

    def event(
        self, kind: str, detail: str, *, worker_id: str | None = None, card_uid: bytes | None = None
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO events (at, worker_id, card_uid, kind, detail) VALUES (?, ?, ?, ?, ?)",
                (_now(), worker_id, card_uid.hex() if card_uid is not None else None, kind, detail),
            )


def _worker(row: sqlite3.Row) -> WorkerRecord:
    return WorkerRecord(
        worker_id=row["worker_id"],
        position=row["position"],
        display_name=row["display_name"],
        enterprise_id=row["enterprise_id"],
        enterprise_name=row["enterprise_name"],
        state=row["state"],
        attempt_id=row["attempt_id"],
        reason=row["reason"],
    )


def _attempt(row: sqlite3.Row) -> Attempt:
    return Attempt(
        id=row["id"],
        worker_id=row["worker_id"],
        card_uid=bytes.fromhex(row["card_uid"]),
        idempotency_key=row["idempotency_key"],
        step=Step(row["step"]),
        serial=row["serial"],
        code=row["code"],
        credential_hex=row["credential_hex"],
        message_hex=row["message_hex"],
        form=row["form"],
        replaced_serial=row["replaced_serial"],
        originality=row["originality"],
        locked=bool(row["locked"]),
        reason=row["reason"],
    )


def default_journal_path(batch_path: Path, home: Path) -> Path:
    """``<batch>.journal.sqlite3`` beside the batch, or under ``$ANXINMA_HOME/station/`` when the
    batch's folder is not writable (a read-only share, a USB stick)."""
    beside = batch_path.with_name(batch_path.name + ".journal.sqlite3")
    if os.access(batch_path.parent, os.W_OK):
        return beside
    return home / "station" / beside.name
