"""The regulator's dashboard (商务局): 持证率 and 亮证率 per enterprise and for the city, over time,
beside each enterprise's check-ins this month (按月打卡) and open complaints; credentials
expiring soon; lapsed health certificates; the blacklist (失信名单). Every table shown has a
CSV export beside it. The issuer admin sees the same pages.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from anxinma.issuer.errors import ApiError, ValidationFailed
from anxinma.issuer.services import stats
from anxinma.issuer.services.auth import Role
from anxinma.issuer.services.checkins import this_month
from anxinma.issuer.services.district import DISTRICTS
from anxinma.issuer.services.rules import mask_id, today_in_china
from anxinma.issuer.services.validation import normalise_id_number
from anxinma.issuer.store.models import AuditEntry
from anxinma.issuer.web.console.base import (
    api_message,
    blueprint,
    csv_response,
    enterprise_choices,
    field_errors,
    int_arg,
    me,
    page,
    pick,
    section,
    service,
)
from anxinma.issuer.web.console.charts import Series, bar, line_chart

WATCHERS = (Role.REGULATOR, Role.ISSUER_ADMIN)
PER_PAGE = 50
PERIODS = stats.PERIODS
SPANS = (30, 90, 365)
SORTS = ("holding", "display", "registered", "name")


def live() -> stats.LiveFigures:
    """The app's cache of today's figures (one per process)."""
    cached = current_app.extensions.get("anxinma.console.live")
    if cached is None:
        svc = service()
        cached = stats.LiveFigures(svc.store, svc.issuer_id, flush=svc.scans.flush)
        current_app.extensions["anxinma.console.live"] = cached
    assert isinstance(cached, stats.LiveFigures)
    return cached


def _choice(name: str, allowed: tuple[int, ...], default: int) -> int:
    value = int_arg(name, default)
    return value if value in allowed else default


def _figures(period: int, *, fresh: bool) -> tuple[Any, dict[int, stats.Figures]]:
    """Today's figures of the enterprises the signed-in regulator sees (a district
    regulator: its district's only; the cache holds the whole city's)."""
    computed_at, figures = live().get(today_in_china(), period, fresh=fresh)
    if service().scope(me()).district is None:
        return computed_at, figures
    seen = set(_names())
    return computed_at, {eid: f for eid, f in figures.items() if eid in seen}


def _names() -> dict[int, str]:
    """The enterprises the signed-in regulator sees, by id (the tenant rule's)."""
    return dict(enterprise_choices(me()))


def _history_ids() -> set[int] | None:
    """Which enterprises' snapshots a history sums: None (all) for the city, a district's own."""
    return None if service().scope(me()).district is None else set(_names())


def _of(by_day: dict[date, stats.Figures], day: date, rate: str) -> float | None:
    figures = by_day.get(day)
    return getattr(figures, rate) if figures is not None else None


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _sorted(rows: list[tuple[int, str, stats.Figures]], sort: str) -> list[tuple[int, str, stats.Figures]]:
    if sort == "name":
        return sorted(rows, key=lambda r: r[1])
    if sort == "registered":
        return sorted(rows, key=lambda r: (-r[2].registered, r[1]))
    if sort == "display":
        return sorted(rows, key=lambda r: (r[2].display_rate if r[2].display_rate is not None else 2, r[1]))
    return sorted(rows, key=lambda r: (r[2].holding_rate if r[2].holding_rate is not None else 2, r[1]))


def _enterprise_rows(figures: dict[int, stats.Figures]) -> list[tuple[int, str, stats.Figures]]:
    names = _names()
    return [(eid, name, figures.get(eid, stats.Figures())) for eid, name in names.items()]


@blueprint.get("/dashboard")
@page(*WATCHERS)
def dashboard() -> str:
    period = _choice("period", PERIODS, stats.PERIOD_DAYS)
    span = _choice("days", SPANS, 90)
    sort = request.args.get("sort", "holding")
    sort = sort if sort in SORTS else "holding"
    enterprise_id = int_arg("enterprise", 0) or None
    computed_at, figures = _figures(period, fresh=request.args.get("refresh") == "1")
    today = today_in_china()
    if enterprise_id is not None:
        enterprise = service().enterprises.get(me(), enterprise_id)  # 404 for an unknown one
        current = figures.get(enterprise_id, stats.Figures())
    else:
        enterprise = None
        current = stats.total(figures.values())
    first = today - timedelta(days=span - 1)
    points = stats.history(
        service().store,
        first,
        today - timedelta(days=1),
        period_days=period,
        enterprise_id=enterprise_id,
        enterprise_ids=_history_ids(),
    )
    points.append(stats.Point(today, current, live=True))
    by_day = {p.day: p.figures for p in points}
    days = [first + timedelta(days=i) for i in range(span)]  # the whole window, gaps where no figure
    series = [
        Series(_("Holding rate"), [_of(by_day, d, "holding_rate") for d in days], "holding"),
        Series(_("Display rate"), [_of(by_day, d, "display_rate") for d in days], "display"),
    ]
    title = _("Holding and display rate, last %(days)s days", days=span)
    description = _(
        "Holding rate %(holding)s and display rate %(display)s today; one point a day from the daily job.",
        holding=_rate(current.holding_rate),
        display=_rate(current.display_rate),
    )
    # Two drawings of one chart: a wide one, and one for phones whose labels stay legible.
    chart = line_chart(days, series, title=title, description=description, css_class="wide") + line_chart(
        days,
        series,
        title=title,
        description=description,
        width=360,
        height=200,
        ticks=3,
        ident="cn",
        css_class="narrow",
    )
    rows = _sorted(_enterprise_rows(figures), sort) if enterprise_id is None else []
    month = this_month()
    checked_in, open_complaints = _loop_counts(month)
    number = int_arg("page", 1, 1, 10000)
    shown = rows[(number - 1) * PER_PAGE : number * PER_PAGE]
    # The city's regulator sees a row per district (a district's own sees its enterprises only).
    district_rows = (
        stats.by_district(figures, service().enterprises.districts(me()), checked_in, open_complaints)
        if enterprise_id is None and service().scope(me()).district is None
        else []
    )
    return render_template(
        "issuer/dashboard.html",
        district_rows=district_rows,
        district_names=DISTRICTS,
        current=current,
        enterprise=enterprise,
        computed_at=computed_at,
        chart=chart,
        points=points,
        rows=shown,
        more=len(rows) > number * PER_PAGE,
        number=number,
        enterprises_total=len(rows),
        period=period,
        span=span,
        sort=sort,
        periods=PERIODS,
        spans=SPANS,
        rate=_rate,
        bar=bar,
        month=month,
        checked_in=checked_in,
        open_complaints=open_complaints,
        checked_in_total=checked_in.get(enterprise_id, 0) if enterprise_id else sum(checked_in.values()),
        open_total=open_complaints.get(enterprise_id, 0) if enterprise_id else sum(open_complaints.values()),
        # Abuse of the consumer's page (docs/page.md): ratings left out, reports of fake codes.
        flagged_total=sum(f["flagged"] for f in service().visits.flagged_ratings(me())),
        reports_total=service().reports.count_since(me()),
    )


def _loop_counts(month: str) -> tuple[dict[int, int], dict[int, int]]:
    """Per enterprise: workers checked in this month (按月打卡) and open complaints, as the
    check-in and service-loop APIs count them for the signed-in regulator."""
    who = me()
    return dict(service().checkins.counts(who, month)), service().visits.open_complaints(who)


@blueprint.get("/dashboard/enterprises.csv")
@page(*WATCHERS)
def dashboard_csv() -> Response:
    period = _choice("period", PERIODS, stats.PERIOD_DAYS)
    _, figures = _figures(period, fresh=False)
    rows = _sorted(_enterprise_rows(figures), "name")
    month = this_month()
    checked_in, open_complaints = _loop_counts(month)
    return csv_response(
        f"enterprises-{today_in_china()}.csv",
        [
            "enterprise_id",
            "enterprise",
            "registered",
            "holding",
            "holding_rate",
            f"displayed_{period}d",
            "display_rate",
            "health_lapsed",
            "expiring_30d",
            f"checked_in_{month}",
            "open_complaints",
        ],
        (
            [
                eid,
                name,
                f.registered,
                f.holding,
                _ratio(f.holding_rate),
                f.displayed,
                _ratio(f.display_rate),
                f.lapsed,
                f.expiring,
                checked_in.get(eid, 0),
                open_complaints.get(eid, 0),
            ]
            for eid, name, f in rows
        ),
    )


@blueprint.get("/dashboard/history.csv")
@page(*WATCHERS)
def history_csv() -> Response:
    span = _choice("days", SPANS, 90)
    period = _choice("period", PERIODS, stats.PERIOD_DAYS)
    enterprise_id = int_arg("enterprise", 0) or None
    if enterprise_id is not None:
        service().enterprises.get(me(), enterprise_id)
    today = today_in_china()
    points = stats.history(
        service().store,
        today - timedelta(days=span - 1),
        today,
        period_days=period,
        enterprise_id=enterprise_id,
        enterprise_ids=_history_ids(),
    )
    return csv_response(
        f"rates-{today}.csv",
        ["day", "registered", "holding", "holding_rate", "displayed", "display_rate"],
        (
            [
                p.day,
                p.figures.registered,
                p.figures.holding,
                _ratio(p.figures.holding_rate),
                p.figures.displayed,
                _ratio(p.figures.display_rate),
            ]
            for p in points
        ),
    )


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


# -- lists ---------------------------------------------------------------------------------


def _expiring_query(today: date, days: int) -> Any:
    return service().watchlists.expiring(me(), today, days)


def _lapsed_query(today: date) -> Any:
    return service().watchlists.lapsed(me(), today)


def _page(query: Any, number: int) -> tuple[list[Any], bool, int]:
    return service().watchlists.page(query, number, PER_PAGE)


def _stream(query: Any) -> list[Any]:
    return service().watchlists.rows(query)


@blueprint.get("/expiring")
@page(*WATCHERS)
def expiring() -> str:
    days = _choice("days", (30, 60, 90), stats.EXPIRING_DAYS)
    number = int_arg("page", 1, 1, 100000)
    today = today_in_china()
    rows, more, count = _page(_expiring_query(today, days), number)
    return render_template(
        "issuer/expiring.html", rows=rows, more=more, count=count, number=number, days=days, today=today
    )


@blueprint.get("/expiring.csv")
@page(*WATCHERS)
def expiring_csv() -> Response:
    days = _choice("days", (30, 60, 90), stats.EXPIRING_DAYS)
    today = today_in_china()
    return csv_response(
        f"expiring-{today}.csv",
        ["serial", "expires_on", "card_uid", "worker_id", "name", "enterprise_id", "enterprise"],
        _stream(_expiring_query(today, days)),
    )


@blueprint.get("/lapsed")
@page(*WATCHERS)
def lapsed() -> str:
    number = int_arg("page", 1, 1, 100000)
    today = today_in_china()
    rows, more, count = _page(_lapsed_query(today), number)
    return render_template(
        "issuer/lapsed.html", rows=rows, more=more, count=count, number=number, today=today
    )


@blueprint.get("/lapsed.csv")
@page(*WATCHERS)
def lapsed_csv() -> Response:
    today = today_in_china()
    return csv_response(
        f"health-lapsed-{today}.csv",
        [
            "worker_id",
            "name",
            "health_certificate_valid_until",
            "insurance_valid_until",
            "enterprise_id",
            "enterprise",
        ],
        _stream(_lapsed_query(today)),
    )


# -- the blacklist (失信名单) ----------------------------------------------------------------


def _blacklist_audit() -> list[AuditEntry]:
    return service().revocation.blacklist_history(me())


def _blacklist_page(**extra: Any) -> str:
    show_all = request.args.get("all") == "1"
    after = int_arg("after", 0, 0)
    entries = service().revocation.blacklist(me(), active_only=not show_all, after=after, limit=PER_PAGE + 1)
    return render_template(
        "issuer/blacklist.html",
        entries=entries[:PER_PAGE],
        next_after=entries[PER_PAGE - 1].id if len(entries) > PER_PAGE else None,
        show_all=show_all,
        audit=_blacklist_audit(),
        form=extra.pop("form", {}),
        errors=extra.pop("errors", {}),
        problem=extra.pop("problem", None),
        done=request.args.get("done", ""),
        **extra,
    )


@blueprint.get("/blacklist")
@page(*WATCHERS)
def blacklist() -> str:
    return _blacklist_page()


@blueprint.post("/blacklist")
@page(*WATCHERS)
def blacklist_add() -> BaseResponse | str | tuple[str, int]:
    """Add a person: first a confirmation page (every live credential of theirs, at every
    enterprise, will be revoked), then the service does it, audited, in one transaction."""
    section("console.blacklist")
    form = request.form
    data = {name: form.get(name, "").strip() for name in ("id_number", "reason", "evidence_ref")}
    if form.get("confirm") != "1":
        errors: dict[str, str] = {}
        try:
            masked = mask_id(normalise_id_number(data["id_number"]))
        except ValueError as exc:
            errors["id_number"] = pick(exc.args[0], exc.args[-1])
            masked = ""
        for name in ("reason", "evidence_ref"):
            if not data[name]:
                errors[name] = _("Required")
        if errors:
            return _blacklist_page(form=data, errors=errors), 400
        return render_template("issuer/blacklist_confirm.html", data=data, masked=masked)
    try:
        _entry, revoked = service().run(service().revocation.blacklist_add, me(), data)
    except ValidationFailed as exc:
        return _blacklist_page(form=data, errors=field_errors(exc)), 400
    except ApiError as exc:
        return _blacklist_page(form=data, problem=api_message(exc)), 409
    return redirect(url_for("console.blacklist", done="added", revoked=len(revoked)), 303)


@blueprint.route("/blacklist/<int:entry_id>/remove", methods=["GET", "POST"])
@page(*WATCHERS)
def blacklist_remove(entry_id: int) -> BaseResponse | str | tuple[str, int]:
    section("console.blacklist")
    entries = [
        e
        for e in service().revocation.blacklist(me(), active_only=False, after=entry_id - 1, limit=1)
        if e.id == entry_id
    ]
    if not entries:
        from anxinma.issuer.errors import not_found

        raise not_found("blacklist entry", "失信名单记录")
    entry = entries[0]
    problem = None
    if request.method == "POST":
        try:
            service().run(
                service().revocation.blacklist_remove, me(), entry_id, request.form.get("reason", "")
            )
        except ValidationFailed as exc:
            problem = "；".join(field_errors(exc).values())
        except ApiError as exc:
            problem = api_message(exc)
        else:
            return redirect(url_for("console.blacklist", done="removed"), 303)
    return (
        render_template("issuer/blacklist_remove.html", entry=entry, problem=problem),
        400 if problem else 200,
    )


#: The blacklist export: (column, as the API names the field; the entry's attribute).
_BLACKLIST_COLUMNS = (
    ("id", "id"),
    ("id_number_masked", "id_masked"),
    ("reason", "reason"),
    ("evidence_ref", "evidence_ref"),
    ("added_by", "added_by"),
    ("added_at", "added_at"),
    ("removed_at", "removed_at"),
    ("removed_by", "removed_by"),
    ("removal_reason", "removal_reason"),
)


@blueprint.get("/blacklist.csv")
@page(*WATCHERS)
def blacklist_csv() -> Response:
    rows: list[list[Any]] = []
    after = 0
    while True:
        chunk = service().revocation.blacklist(me(), active_only=False, after=after, limit=500)
        rows += [[getattr(e, attribute) for _, attribute in _BLACKLIST_COLUMNS] for e in chunk]
        if len(chunk) < 500:
            break
        after = chunk[-1].id
    header = [column for column, _ in _BLACKLIST_COLUMNS]
    return csv_response(f"blacklist-{today_in_china()}.csv", header, rows)
