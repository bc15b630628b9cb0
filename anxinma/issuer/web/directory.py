"""The public enterprise directory (issue 21, docs/credit.md): a searchable list of the
issuer's enterprises with their credit grade and the figures behind it, each enterprise's page
("why this grade", what would raise it, its history), a comparison of up to three side by side
(``GET /enterprises/compare?ids=ID,ID,ID``) and the red and black lists with their dates.

No log-in: it is what the platform publishes. Rate-limited per client address (the factory's
limiter, ``directory_rate_limit`` in the config's extras, like the live record's limit), and
cached: the service computes the directory at most once a minute per process and the pages say
``Cache-Control: public, max-age=60``. A bad or unknown ``ids`` answers a page (or JSON, when
asked for) in Chinese and English with 400 or 404, never a 500.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from anxinma.issuer.errors import ApiError, ValidationFailed
from anxinma.issuer.services.credit import COMPARE_MAX, PUBLIC_SECONDS, WEIGHTS, Credit, Listing
from anxinma.issuer.services.district import DISTRICTS
from anxinma.issuer.services.rules import today_in_china
from anxinma.messages import Message

blueprint = Blueprint("directory", __name__)
#: Requests per client address to the public directory (flask-limiter syntax).
DEFAULT_RATE_LIMIT = "60 per minute"
#: Enterprises per page of the directory (a city has 500; a phone shows one card each).
PER_PAGE = 50


def register(app: Flask, limiter: Any) -> None:
    """Register the directory on ``app`` under ``limiter``."""
    config = app.extensions["anxinma"].config
    limiter.limit(config.extra.get("directory_rate_limit", DEFAULT_RATE_LIMIT))(blueprint)
    app.register_blueprint(blueprint)


def _credit() -> Credit:
    credit: Credit = current_app.extensions["anxinma"].service.credit
    return credit


def _wants_json() -> bool:
    return request.args.get("format") == "json" or (
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
    )


def _public(body: str | Response, status: int = 200) -> Response:
    response = body if isinstance(body, Response) else Response(body, mimetype="text/html")
    response.status_code = status
    if status == 200:
        response.headers["Cache-Control"] = f"public, max-age={int(PUBLIC_SECONDS)}"
    else:
        response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept, Accept-Language, Cookie"
    return response


@blueprint.app_context_processor
def _helpers() -> dict[str, Any]:
    from anxinma.issuer.web.console.base import is_chinese

    def say(message: Message) -> str:
        return message.zh if is_chinese() else message.en

    def district_label(item: Listing) -> str:
        name = item.district_name
        if name is None:
            return item.district
        return f"{name[0] if is_chinese() else name[1]} ({item.district})"

    def district_name_of(code: str) -> str:
        name = DISTRICTS.get(code)
        return code if name is None else f"{name[0] if is_chinese() else name[1]} ({code})"

    return {
        "say": say,
        "district_label": district_label,
        "district_name_of": district_name_of,
        "credit_weights": WEIGHTS,
        "compare_max": COMPARE_MAX,
    }


@blueprint.get("/enterprises")
def listing() -> Response:
    credit = _credit()
    today = today_in_china()
    query = request.args.get("q", "")[:64]
    district = request.args.get("district", "")[:6]
    found = credit.search(today, query, district)
    computed, _all = credit.directory(today)
    if _wants_json():
        return _public(jsonify({"computed_at": computed.isoformat(), "items": [i.to_json() for i in found]}))
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    shown = found[(number - 1) * PER_PAGE : number * PER_PAGE]
    body = render_template(
        "issuer/directory.html",
        items=shown,
        total=len(found),
        number=number,
        more=len(found) > number * PER_PAGE,
        query=query,
        district=district,
        districts=credit.districts(today),
        computed=computed,
    )
    return _public(body)


@blueprint.get("/enterprises/<int:enterprise_id>")
def enterprise(enterprise_id: int) -> Response:
    credit = _credit()
    today = today_in_china()
    computed, listings = credit.directory(today)
    item = listings.get(enterprise_id)
    if item is None:
        return _problem(404, "没有这家企业", "no such enterprise")
    if _wants_json():
        return _public(jsonify({"computed_at": computed.isoformat(), **item.to_json()}))
    body = render_template(
        "issuer/directory_enterprise.html",
        item=item,
        history=credit.history(enterprise_id),
        computed=computed,
    )
    return _public(body)


@blueprint.get("/enterprises/compare")
def compare() -> Response:
    credit = _credit()
    today = today_in_china()
    try:
        # ``ids=1,2,3``, or the directory's check boxes (``ids=1&ids=2``): the same list.
        items = credit.compare(today, ",".join(request.args.getlist("ids")))
    except ValidationFailed as exc:
        zh, en = next(iter(exc.fields.values()))
        return _problem(400, zh, en)
    except ApiError as exc:
        return _problem(exc.http_status, exc.message_zh, exc.message)
    computed, _all = credit.directory(today)
    if _wants_json():
        return _public(jsonify({"computed_at": computed.isoformat(), "items": [i.to_json() for i in items]}))
    return _public(render_template("issuer/directory_compare.html", items=items, computed=computed))


@blueprint.get("/credit-lists")
def lists() -> Response:
    """The red list (诚信企业) and the blacklist (失信名单), both with their dates."""
    credit = _credit()
    body = render_template(
        "issuer/directory_lists.html",
        red=credit.red_list(active_only=False),
        black=credit.blacklist_public(),
    )
    return _public(body)


def _problem(status: int, zh: str, en: str) -> Response:
    """A refusal in both languages: JSON for a machine, a page for a person."""
    if _wants_json():
        return _public(
            jsonify({"error": {"code": "bad_request" if status == 400 else "not_found", "zh": zh, "en": en}}),
            status,
        )
    body = render_template(
        "issuer/directory_problem.html", status=status, zh=zh, en=en, title=_("Enterprise directory")
    )
    return _public(body, status)


__all__ = ["DEFAULT_RATE_LIMIT", "blueprint", "register"]
