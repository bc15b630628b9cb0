"""The service loop in the consoles: visits (确认入户), the enterprise's rating of its worker
(三方互评) and complaints (投诉), for the enterprise (its own) and the regulator.

Every read and write is :class:`~anxinma.issuer.services.visits.ServiceLoop`'s, the same code the API
runs, with the signed-in principal: another enterprise's visit or complaint is a 404 here too.
Forms are judged by the API's rules (:func:`~anxinma.issuer.services.visits.parse_rating`,
:func:`~anxinma.issuer.services.visits.parse_resolution`) and a refused one keeps what was typed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from anxinma.issuer.errors import ApiError, ValidationFailed
from anxinma.issuer.services.auth import Role
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.visits import ServiceLoop, Window, parse_rating, parse_resolution
from anxinma.issuer.store.models import COMPLAINT_CATEGORIES
from anxinma.issuer.web.console.base import (
    api_message,
    blueprint,
    csv_response,
    enterprise_names,
    field_errors,
    int_arg,
    me,
    page,
    safe_next,
    section,
    service,
    tenant_columns,
)
from anxinma.issuer.web.console.present import with_times
from anxinma.issuer.web.params import id_value

PER_PAGE = 50
READERS = (Role.ENTERPRISE_ADMIN, Role.REGULATOR, Role.ISSUER_ADMIN)
STATES = {"open": False, "resolved": True, "all": None}


def loop() -> ServiceLoop:
    return service().visits


def _newest(before: int | None, limit: int = PER_PAGE + 1) -> Window:
    """A page's rows, newest first, older than ``before``: one more than shown tells "older"."""
    return Window(before=before, limit=limit, newest_first=True)


def _newest_page(rows: list[dict[str, Any]], before: int | None, *times: str) -> dict[str, Any]:
    """One page of rows read through :func:`_newest` (one more than shown), their ``times`` as
    datetimes, the link to older rows, and for a city-wide reader the enterprise filter and names."""
    shown = with_times(rows[:PER_PAGE], *times)
    choices, names = tenant_columns(me(), {r["enterprise_id"] for r in shown if r["enterprise_id"]})
    return {
        "rows": shown,
        "next_before": shown[-1]["id"] if len(rows) > PER_PAGE else None,
        "first_page": before is None,
        "enterprises": choices,
        "names": names,
    }


def _enterprise_filter() -> int | None:
    """The enterprise a regulator filters on (an enterprise is held to its own by the loop)."""
    return int_arg("enterprise", 0) or None if service().scope(me()).city_wide else None


# -- visits --------------------------------------------------------------------------------


@blueprint.get("/visits")
@page(*READERS)
def visits() -> str:
    who = me()
    worker_id = int_arg("worker", 0) or None
    enterprise_id = _enterprise_filter()
    before = int_arg("before", 0) or None
    worker = service().workers.archive(who, worker_id).worker if worker_id else None  # 404 if not theirs
    rows = loop().visits(who, worker_id=worker_id, enterprise_id=enterprise_id, window=_newest(before))
    return render_template(
        "issuer/visits.html",
        **_newest_page(rows, before, "confirmed_at"),
        worker=worker,
        enterprise_id=enterprise_id,
        can_rate=who.role == Role.ENTERPRISE_ADMIN,
        done=request.args.get("done", ""),
    )


@blueprint.route("/visits/<int:visit_id>/rate", methods=["GET", "POST"])
@page(Role.ENTERPRISE_ADMIN)
def rate_visit(visit_id: int) -> BaseResponse | str | tuple[str, int]:
    """The enterprise rates its worker for one visit: once; a second try says it was done."""
    section("console.visits")
    visit = with_times([loop().visit(me(), visit_id)], "confirmed_at")[0]
    back = safe_next(request.values.get("next")) or url_for("console.visits")
    form: dict[str, str] = {}
    errors: dict[str, str] = {}
    problem: str | None = None
    status = 200
    if request.method == "POST":
        form = {"score": request.form.get("score", ""), "comment": request.form.get("comment", "")}
        data: dict[str, Any] = {"score": id_value(form["score"])}
        data["comment"] = form["comment"]
        try:
            score, comment = parse_rating(data)
            loop().rate_as_enterprise(me(), visit_id, score, comment)
        except ValidationFailed as exc:
            errors, status = field_errors(exc), 400
        except ApiError as exc:
            problem, status = api_message(exc), exc.http_status
        else:
            separator = "&" if "?" in back else "?"
            return redirect(f"{back}{separator}done=rated", 303)
    return (
        render_template(
            "issuer/visit_rate.html",
            visit=visit,
            form=form,
            errors=errors,
            problem=problem,
            back=back,
        ),
        status,
    )


# -- complaints ----------------------------------------------------------------------------


def _complaint_filters() -> dict[str, Any]:
    state = request.args.get("state", "open")
    category = request.args.get("category", "")
    return {
        "state": state if state in STATES else "open",
        "category": category if category in COMPLAINT_CATEGORIES else "",
        "enterprise_id": _enterprise_filter(),
        "worker_id": int_arg("worker", 0) or None,
    }


def _complaints(
    filters: dict[str, Any], *, before: int | None, limit: int = PER_PAGE + 1
) -> list[dict[str, Any]]:
    return loop().complaints(
        me(),
        resolved=STATES[filters["state"]],
        category=filters["category"] or None,
        enterprise_id=filters["enterprise_id"],
        worker_id=filters["worker_id"],
        window=_newest(before, limit),
    )


@blueprint.get("/complaints")
@page(*READERS)
def complaints() -> str:
    who = me()
    filters = _complaint_filters()
    before = int_arg("before", 0) or None
    rows = _complaints(filters, before=before)
    return render_template(
        "issuer/complaints.html",
        **_newest_page(rows, before, "filed_at", "resolved_at"),
        filters=filters,
        categories=COMPLAINT_CATEGORIES,
        open_count=sum(loop().open_complaints(who).values()),
        done=request.args.get("done", ""),
    )


def _all_matching(filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    before: int | None = None
    while True:
        chunk = _complaints(filters, before=before, limit=500)
        yield from chunk
        if len(chunk) < 500:
            return
        before = chunk[-1]["id"]


@blueprint.get("/complaints.csv")
@page(*READERS)
def complaints_csv() -> Response:
    """Every complaint the page's filters match (all pages), with the enterprise's name."""
    rows = with_times(list(_all_matching(_complaint_filters())), "filed_at", "resolved_at")
    names = enterprise_names({r["enterprise_id"] for r in rows if r["enterprise_id"]})
    return csv_response(
        f"complaints-{today_in_china()}.csv",
        [
            "id",
            "filed_at",
            "category",
            "summary",
            "worker_id",
            "worker",
            "enterprise_id",
            "enterprise",
            "credential_serial",
            "visit_id",
            "resolved",
            "resolved_at",
            "resolved_by",
            "resolution",
        ],
        (
            [
                r["id"],
                r["filed_at"],
                r["category"],
                r["summary"],
                r["worker_id"],
                r["worker_display_name"],
                r["enterprise_id"],
                names.get(r["enterprise_id"], ""),
                r["credential_serial"],
                r["visit_id"],
                "yes" if r["resolved"] else "no",
                r["resolved_at"],
                r["resolved_by"],
                r["resolution"],
            ]
            for r in rows
        ),
    )


@blueprint.route("/complaints/<int:complaint_id>/resolve", methods=["GET", "POST"])
@page(*READERS)
def resolve_complaint(complaint_id: int) -> BaseResponse | str | tuple[str, int]:
    """Close a complaint with what was done; the enterprise (its own) or the regulator."""
    section("console.complaints")
    complaint = with_times([loop().complaint(me(), complaint_id)], "filed_at", "resolved_at")[0]
    resolution = ""
    error: str | None = None
    problem: str | None = None
    status = 200
    if request.method == "POST" and not complaint["resolved"]:
        resolution = request.form.get("resolution", "")
        try:
            loop().resolve(me(), complaint_id, parse_resolution({"resolution": resolution}))
        except ValidationFailed as exc:
            error, status = "；".join(field_errors(exc).values()), 400
        except ApiError as exc:
            problem, status = api_message(exc), exc.http_status
        else:
            return redirect(url_for("console.complaints", done="resolved"), 303)
    names = enterprise_names({complaint["enterprise_id"]} if complaint["enterprise_id"] else set())
    return (
        render_template(
            "issuer/complaint_resolve.html",
            c=complaint,
            enterprise_name=names.get(complaint["enterprise_id"], ""),
            resolution=resolution,
            error=error,
            problem=problem,
        ),
        status,
    )


# -- abuse: ratings not counted, reports of fake codes --------------------------------------

#: Why a consumer reported a code, as the console names it.
REPORT_REASON_LABELS = {
    "revoked_in_use": lazy_gettext("A revoked or suspended code in use"),
    "cannot_verify": lazy_gettext("Cannot verify / looks forged"),
    "wrong_person": lazy_gettext("Shown by someone other than the person on the card"),
    "other": lazy_gettext("Other"),
}
#: Why a stored rating does not count toward the public average (the rating rule).
FLAG_LABELS = {
    "client_repeat": lazy_gettext("the same client again within 30 days"),
    "client_daily": lazy_gettext("more than 3 from one client in a day"),
    "credential_daily": lazy_gettext("more than 3 unverified for one code in a day"),
}


@blueprint.get("/reports")
@page(*READERS)
def reports() -> str:
    """Abuse the consumer's page brings in: consumer ratings stored but not counted (a photo
    of a badge being used to rate) and reports of fake codes — the enterprise's own, the
    regulator's all (the forged ones with no enterprise among them)."""
    who = me()
    before = int_arg("before", 0) or None
    enterprise_id = _enterprise_filter()
    rows = service().reports.reports(who, enterprise_id=enterprise_id, window=_newest(before))
    flagged = loop().flagged_ratings(who)
    if enterprise_id is not None:
        flagged = [f for f in flagged if f["enterprise_id"] == enterprise_id]
    shown = _newest_page(rows, before, "filed_at")
    _, flagged_names = tenant_columns(who, {f["enterprise_id"] for f in flagged if f["enterprise_id"]})
    return render_template(
        "issuer/reports.html",
        **shown,
        flagged=with_times(flagged, "latest"),
        flagged_names=flagged_names,
        enterprise_id=enterprise_id,
        reason_labels=REPORT_REASON_LABELS,
        flag_labels=FLAG_LABELS,
    )
