"""The production topology on 127.0.0.1 (issue 19, item 6): two gunicorn hosts (``-w 2`` each,
``anxinma.gunicorn_conf``) sharing one PostgreSQL schema and a redis-server of the test's own,
deploy/nginx/anxinma.conf in front, every part started here on free ports.

It checks what an operations team relies on: the same status-list and trust-list bytes from both
hosts and through nginx, a revocation made on one host seen in the other's status list, both
hosts' metrics, no failed GET through nginx while a host is SIGKILLed mid-burst, and readiness
turning 503 while a host's database is unreachable and 200 when it is back (the database is
reached through a TCP relay of the test's own, which the test cuts: the machine's PostgreSQL is
never stopped)."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import RedisServer, free_port, random_id_number, random_phone, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ISSUER_CODE = 330200


class Relay:
    """A TCP relay 127.0.0.1:port → target; :meth:`cut` closes it and every connection through
    it (the database "goes away" for whoever uses it), :meth:`open` serves again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class Host:
    """``gunicorn -c python:anxinma.gunicorn_conf -w 2`` in a process group of its own."""

    def __init__(self, name: str, tmp: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        runtime_dir = tmp / f"{name}-run"  # gunicorn 27's control socket: one per master, not ~/.gunicorn
        runtime_dir.mkdir(mode=0o700)
        metrics_dir = tmp / f"{name}-metrics"  # in tmp: a SIGKILLed master cannot clean up after itself
        metrics_dir.mkdir()
        self.log = (tmp / f"{name}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:anxinma.gunicorn_conf", "-w", "2", "--threads", "4",
             "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "5", "anxinma.wsgi:app"],
            env=env | {"XDG_RUNTIME_DIR": str(runtime_dir), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
            cwd=tmp,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, as a host that loses power."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def _wait(check: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def _nginx_conf(tmp: Path, port: int, upstreams: list[int]) -> Path:
    """deploy/nginx/anxinma.conf with its upstreams and listen address pointed at local ports."""
    site = (REPO / "deploy" / "nginx" / "anxinma.conf").read_text("utf-8")
    site = re.sub(r"server app1:8600", f"server 127.0.0.1:{upstreams[0]}", site)
    site = re.sub(r"server app2:8600", f"server 127.0.0.1:{upstreams[1]}", site)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("listen [::]:80;", "")
    site = site.replace("/var/log/nginx/", f"{tmp}/nginx-")
    assert f"127.0.0.1:{upstreams[1]}" in site and f"listen 127.0.0.1:{port};" in site
    (tmp / "anxinma.conf").write_text(site, "utf-8")
    temp_paths = "".join(
        f"    {kind}_temp_path {tmp}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = tmp / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log;\n"
        f"events {{}}\nhttp {{\n    include /etc/nginx/mime.types;\n{temp_paths}    include {tmp}/anxinma.conf;\n}}\n",
        "utf-8",
    )  # fmt: skip
    return main


@pytest.fixture
def topology(tmp_path: Path, postgres_url: str, redis_server: RedisServer) -> Iterator[dict[str, Any]]:
    if not Path(NGINX).exists():  # pragma: no cover - scripts/test installs it
        pytest.fail("nginx is not installed (scripts/test installs it)")
    home = tmp_path / "home"
    nginx_port = free_port()
    base_url = f"http://127.0.0.1:{nginx_port}"
    subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "keys", "init", "--dir", str(home / "keys"), "--insecure-dev",
         "--issuer-code", str(ISSUER_CODE), "--issuer-name", "宁波市", "--base-url", base_url],
        check=True, capture_output=True,
    )  # fmt: skip
    relay = Relay(("127.0.0.1", 5432))
    relay.open()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANXINMA_", "DATABASE_URL", "REDIS_URL", "PROMETHEUS"))
    }
    env |= {
        "ANXINMA_HOME": str(home),
        "REDIS_URL": redis_server.url,
        "ANXINMA_PROXIES": "1",
        "ANXINMA_BASE_URL": base_url,
    }
    relayed = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
    assert relayed != postgres_url
    hosts = [
        Host("app1", tmp_path, env | {"DATABASE_URL": relayed}),  # its database is cut and restored
        Host("app2", tmp_path, env | {"DATABASE_URL": postgres_url}),
    ]
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for host in hosts:
            _wait(lambda h=host: h.get("/readyz").status_code == 200, 90, f"{host.name} ready")
        main = _nginx_conf(tmp_path, nginx_port, [h.port for h in hosts])
        nginx = subprocess.Popen(
            [NGINX, "-c", str(main)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(nginx_port)
        yield {"hosts": hosts, "nginx": base_url, "relay": relay, "home": home, "tmp": tmp_path}
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                nginx.kill()
        for host in hosts:
            host.stop()
        relay.cut()
        for host in hosts:
            print(f"--- {host.name}\n" + (tmp_path / f"{host.name}.log").read_text()[-3000:])


def _admin_token(home: Path, database_url: str) -> str:
    from anxinma.issuer import IssuerConfig
    from anxinma.issuer.app import build_runtime
    from anxinma.issuer.services.auth import Role

    runtime = build_runtime(IssuerConfig(home=home, database_url=database_url, background=False))
    try:
        return str(runtime.service.accounts.create_token(Role.ISSUER_ADMIN, None, "topology")[1])
    finally:
        runtime.close()


def _issue(base: str, token: str) -> dict[str, Any]:
    from anxinma.issuer.services.validation import credit_check_character

    auth = {"Authorization": f"Bearer {token}"}
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "91330200" + "".join(random.choice(chars) for _ in range(9))
    enterprise = requests.post(
        f"{base}/api/v1/enterprises",
        json={
            "name": f"拓扑家政服务有限公司{first17[-4:]}",
            "credit_code": first17 + credit_check_character(first17),
        },
        headers=auth,
        timeout=30,
    )
    assert enterprise.status_code == 201, enterprise.text
    later = (datetime.now(UTC) + timedelta(days=200)).date().isoformat()
    worker = requests.post(
        f"{base}/api/v1/workers",
        json={
            "name": "李小霞", "id_number": random_id_number(), "phone": random_phone(), "categories": ["cleaning"],
            "health_certificate_valid_until": later, "insurance_valid_until": later,
            "enterprise_id": enterprise.json()["id"],
        },
        headers=auth,
        timeout=30,
    )  # fmt: skip
    assert worker.status_code == 201, worker.text
    issued = requests.post(
        f"{base}/api/v1/workers/{worker.json()['id']}/credentials", json={}, headers=auth, timeout=30
    )
    assert issued.status_code == 201, issued.text
    return issued.json()  # type: ignore[no-any-return]


def _status_of(host: Host, serial: int, root_public_key: bytes) -> int:
    from anxinma.keys import TrustList
    from anxinma.status_list import load_status_list

    trust = TrustList.load(host.get("/trust-list").text, root_public_key, now=datetime.now(UTC))

    def key_for(code: int, kid: bytes) -> bytes | None:
        found = trust.issuer(code)
        key = found.keys.get(kid) if found else None
        return key.public_key if key else None

    return int(load_status_list(host.get(f"/status/{ISSUER_CODE}/0").text, key_for).status(serial))


def _metric(text: str, name: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def test_two_hosts_behind_nginx_serve_one_service(topology: dict[str, Any], postgres_url: str) -> None:
    from anxinma.keys import KeyDirectory
    from anxinma.status_list import CredentialStatus

    app1, app2 = topology["hosts"]
    through = topology["nginx"]
    token = _admin_token(topology["home"], postgres_url)
    issued = [_issue(through, token) for _ in range(3)]

    # The same bytes (and ETags) from both hosts and through nginx.
    for path in ("/trust-list", f"/status/{ISSUER_CODE}/0", f"/status/{ISSUER_CODE}/0/compact",
                 f"/status/{ISSUER_CODE}/freshness", "/jwks.json"):  # fmt: skip
        answers = [app1.get(path), app2.get(path), requests.get(through + path, timeout=10)]
        assert all(a.status_code == 200 for a in answers), (path, [a.status_code for a in answers])
        assert answers[0].content == answers[1].content == answers[2].content, path
        assert answers[0].headers["ETag"] == answers[1].headers["ETag"], path

    # A revocation made on app1 is in app2's status list.
    root = KeyDirectory(topology["home"] / "keys").root_public_key
    serial = int(issued[0]["serial"])
    assert _status_of(app2, serial, root) == CredentialStatus.VALID
    revoked = requests.post(
        f"{app1.url}/api/v1/credentials/{serial}/revoke",
        json={"reason": "left"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert revoked.status_code == 200, revoked.text
    seen_after = _wait(
        lambda: _status_of(app2, serial, root) == CredentialStatus.REVOKED, 10, "revocation on app2"
    )
    print(f"revocation on app1 seen in app2's status list after {seen_after * 1000:.0f} ms")

    # Metrics from both hosts (each sums its two workers); between them, every credential once.
    expositions = [host.get("/metrics") for host in (app1, app2)]
    for response in expositions:
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(
            "text/plain; version=0.0.4"
        )
        assert _metric(response.text, "anxinma_http_requests_total") > 0
        names = {
            line.split("{")[0].split(" ")[0] for line in response.text.splitlines() if line and line[0] != "#"
        }
        assert names and all(name.startswith("anxinma_") for name in names)
    assert sum(_metric(r.text, "anxinma_credentials_issued_total") for r in expositions) == 3
    assert _metric(expositions[0].text, "anxinma_revocations_total") == 1
    assert (
        requests.get(f"{through}/metrics", timeout=10).status_code == 404
    )  # scraped per host, not via nginx

    # A burst of GETs through nginx; app2 is SIGKILLed in the middle of it: every GET answered.
    paths = [
        "/trust-list",
        f"/status/{ISSUER_CODE}/0",
        f"/status/{ISSUER_CODE}/freshness",
        "/healthz",
        "/.well-known/anxinma",
    ]
    results: list[int | str] = []
    stop = threading.Event()

    def burst() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    results.append(session.get(through + random.choice(paths), timeout=20).status_code)
                except requests.RequestException as exc:
                    results.append(type(exc).__name__)

    threads = [threading.Thread(target=burst) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    killed_at = len(results)
    app2.kill()
    time.sleep(2.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    # nginx retries on the other host whatever app2 had not begun to answer (refused, reset,
    # timed out: proxy_next_upstream); a response whose head app2 had already sent when it died
    # is cut mid-body and cannot be retried by any open-source nginx (the client has the head).
    # So: no error status and no refused or failed request at all; at most one cut body per
    # request in flight at the kill (6 threads), counted and printed.
    cut = [r for r in results if r == "ChunkedEncodingError"]
    failed = [r for r in results if r != 200 and r != "ChunkedEncodingError"]
    assert killed_at > 20 and len(results) > killed_at + 20, (killed_at, len(results))
    assert not failed, f"{len(failed)} of {len(results)} GETs failed: {failed[:10]}"
    assert len(cut) <= len(threads), cut
    if cut:  # each one is nginx losing app2 after the head it had passed on
        error_log = (topology["tmp"] / "nginx-error.log").read_text()
        assert error_log.count("while reading upstream") >= len(cut), error_log[-2000:]
    print(
        f"burst: {len(results)} GETs through nginx, {killed_at} before app2 was SIGKILLed: "
        f"{len(results) - len(cut)} answered 200, {len(cut)} cut mid-body by the kill, none refused or failed"
    )

    # app1's database goes away: alive but not ready; back: ready again, no restart.
    relay = topology["relay"]
    relay.cut()
    _wait(lambda: app1.get("/readyz").status_code == 503, 10, "app1 unready")
    body = app1.get("/readyz").json()
    assert body["database"] == "down" and body["redis"] == "ok" and body["status"] == "not ready"
    assert app1.get("/healthz").json() == {"status": "ok"}
    relay.open()
    back_after = _wait(lambda: app1.get("/readyz").status_code == 200, 15, "app1 ready again")
    assert app1.get("/readyz").json()["database"] == "ok"
    print(f"app1 ready again {back_after * 1000:.0f} ms after its database returned")
