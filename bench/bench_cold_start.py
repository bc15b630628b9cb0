"""Cold start and recovery at scale (issue 19, item 4).

``python -m bench cold_start`` (``ANXINMA_BENCH_SIZES=1000000`` for a shorter run). For 1 M and
10 M simulated credentials in a SQLite store made by the real migrations (1 % revoked, 5 %
attention, positions drawn with a fixed seed), in one run:

* **before**: what a process did on its first request until issue 19 — read every row's status
  into every shard (the loop of the old ``StatusBoard._load``);
* **after**: a fresh :class:`StatusBoard` answering one serial's status (the first request: it
  reads that serial's shard, its non-valid rows and its highest serial), and reading every shard
  (what the first freshness document needs);
* the Redis rebuild after Redis came back empty, the old full read against today's non-valid
  read, into a redis-server of the benchmark's own.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from anxinma.ed25519 import SigningKey
from anxinma.issuer.services.propagation import RedisMirror
from anxinma.issuer.services.status import StatusBoard
from anxinma.issuer.store.db import Store
from anxinma.issuer.store.models import Credential
from anxinma.status_list import StatusArray, shard_of
from bench._report import write_section

SIZES = tuple(int(n) for n in os.environ.get("ANXINMA_BENCH_SIZES", "1000000,10000000").split(","))
REVOKED, ATTENTION = 0.01, 0.05


def _fill(path: Path, total: int) -> None:
    """``total`` credential rows, written with plain sqlite3 (the benchmark measures reading)."""
    store = Store(f"sqlite:///{path}")
    store.migrate()
    store.dispose()
    rng = random.Random(19)
    marked = rng.sample(range(1, total + 1), round(total * (REVOKED + ATTENTION)))
    values = dict.fromkeys(marked[: round(total * REVOKED)], 1) | dict.fromkeys(
        marked[round(total * REVOKED) :], 3
    )
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    raw = bytes(119)
    batch = 200_000
    for start in range(1, total + 1, batch):
        rows = [
            (
                serial, 1, "worker", None, 1, "abcd", "2026-12-01", "2028-12-01",
                "revoked" if values.get(serial) == 1 else "active", values.get(serial, 0), raw,
                serial if serial in values else 0, "2026-12-01 00:00:00",
            )
            for serial in range(start, min(start + batch, total + 1))
        ]  # fmt: skip
        conn.executemany(
            "INSERT INTO credentials (serial, issuer_id, subject_kind, worker_id, enterprise_id, kid, issued_on, "
            "expires_on, status, status_value, raw, change_seq, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        conn.commit()
    conn.close()


def _old_load(store: Store) -> dict[int, StatusArray]:
    """The first request's work before issue 19: every row into every shard."""
    arrays: dict[int, StatusArray] = {}
    with store.read() as session:
        rows = session.execute(select(Credential.serial, Credential.status_value)).all()
    for serial, value in rows:
        shard, index = shard_of(int(serial))
        array = arrays.get(shard)
        if array is None:
            array = arrays[shard] = StatusArray()
        array.set(index, int(value))
    return arrays


def _timed(func: object) -> float:
    start = time.perf_counter()
    func()  # type: ignore[operator]
    return time.perf_counter() - start


def _board(store: Store) -> StatusBoard:
    key = SigningKey.generate()
    return StatusBoard(
        store,
        issuer_code=330200,
        uri_for=lambda shard: f"https://anxin.example.cn/status/330200/{shard}",
        signing_key=lambda: (b"\x00\x01", key),
        ttl=300,
    )


def _redis() -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return process, f"redis://127.0.0.1:{port}/0"


def main() -> None:
    lines = [
        "| credentials | shards | before: first request reads every status | after: first request (one serial) "
        "| after: every shard read (first freshness) | Redis rebuild before | Redis rebuild after |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    redis_process, redis_url = _redis()
    try:
        for total in SIZES:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "cold.sqlite3"
                made = _timed(lambda: _fill(path, total))  # noqa: B023
                print(f"  {total:,} rows written in {made:.1f} s", flush=True)
                store = Store(f"sqlite:///{path}")
                before = _timed(lambda: _old_load(store))  # noqa: B023
                board = _board(store)
                first = _timed(lambda: board.value(total))  # noqa: B023 - a serial of the last shard
                fresh = _board(store)
                every = _timed(lambda: [fresh.array(s) for s in fresh.shards()])  # noqa: B023
                mirror = RedisMirror(redis_url, store, 330200)
                mirror.client.flushall()
                old_rebuild = _timed(lambda: (_old_load(store), mirror._rebuild(0)))  # noqa: B023 - upper bound of the old
                mirror.client.flushall()
                new_rebuild = _timed(lambda: mirror._rebuild(0))  # noqa: B023
                mirror.close()
                store.dispose()
                shards = len(board.shards())
                lines.append(
                    f"| {total:,} | {shards} | {before:.2f} s | {first:.2f} s ({before / first:.0f}x less) "
                    f"| {every:.2f} s | {old_rebuild:.2f} s | {new_rebuild:.2f} s |"
                )
                print(lines[-1], flush=True)
    finally:
        redis_process.kill()
    body = (
        "### Cold start: a process's first request, and Redis rebuilt after it came back empty\n\n"
        f"SQLite store made by the migrations; {REVOKED:.0%} revoked, {ATTENTION:.0%} attention; one run "
        "(the machine is shared: read the ratios). *Before* is the old first request (every row read into "
        "every shard); *after* a fresh board answering one serial of the last shard (that shard's non-valid "
        "rows and its highest serial). One process rebuilds Redis (a lock key); the others wait a round. "
        "The old rebuild is given as the old full read plus today's write (an upper bound of what it did).\n\n"
        + "\n".join(lines)
    )
    write_section("cold_start", body)


if __name__ == "__main__":
    main()
