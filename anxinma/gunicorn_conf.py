"""gunicorn settings for the issuer service: ``gunicorn -c python:anxinma.gunicorn_conf anxinma.wsgi:app``.

Installed with the package, so every deployment (deploy/Dockerfile, deploy/anxinma.service,
a hand-run host) names the same file; the command line and ``GUNICORN_CMD_ARGS`` add the bind
address and worker counts. What it does (docs/operations.md, "Metrics"):

- **multi-process metrics**: ``PROMETHEUS_MULTIPROC_DIR`` is set here, in the master, before any
  worker imports prometheus-client (a fresh directory under /dev/shm unless the environment
  names one); stale sample files of a previous run are removed at start, and ``child_exit``
  marks a dead worker's files so its live gauges leave the sum (its counters stay: a counter
  never goes down).
- **the configuration checked once, in the master**: a bad setting or an unreachable database
  prints the one line and gunicorn exits with status 2 before any worker is forked, instead of
  every worker failing in turn.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # anxinma.issuer.config.MULTIPROC_ENV; no import here:
# this module must not load prometheus-client before the variable is set.


def _metrics_dir() -> str:
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        return given
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    made = tempfile.mkdtemp(prefix="anxinma-metrics-", dir=base)
    os.environ[MULTIPROC_ENV] = made
    return made


_made_here = not os.environ.get(MULTIPROC_ENV)
metrics_dir = _metrics_dir()

# Never gunicorn's own access log: it writes the raw request line, query string included
# (?q= may be an ID number). The service logs each request itself (logger anxinma.access).
accesslog = None

# gunicorn's own lines (Booting worker, Worker exiting) in the service's format, so that with
# ANXINMA_LOG_FORMAT=json standard error is JSON lines throughout. This replaces gunicorn's whole
# logging dictionary: its root handler (the workers' loggers are set up by logging_setup) and its
# access logger, which a logging dictionary would otherwise turn on, are left out.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {
            "level": "INFO",
            "handlers": ["stderr"],
            "propagate": False,
            "qualname": "gunicorn.error",
        },
        "gunicorn.access": {
            "level": "CRITICAL",
            "handlers": [],
            "propagate": False,
            "qualname": "gunicorn.access",
        },
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "anxinma", "stream": "ext://sys.stderr"}
    },
    "formatters": {"anxinma": {"()": "anxinma.issuer.observability.log_formatter"}},
}


def on_starting(server: Any) -> None:
    """In the master, before the workers: wipe stale samples, check the configuration."""
    for stale in Path(metrics_dir).glob("*.db"):
        stale.unlink(missing_ok=True)
    from anxinma.errors import AnxinmaError
    from anxinma.issuer.config import IssuerConfig, check_database

    try:
        check_database(IssuerConfig.from_env())
    except AnxinmaError as exc:
        print(f"错误 / error: {exc.explain()}", file=sys.stderr, flush=True)
        on_exit(server)  # gunicorn does not call it when the master stops this early
        sys.exit(2)


def child_exit(server: Any, worker: Any) -> None:
    """A worker died (or was retired): its live gauges no longer count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_dir)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """The master stops: remove the directory this file made (one named by the environment is
    the operator's and stays)."""
    if _made_here:
        import shutil

        shutil.rmtree(metrics_dir, ignore_errors=True)
