"""Card batches for the encoding station: which workers go into a batch, what became of each
(the station's report and the issuer's own record), all under the caller's scope.

Results come from two places: the station's report CSV (its ``status`` and ``reason`` say why
a card failed), and the issuer's record — a credential issued with a card UID for a batch
worker after the batch was made is an encoded card even before any report arrives. A report
row that claims a card the issuer never issued is a mismatch, not done. Creating a batch and
applying a report are audited (``batch.create``, ``batch.report``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update

from anxinma import credential as fmt
from anxinma.issuer.services.auth import Principal
from anxinma.issuer.services.context import Context, chunks
from anxinma.issuer.store.models import CardBatch, CardBatchItem, Credential, Enterprise, Worker, utcnow

#: Result values of the station's report (anxinma/nfc/report.py) a batch understands.
STATION_RESULTS = ("done", "failed", "skipped", "pending")


@dataclass(frozen=True)
class ItemView:
    """One worker of a batch as the page shows it."""

    position: int
    worker_id: int
    display_name: str
    enterprise_name: str
    result: str
    serial: int | None
    card_uid: str | None
    reason: str | None


@dataclass
class ReportOutcome:
    applied: int = 0
    unknown: int = 0
    mismatched: int = 0


class CardBatches:
    """The card desk's batches of one issuer."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def get(self, who: Principal, batch_id: int) -> CardBatch:
        """The batch, or 404. A batch of several enterprises (no enterprise) is the issuer's:
        not for an operator of one enterprise."""
        with self.ctx.store.read() as session:
            return self.ctx.scope(who).get(session, CardBatch, batch_id)

    def listing(
        self, who: Principal, limit: int = 100
    ) -> tuple[list[CardBatch], dict[int, Counter[str]], dict[int, str]]:
        """The newest batches the caller may see, their results counted, their enterprises' names."""
        query = select(CardBatch).order_by(CardBatch.id.desc()).limit(limit)
        with self.ctx.store.read() as session:
            rows = list(session.execute(self.ctx.scope(who).filter(query, CardBatch)).scalars())
            counts: dict[int, Counter[str]] = {b.id: Counter() for b in rows}
            if rows:
                for batch_id, result, number in session.execute(
                    select(CardBatchItem.batch_id, CardBatchItem.result, func.count())
                    .where(CardBatchItem.batch_id.in_([b.id for b in rows]))
                    .group_by(CardBatchItem.batch_id, CardBatchItem.result)
                ):
                    counts[batch_id][result] = int(number)
            names = dict(
                session.execute(
                    select(Enterprise.id, Enterprise.name).where(
                        Enterprise.id.in_({b.enterprise_id for b in rows if b.enterprise_id})
                    )
                ).all()
            )
        return rows, counts, names

    def visible_workers(self, who: Principal, ids: Sequence[int]) -> list[Worker]:
        """The listed workers the caller may see, in the order asked (others are left out)."""
        scope = self.ctx.scope(who)
        found: dict[int, Worker] = {}
        with self.ctx.store.read() as session:
            for chunk in chunks(list(dict.fromkeys(ids))):
                query = scope.filter(select(Worker).where(Worker.id.in_(chunk)), Worker)
                found.update({w.id: w for w in session.execute(query).scalars()})
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    def cards(self, who: Principal, worker_ids: Iterable[int]) -> dict[int, str | None]:
        """The card UID of each listed worker's live credential (the caller's workers only)."""
        query = select(Credential.worker_id, Credential.card_uid).where(
            Credential.worker_id.in_(list(worker_ids)),
            Credential.status != "revoked",
            Credential.form == "card",
        )
        with self.ctx.store.read() as session:
            return {
                int(w or 0): uid
                for w, uid in session.execute(self.ctx.scope(who).filter(query, Credential)).all()
            }

    def create(self, who: Principal, worker_ids: Sequence[int], label: str) -> int | None:
        """A batch of the listed workers the caller may see; its id, or None when there is none."""
        workers = self.visible_workers(who, worker_ids)
        if not workers:
            return None
        enterprises = {w.enterprise_id for w in workers}
        with self.ctx.tx() as unit:
            batch = CardBatch(
                label=label,
                enterprise_id=enterprises.pop() if len(enterprises) == 1 else None,
                actor=who.actor,
                size=len(workers),
            )
            unit.session.add(batch)
            unit.session.flush()
            unit.session.add_all(
                CardBatchItem(batch_id=batch.id, worker_id=w.id, position=n, result="pending")
                for n, w in enumerate(workers, 1)
            )
            unit.record(who, "batch.create", "card_batch", batch.id, size=len(workers))
            return int(batch.id)

    def items(self, batch: CardBatch) -> list[ItemView]:
        """The batch's workers with their results: the station's report where it said
        something, else what the issuer issued for them (with a card UID) since the batch."""
        with self.ctx.store.read() as session:
            rows = session.execute(
                select(CardBatchItem, Worker.name, Enterprise.name)
                .join(Worker, Worker.id == CardBatchItem.worker_id)
                .join(Enterprise, Enterprise.id == Worker.enterprise_id)
                .where(CardBatchItem.batch_id == batch.id)
                .order_by(CardBatchItem.position)
            ).all()
            ids = [item.worker_id for item, _name, _enterprise in rows]
            issued: dict[int, Credential] = {}
            for chunk in chunks(ids):
                for cred in session.execute(
                    select(Credential)
                    .where(
                        Credential.worker_id.in_(chunk),
                        Credential.card_uid.is_not(None),
                        Credential.created_at >= batch.created_at,
                    )
                    .order_by(Credential.serial)
                ).scalars():
                    issued[int(cred.worker_id or 0)] = cred  # the newest wins
        views = []
        for item, name, enterprise_name in rows:
            result, serial, card_uid, reason = item.result, item.serial, item.card_uid, item.reason
            made = issued.get(item.worker_id)
            if result == "pending" and made is not None:
                result, serial, card_uid = "encoded", made.serial, made.card_uid
            views.append(
                ItemView(
                    item.position,
                    item.worker_id,
                    fmt.mask_name(name),
                    enterprise_name,
                    result,
                    serial,
                    card_uid,
                    reason,
                )
            )
        return views

    def station_rows(self, batch: CardBatch) -> list[tuple[int, str, int, str]]:
        """(worker id, masked name, enterprise id, the issuer's name of that enterprise) per
        worker of the batch, in order: the station's batch file."""
        with self.ctx.store.read() as session:
            rows = session.execute(
                select(Worker.id, Worker.name, Worker.enterprise_id, Enterprise.name)
                .join(CardBatchItem, CardBatchItem.worker_id == Worker.id)
                .join(Enterprise, Enterprise.id == Worker.enterprise_id)
                .where(CardBatchItem.batch_id == batch.id)
                .order_by(CardBatchItem.position)
            ).all()
        return [(int(w), fmt.mask_name(name), int(e), str(en)) for w, name, e, en in rows]

    def apply_report(
        self,
        who: Principal,
        batch: CardBatch,
        records: Iterable[Mapping[str, str | None]],
        data: bytes,
        mismatch: Callable[[str], str],
    ) -> ReportOutcome:
        """Record the station's report rows (``records``, read from the file ``data``) against
        the batch's workers. A ``done`` row counts only if the issuer holds that credential for
        that worker with that card UID; ``mismatch(serial)`` words the reason of one that does not."""
        outcome = ReportOutcome()
        now = utcnow()
        with self.ctx.tx() as unit:
            session = unit.session
            members = set(
                session.execute(
                    select(CardBatchItem.worker_id).where(CardBatchItem.batch_id == batch.id)
                ).scalars()
            )
            # Every credential of the batch's workers, read once: a report of 2,000 rows is
            # judged against it in memory, and its rows are written in one executemany.
            held = {
                (int(serial), int(worker or 0)): uid
                for serial, worker, uid in session.execute(
                    select(Credential.serial, Credential.worker_id, Credential.card_uid).where(
                        Credential.worker_id.in_(members)
                    )
                )
            }
            changes: list[dict[str, Any]] = []
            for record in records:
                raw_id = (record.get("worker_id") or "").strip()
                status = (record.get("status") or "").strip()
                if not raw_id.isdigit() or int(raw_id) not in members or status not in STATION_RESULTS:
                    outcome.unknown += 1
                    continue
                worker_id = int(raw_id)
                serial_text = (record.get("serial") or "").strip()
                serial = int(serial_text) if serial_text.isdigit() else None
                card_uid = (record.get("card_uid") or "").strip().lower() or None
                reason = (record.get("reason") or "").strip()[:500] or None
                result = status
                if status == "done":
                    uid = held.get((serial, worker_id)) if serial is not None else None
                    if not uid or (card_uid is not None and uid.lower() != card_uid):
                        result = "mismatch"
                        reason = mismatch(serial_text or "-")
                        outcome.mismatched += 1
                changes.append(
                    {
                        "w": worker_id,
                        "result": result,
                        "serial": serial,
                        "card_uid": card_uid,
                        "reason": reason,
                    }
                )
                outcome.applied += 1
            if changes:
                items: Table = CardBatchItem.__table__  # type: ignore[assignment]
                session.execute(
                    update(items)
                    .where(items.c.batch_id == batch.id, items.c.worker_id == bindparam("w"))
                    .values(reported_at=now),
                    changes,
                )
            digest = hashlib.sha256(data).hexdigest()
            session.execute(
                update(CardBatch).where(CardBatch.id == batch.id).values(report_at=now, report_sha256=digest)
            )
            unit.record(
                who,
                "batch.report",
                "card_batch",
                batch.id,
                applied=outcome.applied,
                unknown=outcome.unknown,
                mismatched=outcome.mismatched,
                sha256=digest,
            )
        return outcome


__all__ = ["STATION_RESULTS", "CardBatches", "ItemView", "ReportOutcome"]
