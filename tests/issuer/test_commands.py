"""The issuer's commands work against a running service's home and database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta

from tests.conftest import LiveIssuer, RedisServer


def _cli(issuer: LiveIssuer, *args: str, redis_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANXINMA_HOME": str(issuer.home), "DATABASE_URL": issuer.database_url}
    env.pop("REDIS_URL", None)
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "-m", "anxinma.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_token_create_prints_a_token_the_running_service_accepts(issuer_on: LiveIssuer) -> None:
    enterprise = issuer_on.enterprise()["id"]
    made = _cli(issuer_on, "token", "create", "--role", "enterprise_admin", "--enterprise", str(enterprise))
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("axm_") and "\n" not in token
    me = issuer_on.api("GET", "/api/v1/me", token=token).json()
    assert me == {"role": "enterprise_admin", "enterprise_id": enterprise, "kind": "token"}
    missing = _cli(issuer_on, "token", "create", "--role", "enterprise_admin")
    assert missing.returncode == 2 and "错误 / error" in missing.stderr and "Traceback" not in missing.stderr


def test_jobs_daily_turns_a_lapsed_certificate_yellow(live_issuer: LiveIssuer) -> None:
    tomorrow = date.today() + timedelta(days=1)
    worker = live_issuer.worker(insurance_valid_until=tomorrow.isoformat())
    serial = int(live_issuer.credential(int(worker["id"]))["serial"])  # type: ignore[call-overload]
    run = _cli(live_issuer, "jobs", "daily", "--date", (tomorrow + timedelta(days=2)).isoformat())
    assert run.returncode == 0, run.stderr
    assert "attention set 1" in run.stdout
    assert live_issuer.runtime.board.value(serial) == 3  # the running service sees the other process's change


def test_user_password_ends_every_session_of_the_user(live_issuer: LiveIssuer) -> None:
    from tests.issuer.console_support import account

    username, password = account(live_issuer, "regulator")
    made = live_issuer.api(
        "POST", "/api/v1/sessions", token="", json={"username": username, "password": password}
    )
    assert made.status_code == 201
    session = made.json()["token"]
    assert live_issuer.api("GET", "/api/v1/me", token=session).status_code == 200
    run = _cli_input(live_issuer, "new-password-2026\nnew-password-2026\n", "user", "password", username)
    assert run.returncode == 0, run.stderr
    assert "every session of" in run.stdout
    refused = live_issuer.api("GET", "/api/v1/me", token=session)
    assert refused.status_code == 401 and "会话已结束" in refused.json()["error"]["zh"]
    again = live_issuer.api(
        "POST", "/api/v1/sessions", token="", json={"username": username, "password": "new-password-2026"}
    )
    assert again.status_code == 201
    unknown = _cli_input(
        live_issuer, "new-password-2026\nnew-password-2026\n", "user", "password", "nobody-here"
    )
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr


def test_user_unlock_lifts_the_lock_through_redis(
    live_issuer_factory: Callable[..., LiveIssuer], redis_server: RedisServer
) -> None:
    from tests.issuer.console_support import account

    issuer = live_issuer_factory(redis_url=redis_server.url)
    username, password = account(issuer, "regulator")
    for _ in range(10):
        wrong = {"username": username, "password": "wrong password!"}
        assert issuer.api("POST", "/api/v1/sessions", token="", json=wrong).status_code == 401
    right = {"username": username, "password": password}
    assert issuer.api("POST", "/api/v1/sessions", token="", json=right).status_code == 429
    run = _cli(issuer, "user", "unlock", username, redis_url=redis_server.url)
    assert run.returncode == 0, run.stderr
    assert issuer.api("POST", "/api/v1/sessions", token="", json=right).status_code == 201
    with issuer.runtime.store.read() as session:
        from sqlalchemy import select

        from anxinma.issuer.store.models import AuditEntry

        actions = [e.action for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
    assert actions[-2:] == ["user.unlock", "session.start"]


def _cli_input(issuer: LiveIssuer, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANXINMA_HOME": str(issuer.home), "DATABASE_URL": issuer.database_url}
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "anxinma.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
