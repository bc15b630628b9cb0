"""Bulk import of workers (a CSV or XLSX file, read by :mod:`anxinma.issuer.web.importing`):
checking every row, previewing what an import would do, registering the valid rows.

A row naming a person already registered at the enterprise is reported ``existing`` and left
as it is, so importing the same file twice creates nothing the second time; a blacklisted
person's row is reported, never registered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxinma.issuer.errors import ValidationFailed
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context, chunks
from anxinma.issuer.services.issuing import IssueItem, Issuing
from anxinma.issuer.services.validation import WorkerInput, worker_input
from anxinma.issuer.services.workers import Workers
from anxinma.issuer.store.models import BlacklistEntry, Worker


@dataclass
class ImportReport:
    rows: int = 0
    created: list[int] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    credentials: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": len(self.created),
            "existing": len(self.existing),
            "failed": len(self.errors),
            "created_ids": self.created,
            "existing_ids": self.existing,
            "credential_serials": self.credentials,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class ImportRow:
    """A row of an import file that passed validation: its row number and the input."""

    row: int
    data: WorkerInput


class Imports:
    """Imports of many workers at once, on the workers' and the issuing services' rules."""

    def __init__(self, ctx: Context, workers: Workers, issuing: Issuing) -> None:
        self.ctx = ctx
        self.workers = workers
        self.issuing = issuing

    def import_rows(
        self,
        principal: Principal,
        enterprise_id: int | None,
        rows: Sequence[dict[str, Any]],
        *,
        issue: bool = False,
    ) -> ImportReport:
        """Register many workers; each row is imported whole or reported with its errors.

        A row naming a person already registered at the enterprise is reported ``existing``
        and left as it is, so importing the same file twice creates nothing the second time.
        Valid rows commit together in one transaction.
        """
        with self.ctx.store.read() as session:
            self._import_target(session, principal, enterprise_id)  # another enterprise's: 404 first
        report = ImportReport(rows=len(rows))
        valid = validate_import_rows(rows, report.errors)
        self.import_valid_rows(principal, enterprise_id, valid, report, issue=issue)
        return report

    def _import_target(self, session: Session, principal: Principal, enterprise_id: int | None) -> int:
        scope = self.ctx.scope(principal).require(Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
        return int(scope.target(session, enterprise_id).id)

    def _classify_import(
        self, session: Session, target: int, valid: Sequence[ImportRow]
    ) -> tuple[dict[int, int], dict[int, dict[str, Any]], list[ImportRow]]:
        """(row -> existing worker id, row -> error of a blacklisted person, rows to create)."""
        hashes = {self.ctx.vault.identity_hash("id", item.data.id_number or ""): item for item in valid}
        existing: dict[str, int] = {}
        listed: set[str] = set()
        for chunk in chunks(list(hashes), 900):
            existing.update(
                session.execute(
                    select(Worker.id_hash, Worker.id).where(
                        Worker.enterprise_id == target, Worker.id_hash.in_(chunk)
                    )
                ).all()
            )
            listed |= set(
                session.execute(
                    select(BlacklistEntry.id_hash).where(
                        BlacklistEntry.id_hash.in_(chunk), BlacklistEntry.removed_at.is_(None)
                    )
                ).scalars()
            )
        found: dict[int, int] = {}
        refused: dict[int, dict[str, Any]] = {}
        fresh: list[ImportRow] = []
        for id_hash, item in hashes.items():
            if id_hash in existing:
                found[item.row] = int(existing[id_hash])
            elif id_hash in listed:
                refused[item.row] = {
                    "row": item.row,
                    "fields": {
                        "id_number": {"zh": "此人在失信名单中", "en": "this person is on the blacklist"}
                    },
                }
            else:
                fresh.append(item)
        return found, refused, fresh

    def preview(
        self, principal: Principal, enterprise_id: int | None, valid: Sequence[ImportRow]
    ) -> tuple[dict[int, int], dict[int, dict[str, Any]]]:
        """What an import of these validated rows would do, writing nothing: (row -> id of the
        worker already registered, row -> error of a blacklisted person); the rest would be new."""
        with self.ctx.store.read() as session:
            target = self._import_target(session, principal, enterprise_id)
            found, refused, _ = self._classify_import(session, target, valid)
        return found, refused

    def import_valid_rows(
        self,
        principal: Principal,
        enterprise_id: int | None,
        valid: Sequence[ImportRow],
        report: ImportReport,
        *,
        issue: bool = False,
        then: Callable[[Session], None] | None = None,
    ) -> ImportReport:
        """Import rows :func:`validate_import_rows` accepted, in one transaction, adding the
        outcome to ``report`` (created, existing, blacklisted rows as errors). The console runs
        a large file through this in chunks, so it can show progress; ``then(session)`` runs in
        the chunk's transaction once ``report`` holds its outcome (the job's lease and
        checkpoint commit with the chunk, or neither does)."""
        with self.ctx.tx() as unit:
            target = self._import_target(unit.session, principal, enterprise_id)
            found, refused, fresh = self._classify_import(unit.session, target, valid)
            report.existing.extend(found.values())
            report.errors.extend(refused.values())
            new_ids = self.workers.register_many(unit, principal, [item.data for item in fresh], target)
            report.created.extend(new_ids)
            if issue and new_ids:
                issued = self.issuing.issue_many(unit, principal, [IssueItem(w) for w in new_ids])
                report.credentials.extend(i.row.serial for i in issued)
            if then is not None:
                then(unit.session)
        report.errors.sort(key=lambda e: int(e["row"]))
        return report


def validate_import_rows(
    rows: Sequence[dict[str, Any]], errors: list[dict[str, Any]], *, first_row: int = 2
) -> list[ImportRow]:
    """Check every row of an import file (the API's field rules) without touching the store.

    Row numbers count from ``first_row`` (2: row 1 is the header). A row with bad fields, or
    naming the same person as an earlier row, is appended to ``errors`` with a message per
    field; the rows returned are the ones an import would go on to register.
    """
    seen: dict[str, int] = {}
    valid: list[ImportRow] = []
    for number, raw in enumerate(rows, start=first_row):
        try:
            data = worker_input(raw)
        except ValidationFailed as exc:
            errors.append(
                {"row": number, "fields": {k: {"zh": zh, "en": en} for k, (zh, en) in exc.fields.items()}}
            )
            continue
        assert data.id_number is not None
        if data.id_number in seen:
            errors.append(
                {
                    "row": number,
                    "fields": {
                        "id_number": {
                            "zh": f"与第 {seen[data.id_number]} 行重复",
                            "en": f"same person as row {seen[data.id_number]}",
                        }
                    },
                }
            )
            continue
        seen[data.id_number] = number
        valid.append(ImportRow(number, data))
    return valid


__all__ = ["ImportReport", "ImportRow", "Imports", "validate_import_rows"]
