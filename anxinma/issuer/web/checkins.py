"""The routes of 按月打卡 (docs/checkin.md; the rules and the writes:
:mod:`anxinma.issuer.services.checkins`): ``POST /api/v1/check-ins`` records a desk's tap (201
new, 200 already there); ``GET /api/v1/check-ins``, ``/months`` and ``/counts`` read them, every
one under the caller's scope (:data:`blueprint`, Bearer tokens). ``POST /api/v1/check-ins/phone``
records a card tapped on the worker's own phone, signed by the phone's holder key, no account
(:data:`public_blueprint`, rate-limited per client)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from anxinma.issuer.errors import ValidationFailed
from anxinma.issuer.services.checkins import (
    MAX_WORKERS_PER_QUERY,
    MONTH,
    CheckInRequest,
    CheckIns,
    PhoneCheckIn,
    month_before,
    this_month,
)
from anxinma.issuer.services.issuer import IssuerServices
from anxinma.issuer.store.models import CheckIn
from anxinma.issuer.web import schemas_checkins as s
from anxinma.issuer.web.api import principal, reply
from anxinma.issuer.web.apidoc import listing, operation
from anxinma.issuer.web.params import body, int_arg, query_value
from anxinma.issuer.web.params import int_value as _int

blueprint = Blueprint("checkins", __name__, url_prefix="/api/v1")
#: The worker's phone: authorised by its holder key's signature, not by a token.
public_blueprint = Blueprint("checkins_public", __name__, url_prefix="/api/v1")
DEFAULT_RATE_LIMIT = "30 per minute"


def register(app: Flask, limiter: Any) -> None:
    """Register both blueprints on ``app``; the phone's under ``limiter`` (as the consumer's
    visits are: ``visit_rate_limit``)."""
    config = app.extensions["anxinma"].config
    limiter.limit(config.extra.get("visit_rate_limit", DEFAULT_RATE_LIMIT))(public_blueprint)
    app.register_blueprint(blueprint)
    app.register_blueprint(public_blueprint)


@public_blueprint.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def check_in_json(row: CheckIn, display_name: str, created: bool | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "worker_id": row.worker_id,
        "display_name": display_name,
        "enterprise_id": row.enterprise_id,
        "month": row.month,
        "credential_serial": row.credential_serial,
        "card_uid": row.card_uid,
        "station": row.station,
        "tapped_at": row.tapped_at.isoformat(),
        "recorded_at": row.recorded_at.isoformat(),
        "source": row.source,
    }
    if created is not None:
        body["created"] = created
    return body


def _month_arg(name: str, default: str | None) -> str | None:
    value = query_value(name)
    if value is None:
        return default
    if not MONTH.match(value):
        raise ValidationFailed({name: ("月份格式应为 YYYY-MM", "a month looks like YYYY-MM")})
    return value


def _ints(name: str, limit: int) -> list[int]:
    values: list[int] = []
    for raw in request.args.getlist(name):
        for part in raw.split(","):
            if part.strip():
                value = _int(name, part.strip(), None)
                if value is not None:
                    values.append(value)
    if len(values) > limit:
        raise ValidationFailed({name: (f"最多 {limit} 个", f"at most {limit} at once")})
    return values


# -- routes -------------------------------------------------------------------------------------


def _check_ins() -> CheckIns:
    services: IssuerServices = current_app.extensions["anxinma"].service
    return services.checkins


@blueprint.post("/check-ins")
@operation(
    "Record a check-in (按月打卡): once per worker and month",
    ok=201,
    answer=s.CheckIn,
    also={200: (s.CheckIn, "already recorded for this worker and month (the existing record)")},
    body=s.CheckInRequest,
    errors=(400, 401, 403, 404, 409, 413),
    description="card_operator, enterprise_admin (own workers) or issuer_admin. 409 error.code: card_mismatch, "
    "not_bound, revoked, suspended, expired, not_yet_valid, not_a_worker.",
)
def record_check_in() -> Response:
    who = principal()
    entry = CheckInRequest.parse(body())
    row, name, created = _check_ins().record(who, entry)
    return reply(201 if created else 200, check_in_json(row, name, created))


@public_blueprint.post("/check-ins/phone")
@operation(
    "Record a check-in the worker made by tapping their card on their phone (Web NFC)",
    ok=201,
    answer=s.CheckIn,
    also={200: (s.CheckIn, "already recorded for this worker and month (the existing record)")},
    body=s.PhoneCheckInRequest,
    errors=(400, 403, 404, 409, 413),
    public=True,
    description="No account: signed by the holder key of the worker's phone credential. 403: signed by "
    "another phone. 409 error.code: no_holder_key, phone_not_live, other_worker, card_mismatch, not_bound, "
    "revoked, suspended, expired, not_yet_valid, not_a_worker, replayed. Rate-limited per client (429).",
)
def record_phone_check_in() -> Response:
    """The worker tapped their card on their phone: the card's credential and serial number,
    signed by the phone (docs/checkin.md, "Tap the card on the phone")."""
    entry = PhoneCheckIn.parse(body())
    row, name, created = _check_ins().record_from_phone(entry)
    return reply(201 if created else 200, check_in_json(row, name, created))


@blueprint.get("/check-ins")
@listing("Check-ins, newest month first (an enterprise sees its own)", s.CheckInList, s.CheckInQuery)
def list_check_ins() -> Response:
    who = principal()
    page = int_arg("page", 1, 1, 10000) or 1
    per_page = int_arg("per_page", 50, 1, 200) or 50
    rows, more = _check_ins().listing(
        who,
        worker_id=int_arg("worker_id", None),
        month=_month_arg("month", None),
        enterprise_id=int_arg("enterprise_id", None),
        page=page,
        per_page=per_page,
    )
    return reply(
        200,
        {
            "items": [check_in_json(row, name) for row, name in rows],
            "page": page,
            "per_page": per_page,
            "has_more": more,
        },
    )


@blueprint.get("/check-ins/months")
@listing("Months checked in per worker (workers not yours left out)", s.CheckInMonths, s.MonthsQuery)
def check_in_months() -> Response:
    who = principal()
    workers = _ints("worker_id", MAX_WORKERS_PER_QUERY)
    if not workers:
        raise ValidationFailed({"worker_id": ("至少一个服务员编号", "give at least one worker_id")})
    until = _month_arg("until", None) or this_month()
    since = _month_arg("since", None) or month_before(until, 11)
    if since > until:
        raise ValidationFailed({"since": ("起始月份晚于截止月份", "since is after until")})
    found = _check_ins().months(who, workers, since, until)
    return reply(
        200,
        {
            "since": since,
            "until": until,
            "items": [{"worker_id": worker, "months": months} for worker, months in found],
        },
    )


@blueprint.get("/check-ins/counts")
@listing("Workers checked in per enterprise in a month (default: this one)", s.CheckInCounts, s.CountsQuery)
def check_in_counts() -> Response:
    who = principal()
    month = _month_arg("month", None) or this_month()
    counts = _check_ins().counts(who, month, _ints("enterprise_id", 500))
    return reply(
        200,
        {
            "month": month,
            "items": [{"enterprise_id": e, "checked_in": n} for e, n in counts],
            "total": sum(n for _, n in counts),
        },
    )


__all__ = ["blueprint", "check_in_json", "public_blueprint", "register"]
