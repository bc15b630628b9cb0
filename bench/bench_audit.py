"""The audit chain's checkpoints (issue 17, finding 5): what one costs per commit, and what
checking a chain against one checkpoint per commit costs ``anxinma audit verify``.

``python -m bench audit`` writes the ``audit`` block of docs/benchmarks.md. A SQLite store in a
temporary home holds ENTRIES entries, written in transactions of 1,000 (the chain's own cost is
not what is measured); then one checkpoint per entry is signed and appended, as if each entry had
been its own commit (the most checkpoints a chain of that length can have), and the chain is
verified with none of them and with all of them.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from anxinma.issuer.app import build_runtime
from anxinma.issuer.config import IssuerConfig
from anxinma.issuer.services.checkpoints import CHECKPOINT_FILE, AuditCheckpoints
from anxinma.issuer.store import audit
from anxinma.issuer.store.models import AuditEntry
from bench._report import rate, write_section

ENTRIES = int(os.environ.get("ANXINMA_BENCH_AUDIT_ENTRIES", "100000"))
BATCH = 1000


def _cpu(func: object) -> float:
    """The best of three CPU-time runs of ``func`` (seconds; the machine is shared)."""
    runs = []
    for _ in range(3):
        start = time.process_time()
        func()  # type: ignore[operator]
        runs.append(time.process_time() - start)
    return min(runs)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        runtime = build_runtime(
            IssuerConfig(
                home=home,
                database_url=f"sqlite:///{home / 'a.sqlite3'}",
                dev_bootstrap=True,
                background=False,
            )
        )
        service, store, key = runtime.service, runtime.store, runtime.vault.audit_key
        entry = audit.PendingEntry("bench", "credential.issue", "credential", "1", {"kid": "137f"})
        for _ in range(ENTRIES // BATCH):
            with store.write() as session:
                audit.append_head(session, key, [entry] * BATCH)
        scratch = AuditCheckpoints(Path(tmp) / "scratch", runtime.keys)
        per_second = rate(lambda: scratch.write(1, "ab" * 32), repeat=5)
        line = (Path(tmp) / "scratch").read_text().splitlines()[0]
        none = _cpu(lambda: service.audit_verify())
        (home / CHECKPOINT_FILE).unlink(missing_ok=True)
        anchors = AuditCheckpoints(home / CHECKPOINT_FILE, runtime.keys)
        with store.read() as session:
            for seq, head in session.execute(
                select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq)
            ):
                anchors.write(int(seq), head)
        size = (home / CHECKPOINT_FILE).stat().st_size
        report = service.audit_verify()
        assert report.ok and report.anchors >= ENTRIES, report.problems[:3]
        every = _cpu(lambda: service.audit_verify())
        newest = statistics.median(_newest_read(anchors) for _ in range(5))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    body = f"""
### Audit checkpoints: one per commit, and `audit verify` against all of them

A checkpoint is signed and appended (`AuditCheckpoints.write`: Ed25519 + one `O_APPEND` write,
no fsync) after every commit that audits: **{1e6 / per_second:.0f} µs** each
({per_second:,.0f}/s), one line of {len(line) + 1} bytes. `anxinma audit verify` of a chain of
{ENTRIES:,} entries (SQLite, CPU time, best of 3): **{none:.2f} s** with no checkpoint,
**{every:.2f} s** with {ENTRIES:,} checkpoints (one per entry, the most there can be; a file of
{size / 1e6:.1f} MB: each is parsed and its signature verified). `GET /audit/checkpoint` reads
the file's last 8 KB when the file changed: {newest * 1e6:.0f} µs. Peak resident memory of the whole
run (service, store and verify): {peak_mb:.0f} MB — verify reads the files line by line and looks
entries up 900 at a time, so it does not grow with the number of checkpoints.
"""
    print(body)
    write_section("audit", body)


def _newest_read(anchors: AuditCheckpoints) -> float:
    anchors._newest = None  # a changed file: read and verify its tail again
    start = time.perf_counter()
    anchors.newest()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
