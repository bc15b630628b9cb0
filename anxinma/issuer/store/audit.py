"""The audit log: append-only, hash-chained, written in the transaction of the change it records.

Entry ``n`` stores ``HMAC(audit key, hash(n-1) ‖ canonical JSON of n)``; the head (last seq and
hash) lives in the ``counters`` row ``audit``, which the appending transaction holds locked until
it commits, so entries are chained in commit order and no two transactions interleave. Because
the chain is keyed with a secret of the service (``secret/audit.key``), someone who can write to
the database but not read that key cannot re-chain after removing or altering an entry:
:func:`verify` finds the first broken link.

The sequence number of a transaction's last entry is also the ``change_seq`` of every
credential whose status it changed: status readers follow changes by that index.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from anxinma.issuer.store.models import AuditEntry, Counter, utcnow

GENESIS = "0" * 64


@dataclass(frozen=True)
class PendingEntry:
    actor: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]


def canonical(seq: int, at: datetime, entry: PendingEntry | AuditEntry, details: str) -> bytes:
    body = {
        "seq": seq,
        "at": at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "details": details,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def link(key: bytes, previous: str, message: bytes) -> str:
    return hmac.new(key, previous.encode() + b"\n" + message, hashlib.sha256).hexdigest()


def lock_head(session: Session) -> Counter:
    """Lock the audit head for this transaction (PostgreSQL row lock; SQLite already holds the
    database write lock from BEGIN IMMEDIATE)."""
    return session.execute(select(Counter).where(Counter.name == "audit").with_for_update()).scalar_one()


def append(session: Session, key: bytes, entries: list[PendingEntry]) -> int:
    """Write ``entries`` at the end of the chain; returns the last sequence number used.

    Call it last in a transaction (it takes the head lock, held until commit).
    """
    head = lock_head(session)
    seq, previous = int(head.value), str(head.head or GENESIS)
    now = utcnow()
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what both databases keep exactly
    rows = []
    for entry in entries:
        seq += 1
        details = json.dumps(entry.details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        previous = link(key, previous, canonical(seq, at, entry, details))
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": entry.actor,
                "action": entry.action,
                "target_type": entry.target_type,
                "target_id": entry.target_id,
                "details": details,
                "hash": previous,
            }
        )
    if rows:
        session.execute(insert(AuditEntry), rows)
        session.execute(update(Counter).where(Counter.name == "audit").values(value=seq, head=previous))
    return seq


@dataclass
class AuditReport:
    """The result of :func:`verify`: ``ok`` only when every link and the head check out."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _entries(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        chunk = (
            session.execute(
                select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
            )
            .scalars()
            .all()
        )
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq


def verify(session: Session, key: bytes, *, max_problems: int = 20) -> AuditReport:
    """Walk the whole chain (keyset pages, constant memory) and report every break found."""
    report = AuditReport()
    expected_seq, previous = 1, GENESIS
    for entry in _entries(session):
        if entry.seq != expected_seq:
            report.problems.append(
                f"entries {expected_seq}–{entry.seq - 1} are missing / 第 {expected_seq}–{entry.seq - 1} 条记录缺失"
            )
            # keep checking from here: later links still reveal alterations
        recomputed = link(key, previous, canonical(entry.seq, entry.at, entry, entry.details))
        if entry.seq == expected_seq and not hmac.compare_digest(recomputed, entry.hash):
            report.problems.append(f"entry {entry.seq} was altered / 第 {entry.seq} 条记录被篡改")
        previous = entry.hash
        expected_seq = entry.seq + 1
        report.checked += 1
        if len(report.problems) >= max_problems:
            return report
    head = session.execute(select(Counter).where(Counter.name == "audit")).scalar_one()
    if int(head.value) != expected_seq - 1:
        report.problems.append(
            f"the chain ends at {expected_seq - 1} but its head says {head.value}: entries removed from the end"
            f" / 日志末尾有记录被删除"
        )
    elif (head.head or GENESIS) != previous:
        report.problems.append("the head does not match the last entry / 日志头与最后一条记录不符")
    return report
