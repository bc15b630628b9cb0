"""Revocation, suspension and the blacklist (失信名单): the status changes of credentials.

Revocation is final; a change is durable in the store first (:meth:`Context.tx`), then pushed
to the status boards. Listing a person on the blacklist revokes every live credential of
theirs, at any enterprise, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxinma.issuer.errors import Conflict, not_found
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context, Unit
from anxinma.issuer.services.rules import mask_id, status_value
from anxinma.issuer.services.validation import (
    REVOKE_REASONS,
    BlacklistFields,
    check_field,
    removal_reason,
    revoke_reason,
    status_reason,
)
from anxinma.issuer.store.models import AuditEntry, BlacklistEntry, Credential, Worker, utcnow

#: Reasons about the worker rather than one card or phone: revoking one credential of theirs for
#: these revokes every live credential of theirs (the card and the phone credential). ``lost``
#: and ``misconduct`` name the one credential (a lost phone revokes only the phone credential).
WORKER_REASONS = ("left", "blacklisted")
ALL_REASONS = (*REVOKE_REASONS, "replaced")


class Revocation:
    """Status changes of one issuer's credentials, and its blacklist."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def set_status(
        self, unit: Unit, principal: Principal, row: Credential, status: str, reason: str | None
    ) -> None:
        attention = False
        if row.worker_id is not None and status == "active":
            worker = unit.session.get(Worker, row.worker_id)
            attention = bool(worker and worker.attention)
        row.status = status
        row.status_value = status_value(status, attention)
        if status == "revoked":
            row.revocation_reason = reason
            row.revoked_at = utcnow()
        action = {
            "revoked": "credential.revoke",
            "suspended": "credential.suspend",
            "active": "credential.reinstate",
        }[status]
        unit.record(principal, action, "credential", row.serial, reason=reason)
        unit.status_changed(row.serial, row.status_value, reason)

    def change_status(
        self, unit: Unit, principal: Principal, serial: int, action: str, reason: str | None
    ) -> tuple[Credential, bool]:
        """Revoke, suspend or reinstate; returns (row, whether anything changed).

        Revocation is final (409 on suspend/reinstate of a revoked credential); repeating the
        same action changes nothing and writes no audit entry. Revoking for a reason of
        :data:`WORKER_REASONS` revokes the worker's other live credential too.
        """
        scope = self.ctx.scope(principal).require(Role.ISSUER_ADMIN, Role.REGULATOR, Role.ENTERPRISE_ADMIN)
        if action != "revoke":
            reason = check_field("reason", status_reason, reason)
        row = scope.get(unit.session, Credential, serial, lock=True)
        if action == "revoke":
            reason = check_field("reason", revoke_reason, reason)
            if row.status == "revoked":
                return row, False
            self.set_status(unit, principal, row, "revoked", reason)
            if reason in WORKER_REASONS and row.worker_id is not None:
                # The person is gone, not the object: the card and the phone credential go together.
                for other in unit.session.execute(
                    select(Credential)
                    .where(
                        Credential.worker_id == row.worker_id,
                        Credential.status != "revoked",
                        Credential.serial != row.serial,
                    )
                    .with_for_update()
                ).scalars():
                    self.set_status(unit, principal, other, "revoked", reason)
            if reason == "left" and row.worker_id is not None:
                worker = unit.session.get(Worker, row.worker_id)
                if worker is not None and worker.status == "active":
                    worker.status = "left"
                    unit.record(principal, "worker.left", "worker", worker.id)
            return row, True
        if row.status == "revoked":
            raise Conflict(
                "the credential is revoked; revocation is final", message_zh="该安心码已吊销，吊销不可撤回"
            )
        target = "suspended" if action == "suspend" else "active"
        if row.status == target:
            return row, False
        self.set_status(unit, principal, row, target, reason)
        return row, True

    def blacklisted(self, session: Session, id_hash: str) -> bool:
        return (
            session.execute(
                select(BlacklistEntry.id).where(
                    BlacklistEntry.id_hash == id_hash, BlacklistEntry.removed_at.is_(None)
                )
            ).first()
            is not None
        )

    # -- blacklist (失信名单) -----------------------------------------------------------------

    def blacklist_add(
        self, unit: Unit, principal: Principal, data: dict[str, Any]
    ) -> tuple[BlacklistEntry, list[int]]:
        """List a person: every live credential of theirs, at any enterprise, is revoked
        (reason ``blacklisted``) in this transaction, and no new one is issued."""
        self.ctx.scope(principal).require(Role.REGULATOR, Role.ISSUER_ADMIN)
        fields = BlacklistFields.parse(data)
        id_number = str(fields.id_number)  # required: the rule gave text
        session = unit.session
        id_hash = self.ctx.vault.identity_hash("id", id_number)
        if self.blacklisted(session, id_hash):
            raise Conflict("this person is already on the blacklist", message_zh="此人已在失信名单中")
        entry = BlacklistEntry(
            id_hash=id_hash,
            id_masked=mask_id(id_number),
            reason=fields.reason,
            evidence_ref=fields.evidence_ref,
            added_by=principal.actor,
        )
        session.add(entry)
        session.flush()
        unit.record(principal, "blacklist.add", "blacklist", entry.id, evidence_ref=entry.evidence_ref)
        revoked: list[int] = []
        for worker in session.execute(
            select(Worker).where(Worker.id_hash == id_hash).with_for_update()
        ).scalars():
            worker.status = "blacklisted"
            unit.record(principal, "worker.blacklisted", "worker", worker.id, blacklist_id=entry.id)
            for row in session.execute(
                select(Credential)
                .where(Credential.worker_id == worker.id, Credential.status != "revoked")
                .with_for_update()
            ).scalars():
                self.set_status(unit, principal, row, "revoked", "blacklisted")
                revoked.append(row.serial)
        return entry, revoked

    def blacklist_remove(
        self, unit: Unit, principal: Principal, entry_id: int, reason: Any
    ) -> BlacklistEntry:
        self.ctx.scope(principal).require(Role.REGULATOR, Role.ISSUER_ADMIN)
        reason = check_field("reason", removal_reason, reason)
        entry = unit.session.get(BlacklistEntry, entry_id, with_for_update=True)
        if entry is None:
            raise not_found("blacklist entry", "失信名单记录")
        if entry.removed_at is not None:
            raise Conflict("this entry was already removed", message_zh="该记录已移出")
        entry.removed_at, entry.removed_by, entry.removal_reason = (
            utcnow(),
            principal.actor,
            reason,
        )
        unit.record(principal, "blacklist.remove", "blacklist", entry.id)
        for worker in unit.session.execute(
            select(Worker).where(Worker.id_hash == entry.id_hash, Worker.status == "blacklisted")
        ).scalars():
            worker.status = "active"  # may be issued again; the revoked credentials stay revoked
            unit.record(principal, "worker.unblacklisted", "worker", worker.id, blacklist_id=entry.id)
        return entry

    def blacklist_history(self, principal: Principal, limit: int = 20) -> list[AuditEntry]:
        """The newest audit entries of the blacklist: who listed or removed whom, and when."""
        self.ctx.scope(principal).require(Role.REGULATOR, Role.ISSUER_ADMIN)
        with self.ctx.store.read() as session:
            query = select(AuditEntry).where(AuditEntry.target_type == "blacklist")
            return list(session.execute(query.order_by(AuditEntry.seq.desc()).limit(limit)).scalars())

    def blacklist(
        self, principal: Principal, *, active_only: bool = True, after: int = 0, limit: int = 50
    ) -> list[BlacklistEntry]:
        self.ctx.scope(principal).require(Role.REGULATOR, Role.ISSUER_ADMIN)
        with self.ctx.store.read() as session:
            query = select(BlacklistEntry).where(BlacklistEntry.id > after)
            if active_only:
                query = query.where(BlacklistEntry.removed_at.is_(None))
            return list(session.execute(query.order_by(BlacklistEntry.id).limit(limit)).scalars())


__all__ = ["ALL_REASONS", "REVOKE_REASONS", "WORKER_REASONS", "Revocation"]
