"""The shared ground of the issuer's services: one :class:`Context` per process, holding the
store, the secrets and the keys, and the write transaction every change runs in.

:meth:`Context.tx` is a unit of work: the changes, their audit entries (appended to the chain
of :mod:`anxinma.issuer.store.audit` in the same transaction) and the stamping of the changed
credentials with the chain's sequence number commit together. Only after the commit are status
changes pushed (Redis or in-process): a crash or a Redis outage between the two loses nothing,
because the reconciler and every status board read the database by that sequence number.
:meth:`Context.scope` hands out the tenant rule (:class:`~anxinma.issuer.services.scope.Scope`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxinma.issuer.config import IssuerConfig
from anxinma.issuer.errors import Conflict, ValidationFailed
from anxinma.issuer.services.auth import Principal
from anxinma.issuer.services.checkpoints import CHECKPOINT_FILE, AuditCheckpoints
from anxinma.issuer.services.propagation import Publisher, StatusChange
from anxinma.issuer.services.scope import Scope
from anxinma.issuer.services.status import StatusBoard
from anxinma.issuer.store import audit
from anxinma.issuer.store.db import Store
from anxinma.issuer.store.models import Credential, IdempotencyRecord, Issuer, utcnow
from anxinma.issuer.store.vault import Vault
from anxinma.keys import KeyDirectory

T = TypeVar("T")
log = logging.getLogger("anxinma.issuer")


@dataclass
class Unit:
    """One write transaction: its session, the audit entries and status changes it makes."""

    session: Session
    entries: list[audit.PendingEntry] = field(default_factory=list)
    changed: dict[int, tuple[int, str | None]] = field(default_factory=dict)
    seq: int | None = None
    head: str | None = None

    def record(
        self, who: Principal | str, action: str, target_type: str, target_id: object, **details: Any
    ) -> None:
        """Audit one change, naming the actor: a principal, or (a caller with no account: the
        consumer at the door, a worker by their holder key) how the log names it."""
        actor = who if isinstance(who, str) else who.actor
        self.entries.append(audit.PendingEntry(actor, action, target_type, str(target_id), details))

    def status_changed(self, serial: int, value: int, reason: str | None = None) -> None:
        self.changed[serial] = (value, reason)


@dataclass(eq=False, repr=False)
class Context:
    """What every service of one issuer (the city platform of the key directory) stands on.

    The parts are declared once, here; a subclass (:class:`~anxinma.issuer.services.issuer.
    IssuerServices`) wires its services in ``__post_init__`` and takes the same constructor.
    """

    config: IssuerConfig
    store: Store
    vault: Vault
    keys: KeyDirectory
    publisher: Publisher
    board: StatusBoard
    issuer_code: int = field(init=False)
    issuer_id: int = field(init=False)

    def __post_init__(self) -> None:
        self.issuer_code = self.keys.issuer.code
        self.issuer_id = self._ensure_issuer()
        #: The audit chain's signed heads, one line per commit (docs/operations.md, the audit log).
        self.checkpoints = AuditCheckpoints(self.config.home / CHECKPOINT_FILE, self.keys)

    def scope(self, principal: Principal) -> Scope:
        """The tenant rule for ``principal``: what it may see of this issuer's data."""
        return Scope(principal, self.issuer_id)

    def _ensure_issuer(self) -> int:
        """This issuer's row id, inserting the row when the database has none.

        On a new database several processes (two hosts' workers starting at once) race to insert
        it: the losers hit the unique index, and a second try finds the winner's row. (A worker
        that failed here failed to boot, and gunicorn then stops the whole host.)
        """
        try:
            return self._upsert_issuer()
        except IntegrityError:
            log.info("another process inserted issuer %s first; reading its row", self.keys.issuer.code)
            return self._upsert_issuer()

    def _upsert_issuer(self) -> int:
        info = self.keys.issuer
        with self.store.write() as session:
            row = session.execute(select(Issuer).where(Issuer.code == info.code)).scalar_one_or_none()
            if row is None:
                row = Issuer(code=info.code, name=info.name, base_url=self.config.base_url)
                session.add(row)
                session.flush()
            else:
                row.name, row.base_url = info.name, self.config.base_url
            return int(row.id)

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def tx(self) -> Iterator[Unit]:
        """A write transaction whose audit entries and status changes commit with it."""
        with self.store.write() as session:
            unit = Unit(session)
            yield unit
            if unit.entries:
                unit.seq, unit.head = audit.append_head(session, self.vault.audit_key, unit.entries)
            if unit.changed:
                if unit.seq is None:  # pragma: no cover - every status change is audited
                    raise AssertionError("a status change without an audit entry")
                _stamp(session, sorted(unit.changed), unit.seq)
        if unit.seq is not None and unit.head is not None:
            self.checkpoints.after_commit(unit.seq, unit.head)  # committed: anchor it outside
        if unit.changed and unit.seq is not None:
            at = utcnow().isoformat()
            changes = [
                StatusChange(self.issuer_code, serial, value, reason, unit.seq, at)
                for serial, (value, reason) in sorted(unit.changed.items())
            ]
            self.board.apply([(c.serial, c.value) for c in changes])
            self.publisher.publish(changes)

    def run(self, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.tx() as unit:
            return operation(unit, *args, **kwargs)

    # -- idempotency -----------------------------------------------------------------------

    def idempotent(
        self,
        principal: Principal,
        key: str | None,
        fingerprint: str,
        operation: Callable[[Unit], tuple[int, dict[str, Any]]],
    ) -> tuple[int, dict[str, Any], bool]:
        """Run ``operation`` once per (caller, key): a repeat gets the first response back.

        Returns (status, body, replayed). The key row is inserted first, so a concurrent
        repeat waits on it and then replays; the same key with another body is a 409.
        """
        if not key:
            with self.tx() as unit:
                status, body = operation(unit)
            return status, body, False
        if len(key) > 128:
            raise ValidationFailed({"Idempotency-Key": ("幂等键最长 128 个字符", "at most 128 characters")})
        for _ in range(3):
            replay = self._replay(principal, key, fingerprint)
            if replay is not None:
                return replay[0], replay[1], True
            try:
                with self.tx() as unit:
                    record = IdempotencyRecord(
                        scope=principal.scope, key=key, fingerprint=fingerprint, status_code=0, body=""
                    )
                    unit.session.add(record)
                    unit.session.flush()
                    status, body = operation(unit)
                    record.status_code, record.body = status, json.dumps(body, ensure_ascii=False)
                return status, body, False
            except IntegrityError:
                continue  # another request with this key committed first: replay it
        raise Conflict("the idempotency key is in use", message_zh="该幂等键正在使用中")

    def _replay(self, principal: Principal, key: str, fingerprint: str) -> tuple[int, dict[str, Any]] | None:
        with self.store.read() as session:
            record = session.execute(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == principal.scope, IdempotencyRecord.key == key
                )
            ).scalar_one_or_none()
        if record is None:
            return None
        if record.fingerprint != fingerprint:
            raise Conflict(
                "this Idempotency-Key was used for a different request",
                message_zh="该幂等键已用于另一个请求",
            )
        return int(record.status_code), json.loads(record.body)

    def audit_verify(self, checkpoint_files: Sequence[Path] = ()) -> audit.AuditReport:
        """Walk the chain and check it against every checkpoint of the home's file and of
        ``checkpoint_files`` (copies kept elsewhere); a checkpoint that does not verify is a problem."""
        scan = self.checkpoints.scan(checkpoint_files)  # the files' lengths, before the walk
        anchors = (audit.Anchor(c.size, c.head, f"{c.signed_at:%Y-%m-%d %H:%M:%S}Z") for c in scan)
        with self.store.read() as session:
            report = audit.verify(session, self.vault.audit_key, anchors)
        report.problems.extend(scan.bad)
        if scan.refused > len(scan.bad):
            report.problems.append(
                audit.MESSAGES("checkpoints_refused_more", count=scan.refused - len(scan.bad))
            )
        return report


def chunks(items: Sequence[T], size: int = 900) -> Iterable[list[T]]:
    """``items`` in lists of at most ``size`` (900: under SQLite's bound-parameter limit)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _stamp(session: Session, serials: list[int], seq: int) -> None:
    """Set ``change_seq`` of the changed credentials: one UPDATE per run of consecutive serials."""
    runs: list[tuple[int, int]] = []
    for serial in serials:
        if runs and serial == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], serial)
        else:
            runs.append((serial, serial))
    for low, high in runs:
        session.execute(
            update(Credential)
            .where(Credential.serial.between(low, high))
            .values(change_seq=seq)
            .execution_options(synchronize_session=False)
        )


__all__ = ["Context", "Unit", "chunks"]
