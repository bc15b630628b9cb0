"""The audit log: append-only, hash-chained, written in the transaction of the change it records.

Entry ``n`` stores ``HMAC(audit key, hash(n-1) ‖ canonical JSON of n)``; the head (last seq and
hash) lives in the ``counters`` row ``audit``, which the appending transaction holds locked until
it commits, so entries are chained in commit order and no two transactions interleave. Because
the chain is keyed with a secret of the service (``secret/audit.key``), someone who can write to
the database but not read that key cannot re-chain after removing or altering an entry:
:func:`verify` finds the first broken link.

What the database cannot show about itself — its newest entries deleted and the head counter
set back to the stored hash of the new last one, or an older copy restored — is caught by
anchors: heads signed and kept outside it (:mod:`anxinma.issuer.services.checkpoints`), which
:func:`verify` requires the chain to meet.

The sequence number of a transaction's last entry is also the ``change_seq`` of every
credential whose status it changed: status readers follow changes by that index.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from anxinma.issuer.store.models import AuditEntry, Counter, utcnow
from anxinma.messages import Catalog, Message

GENESIS = "0" * 64

#: What ``anxinma audit verify`` says of each break it finds.
MESSAGES = Catalog("audit")
MESSAGES.define("entries_missing", zh="第 {first}–{last} 条记录缺失", en="entries {first}–{last} are missing")
MESSAGES.define("entry_altered", zh="第 {seq} 条记录被篡改", en="entry {seq} was altered")
MESSAGES.define(
    "tail_removed",
    zh="日志到第 {last} 条结束，但日志头记为 {head}：末尾有记录被删除",
    en="the chain ends at {last} but its head says {head}: entries removed from the end",
)
MESSAGES.define("head_mismatch", zh="日志头与最后一条记录不符", en="the head does not match the last entry")
MESSAGES.define(
    "anchor_mismatch",
    zh="第 {seq} 条记录与 {signed} 的签名检查点不符：日志被改写，或数据库被回退到旧副本",
    en="entry {seq} differs from the checkpoint of {signed}: the log was rewritten or an older copy"
    " of the database restored",
)
MESSAGES.define(
    "anchor_beyond_end",
    zh="日志只到第 {last} 条，但 {signed} 的签名检查点记有 {size} 条：末尾记录被删除，或数据库被回退到旧副本",
    en="the chain ends at {last} but the checkpoint of {signed} shows {size} entries: entries removed from the end"
    " or an older copy of the database restored",
)
MESSAGES.define(
    "checkpoint_refused",
    zh="{file} 第 {line} 行不是本机构的有效检查点：{why}",
    en="{file}:{line}: not a checkpoint of this issuer: {why}",
)
MESSAGES.define(
    "checkpoints_refused_more", zh="另有 {count} 行检查点无效", en="{count} more checkpoint lines refused"
)


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
    return append_head(session, key, entries)[0]


def append_head(session: Session, key: bytes, entries: list[PendingEntry]) -> tuple[int, str]:
    """:func:`append`, returning the new head: (last sequence number, its hash), what a
    checkpoint of the chain signs once the transaction has committed."""
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
    return seq, previous


@dataclass(frozen=True)
class Anchor:
    """A head kept outside the database (a signed checkpoint): entry ``size`` carried ``head``.
    ``label`` says which one it is, for the report (where it came from, when it was signed)."""

    size: int
    head: str
    label: str


@dataclass
class AuditReport:
    """The result of :func:`verify`: ``ok`` only when every link, the head and every anchor check
    out. ``anchored`` is the size of the newest anchor the chain met (0: none was given)."""

    checked: int = 0
    problems: list[Message] = field(default_factory=list)
    anchored: int = 0
    anchors: int = 0

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


def verify(
    session: Session, key: bytes, anchors: Iterable[Anchor] = (), *, max_problems: int = 20
) -> AuditReport:
    """Walk the whole chain (keyset pages, constant memory) and report every break found; then
    check every one of ``anchors`` (consumed once, in pages: constant memory too).

    An anchor is met when entry ``size`` exists and carries ``head``. Only anchors see what the
    database cannot show about itself: a cut tail with its head counter moved back, an older
    copy restored, or a history re-chained by someone holding the audit key.
    """
    report = AuditReport()
    expected_seq, previous = 1, GENESIS
    for entry in _entries(session):
        if entry.seq != expected_seq:
            report.problems.append(MESSAGES("entries_missing", first=expected_seq, last=entry.seq - 1))
            # keep checking from here: later links still reveal alterations
        recomputed = link(key, previous, canonical(entry.seq, entry.at, entry, entry.details))
        if entry.seq == expected_seq and not hmac.compare_digest(recomputed, entry.hash):
            report.problems.append(MESSAGES("entry_altered", seq=entry.seq))
        previous = entry.hash
        expected_seq = entry.seq + 1
        report.checked += 1
        if len(report.problems) >= max_problems:
            return report
    last = expected_seq - 1
    _check_anchors(session, anchors, last, report, max_problems)
    head = session.execute(select(Counter).where(Counter.name == "audit")).scalar_one()
    if int(head.value) != last:
        report.problems.append(MESSAGES("tail_removed", last=last, head=head.value))
    elif (head.head or GENESIS) != previous:
        report.problems.append(MESSAGES("head_mismatch"))
    return report


def _check_anchors(
    session: Session,
    anchors: Iterable[Anchor],
    last: int,
    report: AuditReport,
    max_problems: int,
    page: int = 900,
) -> None:
    """Look up the entry each anchor names (one ``seq IN (…)`` query a page of 900: under SQLite's
    parameter limit) and compare. An anchor past ``last`` is a cut tail or a rewind (reported once,
    for the largest); one whose entry is missing inside the chain was reported by the walk."""
    beyond: Anchor | None = None
    batch: list[Anchor] = []

    def flush() -> None:
        wanted = sorted({a.size for a in batch if a.size <= last})
        rows = (
            session.execute(select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.in_(wanted)))
            if wanted
            else ()
        )
        stored = {int(seq): str(head) for seq, head in rows}
        for anchor in batch:
            found = stored.get(anchor.size)
            if found is None:
                continue
            if hmac.compare_digest(anchor.head, found):
                report.anchored = max(report.anchored, anchor.size)
            elif len(report.problems) < max_problems:
                report.problems.append(MESSAGES("anchor_mismatch", seq=anchor.size, signed=anchor.label))
        batch.clear()

    for anchor in anchors:
        report.anchors += 1
        if anchor.size > last:
            if beyond is None or anchor.size > beyond.size:
                beyond = anchor
            continue
        batch.append(anchor)
        if len(batch) >= page:
            flush()
    flush()
    if beyond is not None:
        report.problems.insert(
            0, MESSAGES("anchor_beyond_end", last=last, size=beyond.size, signed=beyond.label)
        )
