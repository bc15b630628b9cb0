"""Issuing: signing and storing credentials, for workers (the batch path the API also uses
for one) and for enterprises (一企一证一码), and reading them under the caller's scope.

One live credential per subject and form: a worker may hold a card credential (the badge and
NFC card) and a phone credential (bound to the holder key their phone made, shown as the
dynamic code) at once; issuing again revokes the previous one *of the same form* with reason
``replaced`` in the same transaction. Serials come from one locked counter, gapless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.issuer.errors import Conflict, ValidationFailed, not_found
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context, Unit, chunks
from anxinma.issuer.services.revocation import Revocation
from anxinma.issuer.services.rules import status_value, today_in_china
from anxinma.issuer.services.scope import READERS
from anxinma.issuer.store.models import BlacklistEntry, Counter, Credential, Enterprise, Worker, utcnow
from anxinma.status_list import CredentialStatus


@dataclass(frozen=True)
class IssueItem:
    worker_id: int
    card_uid: bytes | None = None
    holder_key: bytes | None = None  # the worker's phone key (cnf, RFC 8747): signs as the holder

    @property
    def form(self) -> str:
        """``phone`` for a credential bound to a holder key, ``card`` otherwise."""
        return "phone" if self.holder_key is not None else "card"


@dataclass(frozen=True)
class Issued:
    """A credential just signed and stored."""

    row: Credential
    credential: fmt.Credential
    replaced_serial: int | None


class Issuing:
    """The credentials of one issuer: signing, storing, reading."""

    def __init__(self, ctx: Context, revocation: Revocation) -> None:
        self.ctx = ctx
        self.revocation = revocation

    def _allocate(self, session: Session, count: int) -> int:
        """Reserve ``count`` consecutive serials; returns the first. The counter row stays
        locked until commit, so serials are gapless and never handed out twice."""
        top = session.execute(
            update(Counter)
            .where(Counter.name == "serial")
            .values(value=Counter.value + count)
            .returning(Counter.value)
        ).scalar_one()
        return int(top) - count

    def issue_many(
        self, unit: Unit, principal: Principal, items: Sequence[IssueItem], *, on: date | None = None
    ) -> list[Issued]:
        """Sign and store a credential for each worker (the batch path the API also uses for one).

        ``on`` (default today in China) is the issue day, signed into the claims and kept as
        ``issued_on``: the demo seeds a city's past months through this same path, so each
        credential's bytes say the day its row says. The API never passes it.

        A worker's live credential is revoked with reason ``replaced`` in the same transaction
        (one live credential per worker and form: card, phone). Raises :class:`ApiError` for a
        worker not visible to the caller (404), a blacklisted person or a worker who left (409),
        a phone credential with a card UID or a holder key that is not an Ed25519 point (400).
        """
        scope = self.ctx.scope(principal).require(
            Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN, Role.CARD_OPERATOR
        )
        if not items:
            return []
        for item in items:
            _check_item(item)
        session = unit.session
        ids = [item.worker_id for item in items]
        if len(set(ids)) != len(ids):
            raise ValidationFailed(
                {"worker_id": ("同一服务员在一批中出现两次", "a worker appears twice in one batch")}
            )
        workers: dict[int, Worker] = scope.get_many(session, Worker, ids, lock=True)
        listed: set[str] = set()
        hashes: list[str] = sorted({w.id_hash for w in workers.values()})
        for hash_chunk in chunks(hashes, 900):
            listed |= set(
                session.execute(
                    select(BlacklistEntry.id_hash).where(
                        BlacklistEntry.id_hash.in_(hash_chunk), BlacklistEntry.removed_at.is_(None)
                    )
                ).scalars()
            )
        for worker in workers.values():
            if worker.id_hash in listed or worker.status == "blacklisted":
                raise Conflict(
                    "this person is on the blacklist (失信名单): no new credential",
                    message_zh="此人在失信名单中，不能签发安心码",
                )
            if worker.status == "left":  # issuing again means the enterprise took the worker back
                worker.status = "active"
                unit.record(principal, "worker.rejoined", "worker", worker.id)
            if not worker.categories:
                raise ValidationFailed({"categories": ("至少一个服务类别", "at least one service category")})
        previous: dict[tuple[int, str], Credential] = {}
        for chunk in chunks(ids, 900):
            for live in session.execute(
                select(Credential)
                .where(Credential.worker_id.in_(chunk), Credential.status != "revoked")
                .with_for_update()
            ).scalars():
                previous[(int(live.worker_id or 0), live.form)] = live
        enterprises = {
            e.id: e
            for e in session.execute(
                select(Enterprise).where(Enterprise.id.in_({w.enterprise_id for w in workers.values()}))
            ).scalars()
        }
        for worker in workers.values():
            if enterprises[worker.enterprise_id].status == "blacklisted":
                raise Conflict("the enterprise is on the blacklist", message_zh="该企业在失信名单中")
        first = self._allocate(session, len(items))
        kid, key = self.ctx.keys.signing_key()
        today = on or today_in_china()
        issued_at = fmt.parse_when(today, "issued_at")
        expires_on = today + timedelta(days=self.ctx.config.credential_days)
        expires_at = fmt.parse_when(expires_on, "expires_at")
        now = utcnow()
        revoked_rows: list[dict[str, Any]] = []
        new_rows: list[dict[str, Any]] = []
        results: list[Issued] = []
        for offset, item in enumerate(items):
            worker = workers[item.worker_id]
            serial = first + offset
            old = previous.get((worker.id, item.form))
            if old is not None:
                revoked_rows.append(
                    {
                        "serial": old.serial,
                        "status": "revoked",
                        "status_value": int(CredentialStatus.REVOKED),
                        "revocation_reason": "replaced",
                        "revoked_at": now,
                        "replaced_by": serial,
                    }
                )
                unit.record(
                    principal,
                    "credential.revoke",
                    "credential",
                    old.serial,
                    reason="replaced",
                    replaced_by=serial,
                )
                unit.status_changed(old.serial, int(CredentialStatus.REVOKED), "replaced")
            claims = fmt.Claims(
                issuer_code=self.ctx.issuer_code,
                serial=serial,
                subject_kind=fmt.SubjectKind.WORKER,
                archive_id=worker.id,
                enterprise_id=worker.enterprise_id,
                display_name=fmt.mask_name(worker.name),
                categories=fmt.categories_from_bits(worker.categories),
                issued_at=issued_at,
                expires_at=expires_at,
                card_uid=item.card_uid,
                holder_key=item.holder_key,
            )
            signed = fmt.sign(claims, key, kid)
            value = status_value("active", worker.attention)
            row: dict[str, Any] = {
                "serial": serial,
                "issuer_id": self.ctx.issuer_id,
                "subject_kind": "worker",
                "worker_id": worker.id,
                "enterprise_id": worker.enterprise_id,
                "kid": kid.hex(),
                "issued_on": today,
                "expires_on": expires_on,
                "status": "active",
                "status_value": value,
                "revocation_reason": None,
                "revoked_at": None,
                "card_uid": item.card_uid.hex() if item.card_uid else None,
                "form": item.form,
                "replaced_by": None,
                "raw": signed.to_bytes(),
                "change_seq": 0,
                "created_at": now,
            }
            new_rows.append(row)
            unit.record(
                principal,
                "credential.issue",
                "credential",
                serial,
                worker_id=worker.id,
                card_bound=item.card_uid is not None,
                form=item.form,
                replaced=old.serial if old is not None else None,
            )
            unit.status_changed(serial, value)
            results.append(Issued(Credential(**row), signed, old.serial if old is not None else None))
        if revoked_rows:  # ORM bulk UPDATE by primary key, one statement for the batch
            session.execute(update(Credential), revoked_rows)
        session.execute(insert(Credential), new_rows)
        return results

    def issue_enterprise(self, unit: Unit, principal: Principal, enterprise_id: int) -> Issued:
        """一企一证一码: the enterprise's own credential (one live at a time)."""
        scope = self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        session = unit.session
        enterprise = scope.get(session, Enterprise, enterprise_id)
        if enterprise.status == "blacklisted":
            raise Conflict("the enterprise is on the blacklist", message_zh="该企业在失信名单中")
        old = session.execute(
            select(Credential)
            .where(
                Credential.enterprise_id == enterprise_id,
                Credential.subject_kind == "enterprise",
                Credential.status != "revoked",
            )
            .with_for_update()
        ).scalar_one_or_none()
        serial = self._allocate(session, 1)
        if old is not None:
            self.revocation.set_status(unit, principal, old, "revoked", "replaced")
            old.replaced_by = serial
            session.flush()
        kid, key = self.ctx.keys.signing_key()
        today = today_in_china()
        expires_on = today + timedelta(days=self.ctx.config.credential_days)
        claims = fmt.Claims(
            issuer_code=self.ctx.issuer_code,
            serial=serial,
            subject_kind=fmt.SubjectKind.ENTERPRISE,
            archive_id=enterprise.id,
            enterprise_id=enterprise.id,
            display_name=enterprise.name,
            categories=frozenset(),
            issued_at=fmt.parse_when(today, "issued_at"),
            expires_at=fmt.parse_when(expires_on, "expires_at"),
        )
        signed = fmt.sign(claims, key, kid)
        row = Credential(
            serial=serial,
            issuer_id=self.ctx.issuer_id,
            subject_kind="enterprise",
            worker_id=None,
            enterprise_id=enterprise.id,
            kid=kid.hex(),
            issued_on=today,
            expires_on=expires_on,
            status="active",
            status_value=0,
            raw=signed.to_bytes(),
            change_seq=0,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        unit.record(
            principal,
            "credential.issue",
            "credential",
            serial,
            enterprise_id=enterprise.id,
            subject="enterprise",
        )
        unit.status_changed(serial, 0)
        return Issued(row, signed, old.serial if old is not None else None)

    def get(self, principal: Principal, serial: int) -> Credential:
        scope = self.ctx.scope(principal).require(*READERS)
        with self.ctx.store.read() as session:
            return scope.get(session, Credential, serial)

    def live_of(self, principal: Principal, worker_ids: Sequence[int]) -> dict[int, Credential]:
        """The live (not revoked) card credential of each listed worker the caller may see."""
        scope = self.ctx.scope(principal).require(*READERS)
        found: dict[int, Credential] = {}
        with self.ctx.store.read() as session:
            for chunk in chunks(list(worker_ids)):
                query = select(Credential).where(
                    Credential.worker_id.in_(chunk),
                    Credential.status != "revoked",
                    Credential.form == "card",
                )
                found.update(
                    {
                        int(c.worker_id or 0): c
                        for c in session.execute(scope.filter(query, Credential)).scalars()
                    }
                )
        return found

    def enterprise_credential(self, principal: Principal, enterprise_id: int) -> Credential:
        scope = self.ctx.scope(principal).require(*READERS)
        with self.ctx.store.read() as session:
            scope.get(session, Enterprise, enterprise_id)
            row = session.execute(
                select(Credential).where(
                    Credential.enterprise_id == enterprise_id,
                    Credential.subject_kind == "enterprise",
                    Credential.status != "revoked",
                )
            ).scalar_one_or_none()
        if row is None:
            raise not_found("enterprise credential", "企业安心码")
        return row


def _check_item(item: IssueItem) -> None:
    """A phone credential names its phone's key and no card: the card has its own credential,
    and a card UID would push the dynamic code past QR version 12-M (docs/format.md §12.3)."""
    if item.holder_key is None:
        return
    if item.card_uid is not None:
        raise ValidationFailed(
            {
                "card_uid": (
                    "手机安心码不能绑定卡号：卡片另有自己的安心码",
                    "a phone credential carries no card UID: the card has its own credential",
                )
            }
        )
    if not ed25519.is_valid_public_key(item.holder_key):
        raise ValidationFailed(
            {
                "holder_key": (
                    "这不是有效的 Ed25519 公钥：请在手机上重新打开登记链接",
                    "not a valid Ed25519 public key: open the enrolment link on the phone again",
                )
            }
        )


__all__ = ["IssueItem", "Issued", "Issuing"]
