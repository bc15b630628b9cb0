"""The regulator's red list (诚信企业) page: publish an enterprise on it, take one off; both go
through :class:`~anxinma.issuer.services.credit.Credit` (regulator and issuer admin only,
audited) and show on the public ``/credit-lists`` page with their dates (docs/credit.md)."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from anxinma.issuer.errors import ApiError, ValidationFailed
from anxinma.issuer.services.credit import RED_LISTERS
from anxinma.issuer.web.console.base import api_message, blueprint, field_errors, me, page, section, service
from anxinma.issuer.web.params import id_value


def _page(**extra: Any) -> str:
    section("console.redlist")
    return render_template(
        "issuer/redlist.html",
        entries=service().credit.red_list(active_only=False),
        choices=service().enterprises.choices(me()),
        form=extra.pop("form", {}),
        errors=extra.pop("errors", {}),
        done=request.args.get("done"),
        **extra,
    )


@blueprint.get("/redlist")
@page(*RED_LISTERS)
def redlist() -> str:
    return _page()


@blueprint.post("/redlist")
@page(*RED_LISTERS)
def redlist_add() -> BaseResponse | tuple[str, int]:
    data: dict[str, Any] = {name: request.form.get(name, "").strip() for name in ("reason", "evidence_ref")}
    # A picked id the store can hold, else none (web/params.py: "²" or 2**64 names no row).
    data["enterprise_id"] = id_value(request.form.get("enterprise_id"))
    try:
        service().run(service().credit.red_add, me(), data)
    except ValidationFailed as exc:
        return _page(form=data, errors=field_errors(exc)), 400
    except ApiError as exc:
        return _page(form=data, problem=api_message(exc)), exc.http_status
    return redirect(url_for("console.redlist", done="added"), 303)


@blueprint.post("/redlist/<int:entry_id>/remove")
@page(*RED_LISTERS)
def redlist_remove(entry_id: int) -> BaseResponse | tuple[str, int]:
    try:
        service().run(service().credit.red_remove, me(), entry_id, request.form.get("reason", ""))
    except ValidationFailed as exc:
        return _page(problem="；".join(field_errors(exc).values())), 400
    except ApiError as exc:
        if exc.http_status == 404:
            raise
        return _page(problem=api_message(exc)), exc.http_status
    return redirect(url_for("console.redlist", done="removed"), 303)
