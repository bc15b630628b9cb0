"""Health, readiness and metrics (issue 19, item 1): the probes' bodies, what makes the service
unready, the Prometheus exposition and each counter moving where its event happens, request
ids, and the multi-process mode under gunicorn (counters summed over workers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import LiveIssuer, RedisServer, free_port, wait_for_port


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(issuer: LiveIssuer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = issuer.api("GET", "/metrics", token="")
    assert response.status_code == 200
    return samples(response.text)


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_healthz_says_ok_and_nothing_else(live_issuer: LiveIssuer) -> None:
    response = live_issuer.api("GET", "/healthz", token="")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_reports_the_database_redis_and_the_trust_list(
    live_issuer_factory: Callable[..., LiveIssuer], redis_server: RedisServer
) -> None:
    embedded = live_issuer_factory()
    response = embedded.api("GET", "/readyz", token="")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready" and body["database"] == "ok" and body["redis"] == "unused"
    assert body["trust_list"]["state"] == "ok" and body["trust_list"]["sequence"] >= 1
    assert body["trust_list"]["expires_in_seconds"] > 0 and body["trust_list"]["age_seconds"] >= 0

    with_redis = live_issuer_factory(redis_url=redis_server.url)
    assert with_redis.api("GET", "/readyz", token="").json()["redis"] == "ok"
    redis_server.stop()
    response = with_redis.api("GET", "/readyz", token="")
    # Reported, not required: Redis only accelerates (the database is the record).
    assert response.status_code == 200
    assert response.json()["redis"] == "down" and response.json()["database"] == "ok"


def test_readyz_is_503_while_the_database_does_not_answer(live_issuer: LiveIssuer) -> None:
    """The probe's own engine pointed at a PostgreSQL port nothing listens on (the multi-host
    test stops a real server); the service's pool is not what is checked."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    runtime = live_issuer.runtime
    healthy = runtime._readyz_engine if hasattr(runtime, "_readyz_engine") else None
    runtime._readyz_engine = create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test",
        poolclass=NullPool,
        connect_args={"connect_timeout": 1},
    )
    try:
        started = time.monotonic()
        response = live_issuer.api("GET", "/readyz", token="")
        assert response.status_code == 503
        assert response.json()["database"] == "down" and response.json()["status"] == "not ready"
        assert time.monotonic() - started < 5
        assert live_issuer.api("GET", "/healthz", token="").status_code == 200  # alive, not ready
    finally:
        if healthy is None:
            del runtime._readyz_engine
        else:
            runtime._readyz_engine = healthy
    assert live_issuer.api("GET", "/readyz", token="").status_code == 200


def test_readyz_is_503_without_a_trust_list(live_issuer: LiveIssuer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_issuer.runtime.trust, "status", lambda: {"mode": "url", "last_error": "gone"})
    response = live_issuer.api("GET", "/readyz", token="")
    assert response.status_code == 503 and response.json()["trust_list"]["state"] == "missing"


def test_metrics_count_each_event_where_it_happens(live_issuer_factory: Callable[..., LiveIssuer]) -> None:
    issuer = live_issuer_factory(live_rate_limit="3 per minute")
    before = scrape(issuer)
    response = issuer.api("GET", "/metrics", token="")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = list(text_string_to_metric_families(response.text))
    assert families and all(f.name.startswith("anxinma_") for f in families)

    issued = issuer.credential()
    serial = int(issued["serial"])  # type: ignore[call-overload]
    revoked = issuer.api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "lost"})
    assert revoked.status_code == 200, revoked.text
    record = issuer.api("GET", f"/api/v1/credentials/{serial}").json()
    assert issuer.status_list().count(".") == 2  # a new shard version after the revocation
    other = issuer.credential()
    lookups = [issuer.api("POST", "/api/v1/live", token="", json={"code": other["code"]}) for _ in range(4)]
    assert [r.status_code for r in lookups] == [200, 200, 200, 429]
    assert issuer.api("GET", "/no/such/page?q=330203199001011234", token="").status_code == 404
    assert record["status"] == "revoked"

    after = scrape(issuer)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("anxinma_credentials_issued_total", subject="worker") == 2
    assert delta("anxinma_revocations_total", reason="lost") == 1
    assert delta("anxinma_publications_total", kind="status") >= 1
    assert delta("anxinma_live_lookups_total", outcome="ok") == 3
    assert delta("anxinma_rate_limited_total", route="/api/v1/live") == 1
    assert after[("anxinma_job_queue_depth", ())] == 0  # the durable queue's depth: nothing waiting
    assert any(
        dict(labels).get("route") == "/api/v1/workers/<int:worker_id>/credentials"
        for (name, labels) in after
        if name == "anxinma_http_requests_total"
    )
    assert any(
        dict(labels).get("route", "").startswith("/api/v1/credentials/<int:serial>")
        for (name, labels) in after
        if name == "anxinma_http_requests_total"
    )
    assert delta("anxinma_http_requests_total", method="GET", route="(unmatched)", status="404") == 1
    assert delta("anxinma_http_requests_total", method="POST", route="/api/v1/live", status="429") == 1
    assert delta("anxinma_http_request_duration_seconds_count", method="POST", route="/api/v1/live") == 4
    # Never the raw path: no serial, no query string in any label.
    labels_seen = {v for (_, labels) in after for (_, v) in labels}
    assert not any(str(serial) == v or "330203" in v or "?" in v for v in labels_seen)
    assert value(after, "anxinma_trust_list_expires_in_seconds") > 0
    assert value(after, "anxinma_trust_list_age_seconds") >= 0
    assert value(after, "anxinma_trust_list_ok") == 1


def test_a_rolled_back_issuance_counts_nothing(live_issuer: LiveIssuer) -> None:
    """The audit rows of an issuance are inserted, then the transaction fails: no count."""
    from anxinma.issuer.store import audit

    before = scrape(live_issuer)
    entry = audit.PendingEntry("test", "credential.issue", "credential", "1", {})
    with pytest.raises(RuntimeError), live_issuer.runtime.store.write() as session:
        audit.append(session, live_issuer.runtime.vault.audit_key, [entry])
        raise RuntimeError("rolled back")
    after = scrape(live_issuer)
    name = "anxinma_credentials_issued_total"
    assert value(after, name, subject="worker") == value(before, name, subject="worker")


def test_a_request_id_is_kept_when_tame_and_made_otherwise(live_issuer: LiveIssuer) -> None:
    kept = live_issuer.api("GET", "/healthz", token="", headers={"X-Request-ID": "nginx-0af3.9"})
    assert kept.headers["X-Request-ID"] == "nginx-0af3.9"
    for hostile in ("a b", "x" * 65, "<script>", "id\u00e9"):
        made = live_issuer.api("GET", "/healthz", token="", headers={"X-Request-ID": hostile})
        assert made.headers["X-Request-ID"] != hostile and len(made.headers["X-Request-ID"]) == 32
    assert len(live_issuer.api("GET", "/healthz", token="").headers["X-Request-ID"]) == 32


@pytest.mark.slow
def test_under_gunicorn_every_worker_counts_into_one_exposition(tmp_path: Path) -> None:
    """Two workers, multi-process mode set up by anxinma/gunicorn_conf.py: the requests of both
    add up in whichever worker answers the scrape; a worker killed leaves its counts in."""
    home = tmp_path / "home"
    port = free_port()
    subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "keys", "init", "--dir", str(home / "keys"), "--insecure-dev",
         "--issuer-code", "330200", "--issuer-name", "宁波", "--base-url", f"http://127.0.0.1:{port}"],
        check=True, capture_output=True,
    )  # fmt: skip
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")
    }
    env["ANXINMA_HOME"] = str(home)
    env["ANXINMA_LOG_FORMAT"] = "json"
    (tmp_path / "run").mkdir(mode=0o700)
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")  # gunicorn 27's control socket: not the shared ~/.gunicorn
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:anxinma.gunicorn_conf", "-w", "2",
         "-b", f"127.0.0.1:{port}", "anxinma.wsgi:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, timeout=60)
        _wait_ready(url)
        session = requests.Session()
        for _ in range(40):
            assert session.get(f"{url}/healthz?q=330203199001011234", timeout=10).status_code == 200
        counts = []
        for _ in range(8):  # new connections: the scrapes land on both workers
            response = requests.get(f"{url}/metrics", timeout=10, headers={"Connection": "close"})
            counts.append(
                value(
                    samples(response.text),
                    "anxinma_http_requests_total",
                    method="GET",
                    route="/healthz",
                    status="200",
                )
            )
        assert all(c >= 40 for c in counts), counts
    finally:
        server.send_signal(signal.SIGTERM)
        stderr = server.communicate(timeout=30)[1]
    assert "Traceback" not in stderr, stderr[-2000:]
    # gunicorn's own lines and the service's alike: one JSON object a line, no query string.
    lines = [line for line in stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert any(r["logger"] == "gunicorn.error" for r in records)
    assert sum(r["logger"] == "anxinma.access" and r.get("route") == "/healthz" for r in records) == 40
    assert "330203199001011234" not in stderr


def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url}/readyz not 200 after {timeout} s")
