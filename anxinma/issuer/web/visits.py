"""The routes of 确认入户, 三方互评, 投诉 and 举报假码 (the rules and the writes:
:mod:`anxinma.issuer.services.visits`, :mod:`anxinma.issuer.services.reports`).

* ``POST /api/v1/visits``, ``…/{id}/rating``, ``…/{id}/complaint``, ``…/{id}/rating/worker``,
  ``POST /api/v1/reports`` — the consumer's page and the worker's phone, no account
  (:data:`public_blueprint`, rate-limited per client and open to other cities' pages);
* ``POST /api/v1/visits/{id}/rating/enterprise``, ``GET /api/v1/visits``, ``/ratings``,
  ``/complaints``, ``/reports``, ``POST /api/v1/complaints/{id}/resolve`` — the enterprise
  (its own workers) and the regulator, with their Bearer tokens (:data:`blueprint`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from anxinma.errors import TrustListError
from anxinma.issuer.services.issuer import IssuerServices
from anxinma.issuer.services.reports import CodeReports, parse_report
from anxinma.issuer.services.visits import (
    COMMENT_MAX,
    RATING_SOURCES,
    ServiceLoop,
    Window,
    free_text,
    only,
    parse_complaint,
    parse_consumer_rating,
    parse_rating,
    parse_resolution,
    score_of,
)
from anxinma.issuer.web.api import principal, reply
from anxinma.issuer.web.params import choice_arg, flag_arg, query_value
from anxinma.issuer.web.params import int_arg as _int_arg
from anxinma.issuer.web.params import json_object as _object
from anxinma.keys.jwk import b64url_decode

#: The consumer-facing endpoints (rate-limited per client by :func:`register`).
public_blueprint = Blueprint("visits_public", __name__, url_prefix="/api/v1")
#: The enterprise's and the regulator's side (Bearer tokens).
blueprint = Blueprint("visits", __name__, url_prefix="/api/v1")

DEFAULT_RATE_LIMIT = "30 per minute"


def register(app: Flask, limiter: Any) -> None:
    """Register both blueprints on ``app``; the consumer-facing one under ``limiter``."""
    config = app.extensions["anxinma"].config
    limiter.limit(config.extra.get("visit_rate_limit", DEFAULT_RATE_LIMIT))(public_blueprint)
    app.register_blueprint(public_blueprint)
    app.register_blueprint(blueprint)


def _loop() -> ServiceLoop:
    services: IssuerServices = current_app.extensions["anxinma"].service
    return services.visits


@public_blueprint.after_request
def _cross_origin(response: Response) -> Response:
    """Another city's page confirms and rates a visit here (text/plain JSON: no preflight)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the consumer's side ----------------------------------------------------------------------


@public_blueprint.post("/visits")
def confirm_entry() -> Response:
    """确认入户: record a visit for the credential presented; answer the one-time rating token."""
    data = _object()
    only(data, {"code"})
    response = jsonify(_loop().confirm(data.get("code")))
    response.status_code = 201
    return response


@public_blueprint.post("/visits/<int:visit_id>/rating")
def consumer_rating(visit_id: int) -> Response:
    """The consumer rates the worker, once per visit, with the visit's token."""
    data = _object()
    only(data, {"token", "score", "comment"})
    token, score, comment = parse_consumer_rating(data)
    return reply(201, _loop().rate_as_consumer(visit_id, token, score, comment, request.remote_addr))


@public_blueprint.post("/visits/<int:visit_id>/complaint")
def consumer_complaint(visit_id: int) -> Response:
    """投诉: stored for the worker's enterprise and the regulator; one per visit."""
    data = _object()
    only(data, {"token", "category", "summary"})
    token, category, summary = parse_complaint(data)
    return reply(201, _loop().complain(visit_id, token, category, summary))


@public_blueprint.post("/visits/<int:visit_id>/rating/worker")
def worker_rating(visit_id: int) -> Response:
    """The worker rates the enterprise: a signature of the credential's holder key."""
    data = _object()
    only(data, {"score", "comment", "signature"})
    score = score_of(data)
    comment = free_text(data, "comment", 0, COMMENT_MAX)
    signed_comment = data.get("comment") or ""  # the words as the phone signed them, before tidying
    try:
        signature: bytes | None = b64url_decode(data.get("signature", ""))
    except TrustListError:
        signature = None
    return reply(201, _loop().rate_as_worker(visit_id, score, comment, signed_comment, signature))


@public_blueprint.post("/reports")
def report_code() -> Response:
    """举报假码: a code that is revoked, unknown, forged or shown by the wrong person; no
    account, nothing about the consumer (services/reports.py)."""
    data = _object()
    only(data, {"code", "status", "reason_key", "reason", "note"})
    return reply(201, _reports().file(parse_report(data), request.remote_addr))


def _reports() -> CodeReports:
    services: IssuerServices = current_app.extensions["anxinma"].service
    return services.reports


# -- the enterprise's and the regulator's side ------------------------------------------------


def _window() -> Window:
    """The API's cursor paging: ``after`` an id, ``per_page`` (1–200) rows, oldest first."""
    return Window(after=_int_arg("after", 0) or 0, limit=_int_arg("per_page", 50, 1, 200) or 50)


def _listing(items: list[dict[str, Any]], window: Window) -> Response:
    full = len(items) == window.limit
    return jsonify({"items": items, "next_after": items[-1]["id"] if full else None})


@blueprint.post("/visits/<int:visit_id>/rating/enterprise")
def enterprise_rating(visit_id: int) -> Response:
    """The worker's enterprise rates the worker for one visit (its own workers only)."""
    who = principal()
    _loop().may_rate_as_enterprise(who)
    data = _object()
    only(data, {"score", "comment"})
    score, comment = parse_rating(data)
    return reply(201, _loop().rate_as_enterprise(who, visit_id, score, comment))


@blueprint.get("/visits")
def list_visits() -> Response:
    who = principal()
    window = _window()
    items = _loop().visits(
        who,
        worker_id=_int_arg("worker_id", None),
        enterprise_id=_int_arg("enterprise_id", None),
        window=window,
    )
    return _listing(items, window)


@blueprint.get("/ratings")
def list_ratings() -> Response:
    who = principal()
    window = _window()
    source = choice_arg("source", RATING_SOURCES)
    items = _loop().ratings(
        who,
        source=source,
        worker_id=_int_arg("worker_id", None),
        enterprise_id=_int_arg("enterprise_id", None),
        window=window,
    )
    return _listing(items, window)


@blueprint.get("/complaints")
def list_complaints() -> Response:
    who = principal()
    window = _window()
    resolved = None if query_value("resolved") is None else flag_arg("resolved", False)
    items = _loop().complaints(
        who,
        resolved=resolved,
        worker_id=_int_arg("worker_id", None),
        enterprise_id=_int_arg("enterprise_id", None),
        window=window,
    )
    return _listing(items, window)


@blueprint.get("/reports")
def list_reports() -> Response:
    """Reports of fake codes: the regulator's all, an enterprise's those of its own codes."""
    who = principal()
    window = _window()
    items = _reports().reports(who, enterprise_id=_int_arg("enterprise_id", None), window=window)
    return _listing(items, window)


@blueprint.post("/complaints/<int:complaint_id>/resolve")
def resolve_complaint(complaint_id: int) -> Response:
    """Close a complaint with what was done (the enterprise for its own workers, or the regulator)."""
    who = principal()
    _loop().may_resolve(who)
    data = _object()
    only(data, {"resolution"})
    return jsonify(_loop().resolve(who, complaint_id, parse_resolution(data)))


__all__ = ["DEFAULT_RATE_LIMIT", "blueprint", "public_blueprint", "register"]
