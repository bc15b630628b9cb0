"""Console log-in, roles, CSRF, expired sessions, tenant isolation by URL and error pages
(Flask's test client against the real app and store; the browser tests drive Chromium)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select

from anxinma.issuer.services.auth import Role, issue_session
from anxinma.issuer.store.models import AuditEntry, Credential, User, Worker
from anxinma.issuer.web.console.base import SESSION_COOKIE
from tests.conftest import LiveIssuer
from tests.issuer.console_support import Console, account, text

MENUS = {
    "enterprise_admin": ["服务员", "登记服务员", "批量导入", "入户记录", "投诉", "异常与举报", "企业安心码"],
    "card_operator": ["制卡批次", "新建批次"],
    "regulator": ["监管看板", "即将到期", "证件过期", "失信名单", "诚信企业", "投诉", "异常与举报", "服务员"],
    "issuer_admin": [
        "监管看板",
        "企业",
        "服务员",
        "失信名单",
        "诚信企业",
        "投诉",
        "异常与举报",
        "API 令牌",
        "用户",
    ],
}
HOMES = {
    "enterprise_admin": "/console/workers",
    "card_operator": "/console/batches",
    "regulator": "/console/dashboard",
    "issuer_admin": "/console/dashboard",
}


def _menu(html: str) -> list[str]:
    nav = html.split('aria-label="主菜单"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


@pytest.mark.parametrize("role", list(MENUS))
def test_each_role_signs_in_to_its_home_and_sees_only_its_menu(live_issuer: LiveIssuer, role: str) -> None:
    enterprise = int(live_issuer.enterprise()["id"]) if role == "enterprise_admin" else None  # type: ignore[call-overload]
    console = Console(live_issuer)
    username, password = account(live_issuer, role, enterprise)
    response = console.login(username, password)
    assert response.headers["Location"] == HOMES[role]
    cookie = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookie if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    home = console.get(HOMES[role])
    assert home.status_code == 200
    assert _menu(text(home)) == MENUS[role]
    assert '<html lang="zh-CN">' in text(home)
    foreign = {
        "enterprise_admin": "/console/dashboard",
        "card_operator": "/console/workers",
        "regulator": "/console/batches",
        "issuer_admin": "/console/enterprise",
    }[role]
    refused = console.get(foreign)
    assert refused.status_code == 403
    assert "您的角色无权打开此页面" in text(refused)


def test_wrong_password_is_refused_without_a_session(live_issuer: LiveIssuer) -> None:
    username, _ = account(live_issuer, "regulator")
    console = Console(live_issuer)
    console.get("/console/login")
    response = console.post("/console/login", {"username": username, "password": "not the password"})
    assert response.status_code == 401
    assert "用户名或密码错误" in text(response)
    assert not any(c.startswith(SESSION_COOKIE) for c in response.headers.getlist("Set-Cookie"))
    assert console.get("/console/dashboard").status_code == 303


def test_a_page_without_a_session_sends_to_the_login_and_back(live_issuer: LiveIssuer) -> None:
    console = Console(live_issuer)
    response = console.get("/console/expiring?days=60")
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/login?next=/console/expiring?days%3D60"
    username, password = account(live_issuer, "regulator")
    console.get(response.headers["Location"])
    back = console.post(
        "/console/login", {"username": username, "password": password, "next": "/console/expiring?days=60"}
    )
    assert back.headers["Location"] == "/console/expiring?days=60"


@pytest.mark.parametrize(
    "target", ["https://evil.example/console/", "//evil.example/x", "/api/v1/me", "/\\evil"]
)
def test_login_never_sends_anyone_off_the_consoles(live_issuer: LiveIssuer, target: str) -> None:
    username, password = account(live_issuer, "regulator")
    console = Console(live_issuer)
    console.get("/console/login")
    response = console.post("/console/login", {"username": username, "password": password, "next": target})
    assert response.headers["Location"] == "/console/dashboard"


def _counts(issuer: LiveIssuer) -> tuple[Any, ...]:
    with issuer.runtime.store.read() as session:
        return (
            session.execute(select(func.count(AuditEntry.seq))).scalar(),
            session.execute(select(func.count(Credential.serial))).scalar(),
            tuple(
                session.execute(
                    select(Credential.serial, Credential.status).order_by(Credential.serial)
                ).all()
            ),
        )


def test_form_posts_without_the_csrf_token_are_refused_and_change_nothing(live_issuer: LiveIssuer) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    worker = int(live_issuer.worker(enterprise)["id"])  # type: ignore[call-overload]
    serial = int(live_issuer.credential(worker)["serial"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    before = _counts(live_issuer)
    for path, data in [
        (f"/console/workers/{worker}/issue", {}),
        (f"/console/credentials/{serial}/revoke", {"confirm": "1", "reason": "left"}),
        ("/console/workers/new", {"name": "王芳", "id_number": "x", "phone": "13800001111"}),
        ("/console/logout", {}),
    ]:
        for token in (None, "0" * 40, "é" * 40):  # a non-ASCII token too (compare_digest on str raised)
            body = dict(data) if token is None else {**data, "csrf_token": token}
            response = console.post(path, body, csrf=False)
            assert response.status_code == 400, path
            assert "表单已失效，或并非来自本网站" in text(response)
    assert _counts(live_issuer) == before
    assert console.get(f"/console/workers/{worker}").status_code == 200  # still signed in
    # The login form is protected too (login CSRF).
    anonymous = Console(live_issuer)
    anonymous.get("/console/login")
    username, password = account(live_issuer, "regulator")
    refused = anonymous.post("/console/login", {"username": username, "password": password}, csrf=False)
    assert refused.status_code == 400


def test_a_token_of_another_browser_or_user_is_refused(live_issuer: LiveIssuer) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    worker = int(live_issuer.worker(enterprise)["id"])  # type: ignore[call-overload]
    first = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    second = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    assert first.token != second.token
    stolen = second.post(f"/console/workers/{worker}/issue", {"csrf_token": first.token}, csrf=False)
    assert stolen.status_code == 400
    own = second.post(f"/console/workers/{worker}/issue")
    assert own.status_code == 303


def _user_id(issuer: LiveIssuer, username: str) -> int:
    with issuer.runtime.store.read() as session:
        return int(session.execute(select(User.id).where(User.username == username)).scalar_one())


def _session_of(issuer: LiveIssuer, username: str, password: str) -> str:
    """The server-side session id of a fresh sign-in of ``username``, for tokens the tests make
    with other expiry times."""
    token, _expires, _user = issuer.runtime.service.accounts.login(username, password)
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


def test_an_expired_session_shows_a_clear_page_and_returns_to_the_page_after_login(
    live_issuer: LiveIssuer,
) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    worker = int(live_issuer.worker(enterprise)["id"])  # type: ignore[call-overload]
    username, password = account(live_issuer, "enterprise_admin", enterprise)
    key = live_issuer.runtime.vault.session_key
    expired = issue_session(
        key,
        user_id=_user_id(live_issuer, username),
        role=Role.ENTERPRISE_ADMIN,
        enterprise_id=enterprise,
        session_id=_session_of(live_issuer, username, password),
        expires=datetime.now(UTC) - timedelta(seconds=5),
    )
    console = Console(live_issuer)
    console.client.set_cookie(SESSION_COOKIE, expired, domain="localhost")
    page = console.get(f"/console/workers/{worker}")
    assert page.status_code == 401
    body = text(page)
    assert "登录已过期" in body and "30 分钟无操作会自动退出" in body
    assert f'name="next" value="/console/workers/{worker}"' in body
    # A form posted with the expired session lands on the same page, nothing changes.
    before = _counts(live_issuer)
    console.client.set_cookie(SESSION_COOKIE, expired, domain="localhost")  # the page cleared it
    posted = console.client.post(
        f"/console/workers/{worker}/issue",
        data={"csrf_token": console.token},
        headers={"Referer": f"http://localhost/console/workers/{worker}"},
    )
    assert posted.status_code == 401 and "登录已过期" in text(posted)
    assert _counts(live_issuer) == before
    back = console.post(
        "/console/login", {"username": username, "password": password, "next": f"/console/workers/{worker}"}
    )
    assert back.headers["Location"] == f"/console/workers/{worker}"
    assert console.get(back.headers["Location"]).status_code == 200


def test_a_session_in_use_is_renewed_before_it_runs_out(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "regulator")
    key = live_issuer.runtime.vault.session_key
    nearly = issue_session(
        key,
        user_id=_user_id(live_issuer, username),
        role=Role.REGULATOR,
        enterprise_id=None,
        session_id=_session_of(live_issuer, username, password),
        expires=datetime.now(UTC) + timedelta(seconds=300),
    )
    console = Console(live_issuer)
    console.client.set_cookie(SESSION_COOKIE, nearly, domain="localhost")
    response = console.get("/console/expiring")
    assert response.status_code == 200
    renewed = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{SESSION_COOKIE}="))
    token = renewed.split("=", 1)[1].split(";", 1)[0]
    claims = jwt.decode(token, key, algorithms=["HS256"])
    left = claims["exp"] - datetime.now(UTC).timestamp()
    assert left > 1700  # a fresh 30 minutes
    # A fresh session is not renewed on every request.
    again = console.get("/console/expiring")
    assert not any(c.startswith(f"{SESSION_COOKIE}=") for c in again.headers.getlist("Set-Cookie"))


def test_logout_ends_the_session(live_issuer: LiveIssuer) -> None:
    console = Console.signed_in(live_issuer, "regulator")
    response = console.post("/console/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/console/login?bye=1"
    assert "您已退出登录" in text(console.get("/console/login?bye=1"))
    assert console.get("/console/dashboard").status_code == 303


def test_a_disabled_account_is_signed_out_at_its_next_request(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "regulator")
    console = Console(live_issuer)
    console.login(username, password)
    admin = Console.signed_in(live_issuer, "issuer_admin")
    assert admin.post(f"/console/admin/users/{_user_id(live_issuer, username)}/disable").status_code == 303
    assert console.get("/console/dashboard").status_code == 303


def test_another_enterprises_worker_is_404_by_url_and_nothing_changes(live_issuer: LiveIssuer) -> None:
    ours = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    theirs = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    worker = int(live_issuer.worker(ours)["id"])  # type: ignore[call-overload]
    serial = int(live_issuer.credential(worker)["serial"])  # type: ignore[call-overload]
    intruder = Console.signed_in(live_issuer, "enterprise_admin", theirs)
    before = _counts(live_issuer)
    for path in [
        f"/console/workers/{worker}",
        f"/console/workers/{worker}/edit",
        f"/console/credentials/{serial}",
        f"/console/credentials/{serial}/qr.svg",
        f"/console/credentials/{serial}/badge.csv",
        f"/console/credentials/{serial}/revoke",
    ]:
        response = intruder.get(path)
        assert response.status_code == 404, path
        assert "text/html" in response.content_type
        assert "页面或记录不存在，或您无权查看" in text(response)
    for path, data in [
        (f"/console/workers/{worker}/issue", {}),
        (f"/console/credentials/{serial}/revoke", {"confirm": "1", "reason": "left"}),
        (f"/console/credentials/{serial}/suspend", {"confirm": "1"}),
        (f"/console/workers/{worker}/edit", {"name": "别人家", "categories": "cleaning"}),
    ]:
        assert intruder.post(path, data).status_code == 404, path
    listing = text(intruder.get(f"/console/workers?enterprise={ours}"))
    assert f"/console/workers/{worker}" not in listing
    assert _counts(live_issuer) == before
    with live_issuer.runtime.store.read() as session:
        assert session.get(Worker, worker).name == "李小霞"  # type: ignore[union-attr]


def test_pages_get_html_error_pages_while_the_api_keeps_json(live_issuer: LiveIssuer) -> None:
    client = live_issuer.app.test_client()
    page = client.get("/console/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "找不到" in page.get_data(as_text=True) and "没有这个地址" in page.get_data(as_text=True)
    english = client.get("/console/no-such-page?lang=en")
    assert "Not found" in english.get_data(as_text=True) and '<html lang="en">' in english.get_data(
        as_text=True
    )
    assert client.get("/no-such-page", headers={"Accept": "text/html"}).mimetype == "text/html"
    assert client.get("/no-such-page").mimetype == "application/json"
    api = client.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json["error"]["code"] == "not_found"  # type: ignore[index]
    status = client.get("/status/1/999999", headers={"Accept": "text/html"})
    assert status.mimetype == "application/json"


def test_english_switch_is_on_every_page_and_remembered(live_issuer: LiveIssuer) -> None:
    console = Console.signed_in(live_issuer, "regulator")
    chinese = text(console.get("/console/dashboard"))
    assert "全市概况" in chinese and 'href="/console/dashboard?lang=en"' in chinese
    english = console.get("/console/dashboard?lang=en")
    assert "The city at a glance" in text(english)
    assert "lang=en" in english.headers["Set-Cookie"]
    later = text(console.get("/console/blacklist"))
    assert "Blacklist" in later and '<html lang="en">' in later and "中文" in later


def test_login_attempts_are_rate_limited(live_issuer_factory: Any) -> None:
    issuer = live_issuer_factory()
    console = Console(issuer)
    console.get("/console/login")
    statuses = [  # a name each: the per-account limit (10) is not what this test is about
        console.post("/console/login", {"username": f"nobody-{n}", "password": "wrong password"}).status_code
        for n in range(22)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[-1] == 429
    assert "尝试次数过多" in text(console.post("/console/login", {"username": "x", "password": "y"}))


def test_session_cookie_is_secure_behind_https(live_issuer_factory: Any) -> None:
    issuer = live_issuer_factory()
    object.__setattr__(issuer.runtime.config, "base_url", "https://anxin.example.cn")
    username, password = account(issuer, "regulator")
    console = Console(issuer)
    response = console.login(username, password)
    session = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{SESSION_COOKIE}="))
    assert "Secure" in session


def test_a_session_token_lasts_thirty_minutes(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "regulator")
    response = Console(live_issuer).login(username, password)
    session = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{SESSION_COOKIE}="))
    token = session.split("=", 1)[1].split(";", 1)[0]
    claims = jwt.decode(token, live_issuer.runtime.vault.session_key, algorithms=["HS256"])
    assert timedelta(seconds=claims["exp"] - claims["iat"]) == timedelta(minutes=30)
    assert jwt.get_unverified_header(token)["typ"] == "anxinma-session+jwt"
