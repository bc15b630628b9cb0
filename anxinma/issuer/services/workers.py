"""Workers (家政服务员) and their credit archive (信用档案): registering, updating, the
attention flag (安心码 yellow), listing and searching under the caller's scope, scan counts.

Every read goes through the caller's :class:`~anxinma.issuer.services.scope.Scope`;
personal data is stored encrypted and found by keyed hashes (:class:`~anxinma.issuer.store.vault.Vault`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, insert, select, true
from sqlalchemy.orm import Session

from anxinma.issuer.errors import Conflict, ValidationFailed
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context, Unit, chunks
from anxinma.issuer.services.live import ScanCounter
from anxinma.issuer.services.rules import (
    attention_items,
    lapsed,
    mask_id,
    mask_phone,
    status_value,
    today_in_china,
)
from anxinma.issuer.services.scope import READERS
from anxinma.issuer.services.validation import WorkerInput, normalise_id_number
from anxinma.issuer.store.models import (
    BlacklistEntry,
    Credential,
    Enterprise,
    ScanCount,
    Training,
    Worker,
    utcnow,
)


@dataclass(frozen=True)
class WorkerArchive:
    """A worker's credit archive as one page shows it (:meth:`Workers.archive`)."""

    worker: Worker
    enterprise: Enterprise
    trainings: list[Training]
    credentials: list[Credential]

    @property
    def live(self) -> Credential | None:
        """The card credential that is not revoked (at most one: the store's unique index)."""
        return next((c for c in self.credentials if c.status != "revoked" and c.form == "card"), None)

    @property
    def live_phone(self) -> Credential | None:
        """The phone credential that is not revoked (at most one), or None: no phone enrolled."""
        return next((c for c in self.credentials if c.status != "revoked" and c.form == "phone"), None)


class Workers:
    """The workers of one issuer's enterprises."""

    def __init__(self, ctx: Context, scans: ScanCounter) -> None:
        self.ctx = ctx
        self.scans = scans

    def register(
        self, unit: Unit, principal: Principal, data: WorkerInput, enterprise_id: int | None
    ) -> Worker:
        """Register one worker (see :meth:`register_many`)."""
        worker_id = self.register_many(unit, principal, [data], enterprise_id)[0]
        worker = unit.session.get(Worker, worker_id)
        assert worker is not None
        return worker

    def register_many(
        self, unit: Unit, principal: Principal, items: Sequence[WorkerInput], enterprise_id: int | None
    ) -> list[int]:
        """Register validated workers at one enterprise; returns their ids in order.

        One query for blacklisted and one for already-registered persons, one INSERT for the
        batch. Raises 409 when anyone is on the blacklist or already at the enterprise (the
        import reports those rows instead of calling this with them).
        """
        scope = self.ctx.scope(principal).require(Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
        session = unit.session
        target = scope.target(session, enterprise_id).id
        if not items:
            return []
        hashes = [self.ctx.vault.identity_hash("id", data.id_number or "") for data in items]
        if len(set(hashes)) != len(hashes):
            raise Conflict("the same person appears twice", message_zh="同一人出现了两次")
        for chunk in chunks(hashes, 900):
            if session.execute(
                select(BlacklistEntry.id).where(
                    BlacklistEntry.id_hash.in_(chunk), BlacklistEntry.removed_at.is_(None)
                )
            ).first():
                raise Conflict(
                    "this person is on the blacklist (失信名单)", message_zh="此人在失信名单中，不能登记"
                )
            if session.execute(
                select(Worker.id).where(Worker.enterprise_id == target, Worker.id_hash.in_(chunk))
            ).first():
                raise Conflict(
                    "this person is already registered at this enterprise", message_zh="此人已在本企业登记"
                )
        today = today_in_china()
        now = utcnow()
        rows = []
        for data, id_hash in zip(items, hashes, strict=True):
            assert data.id_number is not None and data.phone is not None and data.name is not None
            rows.append(
                {
                    "issuer_id": self.ctx.issuer_id,
                    "enterprise_id": target,
                    "name": data.name,
                    "id_hash": id_hash,
                    "id_cipher": self.ctx.vault.encrypt(data.id_number, "worker.id_number"),
                    "id_masked": mask_id(data.id_number),
                    "phone_hash": self.ctx.vault.identity_hash("phone", data.phone),
                    "phone_cipher": self.ctx.vault.encrypt(data.phone, "worker.phone"),
                    "phone_masked": mask_phone(data.phone),
                    "categories": data.categories or 0,
                    "skills": json.dumps(data.skills or [], ensure_ascii=False),
                    "star_level": data.star_level,
                    "health_valid_until": data.health_valid_until,
                    "insurance_valid_until": data.insurance_valid_until,
                    "attention": bool(lapsed(data.health_valid_until, data.insurance_valid_until, today)),
                    "photo_url": data.photo_url,
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        ids = [
            int(i)
            for i in session.execute(
                insert(Worker).returning(Worker.id, sort_by_parameter_order=True), rows
            ).scalars()
        ]
        trainings = [
            {"worker_id": worker_id, "name": name, "issued_on": issued_on, "institution": institution}
            for worker_id, data in zip(ids, items, strict=True)
            for name, issued_on, institution in data.trainings or []
        ]
        if trainings:
            session.execute(insert(Training), trainings)
        for worker_id in ids:
            unit.record(principal, "worker.create", "worker", worker_id, enterprise_id=target)
        return ids

    def update(self, unit: Unit, principal: Principal, worker_id: int, data: WorkerInput) -> Worker:
        scope = self.ctx.scope(principal).require(Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
        session = unit.session
        worker = scope.get(session, Worker, worker_id, lock=True)
        changed: list[str] = []
        if "id_number" in data.given:
            raise ValidationFailed(
                {"id_number": ("身份证号不能修改（请重新登记）", "an ID number cannot change: register anew")}
            )
        for name in (
            "name",
            "categories",
            "star_level",
            "health_valid_until",
            "insurance_valid_until",
            "photo_url",
        ):
            if name in data.given and getattr(worker, name) != getattr(data, name):
                setattr(worker, name, getattr(data, name))
                changed.append(name)
        if "phone" in data.given and data.phone is not None:
            phone_hash = self.ctx.vault.identity_hash("phone", data.phone)
            if phone_hash != worker.phone_hash:
                worker.phone_hash = phone_hash
                worker.phone_cipher = self.ctx.vault.encrypt(data.phone, "worker.phone")
                worker.phone_masked = mask_phone(data.phone)
                changed.append("phone")
        if "skills" in data.given:
            worker.skills = json.dumps(data.skills or [], ensure_ascii=False)
            changed.append("skills")
        if "trainings" in data.given:
            for training in session.execute(
                select(Training).where(Training.worker_id == worker.id)
            ).scalars():
                session.delete(training)
            for name, issued_on, institution in data.trainings or []:
                session.add(
                    Training(worker_id=worker.id, name=name, issued_on=issued_on, institution=institution)
                )
            changed.append("trainings")
        if changed:
            worker.updated_at = utcnow()
            unit.record(principal, "worker.update", "worker", worker.id, fields=sorted(changed))
            self.refresh_attention(unit, principal, worker, today_in_china())
        return worker

    def refresh_attention(self, unit: Unit, principal: Principal, worker: Worker, today: date) -> bool:
        """Set or clear the worker's attention (安心码 yellow) and their live credential's bits."""
        items = attention_items(worker, today)
        flag = bool(items)
        if flag == worker.attention:
            return False
        worker.attention = flag
        unit.record(
            principal,
            "worker.attention_set" if flag else "worker.attention_cleared",
            "worker",
            worker.id,
            items=[i["item"] for i in items],
        )
        for row in unit.session.execute(
            select(Credential).where(Credential.worker_id == worker.id, Credential.status == "active")
        ).scalars():
            row.status_value = status_value(row.status, flag)
            unit.status_changed(row.serial, row.status_value)
        return True

    def get(self, principal: Principal, worker_id: int) -> tuple[Worker, list[Training], Credential | None]:
        scope = self.ctx.scope(principal).require(*READERS)
        with self.ctx.store.read() as session:
            worker = scope.get(session, Worker, worker_id)
            trainings = _trainings(session, worker_id)
            live = session.execute(
                select(Credential).where(
                    Credential.worker_id == worker_id,
                    Credential.status != "revoked",
                    Credential.form == "card",
                )
            ).scalar_one_or_none()
            return worker, trainings, live

    def _worker_query(
        self,
        principal: Principal,
        enterprise_id: int | None,
        q: str | None,
        status: str | None,
        category: int | None,
    ) -> Any:
        """The filtered worker query of a caller (empty for another enterprise than its own)."""
        scope = self.ctx.scope(principal).require(*READERS)
        query = scope.filter(select(Worker), Worker, enterprise_id)
        if status:
            query = query.where(Worker.status == status)
        if category:
            query = query.where(Worker.categories.op("&")(category) != 0)
        if q and q.strip():
            query = query.where(self._search(q.strip()))
        return query

    def listing(
        self,
        principal: Principal,
        *,
        enterprise_id: int | None = None,
        q: str | None = None,
        status: str | None = None,
        page: int = 1,
        per_page: int = 20,
        after: int | None = None,
        category: int | None = None,
    ) -> tuple[list[Worker], bool]:
        """A page of workers in id order: ``after`` (keyset, any depth at index cost) or ``page``.

        Every filter is served by an index: (enterprise_id, id), (enterprise_id, name) for a
        name prefix, the keyed hashes for an exact ID or phone number. ``category`` is a bit
        set of :class:`~anxinma.credential.Category` bits (any of them matches).
        """
        query = self._worker_query(principal, enterprise_id, q, status, category)
        query = query.where(Worker.id > after) if after is not None else query.offset((page - 1) * per_page)
        with self.ctx.store.read() as session:
            rows = list(session.execute(query.order_by(Worker.id).limit(per_page + 1)).scalars())
        return rows[:per_page], len(rows) > per_page

    def count(
        self,
        principal: Principal,
        *,
        enterprise_id: int | None = None,
        q: str | None = None,
        status: str | None = None,
        category: int | None = None,
    ) -> int:
        """How many workers :meth:`listing` would page through (same scope, same filters)."""
        query = self._worker_query(principal, enterprise_id, q, status, category)
        counted = select(func.count()).select_from(query.with_only_columns(Worker.id).subquery())
        with self.ctx.store.read() as session:
            return int(session.execute(counted).scalar_one())

    def _search(self, q: str) -> Any:
        try:
            return Worker.id_hash == self.ctx.vault.identity_hash("id", normalise_id_number(q))
        except ValueError:
            pass
        digits = q.replace(" ", "").removeprefix("+86")
        if len(digits) == 11 and digits.isdigit():
            return Worker.phone_hash == self.ctx.vault.identity_hash("phone", digits)
        if q.isdigit():
            return Worker.id == int(q)
        if "*" in q:
            # A masked name as a credential shows it (李*霞, 王*): first character, then the last
            # one for names of three or more; the prefix keeps it a range on the name index.
            head, _, tail = q.partition("*")
            tail = tail.replace("*", "")
            condition = and_(Worker.name >= head, Worker.name < head + "\U0010ffff") if head else true()
            if tail:
                pattern = tail.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                return and_(
                    condition,
                    Worker.name.like("%" + pattern, escape="\\"),
                    func.length(Worker.name) >= len(head) + len(tail) + 1,
                )
            return condition
        # A name prefix as a range on the (byte-ordered) name index.
        return and_(Worker.name >= q, Worker.name < q + "\U0010ffff")

    def archive(self, principal: Principal, worker_id: int) -> WorkerArchive:
        """The worker's archive (信用档案) in one read, under the caller's scope (another
        enterprise's worker is 404): the worker, trainings, every credential newest first.
        Ratings and complaints are the service loop's (:class:`anxinma.issuer.services.visits.ServiceLoop`)."""
        scope = self.ctx.scope(principal).require(*READERS)
        with self.ctx.store.read() as session:
            worker = scope.get(session, Worker, worker_id)
            trainings = _trainings(session, worker_id)
            credentials = list(
                session.execute(
                    select(Credential)
                    .where(Credential.worker_id == worker_id)
                    .order_by(Credential.serial.desc())
                    .limit(50)
                ).scalars()
            )
            enterprise = session.get(Enterprise, worker.enterprise_id)
        assert enterprise is not None
        return WorkerArchive(
            worker=worker,
            enterprise=enterprise,
            trainings=trainings,
            credentials=credentials,
        )

    def scan_counts(
        self, principal: Principal, worker_id: int, since: date, until: date
    ) -> list[tuple[date, int]]:
        scope = self.ctx.scope(principal).require(*READERS)
        self.scans.flush()
        with self.ctx.store.read() as session:
            scope.get(session, Worker, worker_id)
            return [
                (day, int(count))
                for day, count in session.execute(
                    select(ScanCount.day, ScanCount.count)
                    .where(ScanCount.worker_id == worker_id, ScanCount.day >= since, ScanCount.day <= until)
                    .order_by(ScanCount.day)
                )
            ]


def _trainings(session: Session, worker_id: int) -> list[Training]:
    """A worker's trainings, oldest first (the API's and the archive page's order)."""
    query = select(Training).where(Training.worker_id == worker_id).order_by(Training.issued_on)
    return list(session.execute(query).scalars())


__all__ = ["WorkerArchive", "Workers"]
