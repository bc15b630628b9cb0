"""The issuer admin's pages: enterprises (register one, issue its own code), API tokens
(issue, shown once; revoke) and console users (create, disable, enable). Writes go through
the service, which checks the role and audits them."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from anxinma.issuer.errors import ApiError, ValidationFailed
from anxinma.issuer.services.auth import Role
from anxinma.issuer.web.console.base import (
    api_message,
    blueprint,
    field_errors,
    int_arg,
    me,
    page,
    section,
    service,
)
from anxinma.issuer.web.params import id_value

ADMIN = (Role.ISSUER_ADMIN,)
PER_PAGE = 50


def _form_page(template: str, status: int, extra: dict[str, Any], **context: Any) -> tuple[str, int]:
    """An admin list page with its form: what was typed, the field errors or the problem of a
    refused submission, the note of a done one."""
    return (
        render_template(
            template,
            form=extra.get("form", {}),
            errors=extra.get("errors", {}),
            problem=extra.get("problem"),
            done=request.args.get("done", ""),
            **context,
        ),
        status,
    )


def _refused(exc: ApiError) -> tuple[int, dict[str, Any]]:
    """The status and what the page shows of a refused form: the field errors (400) or the
    service's problem (409)."""
    if isinstance(exc, ValidationFailed):
        return 400, {"errors": field_errors(exc)}
    return 409, {"problem": api_message(exc)}


def _enterprise_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    after = int_arg("after", 0, 0)
    rows = service().enterprises.listing(me(), after=after, limit=PER_PAGE + 1)
    shown = rows[:PER_PAGE]
    workers, codes = service().enterprises.figures(me(), [e.id for e in shown])
    return _form_page(
        "issuer/admin_enterprises.html",
        status,
        extra,
        rows=shown,
        workers=workers,
        codes=codes,
        next_after=shown[-1].id if len(rows) > PER_PAGE else None,
    )


@blueprint.get("/admin/enterprises")
@page(*ADMIN)
def admin_enterprises() -> tuple[str, int]:
    return _enterprise_page()


@blueprint.post("/admin/enterprises")
@page(*ADMIN)
def admin_enterprise_create() -> BaseResponse | tuple[str, int]:
    section("console.admin_enterprises")
    form = {name: request.form.get(name, "").strip() for name in ("name", "credit_code", "star_level")}
    data: dict[str, Any] = {k: v for k, v in form.items() if v or k != "star_level"}
    try:
        service().run(service().enterprises.create, me(), data)
    except ApiError as exc:
        status, shown = _refused(exc)
        return _enterprise_page(status, form=form, **shown)
    return redirect(url_for("console.admin_enterprises", done="created"), 303)


@blueprint.post("/admin/enterprises/<int:enterprise_id>/credential")
@page(*ADMIN)
def admin_enterprise_issue(enterprise_id: int) -> BaseResponse:
    issued = service().run(service().issuing.issue_enterprise, me(), enterprise_id)
    return redirect(url_for("console.credential", serial=issued.row.serial, done="issued"), 303)


# -- tokens --------------------------------------------------------------------------------


def _admin_page(template: str, status: int, extra: dict[str, Any], **rows: Any) -> tuple[str, int]:
    """An admin list page (tokens, users) with its form, its errors and the enterprises' names."""
    return _form_page(
        template, status, extra, names=service().enterprises.names(me()), roles=list(Role), **rows
    )


def _tokens_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    tokens = service().accounts.tokens(me())
    return _admin_page(
        "issuer/admin_tokens.html", status, extra, tokens=tokens, new_token=extra.get("new_token")
    )


@blueprint.get("/admin/tokens")
@page(*ADMIN)
def admin_tokens() -> tuple[str, int]:
    return _tokens_page()


def _role_and_enterprise(form: dict[str, str]) -> tuple[Role | None, int | None, dict[str, str]]:
    from flask_babel import gettext as _

    errors: dict[str, str] = {}
    try:
        role: Role | None = Role(form.get("role", ""))
    except ValueError:
        role = None
        errors["role"] = _("Choose a role")
    raw = form.get("enterprise_id", "")
    enterprise_id = id_value(raw)
    return role, enterprise_id, errors


@blueprint.post("/admin/tokens")
@page(*ADMIN)
def admin_token_create() -> tuple[str, int]:
    section("console.admin_tokens")
    form = {
        name: request.form.get(name, "").strip() for name in ("role", "enterprise_id", "label", "district")
    }
    role, enterprise_id, errors = _role_and_enterprise(form)
    if role is None:
        return _tokens_page(400, form=form, errors=errors)
    try:
        token_id, token = service().accounts.create_token(
            role,
            enterprise_id,
            form["label"][:128] or None,
            principal=me(),
            district=form["district"] or None,
        )
    except ApiError as exc:
        status, shown = _refused(exc)
        return _tokens_page(status, form=form, **shown)
    # Shown once, on this response only (it is stored hashed); the page is not cached.
    return _tokens_page(201, new_token={"id": token_id, "token": token})


@blueprint.post("/admin/tokens/<int:token_id>/revoke")
@page(*ADMIN)
def admin_token_revoke(token_id: int) -> BaseResponse:
    if request.form.get("confirm") != "1":
        return redirect(url_for("console.admin_tokens"), 303)
    service().accounts.revoke_token(me(), token_id)
    return redirect(url_for("console.admin_tokens", done="revoked"), 303)


# -- users ---------------------------------------------------------------------------------


def _users_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    return _admin_page("issuer/admin_users.html", status, extra, users=service().accounts.users(me()))


@blueprint.get("/admin/users")
@page(*ADMIN)
def admin_users() -> tuple[str, int]:
    return _users_page()


@blueprint.post("/admin/users")
@page(*ADMIN)
def admin_user_create() -> BaseResponse | tuple[str, int]:
    section("console.admin_users")
    form = {
        name: request.form.get(name, "").strip() for name in ("username", "role", "enterprise_id", "district")
    }
    role, enterprise_id, errors = _role_and_enterprise(form)
    if role is None:
        return _users_page(400, form=form, errors=errors)
    try:
        service().accounts.create_user(
            form["username"],
            request.form.get("password", ""),
            role,
            enterprise_id,
            principal=me(),
            district=form["district"] or None,
        )
    except ApiError as exc:
        status, shown = _refused(exc)
        return _users_page(status, form=form, **shown)
    return redirect(url_for("console.admin_users", done="created"), 303)


@blueprint.post("/admin/users/<int:user_id>/<action>")
@page(*ADMIN)
def admin_user_toggle(user_id: int, action: str) -> BaseResponse | tuple[str, int]:
    section("console.admin_users")
    if action not in ("disable", "enable"):
        from flask import abort

        abort(404)
    try:
        service().accounts.set_user_disabled(me(), user_id, action == "disable")
    except ApiError as exc:
        return _users_page(409, problem=api_message(exc))
    return redirect(url_for("console.admin_users", done=action), 303)
