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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import requests


# Test-only password cost: the service hashes at scrypt N=2^17 (about 0.5 s and 128 MiB a hash);
# the suite makes hundreds of accounts, so in this process it hashes at N=2^12. Nothing outside
# the tests can lower it; tests/issuer/test_passwords.py checks the default in a fresh process.
def _cheap_password_hashes() -> None:
    from anxinma.issuer.services import auth

    auth.SCRYPT_N = 2**12


_cheap_password_hashes()

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


# -- the issuer served on 127.0.0.1 (issue 4) ----------------------------------------------------


class LiveIssuer:
    """The issuer app served by werkzeug in a thread, with its own home, keys and database.

    Attributes: ``url`` (base URL, no trailing slash, also the credential URLs' host), ``home``
    (its ANXINMA_HOME: ``keys/``, ``secret/``, the SQLite file), ``database_url``, ``app`` (the
    Flask app), ``runtime`` (``app.extensions["anxinma"]``: ``service``, ``store``, ``keys``,
    ``board``, ``publisher``), ``admin_token`` (an issuer_admin API token), ``root_public_key``
    (raw 32 bytes) and ``root_public_pem``.

    Helpers (all return the API's JSON as a dict and fail the test on an unexpected status):
    ``api(method, path, token=None, **requests_kwargs) -> requests.Response`` (admin token by
    default; ``token=""`` sends none); ``token(role, enterprise_id=None) -> str``;
    ``enterprise(name=None) -> dict``; ``worker(enterprise_id=None, **fields) -> dict`` (valid
    random ID and phone); ``credential(worker_id=None, card_uid=None) -> dict`` (makes an
    enterprise and a worker when no worker is given); ``trust_list() -> str`` (the served token);
    ``status_list(shard=0) -> str``; ``stop()`` (the port refuses connections) and ``start()``
    (a fresh app on the same port, home and database: a restarted issuer). ``port`` picks the
    port (for a home whose keyring was made for it); ``**config`` are IssuerConfig fields.
    """

    def __init__(
        self,
        home: Path,
        database_url: str,
        redis_url: str | None = None,
        *,
        port: int | None = None,
        **config: object,
    ) -> None:
        from anxinma.issuer import IssuerConfig

        self.home = home
        self.database_url = database_url
        port = port or free_port()
        self.url = f"http://127.0.0.1:{port}"
        settings: dict[str, object] = {
            "live_rate_limit": "10000 per minute",
            "reconcile_seconds": 0.2,
            "daily_at": None,  # tests run the daily job when they mean to
            **config,
        }
        self.config = IssuerConfig(
            home=home,
            database_url=database_url,
            redis_url=redis_url,
            base_url=self.url,
            dev_bootstrap=True,
            **settings,  # type: ignore[arg-type]
        )
        self.port = port
        self._serving = False
        self.start()
        from anxinma.issuer.services.auth import Role

        self.admin_token = self.token(Role.ISSUER_ADMIN.value)
        # The root this service pins: ANXINMA_ROOT_KEY's when it has one, else its keyring's.
        self.root_public_key = self.runtime.root_public_key
        self.root_public_pem = _public_pem(self.root_public_key)
        self._counter = 0

    def api(self, method: str, path: str, token: str | None = None, **kwargs: object) -> requests.Response:
        import requests

        headers = dict(kwargs.pop("headers", None) or {})  # type: ignore[call-overload]
        bearer = self.admin_token if token is None else token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def _ok(self, response: requests.Response, status: int) -> dict[str, object]:
        assert response.status_code == status, f"{response.status_code}: {response.text[:500]}"
        return response.json()  # type: ignore[no-any-return]

    def token(self, role: str, enterprise_id: int | None = None) -> str:
        from anxinma.issuer.services.auth import Role

        return str(self.runtime.service.accounts.create_token(Role(role), enterprise_id, "test")[1])

    def enterprise(self, name: str | None = None) -> dict[str, object]:
        import random

        from anxinma.issuer.services.validation import credit_check_character

        self._counter += 1
        chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        first17 = "91330200" + "".join(random.choice(chars) for _ in range(9))
        body = {
            "name": name
            or f"测试家政服务有限公司{'甲乙丙丁戊己庚辛壬癸'[self._counter % 10]}{self._counter}号",
            "credit_code": first17 + credit_check_character(first17),
        }
        return self._ok(self.api("POST", "/api/v1/enterprises", json=body), 201)

    def worker(self, enterprise_id: int | None = None, **fields: object) -> dict[str, object]:
        from datetime import date, timedelta

        if enterprise_id is None:
            enterprise_id = int(self.enterprise()["id"])  # type: ignore[call-overload]
        today = date.today()
        body: dict[str, object] = {
            "name": "李小霞",
            "id_number": random_id_number(),
            "phone": random_phone(),
            "categories": ["育婴", "cleaning"],
            "health_certificate_valid_until": (today + timedelta(days=200)).isoformat(),
            "insurance_valid_until": (today + timedelta(days=200)).isoformat(),
            "enterprise_id": enterprise_id,
            **fields,
        }
        return self._ok(self.api("POST", "/api/v1/workers", json=body), 201)

    def credential(self, worker_id: int | None = None, card_uid: str | None = None) -> dict[str, object]:
        if worker_id is None:
            worker_id = int(self.worker()["id"])  # type: ignore[call-overload]
        body = {"card_uid": card_uid} if card_uid else {}
        return self._ok(self.api("POST", f"/api/v1/workers/{worker_id}/credentials", json=body), 201)

    def trust_list(self) -> str:
        response = self.api("GET", "/trust-list", token="")
        assert response.status_code == 200, response.text
        return response.text

    def status_list(self, shard: int = 0) -> str:
        response = self.api("GET", f"/status/{self.runtime.service.issuer_code}/{shard}", token="")
        assert response.status_code == 200, response.text
        return response.text

    def start(self) -> None:
        """Serve (again, after :meth:`stop`): a fresh app on the same port, home and database,
        as a restarted issuer process would be."""
        import threading

        from werkzeug.serving import make_server

        from anxinma.wsgi import compose  # the served app: the issuer and the other parts' blueprints

        if self._serving:
            return
        self.app = compose(self.config)
        self.runtime = self.app.extensions["anxinma"]
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self._serving = True
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop serving and close the port (connections are refused until :meth:`start`)."""
        if not self._serving:
            return
        self._serving = False
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.runtime.close()


def _public_pem(raw: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(raw)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def random_id_number() -> str:
    """A valid GB 11643 identity number (random birth date and sequence; checksum right)."""
    import random

    from anxinma.issuer.services.validation import id_check_character

    first17 = f"330203{random.randint(1965, 1999)}{random.randint(1, 12):02d}{random.randint(1, 28):02d}{random.randint(0, 999):03d}"
    return first17 + id_check_character(first17)


def random_phone() -> str:
    import random

    return f"13{random.randint(0, 999_999_999):09d}"


@pytest.fixture
def live_issuer_factory(tmp_path: Path) -> Iterator[Callable[..., LiveIssuer]]:
    """``factory(database_url=None, redis_url=None, **IssuerConfig fields) -> LiveIssuer``;
    every issuer it starts is stopped afterwards. SQLite in tmp by default."""
    started: list[LiveIssuer] = []

    def factory(
        database_url: str | None = None, redis_url: str | None = None, **config: object
    ) -> LiveIssuer:
        home = tmp_path / f"home{len(started)}"
        home.mkdir()
        issuer = LiveIssuer(
            home, database_url or f"sqlite:///{home / 'anxinma.sqlite3'}", redis_url, **config
        )
        started.append(issuer)
        return issuer

    yield factory
    for issuer in started:
        issuer.stop()


@pytest.fixture
def live_issuer(live_issuer_factory: Callable[..., LiveIssuer]) -> LiveIssuer:
    """The issuer on SQLite in tmp (dev keys, an admin token). See :class:`LiveIssuer`; for
    PostgreSQL or Redis use ``live_issuer_factory(database_url, redis_url)``."""
    return live_issuer_factory()


@pytest.fixture
def issuer_on(live_issuer_factory: Callable[..., LiveIssuer], database_url: str) -> LiveIssuer:
    """The issuer on each database of ``database_url`` (SQLite and PostgreSQL)."""
    return live_issuer_factory(database_url)


# -- headless Chromium (pages) --------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
#: Where page tests leave their screenshots (the CI keeps it as the run's artifacts).
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PHONE = {"width": 360, "height": 780}
NARROW_PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a browser Playwright downloads itself)."""
    if not Path(CHROMIUM).exists():  # pragma: no cover - scripts/test installs it
        pytest.fail(f"{CHROMIUM} is missing (scripts/test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_context(chromium: Any) -> Iterator[Callable[..., Any]]:
    """A factory of fresh browser contexts: ``browser_context(viewport=PHONE, locale="zh-CN")``.

    Every context is closed after the test; pass ``service_workers="allow"`` (the default) for
    offline tests, and use ``context.set_offline(True)`` to cut the network.
    """
    contexts: list[Any] = []

    def make(viewport: dict[str, int] | None = None, locale: str = "zh-CN", **options: Any) -> Any:
        context = chromium.new_context(
            viewport=viewport or PHONE,
            locale=locale,
            device_scale_factor=options.pop(
                "device_scale_factor", 2 if (viewport or PHONE) != DESKTOP else 1
            ),
            **options,
        )
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/ (look at them: the brief asks)."""
    target = ARTIFACTS / "screenshots" / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    return target
