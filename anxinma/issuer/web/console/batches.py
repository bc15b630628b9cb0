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
import io
from collections import Counter
from datetime import datetime
from typing import Any

from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from anxinma import credential as fmt
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.batches import ItemView, ReportOutcome
from anxinma.issuer.store.models import CardBatch
from anxinma.issuer.web.console.base import (
    blueprint,
    enterprise_choices,
    int_arg,
    me,
    page,
    parse_category_arg,
    section,
    service,
)
from anxinma.issuer.web.importing import csv_text
from anxinma.issuer.web.params import id_value

#: Columns ``anxinma station encode --batch`` requires, in its order (anxinma/nfc/batch.py).
BATCH_COLUMNS = ("worker_id", "display_name", "enterprise_id", "enterprise_name")
#: The extra column the badge printer reads (a portrait's path, filled in at the desk).
EXTRA_COLUMNS = ("photo",)
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


def _batch(batch_id: int, who: Principal) -> CardBatch:
    return service().batches.get(who, batch_id)


def items(batch: CardBatch) -> list[ItemView]:
    """The batch's workers with their results (:meth:`CardBatches.items`)."""
    return service().batches.items(batch)


# -- pages ---------------------------------------------------------------------------------


@blueprint.get("/batches")
@page(*OPERATORS)
def batches() -> str:
    rows, counts, names = service().batches.listing(me())
    return render_template("issuer/batches.html", rows=rows, counts=counts, names=names)


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
    rows, more = service().workers.listing(who, page=number, per_page=PER_PAGE, **filters)
    total = service().workers.count(who, **filters)
    cards = service().batches.cards(who, [w.id for w in rows])
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
    enterprise_id = id_value(form.get("enterprise"))
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
            rows, more = service().workers.listing(who, after=after, per_page=100, **filters)
            ids += [w.id for w in rows]
            if not more or not rows:
                break
            after = rows[-1].id
        ids = ids[:MAX_BATCH]
    else:
        ids = [i for i in map(id_value, form.getlist("worker")) if i is not None][:MAX_BATCH]
    label = (form.get("label") or "").strip()[:64] or _(
        "Batch of %(day)s", day=datetime.now(fmt.CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    )
    batch_id = service().batches.create(who, ids, label)
    if batch_id is None:
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
        issuer_url=str(service().config.base_url),
        done=request.args.get("done", ""),
        report=request.args.to_dict(),
    )


@blueprint.get("/batches/<int:batch_id>/batch.csv")
@page(*OPERATORS)
def batch_csv(batch_id: int) -> Response:
    """The station's batch file: ``worker_id,display_name,enterprise_id,enterprise_name,photo``."""
    found = _batch(batch_id, me())
    rows = service().batches.station_rows(found)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*BATCH_COLUMNS, *EXTRA_COLUMNS])
    for worker_id, display_name, enterprise_id, enterprise_name in rows:
        writer.writerow([worker_id, display_name, enterprise_id, enterprise_name, ""])
    response = Response(out.getvalue().encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="batch-{found.id}.csv"'
    return response


def apply_report(batch: CardBatch, data: bytes) -> ReportOutcome:
    """Read the station's report CSV by its column names and hand its rows to the service,
    which judges them against the issuer's record and writes them (audited)."""
    text = csv_text(data)
    if text is None:
        raise ValueError(_("The report is not a CSV file in UTF-8."))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    if "worker_id" not in header or "status" not in header:
        raise ValueError(_("This is not the station's report: it needs the columns worker_id and status."))
    reader.fieldnames = header

    def mismatch(serial: str) -> str:
        return str(
            _("The issuer has no credential %(serial)s with this card for this worker.", serial=serial)
        )

    return service().batches.apply_report(me(), batch, reader, data, mismatch)


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
