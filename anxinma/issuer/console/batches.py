"""The card operator's view: pick workers into a batch for the encoding station, download
the batch file ``anxinma station encode --batch`` reads, and see what became of each worker.

Results come from two places, and the page shows both: the station's report CSV the
operator uploads (its ``status`` and ``reason`` say why a card failed), and the issuer's own
record — a credential issued with a card UID for a batch worker after the batch was made is
an encoded card even before any report arrives. A report row that claims a card the issuer
never issued is shown as a mismatch, not as done.

This module reads the station's CSV by its column names (``worker_id``, ``status``,
``serial``, ``card_uid``, ``reason``; docs/nfc.md) and imports nothing of ``anxinma.nfc``:
the issuer and the station are parts of one floor (docs/interfaces.md, "Layers").
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import Table, bindparam, select, update
from werkzeug.wrappers import Response as BaseResponse

from anxinma import credential as fmt
from anxinma.issuer.auth import Principal, Role
from anxinma.issuer.console.base import (
    blueprint,
    enterprise_choices,
    int_arg,
    me,
    page,
    parse_category_arg,
    section,
    service,
)
from anxinma.issuer.importing import csv_text
from anxinma.issuer.models import CardBatch, CardBatchItem, Credential, Enterprise, Worker, utcnow

#: Columns ``anxinma station encode --batch`` requires, in its order (anxinma/nfc/batch.py).
BATCH_COLUMNS = ("worker_id", "display_name", "enterprise_id", "enterprise_name")
#: The extra column the badge printer reads (a portrait's path, filled in at the desk).
EXTRA_COLUMNS = ("photo",)
#: Result values of the station's report (anxinma/nfc/report.py) the page understands.
STATION_RESULTS = ("done", "failed", "skipped", "pending")
MAX_BATCH = 2000
PER_PAGE = 50
OPERATORS = (Role.CARD_OPERATOR, Role.ISSUER_ADMIN)
MAX_REPORT_BYTES = 8 * 1024 * 1024

RESULT_LABELS: dict[str, Any] = {
    "pending": lazy_gettext("Waiting"),
    "done": lazy_gettext("Encoded"),
    "encoded": lazy_gettext("Encoded (issuer record)"),
    "failed": lazy_gettext("Failed"),
    "skipped": lazy_gettext("Skipped"),
    "mismatch": lazy_gettext("Report does not match the issuer"),
}


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


def _batch(batch_id: int, who: Principal) -> CardBatch:
    with service().store.read() as session:
        batch = session.get(CardBatch, batch_id)
    # A batch of several enterprises (no enterprise_id) is not for an operator of one enterprise.
    if batch is None or (who.enterprise_id is not None and batch.enterprise_id != who.enterprise_id):
        abort(404)
    return batch


def items(batch: CardBatch) -> list[ItemView]:
    """The batch's workers with their results: the station's report where it said something,
    else what the issuer issued for them (with a card UID) since the batch was made."""
    with service().store.read() as session:
        rows = session.execute(
            select(CardBatchItem, Worker.name, Enterprise.name)
            .join(Worker, Worker.id == CardBatchItem.worker_id)
            .join(Enterprise, Enterprise.id == Worker.enterprise_id)
            .where(CardBatchItem.batch_id == batch.id)
            .order_by(CardBatchItem.position)
        ).all()
        ids = [item.worker_id for item, _name, _enterprise in rows]
        issued: dict[int, Credential] = {}
        for start in range(0, len(ids), 900):
            for cred in session.execute(
                select(Credential)
                .where(
                    Credential.worker_id.in_(ids[start : start + 900]),
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


def _visible_workers(who: Principal, ids: list[int]) -> list[Worker]:
    """The listed workers the caller may see (the service's own visibility rule), in order."""
    found: dict[int, Worker] = {}
    svc = service()
    with service().store.read() as session:
        for start in range(0, len(ids), 900):
            for worker in session.execute(
                select(Worker).where(
                    Worker.id.in_(ids[start : start + 900]), Worker.issuer_id == svc.issuer_id
                )
            ).scalars():
                if svc.visible(who, worker.enterprise_id):
                    found[worker.id] = worker
    return [found[i] for i in dict.fromkeys(ids) if i in found]


# -- pages ---------------------------------------------------------------------------------


@blueprint.get("/batches")
@page(*OPERATORS)
def batches() -> str:
    who = me()
    with service().store.read() as session:
        query = select(CardBatch).order_by(CardBatch.id.desc()).limit(100)
        if who.enterprise_id is not None:
            query = query.where(CardBatch.enterprise_id == who.enterprise_id)
        rows = list(session.execute(query).scalars())
        counts: dict[int, Counter[str]] = {b.id: Counter() for b in rows}
        if rows:
            for batch_id, result, number in session.execute(
                select(CardBatchItem.batch_id, CardBatchItem.result, _count())
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
    return render_template("issuer/batches.html", rows=rows, counts=counts, names=names)


def _count() -> Any:
    from sqlalchemy import func

    return func.count()


@blueprint.get("/batches/new")
@page(*OPERATORS)
def new_batch() -> str:
    who = me()
    enterprises = enterprise_choices(who)
    enterprise_id = int_arg("enterprise", 0) or None
    q = request.args.get("q", "").strip()[:64]
    category = parse_category_arg(request.args.get("category"))
    number = int_arg("page", 1, 1, 100000)
    filters: dict[str, Any] = {
        "enterprise_id": enterprise_id,
        "q": q or None,
        "status": "active",
        "category": category,
    }
    rows, more = service().list_workers(who, page=number, per_page=PER_PAGE, **filters)
    total = service().count_workers(who, **filters)
    with service().store.read() as session:
        cards = dict(
            session.execute(
                select(Credential.worker_id, Credential.card_uid).where(
                    Credential.worker_id.in_([w.id for w in rows]), Credential.status != "revoked"
                )
            ).all()
        )
    names = dict(enterprises)
    return render_template(
        "issuer/batch_new.html",
        rows=rows,
        more=more,
        total=total,
        number=number,
        enterprises=enterprises,
        enterprise_id=enterprise_id,
        q=q,
        category=request.args.get("category", ""),
        cards=cards,
        names=names,
        max_batch=MAX_BATCH,
    )


@blueprint.post("/batches")
@page(*OPERATORS)
def create_batch() -> BaseResponse | tuple[str, int]:
    who = me()
    form = request.form
    enterprise_id = int(form["enterprise"]) if form.get("enterprise", "").isdigit() else None
    if form.get("all_matching") == "1":
        ids: list[int] = []
        after = 0
        filters: dict[str, Any] = {
            "enterprise_id": enterprise_id,
            "q": form.get("q") or None,
            "status": "active",
            "category": parse_category_arg(form.get("category")),
        }
        while len(ids) < MAX_BATCH:
            rows, more = service().list_workers(who, after=after, per_page=100, **filters)
            ids += [w.id for w in rows]
            if not more or not rows:
                break
            after = rows[-1].id
        ids = ids[:MAX_BATCH]
    else:
        ids = [int(v) for v in form.getlist("worker") if v.isdigit()][:MAX_BATCH]
    workers = _visible_workers(who, ids)
    if not workers:
        return (
            render_template(
                "issuer/error.html",
                status=400,
                title=_("No workers chosen"),
                heading=_("No workers chosen"),
                detail=_("Tick the workers to put into the batch, or choose all that match the filter."),
            ),
            400,
        )
    label = (form.get("label") or "").strip()[:64] or _(
        "Batch of %(day)s", day=datetime.now(fmt.CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    )
    enterprises = {w.enterprise_id for w in workers}
    with service().store.write() as session:
        batch = CardBatch(
            label=label,
            enterprise_id=enterprises.pop() if len(enterprises) == 1 else None,
            actor=who.actor,
            size=len(workers),
        )
        session.add(batch)
        session.flush()
        session.add_all(
            CardBatchItem(batch_id=batch.id, worker_id=w.id, position=n, result="pending")
            for n, w in enumerate(workers, 1)
        )
        batch_id = batch.id
    return redirect(url_for("console.batch", batch_id=batch_id), 303)


@blueprint.get("/batches/<int:batch_id>")
@page(*OPERATORS)
def batch(batch_id: int) -> str:
    section("console.batches")
    found = _batch(batch_id, me())
    views = items(found)
    tally = Counter(v.result for v in views)
    return render_template(
        "issuer/batch.html",
        batch=found,
        items=views,
        tally=tally,
        labels=RESULT_LABELS,
        done=request.args.get("done", ""),
        report=request.args.to_dict(),
    )


@blueprint.get("/batches/<int:batch_id>/batch.csv")
@page(*OPERATORS)
def batch_csv(batch_id: int) -> Response:
    """The station's batch file: ``worker_id,display_name,enterprise_id,enterprise_name,photo``."""
    found = _batch(batch_id, me())
    with service().store.read() as session:
        rows = session.execute(
            select(Worker.id, Worker.name, Worker.enterprise_id, Enterprise.name)
            .join(CardBatchItem, CardBatchItem.worker_id == Worker.id)
            .join(Enterprise, Enterprise.id == Worker.enterprise_id)
            .where(CardBatchItem.batch_id == found.id)
            .order_by(CardBatchItem.position)
        ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*BATCH_COLUMNS, *EXTRA_COLUMNS])
    for worker_id, name, enterprise_id, enterprise_name in rows:
        writer.writerow([worker_id, fmt.mask_name(name), enterprise_id, enterprise_name, ""])
    response = Response(out.getvalue().encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="batch-{found.id}.csv"'
    return response


@dataclass
class ReportOutcome:
    applied: int = 0
    unknown: int = 0
    mismatched: int = 0


def apply_report(batch: CardBatch, data: bytes) -> ReportOutcome:
    """Record the station's report rows against the batch's workers. A ``done`` row counts
    only if the issuer holds that credential for that worker with that card UID."""
    text = csv_text(data)
    if text is None:
        raise ValueError(_("The report is not a CSV file in UTF-8."))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    if "worker_id" not in header or "status" not in header:
        raise ValueError(_("This is not the station's report: it needs the columns worker_id and status."))
    reader.fieldnames = header
    outcome = ReportOutcome()
    now = utcnow()
    with service().store.write() as session:
        members = set(
            session.execute(
                select(CardBatchItem.worker_id).where(CardBatchItem.batch_id == batch.id)
            ).scalars()
        )
        # Every credential of the batch's workers, read once: a report of 2,000 rows is judged
        # against it in memory, and its rows are written in one executemany.
        held = {
            (int(serial), int(worker or 0)): uid
            for serial, worker, uid in session.execute(
                select(Credential.serial, Credential.worker_id, Credential.card_uid).where(
                    Credential.worker_id.in_(members)
                )
            )
        }
        changes: list[dict[str, Any]] = []
        for record in reader:
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
                    reason = _(
                        "The issuer has no credential %(serial)s with this card for this worker.",
                        serial=serial_text or "-",
                    )
                    outcome.mismatched += 1
            changes.append(
                {"w": worker_id, "result": result, "serial": serial, "card_uid": card_uid, "reason": reason}
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
        session.execute(
            update(CardBatch)
            .where(CardBatch.id == batch.id)
            .values(report_at=now, report_sha256=hashlib.sha256(data).hexdigest())
        )
    return outcome


@blueprint.post("/batches/<int:batch_id>/report")
@page(*OPERATORS)
def batch_report(batch_id: int) -> BaseResponse | tuple[str, int]:
    section("console.batches")
    found = _batch(batch_id, me())
    upload = request.files.get("report")
    data = upload.read(MAX_REPORT_BYTES + 1) if upload is not None else b""
    problem: str | None = None
    if not data:
        problem = _("Choose the report CSV the station wrote.")
    elif len(data) > MAX_REPORT_BYTES:
        problem = _("The report is larger than 8 MB.")
    else:
        try:
            outcome = apply_report(found, data)
        except ValueError as exc:
            problem = str(exc)
        else:
            return redirect(
                url_for(
                    "console.batch",
                    batch_id=batch_id,
                    done="report",
                    applied=outcome.applied,
                    unknown=outcome.unknown,
                    mismatched=outcome.mismatched,
                ),
                303,
            )
    views = items(found)
    return (
        render_template(
            "issuer/batch.html",
            batch=found,
            items=views,
            tally=Counter(v.result for v in views),
            labels=RESULT_LABELS,
            done="",
            report={},
            problem=problem,
        ),
        400,
    )
