"""Log-in, log-out and the password of the consoles: the service's console sessions in a cookie."""

from __future__ import annotations

from flask import Response, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from anxinma.issuer.errors import ApiError, Unauthorized, ValidationFailed
from anxinma.issuer.services.auth import Role
from anxinma.issuer.services.throttle import TooManyAttempts
from anxinma.issuer.web.api import client_address
from anxinma.issuer.web.console.base import (
    SESSION_COOKIE,
    api_message,
    blueprint,
    field_errors,
    home_for,
    me,
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
def login() -> BaseResponse | str:
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
        token, expires, user = service().accounts.login(username, password, client=client_address())
    except (Unauthorized, TooManyAttempts) as exc:
        refused = make_response(
            render_template(
                "issuer/login.html",
                expired=False,
                next=target or "",
                error=exc,
                username=username,
            ),
            exc.http_status,
        )
        if isinstance(exc, TooManyAttempts):
            refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    response = make_response(redirect(target or home_for(Role(user.role)), 303))
    set_session_cookie(response, token, expires)
    new_csrf_seed(response)
    g.session_problem = None
    return response


@blueprint.post("/logout")
@page()
def logout() -> Response:
    """End the session on the server (every host refuses its cookie and its token from now on),
    then clear the cookie."""
    service().accounts.logout(me())
    response = make_response(redirect(url_for("console.login", bye="1"), 303))
    response.delete_cookie(SESSION_COOKIE, path="/")
    new_csrf_seed(response)
    return response


@blueprint.route("/password", methods=["GET", "POST"])
@page()
def change_password() -> BaseResponse | tuple[str, int]:
    """Change one's own password (the current one asked again). Every other session of the
    account ends at once, on every host; this one stays signed in."""
    if request.method == "GET":
        done = request.args.get("done") == "1"
        return render_template("issuer/password.html", errors={}, problem=None, done=done), 200
    new, confirm = request.form.get("password", ""), request.form.get("confirm", "")
    if new != confirm:
        errors = {"confirm": _("The two new passwords differ")}
        return render_template("issuer/password.html", errors=errors, problem=None), 400
    try:
        service().accounts.change_password(
            me(), request.form.get("current_password", ""), new, client=client_address()
        )
    except ValidationFailed as exc:
        return render_template("issuer/password.html", errors=field_errors(exc), problem=None), 400
    except ApiError as exc:
        shown = render_template("issuer/password.html", errors={}, problem=api_message(exc))
        return shown, exc.http_status
    return redirect(url_for("console.change_password", done="1"), 303)
