"""The live record (POST /api/v1/live) over HTTP against a bare Flask "hello" (issue 20, item 1).

``python -m bench live``. Both apps run under the same ``gunicorn -w 2`` (sync workers), started
here side by side, and wrk alternates between them in the same run, so the ratio holds even on a
machine that other jobs load (absolute rates move with the load; the ratio much less). Two stores:
SQLite with the embedded (in-process) limiter, and PostgreSQL with Redis (the limit shared
through Redis). The per-client limit is on (set high so wrk's one address is not refused), the
response is signed as always.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._report import write_section
from bench.bench_issuer import _config, _ensure_wrk, _free_port, _postgres_schema, _wait_port

HELLO = '''"""A bare Flask request: the reference the live record is measured against."""
from flask import Flask

app = Flask(__name__)


@app.post("/hello")
def hello():
    return "hello"
'''

SECONDS = int(os.environ.get("ANXINMA_BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("ANXINMA_BENCH_ROUNDS", "5"))
CONNECTIONS = (32, 4)


def _gunicorn(app: str, port: int, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}"]
    command += ["--log-level", "warning", app]
    return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wrk(wrk: str, url: str, script: Path, connections: int, seconds: int) -> dict[str, Any]:
    command = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    latency = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            latency[parts[0]] = parts[1]
    return {
        "rate": float(output.split("Requests/sec:")[1].split()[0]),
        "p50": latency.get("50%"),
        "p99": latency.get("99%"),
        "errors": "Non-2xx" in output or "Socket errors" in output,
    }


def _seeded_code(home: Path, database_url: str, base: str) -> str:
    """Seed a demo issuer of 100 workers and return one active worker credential's text."""
    from sqlalchemy import select

    from anxinma import credential as fmt
    from anxinma.issuer import build_runtime
    from anxinma.issuer.demo import seed
    from anxinma.issuer.store.models import Credential

    runtime = build_runtime(_config(home, database_url, base_url=base))
    try:
        seed(runtime, workers=100)
        with runtime.store.read() as session:
            raw = session.execute(
                select(Credential.raw)
                .where(Credential.status == "active", Credential.subject_kind == "worker")
                .limit(1)
            ).scalar_one()
    finally:
        runtime.close()
    return fmt.decode(raw).to_url(base)


def live_against_hello(label: str, database_url: str, redis_url: str | None) -> list[dict[str, Any]]:
    """wrk on the live record and on Flask hello, alternating, at each connection count."""
    wrk = _ensure_wrk()
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    import requests

    home = Path(tempfile.mkdtemp(prefix="anxinma-bench-live-"))
    port, hello_port = _free_port(), _free_port()
    base = f"http://127.0.0.1:{port}"
    code = _seeded_code(home, database_url, base)
    script = home / "live.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = '{json.dumps({'code': code})}'\n"
    )
    hello_script = home / "hello.lua"
    hello_script.write_text('wrk.method = "POST"\n')
    (home / "hello_app.py").write_text(HELLO)
    env = {
        **os.environ,
        "ANXINMA_HOME": str(home),
        "ANXINMA_BASE_URL": base,
        "ANXINMA_LIVE_RATE_LIMIT": "100000000 per minute",
        "DATABASE_URL": database_url,
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    servers = [
        _gunicorn("anxinma.wsgi:app", port, env, home),
        _gunicorn("hello_app:app", hello_port, {**env, "PYTHONPATH": str(home)}, home),
    ]
    try:
        _wait_port(port)
        _wait_port(hello_port)
        answer = requests.post(f"{base}/api/v1/live", json={"code": code}, timeout=120)
        assert answer.status_code == 200, answer.text
        assert requests.post(f"http://127.0.0.1:{hello_port}/hello", timeout=60).text == "hello"
        _wrk(wrk, f"{base}/api/v1/live", script, 4, 2)  # warm both (pools, caches, prepared statements)
        _wrk(wrk, f"http://127.0.0.1:{hello_port}/hello", hello_script, 4, 2)
        results = []
        for count in CONNECTIONS:
            rounds = []
            for _ in range(ROUNDS):  # alternating short runs: a load spike hits both sides of a ratio
                hello = _wrk(wrk, f"http://127.0.0.1:{hello_port}/hello", hello_script, count, SECONDS)
                live = _wrk(wrk, f"{base}/api/v1/live", script, count, SECONDS)
                rounds.append((live, hello))
                print(label, count, live["rate"], hello["rate"], flush=True)
            ratios = sorted(live["rate"] / hello["rate"] for live, hello in rounds)
            live, hello = sorted(rounds, key=lambda pair: pair[0]["rate"] / pair[1]["rate"])[len(rounds) // 2]
            results.append(
                {
                    "label": label,
                    "connections": count,
                    "live": live,
                    "hello": hello,
                    "ratio": statistics.median(ratios),
                    "ratios": ratios,
                    "errors": any(live["errors"] for live, _ in rounds),
                }
            )
        return results
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)
        shutil.rmtree(home, ignore_errors=True)


def _redis() -> tuple[str, Any]:
    """A redis-server of our own on a free port (the bench must not flush a shared one)."""
    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(port)

    def stop() -> None:
        server.terminate()
        server.wait(timeout=10)

    return f"redis://127.0.0.1:{port}/0", stop


def main() -> None:
    rows: list[dict[str, Any]] = []
    stores = os.environ.get("ANXINMA_BENCH_LIVE_STORES", "sqlite,postgres").split(",")
    if "sqlite" in stores:
        sqlite_home = Path(tempfile.mkdtemp(prefix="anxinma-bench-live-db-"))
        try:
            database = f"sqlite:///{sqlite_home / 'a.sqlite3'}"
            rows += live_against_hello("SQLite, in-process limit", database, None)
        finally:
            shutil.rmtree(sqlite_home, ignore_errors=True)
    if "postgres" in stores:
        url, drop = _postgres_schema()
        redis_url, stop = _redis()
        try:
            rows += live_against_hello("PostgreSQL + Redis, limit in Redis", url, redis_url)
        finally:
            stop()
            drop()
    if os.environ.get("ANXINMA_BENCH_LIVE_STORES"):  # a partial run: printed, not recorded
        print(rows)
        return
    load = os.getloadavg()[0]
    lines = [
        f"### Live record against Flask hello, `gunicorn -w 2`, wrk on 127.0.0.1 ({ROUNDS} rounds of {SECONDS} s)",
        "",
        "| store | connections | live record/s | p50 | p99 | Flask hello/s | ratio (median, range) | target |",
        "| --- | --- | ---: | --- | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        live, hello = row["live"], row["hello"]
        flag = " (errors)" if row["errors"] else ""
        target = ">= 0.70x" if row["label"].startswith("SQLite") else ">= 0.50x"
        spread = f"{row['ratios'][0]:.2f}-{row['ratios'][-1]:.2f}"
        lines.append(
            f"| {row['label']} | {row['connections']} | {live['rate']:,.0f}{flag} | {live['p50']} | "
            f"{live['p99']} | {hello['rate']:,.0f} | **{row['ratio']:.2f}x** ({spread}) | {target} |"
        )
    lines += [
        "",
        "Both apps under the same `gunicorn -w 2` (sync workers), started side by side; wrk (2 threads) runs",
        "hello then the live record, alternating, in rounds; the ratio is the median of the rounds' ratios (the",
        "range beside it) and the rates shown are that round's. The live record",
        "is the real one: JSON body parsed, the credential's signature and issuer checked, one read of the",
        "database, the per-client rate limit checked and counted (set high: wrk is one client), the record",
        "signed (Ed25519, a fresh JWS each response). wrk and both servers share the 2 cores, with other",
        f"jobs on the machine (load average {load:.1f} at the end), so absolute rates run low.",
    ]
    body = "\n".join(lines)
    print(body)
    write_section("live", body)


if __name__ == "__main__":
    main()
