"""Fixtures that start real parts: a redis-server on its own port, a fresh PostgreSQL schema,
a SQLite file. Every part started here is torn down here.

The machine's own Redis (6379) is never touched or stopped: a test that needs to kill Redis
kills the one it started.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_DB = "test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class RedisServer:
    """A redis-server of the test's own, on a free port; can be stopped and started again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:  # pragma: no cover - scripts/test installs it
            pytest.fail("redis-server is not installed (scripts/test installs it)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        """Kill it hard (SIGKILL), as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def postgres_available() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((POSTGRES_HOST, POSTGRES_PORT)) == 0


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL to a fresh schema of the machine's PostgreSQL ``test`` database.

    Each test gets its own schema (search_path), so concurrent runs never see each other's rows;
    the schema is dropped afterwards.
    """
    if not postgres_available():
        pytest.fail(f"PostgreSQL is not listening on {POSTGRES_HOST}:{POSTGRES_PORT} (.ci/run starts it)")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = f"host={POSTGRES_HOST} port={POSTGRES_PORT} dbname={POSTGRES_DB} user=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            f"postgresql+psycopg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{POSTGRES_DB}"
            f"?options=-csearch_path%3D{schema}"
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL, once for a SQLite file and once for PostgreSQL: tests that take it run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'anxinma.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))
