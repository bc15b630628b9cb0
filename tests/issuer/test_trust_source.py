"""Where the served trust list comes from (issue 15, findings 4 and 5; docs/operations.md): the
regulator's list at ANXINMA_TRUST_LIST_URL checked against ANXINMA_ROOT_KEY (refreshed, older /
tampered / equivocal lists refused while the last good one is served, started on the last good
one when the source is down, no start with none), or the home's root key (``keys add-issuer``
republishes), and never a write under keys/."""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from anxinma.cli import main
from anxinma.issuer.services.trust import TrustListUnavailable
from anxinma.keys import KeyDirectory, TrustList, build_trust_list
from tests.conftest import LiveIssuer, free_port, wait_for_port


class ListServer:
    """The regulator's web server: serves ``body`` at every path; stop() refuses connections."""

    def __init__(self) -> None:
        self.port = free_port()
        self.body = b""
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/trust-list.jwt"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/jwt")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def list_server() -> Iterator[ListServer]:
    server = ListServer()
    server.start()
    yield server
    server.stop()


class Regulator:
    """A root-only key directory (``keys init`` without a code) that has added one city."""

    def __init__(self, tmp_path: Path, city: KeyDirectory) -> None:
        runner = CliRunner()
        self.dir = tmp_path / "regulator"
        assert runner.invoke(main, ["keys", "init", "--dir", str(self.dir), "--insecure-dev"]).exit_code == 0
        descriptor = tmp_path / "city.json"
        descriptor.write_text(
            runner.invoke(main, ["keys", "descriptor", "--dir", str(city.path)]).stdout, "utf-8"
        )
        assert (
            runner.invoke(main, ["keys", "add-issuer", str(descriptor), "--dir", str(self.dir)]).exit_code
            == 0
        )
        self.root_pem = tmp_path / "regulator-root.pem"
        self.root_pem.write_text(runner.invoke(main, ["keys", "root", "--dir", str(self.dir)]).stdout)
        self.keys = KeyDirectory(self.dir)

    def sign(self, *, sequence: int | None = None, now: datetime | None = None) -> bytes:
        keys = KeyDirectory(self.dir)
        return build_trust_list(keys, sequence=sequence, now=now).encode()


def _city(tmp_path: Path, port: int) -> Path:
    home = tmp_path / "ningbo"
    KeyDirectory.init(home / "keys", issuer_code=330200, issuer_name="宁波市商务局", base_url=f"http://127.0.0.1:{port}", insecure_dev=True)  # fmt: skip
    (home / "keys" / "root.key.pem").unlink()  # a city holds no root private key
    return home


def _served(issuer: LiveIssuer) -> bytes:
    response = requests.get(issuer.url + "/trust-list", timeout=10)
    assert response.status_code == 200, response.text
    return response.content


def _status(issuer: LiveIssuer) -> dict[str, object]:
    return dict(requests.get(issuer.url + "/trust-list/status", timeout=10).json())


def test_a_city_serves_the_regulators_list_refreshes_it_and_refuses_worse_ones(
    tmp_path: Path, list_server: ListServer, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    home = _city(tmp_path, port)
    regulator = Regulator(tmp_path, KeyDirectory(home / "keys"))
    first = regulator.sign()
    list_server.body = first
    db = f"sqlite:///{home / 'anxinma.sqlite3'}"
    issuer = LiveIssuer(
        home,
        db,
        port=port,
        trust_list_url=list_server.url,
        root_key_path=regulator.root_pem,
        trust_list_refresh=1,
    )
    try:
        assert _served(issuer) == first
        discovery = requests.get(issuer.url + "/.well-known/anxinma", timeout=10).json()
        assert discovery["root_public_key"].strip() == regulator.root_pem.read_text().strip()
        assert issuer.app.config["ANXINMA_ROOT_PUBLIC_KEY"] == regulator.keys.root_public_key
        assert issuer.app.config["ANXINMA_TRUSTED_ORIGINS"]() == [f"http://127.0.0.1:{port}"]
        report = _status(issuer)
        assert (
            report["sequence"] == 1 and report["source"] == list_server.url and report["last_error"] is None
        )
        assert 0 < int(report["expires_in_seconds"]) <= 30 * 86400  # type: ignore[call-overload]
        # The regulator publishes seq 2: the service takes it by itself.
        second = regulator.sign()
        list_server.body = second
        deadline = time.monotonic() + 15
        while _served(issuer) != second and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _served(issuer) == second
        trust = issuer.runtime.trust
        # An older list, a tampered one, and another list under the held seq: each refused, seq 2 kept.
        tampered = bytearray(regulator.sign())
        tampered[-5] = ord("A") if tampered[-5] != ord("A") else ord("B")
        equivocal = regulator.sign(sequence=2, now=datetime.now(UTC) - timedelta(minutes=1))
        assert equivocal != second
        for bad, why in ((first, "older"), (bytes(tampered), "根签名"), (equivocal, "other bytes")):
            list_server.body = bad
            caplog.clear()
            with caplog.at_level(logging.WARNING, "anxinma.issuer.services.trust"):
                trust.refresh()
            assert _served(issuer) == second, why
            assert why in str(_status(issuer)["last_error"]), _status(issuer)
            assert any(why in record.getMessage() for record in caplog.records)
        assert TrustList.load(_served(issuer), regulator.keys.root_public_key).sequence == 2
        # The source goes down; a restart starts on the last good list and says so.
        issuer.stop()
        list_server.stop()
        caplog.clear()
        with caplog.at_level(logging.WARNING, "anxinma.issuer.services.trust"):
            issuer.start()
        assert _served(issuer) == second
        assert any("starting on the last good list seq 2" in r.getMessage() for r in caplog.records)
    finally:
        issuer.stop()


def test_a_city_with_no_list_at_all_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    port = free_port()
    home = _city(tmp_path, port)
    regulator = Regulator(tmp_path, KeyDirectory(home / "keys"))
    down = f"http://127.0.0.1:{free_port()}/trust-list.jwt"
    from anxinma.issuer import IssuerConfig, create_app

    config = IssuerConfig(
        home=home,
        database_url=f"sqlite:///{home / 'a.sqlite3'}",
        trust_list_url=down,
        root_key_path=regulator.root_pem,
        background=False,
    )
    with pytest.raises(TrustListUnavailable, match="ANXINMA_TRUST_LIST_URL"):
        create_app(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANXINMA_", "DATABASE_URL", "REDIS_URL"))}
    env |= {
        "ANXINMA_HOME": str(home),
        "ANXINMA_TRUST_LIST_URL": down,
        "ANXINMA_ROOT_KEY": str(regulator.root_pem),
    }
    run = subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "serve", "--port", str(port), "--no-demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    # The log's own lines (time and level first, issue 19) say what was tried; the refusal is one line.
    logged = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO|WARNING) ")
    lines = [
        line
        for line in run.stderr.splitlines()
        if line.strip() and "warning" not in line and not logged.match(line)
    ]
    assert len(lines) == 1, run.stderr
    assert "ANXINMA_TRUST_LIST_URL" in lines[0] and "信任列表" in lines[0] and "ANXINMA_ROOT_KEY" in lines[0]
    assert "Traceback" not in run.stderr


def test_a_home_with_no_source_or_a_foreign_root_beside_its_own_refuses_to_start(tmp_path: Path) -> None:
    from anxinma.issuer import IssuerConfig, create_app

    home = _city(tmp_path, free_port())  # no root key, no ANXINMA_TRUST_LIST_URL
    config = IssuerConfig(home=home, database_url=f"sqlite:///{home / 'a.sqlite3'}", background=False)
    with pytest.raises(TrustListUnavailable, match="set ANXINMA_TRUST_LIST_URL"):
        create_app(config)
    own = tmp_path / "own"
    KeyDirectory.init(own / "keys", insecure_dev=True)
    regulator = Regulator(tmp_path, KeyDirectory(home / "keys"))
    foreign = IssuerConfig(
        home=own,
        database_url=f"sqlite:///{own / 'a.sqlite3'}",
        root_key_path=regulator.root_pem,
        background=False,
    )
    with pytest.raises(TrustListUnavailable, match="unset ANXINMA_ROOT_KEY"):
        create_app(foreign)


def test_keys_add_issuer_on_a_root_holding_home_republishes_the_served_list(
    live_issuer: LiveIssuer, tmp_path: Path
) -> None:
    before = TrustList.load(live_issuer.trust_list(), live_issuer.root_public_key)
    assert set(before.issuers) == {330200}
    chongqing = KeyDirectory.init(
        tmp_path / "cq", issuer_code=500000, issuer_name="重庆市商务委员会", insecure_dev=True
    )
    descriptor = tmp_path / "cq.json"
    runner = CliRunner()
    descriptor.write_text(runner.invoke(main, ["keys", "descriptor", "--dir", str(chongqing.path)]).stdout)
    added = runner.invoke(
        main, ["keys", "add-issuer", str(descriptor), "--dir", str(live_issuer.home / "keys")]
    )
    assert added.exit_code == 0, added.output
    after = TrustList.load(live_issuer.trust_list(), live_issuer.root_public_key)
    assert set(after.issuers) == {330200, 500000} and after.sequence == before.sequence + 1
    assert live_issuer.trust_list() == after.token  # and stays put until something changes again


def _snapshot(directory: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(path.relative_to(directory)): (path.stat().st_mode, path.read_bytes() if path.is_file() else b"")
        for path in sorted(directory.rglob("*"))
    } | {".": (directory.stat().st_mode, b"")}


#: Run a command as root without any capability: root's uid, but no CAP_DAC_OVERRIDE or
#: CAP_FOWNER, so files and directories owned by another user and not writable by others are
#: really unwritable (and cannot be chmod-ed back), while everything root owns stays usable.
NO_CAPABILITIES = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all"]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_the_service_runs_with_a_keys_directory_it_cannot_write(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    KeyDirectory.init(home / "keys", insecure_dev=True, base_url=f"http://127.0.0.1:{port}")
    # keys/ belongs to nobody, readable by all, writable by no one the service can be.
    for path in [home / "keys", *(home / "keys").iterdir()]:
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    before = _snapshot(home / "keys")
    probe = subprocess.run(
        [*NO_CAPABILITIES, sys.executable, "-c", f"open({str(home / 'keys' / 'keyring.json')!r}, 'a')"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.returncode != 0 and "PermissionError" in probe.stderr  # really unwritable
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANXINMA_", "DATABASE_URL", "REDIS_URL"))}
    env["ANXINMA_HOME"] = str(home)
    process = subprocess.Popen(
        [*NO_CAPABILITIES, sys.executable, "-m", "anxinma.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=120)
        base_url = f"http://127.0.0.1:{port}"
        for path in (
            "/trust-list",
            "/status/330200/0",
            "/status/330200/0/compact",
            "/status/330200/freshness",
        ):
            response = requests.get(base_url + path, timeout=30)
            assert response.status_code == 200, f"{path}: {response.text[:300]}"
        token = requests.get(base_url + "/trust-list", timeout=10).text
        trust = TrustList.load(token, KeyDirectory(home / "keys").root_public_key)
        assert trust.issuers[330200].base_url == base_url
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0]
    assert "Traceback" not in output, output[-2000:]
    assert _snapshot(home / "keys") == before


def test_commands_run_on_a_city_home_whose_service_would_refuse(tmp_path: Path) -> None:
    """`anxinma token create` (cron shells often lack ANXINMA_TRUST_LIST_URL) needs no trust list."""
    from anxinma.issuer import IssuerConfig
    from anxinma.issuer.app import build_runtime
    from anxinma.issuer.services.auth import Role

    home = _city(tmp_path, free_port())
    runtime = build_runtime(
        IssuerConfig(home=home, database_url=f"sqlite:///{home / 'a.sqlite3'}", background=False)
    )
    try:
        assert isinstance(runtime.trust_problem, TrustListUnavailable)
        assert runtime.service.accounts.create_token(Role.REGULATOR, None, "cron")[1].startswith("axm_")
    finally:
        runtime.close()
