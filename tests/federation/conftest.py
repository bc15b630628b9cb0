"""A federation on 127.0.0.1, made the way operators make one (issue 15, build item 3):

* a regulator's root-only key directory (``anxinma keys init --dir R``), which imports each city's
  descriptor (``keys descriptor`` → ``keys add-issuer``) and signs the trust list
  (``keys trust-list --dir R -o FILE``);
* two city services, Ningbo (330200) and Chongqing (500000), each with its own keys
  (``keys init --issuer-code C --issuer-name N --base-url U``, no root private key kept), its own
  database, and run with ``ANXINMA_TRUST_LIST_URL`` (that file, or an http URL serving it) and
  ``ANXINMA_ROOT_KEY`` (the regulator's root public key, PEM).

Use it from any test under tests/ (import the fixture, or put a test in tests/federation/)::

    def test_something(federation: Federation) -> None:
        ningbo, chongqing = federation.ningbo, federation.chongqing   # City
        issued = chongqing.issuer.credential()                        # a Chongqing worker's credential
        ningbo.issuer.url, chongqing.issuer.runtime ...               # LiveIssuer (tests/conftest.py)
        federation.root_public_key, federation.root_pem               # what verifiers pin
        federation.republish()                                        # the regulator signs again (seq + 1)
        federation.refresh()                                          # both cities take it now

``federation_factory(over_http=False, database_url=None, **IssuerConfig fields)`` makes one with
the list served over HTTP instead of a file, or on PostgreSQL (one schema per city is not needed:
publications are per issuer code, so two cities may even share a database).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from anxinma.cli import main
from anxinma.keys import KeyDirectory
from tests.conftest import LiveIssuer, free_port

NINGBO = (330200, "宁波市商务局")
CHONGQING = (500000, "重庆市商务委员会")


@dataclass
class City:
    """One city service: ``issuer`` is its :class:`LiveIssuer` (``url``, ``runtime``, ``credential()``,
    ``api()``, ``stop()``/``start()``); ``keys_dir`` its key directory; ``descriptor`` the file it
    gave the regulator."""

    code: int
    name: str
    keys_dir: Path
    descriptor: Path
    issuer: LiveIssuer

    @property
    def url(self) -> str:
        return self.issuer.url


class FileServer:
    """The regulator's web server: serves one file's current bytes at every path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    body = owner.path.read_bytes()
                except OSError:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/jwt")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/trust-list.jwt"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Federation:
    """A regulator and two cities. ``trust_list_url`` is what the cities were given
    (``trust_list_file`` or an http URL serving it)."""

    regulator_dir: Path
    root_pem: Path
    root_public_key: bytes
    trust_list_file: Path
    trust_list_url: str
    ningbo: City
    chongqing: City
    cities: list[City] = field(default_factory=list)

    @staticmethod
    def cli(*args: str) -> Result:
        """Run an ``anxinma`` command (the real click command, in-process); fails the test on error."""
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 0, f"anxinma {' '.join(args)}: {result.output}"
        return result

    def add_issuer(self, city: City) -> None:
        """The regulator imports the city's current descriptor (e.g. after the city rotated a key)."""
        city.descriptor.write_text(
            self.cli("keys", "descriptor", "--dir", str(city.keys_dir)).stdout, "utf-8"
        )
        self.cli("keys", "add-issuer", str(city.descriptor), "--dir", str(self.regulator_dir))

    def republish(self, days: int = 30) -> bytes:
        """The regulator signs the next trust list into ``trust_list_file``; returns its bytes."""
        self.cli(
            "keys",
            "trust-list",
            "--dir",
            str(self.regulator_dir),
            "-o",
            str(self.trust_list_file),
            "--days",
            str(days),
        )
        return self.trust_list_file.read_bytes()

    def refresh(self) -> None:
        """Both cities take the regulator's current list now (they also do by themselves)."""
        for city in self.cities:
            city.issuer.runtime.trust.refresh()

    def city(self, code: int) -> City:
        return next(c for c in self.cities if c.code == code)


@pytest.fixture
def federation_factory(tmp_path: Path) -> Iterator[Callable[..., Federation]]:
    made: list[tuple[Federation, FileServer | None]] = []

    def factory(*, over_http: bool = False, database_url: str | None = None, **config: Any) -> Federation:
        base = tmp_path / f"federation{len(made)}"
        base.mkdir()
        cli = Federation.cli
        regulator = base / "regulator"
        cli("keys", "init", "--dir", str(regulator), "--insecure-dev")
        homes = {}
        for code, name in (NINGBO, CHONGQING):
            port = free_port()
            home = base / str(code)
            cli(
                "keys", "init", "--dir", str(home / "keys"), "--insecure-dev", "--issuer-code", str(code),
                "--issuer-name", name, "--base-url", f"http://127.0.0.1:{port}",
            )  # fmt: skip
            (home / "keys" / "root.key.pem").unlink()  # a city holds no root private key
            descriptor = base / f"{code}.json"
            descriptor.write_text(cli("keys", "descriptor", "--dir", str(home / "keys")).stdout, "utf-8")
            cli("keys", "add-issuer", str(descriptor), "--dir", str(regulator))
            homes[code] = (home, port, descriptor)
        root_pem = base / "regulator-root.pem"
        root_pem.write_text(cli("keys", "root", "--dir", str(regulator)).stdout)
        trust_file = base / "trust-list.jwt"
        cli("keys", "trust-list", "--dir", str(regulator), "-o", str(trust_file))
        server = FileServer(trust_file) if over_http else None
        url = server.url if server else str(trust_file)
        settings = {"trust_list_url": url, "root_key_path": root_pem, "trust_list_refresh": 3600.0, **config}
        cities = []
        for code, name in (NINGBO, CHONGQING):
            home, port, descriptor = homes[code]
            issuer = LiveIssuer(
                home, database_url or f"sqlite:///{home / 'anxinma.sqlite3'}", port=port, **settings
            )
            cities.append(City(code, name, home / "keys", descriptor, issuer))
        federation = Federation(
            regulator,
            root_pem,
            KeyDirectory(regulator).root_public_key,
            trust_file,
            url,
            cities[0],
            cities[1],
            cities,
        )
        made.append((federation, server))
        return federation

    yield factory
    for federation, server in made:
        for city in federation.cities:
            city.issuer.stop()
        if server is not None:
            server.stop()


@pytest.fixture
def federation(federation_factory: Callable[..., Federation]) -> Federation:
    """A regulator root and the Ningbo and Chongqing services, the list given as a file. See
    :class:`Federation`; ``federation_factory(over_http=True)`` for an http URL."""
    return federation_factory()
