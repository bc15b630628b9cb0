"""The issuer's commands work against a running service's home and database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

from tests.conftest import LiveIssuer


def _cli(issuer: LiveIssuer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANXINMA_HOME": str(issuer.home), "DATABASE_URL": issuer.database_url}
    env.pop("REDIS_URL", None)
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
