"""Sessions end on the server (issue 17, finding 2): signing out, a password change, disabling
the account and revoking a token end them at once, for the console cookie and for the same JWT
sent as a Bearer token, on every host sharing the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from anxinma.issuer.services.auth import SYSTEM, Role
from anxinma.issuer.store.models import AuditEntry, User, UserSession
from anxinma.issuer.web.console.base import SESSION_COOKIE
from tests.conftest import LiveIssuer
from tests.issuer.console_support import Console, account, text


def _cookie(console: Console) -> str:
    cookie = console.client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    return cookie.value


def _stolen(issuer: LiveIssuer, token: str) -> Console:
    """Another browser holding a copy of ``token`` (as a thief or a second tab would)."""
    other = Console(issuer)
    other.client.set_cookie(SESSION_COOKIE, token, domain="localhost")
    return other


def _bearer(issuer: LiveIssuer, token: str) -> Any:
    return issuer.app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def _user_id(issuer: LiveIssuer, username: str) -> int:
    return issuer.runtime.service.accounts.user_id(username)


def _assert_ended(issuer: LiveIssuer, token: str) -> None:
    page = _stolen(issuer, token).get("/console/dashboard")
    assert page.status_code == 303 and page.headers["Location"].startswith("/console/login")
    refused = _bearer(issuer, token)
    assert refused.status_code == 401
    error = refused.get_json()["error"]
    assert error["code"] == "unauthorized"
    assert "会话已结束" in error["zh"] and "session has ended" in error["en"]


def test_after_logout_the_old_cookie_and_the_same_jwt_as_bearer_are_refused(issuer_on: LiveIssuer) -> None:
    """On SQLite and PostgreSQL."""
    live_issuer = issuer_on
    username, password = account(live_issuer, "regulator")
    console = Console(live_issuer)
    console.login(username, password)
    token = _cookie(console)
    assert _stolen(live_issuer, token).get("/console/dashboard").status_code == 200
    assert _bearer(live_issuer, token).status_code == 200
    assert console.post("/console/logout").status_code == 303
    _assert_ended(live_issuer, token)
    with live_issuer.runtime.store.read() as session:
        row = session.execute(
            select(UserSession).where(UserSession.user_id == _user_id(live_issuer, username))
        ).scalar_one()
        actions = [e.action for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
    assert row.end_reason == "logout"
    assert actions[-2:] == ["session.start", "session.end"]


def test_an_api_session_ends_with_the_console_logout_of_the_same_token(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "regulator")
    made = live_issuer.app.test_client().post(
        "/api/v1/sessions", json={"username": username, "password": password}
    )
    assert made.status_code == 201
    token = made.get_json()["token"]
    browser = _stolen(live_issuer, token)
    assert browser.get("/console/dashboard").status_code == 200
    browser.post("/console/logout")
    _assert_ended(live_issuer, token)


def test_a_password_change_ends_every_other_session(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "regulator")
    first, second = Console(live_issuer), Console(live_issuer)
    first.login(username, password)
    second.login(username, password)
    old = _cookie(first)
    changed = second.post(
        "/console/password",
        {"current_password": password, "password": "a-new-password-1", "confirm": "a-new-password-1"},
    )
    assert changed.status_code == 303, text(changed)[:400]
    assert "密码已修改，您在其他地方的登录已退出" in text(second.get(changed.headers["Location"]))
    english = text(second.get("/console/password?lang=en"))
    assert "Change your password" in english and 'autocomplete="current-password"' in english
    _assert_ended(live_issuer, old)
    assert second.get("/console/dashboard").status_code == 200  # the one that asked stays
    fresh = Console(live_issuer)
    fresh.login(username, "a-new-password-1")


def test_a_password_set_by_the_operator_ends_every_session(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "regulator")
    console = Console(live_issuer)
    console.login(username, password)
    token = _cookie(console)
    live_issuer.runtime.service.accounts.set_password(None, _user_id(live_issuer, username), "operator-set-1")
    _assert_ended(live_issuer, token)


def test_the_wrong_current_password_changes_nothing(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "regulator")
    console = Console(live_issuer)
    console.login(username, password)
    refused = console.post(
        "/console/password", {"current_password": "not it at all", "password": "x" * 12, "confirm": "x" * 12}
    )
    assert refused.status_code == 400 and "当前密码不正确" in text(refused)
    Console(live_issuer).login(username, password)


def test_disabling_ends_the_sessions_and_enabling_does_not_bring_them_back(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "regulator")
    console = Console(live_issuer)
    console.login(username, password)
    token = _cookie(console)
    services = live_issuer.runtime.service
    services.accounts.set_user_disabled(SYSTEM, _user_id(live_issuer, username), True)
    assert _bearer(live_issuer, token).status_code == 401
    services.accounts.set_user_disabled(SYSTEM, _user_id(live_issuer, username), False)
    _assert_ended(live_issuer, token)


def test_a_session_ended_on_one_host_is_refused_on_the_other(
    live_issuer_factory: Any, database_url: str
) -> None:
    """Two hosts on one database (SQLite and PostgreSQL)."""
    host_a = live_issuer_factory(database_url)
    host_b = LiveIssuer(host_a.home, host_a.database_url)  # a second host: same database and secrets
    try:
        username, password = account(host_a, "regulator")
        console = Console(host_a)
        console.login(username, password)
        token = _cookie(console)
        assert _bearer(host_b, token).status_code == 200
        assert _stolen(host_b, token).get("/console/dashboard").status_code == 200
        console.post("/console/logout")
        _assert_ended(host_b, token)
        # A token revoked on one host is refused by the other at once as well.
        token_id, revoked = host_a.runtime.service.accounts.create_token(Role.REGULATOR)
        assert _bearer(host_b, revoked).status_code == 200
        host_a.runtime.service.accounts.revoke_token(SYSTEM, token_id)
        assert _bearer(host_b, revoked).status_code == 401
    finally:
        host_b.stop()


def test_renewal_keeps_the_session_so_logout_ends_the_renewed_token_too(live_issuer: LiveIssuer) -> None:
    from datetime import UTC, datetime, timedelta

    from anxinma.issuer.services.auth import issue_session

    username, password = account(live_issuer, "regulator")
    console = Console(live_issuer)
    console.login(username, password)
    with live_issuer.runtime.store.read() as session:
        row = session.execute(
            select(UserSession).where(UserSession.user_id == _user_id(live_issuer, username))
        ).scalar_one()
    nearly = issue_session(
        live_issuer.runtime.vault.session_key,
        user_id=row.user_id,
        role=Role.REGULATOR,
        enterprise_id=None,
        session_id=row.id,
        expires=datetime.now(UTC) + timedelta(seconds=120),
    )
    console.client.set_cookie(SESSION_COOKIE, nearly, domain="localhost")
    page = console.get("/console/dashboard")
    renewed = next(c for c in page.headers.getlist("Set-Cookie") if c.startswith(f"{SESSION_COOKIE}="))
    token = renewed.split("=", 1)[1].split(";", 1)[0]
    assert token != nearly
    console.post("/console/logout")
    _assert_ended(live_issuer, token)
    _assert_ended(live_issuer, nearly)


def test_a_forged_session_id_is_refused(live_issuer: LiveIssuer) -> None:
    """A token signed with the right key but naming no session row (made before this change, or
    by someone holding the key but not the database) is not a session."""
    from datetime import UTC, datetime, timedelta

    from anxinma.issuer.services.auth import issue_session

    username, _ = account(live_issuer, "regulator")
    with live_issuer.runtime.store.read() as session:
        user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
    token = issue_session(
        live_issuer.runtime.vault.session_key,
        user_id=user_id,
        role=Role.REGULATOR,
        enterprise_id=None,
        session_id="0" * 32,
        expires=datetime.now(UTC) + timedelta(minutes=10),
    )
    _assert_ended(live_issuer, token)
