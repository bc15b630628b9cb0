"""The issuer admin's pages: enterprises (register one, issue its own code), API tokens
(issue, shown once; revoke) and console users (create, disable, enable). Writes go through
the service, which checks the role and audits them."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from anxinma.issuer.errors import ApiError, ValidationFailed
from anxinma.issuer.services.auth import Role
from anxinma.issuer.store.models import ApiToken, Credential, Enterprise, User, Worker
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

ADMIN = (Role.ISSUER_ADMIN,)
PER_PAGE = 50


def _enterprise_page(**extra: Any) -> str:
    after = int_arg("after", 0, 0)
    rows = service().enterprises.listing(me(), after=after, limit=PER_PAGE + 1)
    shown = rows[:PER_PAGE]
    ids = [e.id for e in shown]
    with service().store.read() as session:
        workers = dict(
            session.execute(
                select(Worker.enterprise_id, func.count())
                .where(Worker.enterprise_id.in_(ids), Worker.status == "active")
                .group_by(Worker.enterprise_id)
            ).all()
        )
        codes = dict(
            session.execute(
                select(Credential.enterprise_id, Credential.serial).where(
                    Credential.enterprise_id.in_(ids),
                    Credential.subject_kind == "enterprise",
                    Credential.status != "revoked",
                )
            ).all()
        )
    return render_template(
        "issuer/admin_enterprises.html",
        rows=shown,
        workers=workers,
        codes=codes,
        next_after=shown[-1].id if len(rows) > PER_PAGE else None,
        form=extra.get("form", {}),
        errors=extra.get("errors", {}),
        problem=extra.get("problem"),
        done=request.args.get("done", ""),
    )


@blueprint.get("/admin/enterprises")
@page(*ADMIN)
def admin_enterprises() -> str:
    return _enterprise_page()


@blueprint.post("/admin/enterprises")
@page(*ADMIN)
def admin_enterprise_create() -> BaseResponse | tuple[str, int]:
    section("console.admin_enterprises")
    form = {name: request.form.get(name, "").strip() for name in ("name", "credit_code", "star_level")}
    data: dict[str, Any] = {k: v for k, v in form.items() if v or k != "star_level"}
    try:
        service().run(service().enterprises.create, me(), data)
    except ValidationFailed as exc:
        return _enterprise_page(form=form, errors=field_errors(exc)), 400
    except ApiError as exc:
        return _enterprise_page(form=form, problem=api_message(exc)), 409
    return redirect(url_for("console.admin_enterprises", done="created"), 303)


@blueprint.post("/admin/enterprises/<int:enterprise_id>/credential")
@page(*ADMIN)
def admin_enterprise_issue(enterprise_id: int) -> BaseResponse:
    issued = service().run(service().issuing.issue_enterprise, me(), enterprise_id)
    return redirect(url_for("console.credential", serial=issued.row.serial, done="issued"), 303)


# -- tokens --------------------------------------------------------------------------------


def _tokens_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    with service().store.read() as session:
        tokens = list(session.execute(select(ApiToken).order_by(ApiToken.id.desc()).limit(200)).scalars())
        names = dict(session.execute(select(Enterprise.id, Enterprise.name)).all())
    return (
        render_template(
            "issuer/admin_tokens.html",
            tokens=tokens,
            names=names,
            roles=list(Role),
            new_token=extra.get("new_token"),
            form=extra.get("form", {}),
            errors=extra.get("errors", {}),
            problem=extra.get("problem"),
            done=request.args.get("done", ""),
        ),
        status,
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
    enterprise_id = int(raw) if raw.isdigit() else None
    return role, enterprise_id, errors


@blueprint.post("/admin/tokens")
@page(*ADMIN)
def admin_token_create() -> tuple[str, int]:
    section("console.admin_tokens")
    form = {name: request.form.get(name, "").strip() for name in ("role", "enterprise_id", "label")}
    role, enterprise_id, errors = _role_and_enterprise(form)
    if role is None:
        return _tokens_page(400, form=form, errors=errors)
    try:
        token_id, token = service().accounts.create_token(
            role, enterprise_id, form["label"][:128] or None, principal=me()
        )
    except ValidationFailed as exc:
        return _tokens_page(400, form=form, errors=field_errors(exc))
    except ApiError as exc:
        return _tokens_page(409, form=form, problem=api_message(exc))
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
    with service().store.read() as session:
        users = list(session.execute(select(User).order_by(User.id).limit(500)).scalars())
        names = dict(session.execute(select(Enterprise.id, Enterprise.name)).all())
    return (
        render_template(
            "issuer/admin_users.html",
            users=users,
            names=names,
            roles=list(Role),
            form=extra.get("form", {}),
            errors=extra.get("errors", {}),
            problem=extra.get("problem"),
            done=request.args.get("done", ""),
        ),
        status,
    )


@blueprint.get("/admin/users")
@page(*ADMIN)
def admin_users() -> tuple[str, int]:
    return _users_page()


@blueprint.post("/admin/users")
@page(*ADMIN)
def admin_user_create() -> BaseResponse | tuple[str, int]:
    section("console.admin_users")
    form = {name: request.form.get(name, "").strip() for name in ("username", "role", "enterprise_id")}
    role, enterprise_id, errors = _role_and_enterprise(form)
    if role is None:
        return _users_page(400, form=form, errors=errors)
    try:
        service().accounts.create_user(
            form["username"], request.form.get("password", ""), role, enterprise_id, principal=me()
        )
    except ValidationFailed as exc:
        return _users_page(400, form=form, errors=field_errors(exc))
    except ApiError as exc:
        return _users_page(409, form=form, problem=api_message(exc))
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
