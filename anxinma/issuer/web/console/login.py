"""Log-in and log-out of the consoles: the service's console sessions in a cookie."""

from __future__ import annotations

from flask import Response, g, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from anxinma.issuer.errors import Unauthorized
from anxinma.issuer.services.auth import Role
from anxinma.issuer.web.console.base import (
    SESSION_COOKIE,
    blueprint,
    home_for,
    new_csrf_seed,
    page,
    safe_next,
    service,
    set_session_cookie,
    viewer,
)


@blueprint.get("/")
def index() -> BaseResponse:
    who = viewer()
    if who is None:
        return redirect(url_for("console.login"), 303)
    return redirect(home_for(who.role), 303)


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int] | str:
    """The log-in page; after a log-in, back to ``next`` (where an expired session left off)."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        who = viewer()
        if who is not None:
            return redirect(target or home_for(who.role), 303)
        return render_template(
            "issuer/login.html",
            expired=False,
            next=target or "",
            error=None,
            username="",
            signed_out=request.args.get("bye") == "1",
        )
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    try:
        token, expires, user = service().accounts.login(username, password)
    except Unauthorized as exc:
        return (
            render_template(
                "issuer/login.html",
                expired=False,
                next=target or "",
                error=exc,
                username=username,
            ),
            401,
        )
    response = make_response(redirect(target or home_for(Role(user.role)), 303))
    set_session_cookie(response, token, expires)
    new_csrf_seed(response)
    g.session_problem = None
    return response


@blueprint.post("/logout")
@page()
def logout() -> Response:
    response = make_response(redirect(url_for("console.login", bye="1"), 303))
    response.delete_cookie(SESSION_COOKIE, path="/")
    new_csrf_seed(response)
    return response
