"""The service through PgBouncer in transaction mode (issue 19, item 5; docs/operations.md,
"Database connections").

Debian's pgbouncer (1.18) is started on a free port in front of a database of the test's own,
with ONE server connection for every client connection, as transaction pooling at scale is: each
transaction may land on a server connection another client used last. The first test shows why
the setting exists (psycopg's automatic prepared statements collide there); the second runs the
service through it with ``ANXINMA_DB_POOLER=pgbouncer``: migrations, writes from several threads
at once, revocations and reads, all answered.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from anxinma.issuer.config import IssuerConfig
from anxinma.issuer.store.db import Store
from tests.conftest import (
    POSTGRES_HOST,
    POSTGRES_PORT,
    LiveIssuer,
    free_port,
    postgres_available,
    wait_for_port,
)

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@pytest.fixture
def pgbouncer() -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL through PgBouncer, psycopg conninfo through it) to a fresh database."""
    if not postgres_available():
        pytest.fail(f"PostgreSQL is not listening on {POSTGRES_HOST}:{POSTGRES_PORT} (.ci/run starts it)")
    if not os.path.exists(PGBOUNCER):  # pragma: no cover - scripts/test installs it
        pytest.fail("pgbouncer is not installed (scripts/test installs Debian's pgbouncer)")
    import psycopg

    database = f"anx_pgb_{uuid.uuid4().hex[:12]}"
    admin = f"host={POSTGRES_HOST} port={POSTGRES_PORT} dbname=postgres user=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    # pgbouncer refuses to run as root: as root it is started as postgres (-u), so its folder
    # must be readable by that user (pytest's tmp_path is not).
    folder = Path(tempfile.mkdtemp(prefix="anx-pgb-"))
    folder.chmod(0o777)
    port = free_port()
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"anx = host={POSTGRES_HOST} port={POSTGRES_PORT} dbname={database} user=postgres\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\n"
        "default_pool_size = 1\nmin_pool_size = 0\nreserve_pool_size = 0\nmax_client_conn = 100\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n",
        "utf-8",
    )
    config.chmod(0o644)
    command = [PGBOUNCER, *(["-u", "postgres"] if os.geteuid() == 0 else []), str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port)
        yield (
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/anx",
            f"host=127.0.0.1 port={port} dbname=anx user=postgres",
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


def test_automatic_prepared_statements_collide_in_transaction_mode(pgbouncer: tuple[str, str]) -> None:
    # Why ANXINMA_DB_POOLER exists: two client connections share one server connection, and
    # psycopg's default (prepare after 5 runs, names _pg3_0, _pg3_1 … per client) collides.
    import psycopg

    _, conninfo = pgbouncer
    first, second = psycopg.connect(conninfo, autocommit=True), psycopg.connect(conninfo, autocommit=True)
    try:
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            for _ in range(8):
                for conn in (first, second):
                    conn.execute("SELECT %s::int + 1", (1,)).fetchone()
    finally:
        first.close()
        second.close()
    # With the store's setting the same runs are plain statements: all answered.
    store = Store(pgbouncer[0], pooler="pgbouncer")
    try:
        from sqlalchemy import text

        def run(_: int) -> int:
            with store.read() as session:
                return int(session.execute(text("SELECT CAST(:n AS int) + 1"), {"n": 1}).scalar_one())

        with ThreadPoolExecutor(4) as pool:
            assert set(pool.map(run, range(64))) == {2}
    finally:
        store.dispose()


def test_the_service_runs_through_pgbouncer_in_transaction_mode(
    pgbouncer: tuple[str, str], live_issuer_factory: Callable[..., LiveIssuer]
) -> None:
    url, _ = pgbouncer
    assert (
        IssuerConfig.from_env({"DATABASE_URL": url, "ANXINMA_DB_POOLER": "pgbouncer"}).db_pooler
        == "pgbouncer"
    )
    issuer = live_issuer_factory(url, db_pooler="pgbouncer", db_pool_size=4, db_max_overflow=2)
    enterprise = int(issuer.enterprise()["id"])  # type: ignore[call-overload]

    def enrol(_: int) -> int:
        worker = issuer.worker(enterprise)
        issued = issuer.api("POST", f"/api/v1/workers/{worker['id']}/credentials", json={})
        assert issued.status_code == 201, issued.text
        return int(issued.json()["serial"])

    with ThreadPoolExecutor(4) as pool:  # several client connections, one server connection
        serials = list(pool.map(enrol, range(12)))
    assert len(set(serials)) == 12
    revoked = issuer.api("POST", f"/api/v1/credentials/{serials[0]}/revoke", json={"reason": "left"})
    assert revoked.status_code == 200, revoked.text

    def status(serial: int) -> str:
        answer = issuer.api("GET", f"/api/v1/credentials/{serial}")
        assert answer.status_code == 200, answer.text
        return str(answer.json()["status"])

    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(status, serials * 3))
    assert seen[0] == "revoked" and set(seen[1:12]) == {"active"}
