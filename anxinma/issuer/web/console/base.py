"""What every console page shares: the blueprint, who is signed in, CSRF, menus and helpers.

Sessions are the service's console-session JWTs (``POST /api/v1/sessions``, 30 minutes) kept
in an HttpOnly, SameSite=Lax cookie; a session in use is renewed once half of it has passed,
so 30 minutes is an idle timeout (12 hours at most from sign-in). Each names a server-side
session row: signing out, a password change or a disabled account ends it on every host.
Every POST carries a CSRF token: an HMAC (the session key) of a random per-browser cookie and
the user, so a form posted from another site (which can neither read that cookie nor compute
the HMAC) is refused with a page that says so. The cookie is replaced at every log-in, so a
token learnt before it is worth nothing after.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import io
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import jwt
from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup, escape

from anxinma import credential as fmt
from anxinma.errors import InvalidClaims
from anxinma.i18n import select_locale
from anxinma.issuer.errors import ApiError, SessionExpired, Unauthorized, ValidationFailed
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.issuer import IssuerServices
from anxinma.issuer.web.console import present
from anxinma.issuer.web.params import id_value

blueprint = Blueprint("console", __name__, url_prefix="/console")

SESSION_COOKIE = "axm_session"
CSRF_COOKIE = "axm_csrf"
CSRF_FIELD = "csrf_token"

F = TypeVar("F", bound=Callable[..., Any])


def service() -> IssuerServices:
    """The app's service (``create_app`` keeps it in ``extensions["anxinma"]``)."""
    found = current_app.extensions["anxinma"].service
    assert isinstance(found, IssuerServices)
    return found


def viewer() -> Principal | None:
    """The signed-in console user of this request, if any."""
    who: Principal | None = g.get("console_viewer")
    return who


def me() -> Principal:
    """The signed-in user (only inside a view guarded by :func:`page`)."""
    who = viewer()
    assert who is not None
    return who


# -- sessions ------------------------------------------------------------------------------


def _secure() -> bool:
    return str(service().config.base_url).startswith("https://")


def set_session_cookie(response: Response, token: str, expires: datetime) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        expires=expires,
        httponly=True,
        samesite="Lax",
        secure=_secure(),
        path="/",
    )


def new_csrf_seed(response: Response) -> None:
    """A fresh per-browser CSRF secret (at log-in and log-out: tokens seen before stop working)."""
    seed = secrets.token_urlsafe(24)
    g.csrf_seed = seed
    response.set_cookie(CSRF_COOKIE, seed, httponly=True, samesite="Lax", secure=_secure(), path="/")


@blueprint.before_request
def _load_viewer() -> Response | str | tuple[str, int] | None:
    g.console_viewer = None
    g.session_problem = None
    g.csrf_seed = request.cookies.get(CSRF_COOKIE) or None
    if g.csrf_seed is None:
        g.csrf_seed = secrets.token_urlsafe(24)
        g.csrf_seed_new = True
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            # The client's address: one that keeps sending bad cookies is refused (429).
            principal = service().accounts.authenticate(token, client=request.remote_addr or "unknown")
            if principal.kind != "session":  # an API token pasted into the cookie is not a log-in
                raise Unauthorized("not a session", message_zh="不是会话")
        except SessionExpired:
            g.session_problem = "expired"
        except Unauthorized:
            g.session_problem = "invalid"
        else:
            g.console_viewer = principal
            _maybe_renew(token, principal)
    if request.method == "POST":
        if g.session_problem == "expired" and request.endpoint != "console.login":
            return expired_page(_return_path())
        sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token", "")
        if g.get("csrf_seed_new") or not hmac.compare_digest(sent.encode(), csrf_token().encode()):
            return error_page(
                400,
                _("This form has expired or did not come from this site"),
                _(
                    "Nothing was changed. Go back, reload the page and submit the form again. "
                    "If this keeps happening, make sure your browser accepts cookies from this site."
                ),
                title=_("Form refused"),
            )
    return None


def _maybe_renew(token: str, principal: Principal) -> None:
    lifetime = int(service().config.session_seconds)
    try:
        expires = int(jwt.decode(token, options={"verify_signature": False})["exp"])
    except (jwt.PyJWTError, KeyError, ValueError):  # pragma: no cover - authenticate read it
        return
    if expires - datetime.now(UTC).timestamp() < lifetime / 2:
        try:
            g.renewed_session = service().accounts.renew_session(principal)
        except Unauthorized:
            g.console_viewer = None
            g.session_problem = "invalid"


@blueprint.after_request
def _write_cookies(response: Response) -> Response:
    renewed = g.get("renewed_session")
    if renewed is not None and SESSION_COOKIE not in _cookies_set(response):  # not at log-out
        set_session_cookie(response, *renewed)
    if g.get("session_problem") == "invalid":
        response.delete_cookie(SESSION_COOKIE, path="/")
    if g.get("csrf_seed_new") and CSRF_COOKIE not in _cookies_set(response):
        response.set_cookie(
            CSRF_COOKIE, g.csrf_seed, httponly=True, samesite="Lax", secure=_secure(), path="/"
        )
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    return response


def _cookies_set(response: Response) -> set[str]:
    return {header.split("=", 1)[0] for header in response.headers.getlist("Set-Cookie")}


def csrf_token() -> str:
    """This browser's token for this user (the login form's when nobody is signed in)."""
    who = viewer()
    message = f"csrf\x00{g.get('csrf_seed') or ''}\x00{who.ident if who else '-'}".encode()
    return hmac.new(service().vault.session_key, message, hashlib.sha256).hexdigest()[:40]


def safe_next(target: str | None) -> str | None:
    """A path inside the consoles to return to after log-in (nothing that leaves the site)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/") or "\\" in target:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _return_path() -> str | None:
    """Where the person was: this page for a GET, the page the form was on for a POST."""
    if request.method == "GET":
        return safe_next(request.full_path.rstrip("?"))
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


def expired_page(next_path: str | None) -> tuple[str, int]:
    g.session_problem = "invalid"  # and clear the cookie: the next page is the log-in
    return (
        render_template("issuer/login.html", expired=True, next=next_path or "", error=None, username=""),
        401,
    )


def page(*roles: Role) -> Callable[[F], F]:
    """Guard a view: signed in (else to the log-in, or the expired-session page) and one of
    ``roles`` (else a 403 page). Tenant scope is the service's: views pass the principal on."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            who = viewer()
            if who is None:
                if g.get("session_problem") == "expired":
                    return expired_page(_return_path())
                target = _return_path()
                login_url = url_for("console.login", next=target) if target else url_for("console.login")
                return redirect(login_url, 303)
            if roles and who.role not in roles:
                return error_page(
                    403,
                    _("Your role cannot open this page"),
                    _("Use the menu to reach the pages of your role."),
                    title=_("Not allowed"),
                )
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


# -- pages ---------------------------------------------------------------------------------


def error_page(status: int, heading: str, detail: str, *, title: str | None = None) -> tuple[str, int]:
    return (
        render_template(
            "issuer/error.html", status=status, heading=heading, detail=detail, title=title or heading
        ),
        status,
    )


_STATUS_TITLES: dict[int, Any] = {
    400: lazy_gettext("The request could not be handled"),
    401: lazy_gettext("Please sign in"),
    403: lazy_gettext("Not allowed"),
    404: lazy_gettext("Not found"),
    405: lazy_gettext("The request could not be handled"),
    409: lazy_gettext("This cannot be done now"),
    413: lazy_gettext("The file is too large"),
    429: lazy_gettext("Too many attempts"),
    500: lazy_gettext("Something went wrong on our side"),
}
_STATUS_HINTS: dict[int, Any] = {
    404: lazy_gettext("The page or record does not exist, or it is not yours to see."),
    413: lazy_gettext("Upload a file of at most 8 MB (split a large import into several files)."),
    429: lazy_gettext("Wait a minute, then try again."),
    500: lazy_gettext("The problem was logged. Try again in a moment; nothing half-done was saved."),
}


def render_error(status: int, message_zh: str, message_en: str) -> Response:
    """The HTML error page of the whole service (``create_app`` calls it for pages, never for /api/)."""
    heading = str(_STATUS_TITLES.get(status, _STATUS_TITLES[400]))
    hint = _STATUS_HINTS.get(status)
    body = render_template(
        "issuer/error.html",
        status=status,
        heading=heading,
        detail=pick(message_zh, message_en),
        other=message_en if is_chinese() else message_zh,
        hint=str(hint) if hint is not None else None,
        title=heading,
    )
    response = Response(body, status=status, mimetype="text/html")
    if status == 429:
        response.headers["Retry-After"] = "60"
    return response


def is_chinese() -> bool:
    return select_locale() == "zh_CN"


def pick(zh: str, en: str) -> str:
    """The message of a (zh, en) pair the service raised, in the page's language."""
    return zh if is_chinese() else en


def field_errors(exc: ValidationFailed) -> dict[str, str]:
    return {name: pick(zh, en) for name, (zh, en) in exc.fields.items()}


def api_message(exc: ApiError) -> str:
    return pick(exc.message_zh, exc.message)


def category_label(category: fmt.Category) -> str:
    return category.zh if is_chinese() else category.en


def china_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(fmt.CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def lang_url(locale: str) -> str:
    """This page in another language (``?lang=``, which i18n remembers in a cookie)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [locale]
    return request.path + "?" + urlencode(args, doseq=True)


def page_url(**changes: Any) -> str:
    """This page with some query arguments changed (paging, sorting); None removes one."""
    args = request.args.to_dict(flat=False)
    args.pop("lang", None)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    query = urlencode(args, doseq=True)
    return request.path + (f"?{query}" if query else "")


def int_arg(name: str, default: int, low: int = 1, high: int = 10**9) -> int:
    value = id_value(request.args.get(name))  # ASCII digits only: int('²') fails
    return value if value is not None and low <= value <= high else default


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV download in UTF-8 with the byte-order mark, so Excel on a Chinese Windows reads it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if cell is None else _cell(cell) for cell in row])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return china_time(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    # A cell that starts like a formula would run in Excel (CSV injection): quote it as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- menus ---------------------------------------------------------------------------------

#: (endpoint, label) of each role's menu, in order; the first is the role's home.
MENUS: dict[Role, list[tuple[str, Any]]] = {
    Role.ENTERPRISE_ADMIN: [
        ("console.workers", lazy_gettext("Workers")),
        ("console.register", lazy_gettext("Register a worker")),
        ("console.imports", lazy_gettext("Bulk import")),
        ("console.visits", lazy_gettext("Visits")),
        ("console.complaints", lazy_gettext("Complaints")),
        ("console.reports", lazy_gettext("Abuse and reports")),
        ("console.enterprise", lazy_gettext("Enterprise code")),
    ],
    Role.CARD_OPERATOR: [
        ("console.batches", lazy_gettext("Card batches")),
        ("console.new_batch", lazy_gettext("New batch")),
    ],
    Role.REGULATOR: [
        ("console.dashboard", lazy_gettext("Dashboard")),
        ("console.expiring", lazy_gettext("Expiring soon")),
        ("console.lapsed", lazy_gettext("Lapsed certificates")),
        ("console.blacklist", lazy_gettext("Blacklist")),
        ("console.redlist", lazy_gettext("Red list")),
        ("console.complaints", lazy_gettext("Complaints")),
        ("console.reports", lazy_gettext("Abuse and reports")),
        ("console.workers", lazy_gettext("Workers")),
    ],
    Role.ISSUER_ADMIN: [
        ("console.dashboard", lazy_gettext("Dashboard")),
        ("console.admin_enterprises", lazy_gettext("Enterprises")),
        ("console.workers", lazy_gettext("Workers")),
        ("console.blacklist", lazy_gettext("Blacklist")),
        ("console.redlist", lazy_gettext("Red list")),
        ("console.complaints", lazy_gettext("Complaints")),
        ("console.reports", lazy_gettext("Abuse and reports")),
        ("console.admin_tokens", lazy_gettext("API tokens")),
        ("console.admin_users", lazy_gettext("Users")),
    ],
}
ROLE_NAMES: dict[Role, Any] = {
    Role.ENTERPRISE_ADMIN: lazy_gettext("Enterprise administrator"),
    Role.CARD_OPERATOR: lazy_gettext("Card operator"),
    Role.REGULATOR: lazy_gettext("Regulator"),
    Role.ISSUER_ADMIN: lazy_gettext("Issuer administrator"),
}


def home_for(role: Role) -> str:
    return url_for(MENUS[role][0][0])


@blueprint.app_template_global()
def console_menu() -> list[tuple[str, str, bool]]:
    """(url, label, current) of the signed-in role's menu."""
    who = viewer()
    if who is None:
        return []
    here = request.endpoint or ""
    section = g.get("console_section") or here
    return [(url_for(endpoint), str(label), endpoint == section) for endpoint, label in MENUS[who.role]]


def section(endpoint: str) -> None:
    """Mark which menu entry a page belongs to (a worker's page belongs to "Workers")."""
    g.console_section = endpoint


@blueprint.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "viewer": viewer(),
        "csrf_token": csrf_token,
        "CSRF_FIELD": CSRF_FIELD,
        "pick": pick,
        "lang_url": lang_url,
        "page_url": page_url,
        "china_time": china_time,
        "last_valid_day": fmt.last_valid_day,
        "category_label": category_label,
        "role_name": lambda role: str(ROLE_NAMES[Role(role)]),
        "actor_role": actor_role,
        "viewer_name": _username,  # not "username": the login page passes the name typed
        "Category": fmt.Category,
        "mask_name": fmt.mask_name,
        "credential_badge": present.credential_badge,
        "worker_badge": present.worker_badge,
        "complaint_label": present.complaint_label,
        "rating_source_label": present.rating_source_label,
        "categories_text": lambda bits: present.categories_text(bits, chinese=is_chinese()),
        "enterprise_options": enterprise_options,
    }


def actor_role(actor: str | None) -> str:
    """Who did something, as a page names them: the role of an audit actor
    (``kind:ident:role@enterprise``), not the account, which the CSV export keeps."""
    parts = (actor or "").split(":")
    try:
        return str(ROLE_NAMES[Role(parts[2].split("@")[0])]) if len(parts) == 3 else (actor or "")
    except ValueError:
        return actor or ""


def _username() -> str:
    who = viewer()
    if who is None:
        return ""
    if "console_username" not in g:
        g.console_username = service().accounts.username(who)
    return str(g.console_username)


def enterprise_choices(who: Principal) -> list[tuple[int, str]]:
    """(id, name) of every enterprise the caller may pick in a filter, by name: two columns,
    no ORM objects (a city has 500, a province thousands; the service's visibility rule)."""
    return service().enterprises.choices(who)


def tenant_columns(who: Principal, ids: set[int]) -> tuple[list[tuple[int, str]], dict[int, str]]:
    """What a list page adds for a city-wide reader: the enterprise filter's choices and the
    names of the page's enterprises, which are among those choices (one query); nothing for an
    enterprise, which sees only its own."""
    if not service().scope(who).city_wide:
        return [], {}
    choices = enterprise_choices(who)
    return choices, {i: n for i, n in choices if i in ids}


def enterprise_names(ids: set[int]) -> dict[int, str]:
    """The names of the listed enterprises (the ids of a page's rows, which its scope produced)."""
    return service().enterprises.names(me(), ids) if ids else {}


def enterprise_options(choices: Sequence[tuple[int, str]], selected: int | None) -> Markup:
    """The ``<option>`` elements of an enterprise filter, built once in Python (a template
    loop over hundreds of options costs more than the rest of the page)."""
    return Markup(
        "".join(
            f'<option value="{eid}"{" selected" if eid == selected else ""}>{escape(name)}</option>'
            for eid, name in choices
        )
    )


def parse_category_arg(raw: str | None) -> int | None:
    """A category filter (slug or Chinese label) as its bit set; None when absent or unknown."""
    if not raw:
        return None
    try:
        return fmt.categories_to_bits([fmt.Category.parse(raw)])
    except InvalidClaims:
        return None
