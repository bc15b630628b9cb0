"""Password guessing (issue 17, finding 1): failed sign-ins are limited per account and per
client address, on the API and the console alike, shared by hosts through Redis, with a
bilingual 429 that says when to try again (services/throttle.py; docs/api.md "Sign-in limits")."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import LiveIssuer, RedisServer
from tests.issuer.console_support import Console, account, text


def _client(issuer: LiveIssuer, address: str) -> FlaskClient:
    """A client of ``issuer`` whose requests come from ``address``."""
    client = issuer.app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _sign_in(client: FlaskClient, username: str, password: str) -> TestResponse:
    return client.post("/api/v1/sessions", json={"username": username, "password": password})


def test_guessing_a_password_through_the_api_is_refused_after_ten_failures(live_issuer: LiveIssuer) -> None:
    """The finding: 300 wrong passwords, no 429, then the right one got 201."""
    username, password = account(live_issuer, "regulator")
    attacker = _client(live_issuer, "203.0.113.7")
    statuses = [_sign_in(attacker, username, f"guess-{n:04d}-x").status_code for n in range(30)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429] * 20
    # The right password is refused too while the account is locked: guessing learns nothing.
    locked = _sign_in(attacker, username, password)
    assert locked.status_code == 429
    wait = int(locked.headers["Retry-After"])
    assert 1 <= wait <= 300
    error = locked.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert error["retry_after"] == wait
    assert "该账号密码错误次数过多" in error["zh"] and "分钟后再试" in error["zh"]
    assert "too many wrong passwords" in error["en"]


def test_the_account_limit_holds_from_another_address(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "enterprise_admin", int(live_issuer.enterprise()["id"]))  # type: ignore[call-overload]
    for n in range(10):
        assert (
            _sign_in(_client(live_issuer, f"198.51.100.{n}"), username, "wrong password!").status_code == 401
        )
    fresh = _client(live_issuer, "192.0.2.200")
    assert _sign_in(fresh, username, password).status_code == 429
    # The console's log-in counts against the same account.
    console = Console(live_issuer)
    console.client = _client(live_issuer, "192.0.2.201")
    console.get("/console/login")
    page = console.post("/console/login", {"username": username, "password": password})
    assert page.status_code == 429
    assert "Retry-After" in page.headers
    assert "该账号密码错误次数过多" in text(page)


def test_a_success_clears_the_account_count_but_not_the_client_count(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "regulator")
    client = _client(live_issuer, "203.0.113.9")
    for _ in range(9):
        assert _sign_in(client, username, "wrong password!").status_code == 401
    assert _sign_in(client, username, password).status_code == 201
    for _ in range(9):  # nine more: the success started the account's count again
        assert _sign_in(client, username, "wrong password!").status_code == 401
    assert _sign_in(client, username, password).status_code == 201


def test_one_address_guessing_across_accounts_is_refused(live_issuer: LiveIssuer) -> None:
    """Spraying one password over many names: the client's limit (30 an hour) stops it."""
    client = _client(live_issuer, "203.0.113.50")
    statuses = [_sign_in(client, f"user-{n}", "Password2026!").status_code for n in range(31)]
    assert statuses[:30] == [401] * 30
    refused = _sign_in(client, "someone-else", "Password2026!")
    assert refused.status_code == 429
    assert "此网络地址登录失败次数过多" in refused.get_json()["error"]["zh"]
    # Another address is not affected, and a real user there signs in.
    username, password = account(live_issuer, "regulator")
    assert _sign_in(_client(live_issuer, "203.0.113.51"), username, password).status_code == 201


def test_the_console_login_refuses_the_locked_account_with_a_page(live_issuer: LiveIssuer) -> None:
    username, password = account(live_issuer, "regulator")
    for n in range(10):
        assert (
            _sign_in(_client(live_issuer, f"198.51.100.{n}"), username, "wrong password!").status_code == 401
        )
    console = Console(live_issuer)
    console.get("/console/login")
    page = console.post("/console/login", {"username": username, "password": password})
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert int(page.headers["Retry-After"]) >= 1
    assert "该账号密码错误次数过多" in text(page) and 'name="password"' in text(page)
    assert console.get("/console/dashboard").status_code == 303  # not signed in


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(live_issuer_factory: Any) -> None:
    """X-Forwarded-For is the client only when ANXINMA_PROXIES says a proxy is in front: without
    it, an attacker cannot pick a fresh address per guess by sending the header."""
    direct = live_issuer_factory()
    client = _client(direct, "203.0.113.60")
    for n in range(30):
        response = client.post(
            "/api/v1/sessions",
            json={"username": f"spray-{n}", "password": "Password2026!"},
            headers={"X-Forwarded-For": f"10.9.{n}.1"},
        )
        assert response.status_code == 401
    assert _sign_in(client, "spray-x", "Password2026!").status_code == 429

    proxied = live_issuer_factory(proxies=1)
    behind = _client(proxied, "127.0.0.1")  # the proxy
    for n in range(31):
        response = behind.post(
            "/api/v1/sessions",
            json={"username": f"spray-{n}", "password": "Password2026!"},
            headers={"X-Forwarded-For": f"10.9.{n}.1"},
        )
        assert response.status_code == 401  # 31 clients, one failure each


def test_hosts_sharing_one_redis_share_the_count(live_issuer_factory: Any, redis_server: RedisServer) -> None:
    host_a = live_issuer_factory(redis_url=redis_server.url)
    # A second host of the same deployment: same database, secrets and Redis.
    host_b = LiveIssuer(host_a.home, host_a.database_url, redis_server.url)
    try:
        username, password = account(host_a, "regulator")
        for n in range(5):
            assert (
                _sign_in(_client(host_a, f"198.51.100.{n}"), username, "wrong password!").status_code == 401
            )
            assert (
                _sign_in(_client(host_b, f"198.51.101.{n}"), username, "wrong password!").status_code == 401
            )
        assert _sign_in(_client(host_a, "192.0.2.1"), username, password).status_code == 429
        assert _sign_in(_client(host_b, "192.0.2.2"), username, password).status_code == 429
    finally:
        host_b.stop()
    # Another deployment on the same Redis keeps its own counts (they are named by its secret).
    other = live_issuer_factory(redis_url=redis_server.url)
    assert _sign_in(_client(other, "192.0.2.3"), username, "wrong password!").status_code == 401
    # Without Redis a host counts alone (the embedded default: in-process).
    alone = live_issuer_factory()
    assert _sign_in(_client(alone, "192.0.2.4"), username, "wrong password!").status_code == 401


def test_a_host_whose_redis_fails_still_limits_in_its_own_memory(
    live_issuer_factory: Any, redis_server: RedisServer
) -> None:
    host = live_issuer_factory(redis_url=redis_server.url)
    redis_server.stop()
    statuses = [
        _sign_in(_client(host, f"198.51.100.{n}"), "while-down", "wrong password!").status_code
        for n in range(11)
    ]
    assert statuses == [401] * 10 + [429]


def test_a_client_that_keeps_sending_bad_tokens_is_refused(live_issuer: LiveIssuer) -> None:
    client = _client(live_issuer, "203.0.113.80")
    for n in range(60):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer axm_guess{n:04d}"})
        assert response.status_code == 401
    refused = client.get("/api/v1/me", headers={"Authorization": "Bearer axm_guess9999"})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "无效令牌过多" in refused.get_json()["error"]["zh"]
    # A valid token from the same address still passes: one broken client behind a shared NAT
    # must not lock every good one out (a token is far too long to guess; only bad ones are shed).
    mine = client.get("/api/v1/me", headers={"Authorization": f"Bearer {live_issuer.admin_token}"})
    assert mine.status_code == 200
    fine = _client(live_issuer, "203.0.113.81")
    assert (
        fine.get("/api/v1/me", headers={"Authorization": f"Bearer {live_issuer.admin_token}"}).status_code
        == 200
    )


def test_a_browser_that_keeps_sending_forged_cookies_gets_a_page_saying_to_wait(
    live_issuer: LiveIssuer,
) -> None:
    browser = Console(live_issuer)
    browser.client.environ_base["REMOTE_ADDR"] = "203.0.113.90"
    for n in range(60):
        browser.client.set_cookie("axm_session", f"forged.{n}.token", domain="localhost")
        assert browser.get("/console/dashboard").status_code == 303
    browser.client.set_cookie("axm_session", "forged.60.token", domain="localhost")
    refused = browser.get("/console/dashboard", headers={"Accept": "text/html"})
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert int(refused.headers["Retry-After"]) >= 1
    assert "无效令牌过多" in text(refused)
