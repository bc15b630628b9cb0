"""`anxinma serve` (the README's first command) on an empty home: dev keys, demo data, logins."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import requests

from tests.conftest import LiveIssuer, free_port, wait_for_port

#: ``python -m anxinma.cli`` as a terminal starts it, with Ctrl-C (SIGINT) raising KeyboardInterrupt.
#: A suite started with SIGINT ignored (a backgrounded CI job: POSIX shells set SIG_IGN for ``&``)
#: hands SIG_IGN to every child, and Python then installs no handler, so the SIGINT these tests
#: send would be dropped and the test would wait for its timeout. The product keeps honouring an
#: ignored SIGINT (that is what ``nohup`` and ``&`` ask of it); the test restores the terminal's
#: default in the child itself, which is thread-safe (``preexec_fn`` is not).
ANXINMA_CLI = [
    sys.executable,
    "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('anxinma.cli', run_name='__main__', alter_sys=True)",
]


def wait_until_serving(process: subprocess.Popen[str], port: int, timeout: float = 180.0) -> None:
    """Until ``anxinma serve`` listens. An empty home means dev keys and 300 demo workers first,
    which took over 60 s with the machine's two cores at a load of 10; a process that exits
    instead fails the test at once, with what it printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            printed = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"anxinma serve exited ({process.returncode}):\n{printed}")
        try:
            wait_for_port(port, timeout=1)
            return
        except TimeoutError:
            continue
    raise AssertionError(f"anxinma serve did not listen on {port} within {timeout:g} s")


def interrupt(process: subprocess.Popen[str]) -> str:
    """Ctrl-C: SIGINT, then the output; a process that does not stop within 30 s is killed
    and the test fails saying so (instead of leaving it running)."""
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        output = process.communicate()[0]
        raise AssertionError(f"anxinma serve did not stop on SIGINT within 30 s:\n{output}") from None


def test_serve_on_an_empty_home_starts_with_demo_data_and_prints_working_logins(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "ANXINMA_BASE_URL")}
    env["ANXINMA_HOME"] = str(tmp_path / "home")
    process = subprocess.Popen(
        [*ANXINMA_CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_serving(process, port)
        time.sleep(0.3)
        output = interrupt(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert f"http://127.0.0.1:{port}" in output
    logins = dict(
        re.findall(r"^\s+(issuer_admin|regulator|enterprise_admin|card_operator)\s+\S+ / (\S+)", output, re.M)
    )
    assert set(logins) == {"issuer_admin", "regulator", "enterprise_admin", "card_operator"}
    assert (tmp_path / "home" / "anxinma.sqlite3").exists() and (
        tmp_path / "home" / "keys" / "keyring.json"
    ).exists()
    # Start again on the same home: no second batch of demo data, the same logins work.
    process = subprocess.Popen(
        [*ANXINMA_CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_serving(process, port)
        base = f"http://127.0.0.1:{port}"
        session = requests.post(
            f"{base}/api/v1/sessions",
            json={"username": "enterprise", "password": logins["enterprise_admin"]},
            timeout=10,
        )
        assert session.status_code == 201
        token = session.json()["token"]
        workers = requests.get(
            f"{base}/api/v1/workers?per_page=100", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        assert len(workers["items"]) == 75 and workers["has_more"] is False
        assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", w["name"]) for w in workers["items"])
        admin = requests.post(
            f"{base}/api/v1/sessions",
            json={"username": "admin", "password": logins["issuer_admin"]},
            timeout=10,
        ).json()["token"]
        everyone = requests.get(
            f"{base}/api/v1/workers?per_page=100&page=3",
            headers={"Authorization": f"Bearer {admin}"},
            timeout=10,
        ).json()
        assert len(everyone["items"]) == 100 and everyone["has_more"] is False
    finally:
        output = interrupt(process)
    assert "demo data created" not in output
    assert re.search(r"demo credential: http://127\.0\.0\.1:\d+/v/37\d+", output)


def test_live_record_is_rate_limited_per_client(live_issuer_factory: object) -> None:
    issuer: LiveIssuer = live_issuer_factory(live_rate_limit="3 per minute")  # type: ignore[operator]
    issued = issuer.credential()
    codes = [
        issuer.api("POST", "/api/v1/live", token="", json={"code": issued["code"]}).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    limited = issuer.api("POST", "/api/v1/live", token="", json={"code": issued["code"]})
    assert limited.json()["error"]["code"] == "rate_limited" and "Retry-After" in limited.headers


def test_the_demo_city_has_a_consistent_service_loop_for_the_consoles(tmp_path: Path) -> None:
    """The demo's visits, ratings, complaints and check-ins obey the rules the API enforces,
    so the consoles show what real use would: ratings and complaints on a visit of the same
    worker and code, one rating per side, check-ins only by card-bound live codes."""
    from sqlalchemy import func, select

    from anxinma.issuer import IssuerConfig, create_app
    from anxinma.issuer.demo import seed
    from anxinma.issuer.store.models import CheckIn, Complaint, Credential, Rating, Visit

    app = create_app(
        IssuerConfig(
            home=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            dev_bootstrap=True,
            background=False,
        )
    )
    runtime = app.extensions["anxinma"]
    try:
        made = seed(runtime)
        assert made is not None and {"issuer_admin", "regulator", "enterprise_admin", "api_token"} <= set(
            made
        )
        assert seed(runtime) is None  # once: a second start finds the data and leaves it
        with runtime.store.read() as session:
            visits = {v.id: v for v in session.execute(select(Visit)).scalars()}
            live = {c.serial: c for c in session.execute(select(Credential)).scalars()}
            ratings = list(session.execute(select(Rating)).scalars())
            complaints = list(session.execute(select(Complaint)).scalars())
            check_ins = list(session.execute(select(CheckIn)).scalars())
            pairs = session.execute(
                select(func.count()).select_from(Rating).group_by(Rating.visit_id, Rating.source)
            ).scalars()
            assert max(pairs) == 1  # one rating per visit and side
        assert len(visits) > 50 and ratings and complaints and check_ins
        assert {c.resolved for c in complaints} == {True, False}
        for row in [*ratings, *complaints]:
            visit = visits[row.visit_id]  # type: ignore[index]
            assert (row.worker_id, row.credential_serial) == (visit.worker_id, visit.credential_serial)
        for row in check_ins:
            credential = live[row.credential_serial]
            assert credential.card_uid == row.card_uid and credential.worker_id == row.worker_id
            assert credential.status == "active"
    finally:
        runtime.close()


def test_the_demo_city_has_ninety_days_of_history_for_the_charts(tmp_path: Path) -> None:
    """The dashboard's trend chart reads the daily job's kept figures: on the first start the
    demo must already have months of them, varying (a line, not one dot or a flat bar), made
    from rows that say the same past (codes signed on the day their row says, visits and scans
    after the code's day), and the grades' history beside them."""
    from sqlalchemy import func, select

    from anxinma import credential as fmt
    from anxinma.issuer import IssuerConfig, create_app
    from anxinma.issuer.demo import seed
    from anxinma.issuer.services import stats
    from anxinma.issuer.services.rules import today_in_china
    from anxinma.issuer.store.models import Credential, CreditGrade, ScanCount, Visit

    app = create_app(
        IssuerConfig(
            home=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            dev_bootstrap=True,
            background=False,
        )
    )
    runtime = app.extensions["anxinma"]
    try:
        assert seed(runtime) is not None
        today = today_in_china()
        for period in stats.PERIODS:
            points = stats.history(runtime.store, today - timedelta(days=89), today, period_days=period)
            assert len({p.day for p in points}) >= 60, period
            assert all(p.day < today for p in points)  # today is the dashboard's live figure
            holding = [p.figures.holding_rate for p in points]
            display = [p.figures.display_rate for p in points]
            assert len(set(holding)) >= 10 and len(set(display)) >= 10, period
            assert holding[0] is not None and holding[-1] is not None and holding[0] < holding[-1]
        with runtime.store.read() as session:
            credentials = list(
                session.execute(select(Credential).where(Credential.subject_kind == "worker")).scalars()
            )
            issued_on = {c.serial: c.issued_on for c in credentials}
            for c in credentials:  # the signed bytes say the row's day
                claims = fmt.decode(c.raw).claims
                assert claims.issued_at.astimezone(fmt.CHINA_TZ).date() == c.issued_on
            assert len(set(issued_on.values())) >= 30
            visits = list(session.execute(select(Visit)).scalars())
            assert len({v.confirmed_at.astimezone(fmt.CHINA_TZ).date() for v in visits}) >= 30
            for v in visits:
                assert v.confirmed_at.astimezone(fmt.CHINA_TZ).date() >= issued_on[v.credential_serial]
            assert session.execute(select(func.count(func.distinct(ScanCount.day)))).scalar_one() >= 60
            assert session.execute(select(func.count(func.distinct(CreditGrade.day)))).scalar_one() >= 60
    finally:
        runtime.close()
