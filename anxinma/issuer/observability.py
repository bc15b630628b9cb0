"""What an operations team reaches for first: probes, metrics, request ids and the access log.

- ``GET /healthz``: the process answers (no database touch).
- ``GET /readyz``: the database answers a ``SELECT 1`` within :data:`PROBE_TIMEOUT` and the
  service holds an unexpired trust list: 200, else 503; Redis's state is reported beside them.
- ``GET /metrics``: the Prometheus text format (prometheus-client). Under gunicorn every
  worker writes its samples to ``PROMETHEUS_MULTIPROC_DIR`` and a scrape of any worker adds them
  up (``anxinma/gunicorn_conf.py`` sets the directory and marks dead workers).

Every metric is defined here, and each counter is incremented at the one place its event
happens: requests and 429s in the request hooks below, status-list publications in
:meth:`Publications.insert`, live-record lookups in the live-record route, issued and revoked
credentials where the audit chain records them (a SQLAlchemy session hook installed by
:func:`install`, counted on commit only). Log setup is :func:`logging_setup`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from anxinma.issuer.config import LOG_FORMAT_ENV, MULTIPROC_ENV

#: Seconds a readiness check waits for the database or Redis before calling it down.
PROBE_TIMEOUT = 2.0
#: The text format every Prometheus server reads (prometheus-client >= 0.22 calls its own 1.0.0
#: "latest"; the 0.0.4 body is what ``generate_latest`` writes with its default escaping).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: The route label of a request no URL rule matched (a 404): never the raw path.
UNMATCHED = "(unmatched)"

access_log = logging.getLogger("anxinma.access")
log = logging.getLogger("anxinma.issuer.observability")

blueprint = Blueprint("observability", __name__)

# -- the metrics -----------------------------------------------------------------------------

#: Ours only: prometheus-client's default registry adds python_* and process_* families, and
#: every name served here starts with ``anxinma_`` (in multi-process mode the files hold ours only).
METRICS = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "anxinma_http_requests_total",
    "HTTP requests answered, by method, URL rule (never the raw path) and status",
    ["method", "route", "status"],
    registry=METRICS,
)
LATENCY = Histogram(
    "anxinma_http_request_duration_seconds",
    "Time from the request's arrival in the app to its response, by method and URL rule",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=METRICS,
)
RATE_LIMITED = Counter(
    "anxinma_rate_limited_total",
    "Requests refused with 429 by a per-client limit, by URL rule",
    ["route"],
    registry=METRICS,
)
CREDENTIALS_ISSUED = Counter(
    "anxinma_credentials_issued_total",
    "Credentials signed and committed, by subject (worker or enterprise)",
    ["subject"],
    registry=METRICS,
)
REVOCATIONS = Counter(
    "anxinma_revocations_total",
    "Credentials revoked and committed, by reason (left, lost, misconduct, blacklisted, replaced)",
    ["reason"],
    registry=METRICS,
)
PUBLICATIONS = Counter(
    "anxinma_publications_total",
    "Rows this process added to the publications table (a status shard's new version, a freshness "
    "document, a trust list), by kind",
    ["kind"],
    registry=METRICS,
)
LIVE_LOOKUPS = Counter(
    "anxinma_live_lookups_total",
    "Live-record lookups (POST /api/v1/live), by outcome (ok, or the error code)",
    ["outcome"],
    registry=METRICS,
)


def multiprocess_dir() -> str | None:
    """The multi-process directory when set (gunicorn), else None (one process)."""
    return os.environ.get(MULTIPROC_ENV) or None


def generate_latest(app: Flask) -> bytes:
    """The exposition: every process's counters and histograms (multi-process mode) or this
    process's, then the gauges computed now from this app's state."""
    directory = multiprocess_dir()
    if directory is not None:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        counted = _generate_latest(registry)
    else:
        counted = _generate_latest(METRICS)
    now = CollectorRegistry(auto_describe=False)
    now.register(_ScrapeTimeGauges(app))
    return counted + _generate_latest(now)


class _ScrapeTimeGauges(Collector):
    """The trust list's age, time to expiry and sequence, read at scrape time: nothing to go
    stale between scrapes, and nothing for the multi-process files to add up across workers."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = trust_state(self.app.extensions["anxinma"])
        gauges = (
            (
                "anxinma_trust_list_age_seconds",
                "Seconds since the served trust list was issued",
                "age_seconds",
            ),
            (
                "anxinma_trust_list_expires_in_seconds",
                "Seconds until the served trust list expires (negative: expired)",
                "expires_in_seconds",
            ),
            ("anxinma_trust_list_sequence", "Sequence number of the served trust list", "sequence"),
        )
        for name, documentation, key in gauges:
            family = GaugeMetricFamily(name, documentation)
            if state.get(key) is not None:
                family.add_metric([], float(state[key]))
            yield family
        ready = GaugeMetricFamily("anxinma_trust_list_ok", "1 when the service holds an unexpired trust list")
        ready.add_metric([], 1.0 if state["state"] == "ok" else 0.0)
        yield ready
        depth = GaugeMetricFamily(
            "anxinma_job_queue_depth", "Background jobs queued or running on any host (the durable queue)"
        )
        with contextlib.suppress(Exception):  # the database is away: readiness says so; no sample
            depth.add_metric([], float(self.app.extensions["anxinma"].service.jobs.pending()))
        yield depth


# -- counted where the audit chain records the event ----------------------------------------

_SESSION_HOOKS = threading.Lock()
_sessions_hooked = False
_PENDING = "anxinma.observability.pending"


def _hook_sessions() -> None:
    """Count issued and revoked credentials from the audit rows each transaction inserts, on
    commit only (a rolled-back transaction counts nothing).

    Every issuance and revocation writes its audit entry (``credential.issue``,
    ``credential.revoke``) in the transaction that makes it, through ``audit.append``'s one
    ``INSERT``: the one place both events happen, bulk issuance and blacklisting included. The
    hook sits outside the service code (a SQLAlchemy session event) while that code is being
    restructured; afterwards a direct call belongs where the service commits its unit of work.
    """
    global _sessions_hooked
    with _SESSION_HOOKS:
        if _sessions_hooked:
            return
        from sqlalchemy import event
        from sqlalchemy.orm import ORMExecuteState, Session

        from anxinma.issuer.store.models import AuditEntry

        audit_table = AuditEntry.__tablename__

        @event.listens_for(Session, "do_orm_execute")
        def _seen(state: ORMExecuteState) -> None:
            # An ORM insert's table is an annotated copy: compare by name.
            table = getattr(state.statement, "table", None)
            if not state.is_insert or getattr(table, "name", None) != audit_table:
                return
            rows = state.parameters
            items: Iterable[Any] = rows if isinstance(rows, list) else [rows]
            pending = state.session.info.setdefault(_PENDING, [])
            for row in items:
                if isinstance(row, dict) and row.get("action") in ("credential.issue", "credential.revoke"):
                    pending.append((row["action"], row.get("details") or "{}"))

        @event.listens_for(Session, "after_commit")
        def _committed(session: Session) -> None:
            for action, details in session.info.pop(_PENDING, ()):
                _count_audited(action, details)

        @event.listens_for(Session, "after_rollback")
        def _rolled_back(session: Session) -> None:
            session.info.pop(_PENDING, None)

        _sessions_hooked = True


def _count_audited(action: str, details: str) -> None:
    try:
        data = json.loads(details)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if action == "credential.issue":
        CREDENTIALS_ISSUED.labels(
            subject="enterprise" if data.get("subject") == "enterprise" else "worker"
        ).inc()
        return
    reason = data.get("reason")
    known = ("left", "lost", "misconduct", "blacklisted", "replaced")
    REVOCATIONS.labels(reason=reason if reason in known else "other").inc()


# -- request ids, timing, the access log ----------------------------------------------------

#: A caller's X-Request-ID is kept only when it is this tame (nginx's $request_id is 32 hex).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    from flask import has_request_context

    return g.get("anxinma_request_id") if has_request_context() else None


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def _before() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.anxinma_request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.anxinma_started = time.perf_counter()


def _after(response: Response) -> Response:
    started = g.get("anxinma_started")
    response.headers["X-Request-ID"] = g.get("anxinma_request_id") or uuid.uuid4().hex
    if started is None:  # pragma: no cover - a before_request hook earlier in the chain failed
        return response
    elapsed = time.perf_counter() - started
    route, method, status = _route(), request.method, response.status_code
    REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    LATENCY.labels(method=method, route=route).observe(elapsed)
    if status == 429:
        RATE_LIMITED.labels(route=route).inc()
    # The URL rule, never the path or the query string: a path can carry a credential
    # (/v/<code>) and a query an ID number (?q=); headers (Authorization, cookies) never appear.
    duration_ms = round(elapsed * 1000, 1)
    access_log.info(
        "%s %s %s %.1fms",
        method,
        route,
        status,
        duration_ms,
        extra={"route": route, "method": method, "status": status, "duration_ms": duration_ms},
    )
    return response


# -- the probes -----------------------------------------------------------------------------


@blueprint.get("/healthz")
def healthz() -> Response:
    """The process answers; nothing else is touched (a liveness probe)."""
    response = jsonify({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready when the database answers and an unexpired trust list is held. Redis is reported,
    not required: it only accelerates (revocations commit to the database and the reconciler
    re-applies them when Redis returns), and a Redis outage taking every host out of the
    proxy would turn a slower service into none."""
    runtime = current_app.extensions["anxinma"]
    database = _probe(lambda: _database_ok(runtime))
    redis = "unused" if not runtime.config.redis_url else _probe(lambda: _redis_ok(runtime))
    trust = trust_state(runtime)
    ready = database == "ok" and trust["state"] == "ok"
    body = {
        "status": "ready" if ready else "not ready",
        "database": database,
        "redis": redis,
        "trust_list": trust,
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if ready else 503


_PROBES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="anxinma-readyz")


def _probe(check: Any) -> str:
    """``"ok"`` or ``"down"``: the check raised, or took longer than :data:`PROBE_TIMEOUT`."""
    try:
        _PROBES.submit(check).result(timeout=PROBE_TIMEOUT + 0.5)
    except FutureTimeout:
        return "down"
    except Exception as exc:
        log.warning("readiness: %s", type(exc).__name__)
        return "down"
    return "ok"


def _database_ok(runtime: Any) -> None:
    from sqlalchemy import text

    engine = _probe_engine(runtime)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _probe_engine(runtime: Any) -> Any:
    """An engine of its own for the probe: no pool (a connection a dead server left in the
    service's pool is never what is checked) and a connect timeout."""
    engine = getattr(runtime, "_readyz_engine", None)
    if engine is None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        url = runtime.store.url
        if url.startswith("sqlite"):
            connect_args: dict[str, Any] = {"timeout": PROBE_TIMEOUT}
        else:
            connect_args = {"connect_timeout": max(1, int(PROBE_TIMEOUT))}
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
        runtime._readyz_engine = engine
    return engine


def _redis_ok(runtime: Any) -> None:
    client = getattr(runtime, "_readyz_redis", None)
    if client is None:
        import redis

        client = redis.Redis.from_url(
            runtime.config.redis_url, socket_timeout=PROBE_TIMEOUT, socket_connect_timeout=PROBE_TIMEOUT
        )
        runtime._readyz_redis = client
    client.ping()


def trust_state(runtime: Any) -> dict[str, Any]:
    """``state`` ("ok", "expired", "missing", or "unknown" when it cannot be read), ``sequence``, ``age_seconds``,
    ``expires_in_seconds``: what ``/trust-list/status`` reports, reduced to what a probe needs."""
    try:
        status = runtime.trust.status()
    except Exception as exc:  # the probe reports; it never fails the request
        # The served list is read from the publications table: with the database down it
        # cannot be read (nor served), which is not the same as having none.
        log.warning("readiness: trust list status failed: %s", type(exc).__name__)
        return {"state": "unknown", "sequence": None, "age_seconds": None, "expires_in_seconds": None}
    expires_in = status.get("expires_in_seconds")
    if expires_in is None:
        state = "missing"
    elif expires_in <= 0:
        state = "expired"
    else:
        state = "ok"
    return {
        "state": state,
        "sequence": status.get("sequence"),
        "age_seconds": status.get("age_seconds"),
        "expires_in_seconds": expires_in,
    }


@blueprint.get("/metrics")
def metrics() -> Response:
    """The Prometheus text format (version 0.0.4); metric names start with ``anxinma_``."""
    response = Response(generate_latest(current_app._get_current_object()), mimetype=None)  # type: ignore[attr-defined]
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask) -> None:
    """Register the probes, the metrics endpoint and the request hooks (the app factory calls it)."""
    _hook_sessions()
    app.before_request(_before)
    app.after_request(_after)
    app.register_blueprint(blueprint)


# -- logs -----------------------------------------------------------------------------------

_FIELDS = ("route", "method", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, and for
    access lines route, method, status and duration_ms."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-12-08T00:01:02.345Z INFO anxinma.access [rid] GET /healthz 200 0.4ms``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        rid = getattr(record, "request_id", None)
        line = f"{stamp.replace('+00:00', 'Z')} {record.levelname} {record.name}{f' [{rid}]' if rid else ''} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def log_formatter() -> logging.Formatter:
    """The formatter ``ANXINMA_LOG_FORMAT`` asks for (gunicorn's own lines use it too:
    anxinma/gunicorn_conf.py)."""
    chosen = (os.environ.get(LOG_FORMAT_ENV) or "text").strip().lower()
    return JsonFormatter() if chosen == "json" else TextFormatter()


def _with_request_id(record: logging.LogRecord) -> bool:
    if getattr(record, "request_id", None) is None:
        record.request_id = request_id()
    return True


def _not_werkzeug_request_line(record: logging.LogRecord) -> bool:
    """The development server's own request lines carry the raw path (``/v/<code>``); the
    access log above replaces them."""
    if record.name != "werkzeug" or record.levelno > logging.INFO:
        return True
    return not _WERKZEUG_REQUEST.search(record.getMessage())


#: werkzeug formats ``addr - - [date] "GET /path HTTP/1.1" 200 -`` (coloured on a terminal) itself.
_WERKZEUG_REQUEST = re.compile(r'\] "(?:\x1b\[[0-9;]*m)*[A-Z]+ \S* HTTP/\d')


_HANDLER_MARK = "anxinma_log_handler"


def logging_setup(
    log_format: str | None = None, stream: Any = None, level: int = logging.INFO
) -> logging.Handler:
    """Configure the root logger once per process: one handler on standard error (or ``stream``),
    JSON lines when ``ANXINMA_LOG_FORMAT=json`` (or ``log_format="json"``), else readable lines
    with time and level. Calling it again replaces the handler it made (never a second one)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    if log_format is None:
        handler.setFormatter(log_formatter())
    else:
        handler.setFormatter(JsonFormatter() if log_format.strip().lower() == "json" else TextFormatter())
    handler.addFilter(_with_request_id)
    handler.addFilter(_not_werkzeug_request_line)
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # alembic says "Context impl …" and one line per plugin on every start of every worker.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
