"""The issuer's configuration: the environment names of docs/interfaces.md, read and checked in
one place.

:meth:`IssuerConfig.from_env` parses every variable the service reads and :meth:`IssuerConfig.validate`
checks the values; a bad one raises :class:`ConfigError`, which names the variable and what it
accepts in both languages (``anxinma serve`` and gunicorn print that one line and exit with status
2). :func:`check_database` is the start's last check: the database answers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from anxinma.credential import DEFAULT_BASE_URL
from anxinma.errors import AnxinmaError
from anxinma.keys.store import HOME_ENV, PASSPHRASE_ENV
from anxinma.messages import Catalog, Message

LOG_FORMAT_ENV = "ANXINMA_LOG_FORMAT"
LOG_FORMATS = ("text", "json")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

RULES = Catalog("config")
RULES.define(
    "integer",
    zh="{name}={value}：应为 {low} 到 {high} 之间的整数",
    en="{name}={value}: expected an integer from {low} to {high}",
)
RULES.define(
    "rate_limit",
    zh="{name}={value}：应为限流规则，如“120 per minute”或“10/second”（flask-limiter 写法，多条以 ; 分隔）",
    en="{name}={value}: expected a rate limit such as '120 per minute' or '10/second' (flask-limiter "
    "syntax, several separated by ;)",
)
RULES.define(
    "http_url",
    zh="{name}={value}：应为带主机名的绝对 http:// 或 https:// 地址（不含查询串和片段）",
    en="{name}={value}: expected an absolute http:// or https:// URL with a host (no query or fragment)",
)
RULES.define(
    "trust_source",
    zh="{name}={value}：应为 http(s) 地址或已存在的文件路径",
    en="{name}={value}: expected an http(s) URL or the path of an existing file",
)
RULES.define(
    "file",
    zh="{name}={value}：应为已存在的文件路径",
    en="{name}={value}: expected the path of an existing file",
)
RULES.define(
    "directory",
    zh="{name}={value}：应为目录（该路径存在但不是目录，或不可写）",
    en="{name}={value}: expected a directory (the path exists and is not one, or is not writable)",
)
RULES.define(
    "database_url",
    zh="{name}={value}：应为 SQLAlchemy 数据库地址：sqlite:///路径 或 postgresql+psycopg://用户@主机/库名",
    en="{name}={value}: expected a SQLAlchemy database URL: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
)
RULES.define(
    "redis_url",
    zh="{name}={value}：应为 redis://主机[:端口][/库号]、rediss://… 或 unix://路径",
    en="{name}={value}: expected redis://HOST[:PORT][/DB], rediss://… or unix://PATH",
)
RULES.define(
    "choice",
    zh="{name}={value}：应为以下之一：{choices}",
    en="{name}={value}: expected one of {choices}",
)
RULES.define(
    "clock",
    zh="{name}={value}：应为 24 小时制时刻 HH:MM（中国时间，如 00:10），或 off",
    en="{name}={value}: expected a time of day HH:MM (China time, e.g. 00:10), or off",
)
RULES.define(
    "unreachable",
    zh="{name}={value}：数据库无应答（{reason}）",
    en="{name}={value}: the database does not answer ({reason})",
)


class ConfigError(AnxinmaError):
    """A setting the service cannot run with: ``variable`` names it, the message says what it
    accepts (both languages, one line)."""

    code = "bad_config"

    def __init__(self, variable: str, message: Message) -> None:
        super().__init__(message.en, message_zh=message.zh)
        self.variable = variable
        self.rule = message


def _bad(rule: str, name: str, value: object, **params: Any) -> ConfigError:
    shown = mask_url(str(value)) if name in ("DATABASE_URL", "REDIS_URL") else str(value)
    return ConfigError(name, RULES(rule, name=name, value=repr(shown), **params))


#: (variable, lowest, highest) of every integer setting.
INT_RANGES = {
    "ANXINMA_TRUST_LIST_REFRESH": (1, 30 * 86400),
    "ANXINMA_CREDENTIAL_DAYS": (1, 3650),
    "ANXINMA_STATUS_TTL": (1, 86400),
    "ANXINMA_PROXIES": (0, 10),
    "ANXINMA_DB_POOL_SIZE": (1, 100),
    "ANXINMA_DB_MAX_OVERFLOW": (0, 100),
    "ANXINMA_JOB_LEASE": (1, 3600),
}

#: ``ANXINMA_DB_POOLER``: what stands between the service and PostgreSQL. ``pgbouncer``
#: means PgBouncer in transaction mode, which hands a client's next transaction to any server
#: connection: psycopg's automatic server-side prepared statements are then turned off (they
#: live on one server connection; PgBouncer 1.18, Debian 12's, does not track them).
POOLERS = ("none", "pgbouncer")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    low, high = INT_RANGES[name]
    try:
        value = int(raw.strip())
    except ValueError:
        raise _bad("integer", name, raw, low=low, high=high) from None
    return value


def mask_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class IssuerConfig:
    """Everything the service reads from outside. Build it with :meth:`from_env` or by hand (tests).

    ``dev_bootstrap``: on an empty home create development keys (unencrypted) instead of
    refusing to start; ``anxinma serve`` and the test fixture set it, gunicorn deployments do not.
    """

    home: Path
    database_url: str
    redis_url: str | None = None
    #: The base URL asked for (``ANXINMA_BASE_URL``, ``serve --port``); the keyring's
    #: ``issuer.base_url`` is the identity: a service runs with the keyring's and warns at start
    #: when this one differs (``base_url_given``: it was asked for, not the default).
    base_url: str = DEFAULT_BASE_URL
    base_url_given: bool = True
    #: The regulator's signed trust list (http(s) URL or file path; docs/operations.md source a).
    trust_list_url: str | None = None
    #: The regulator's root public key (PEM path) the trust list is checked against and the
    #: service pins; None: the keyring's root.
    root_key_path: Path | None = None
    #: Longest time between two refreshes of the regulator's list, seconds (sooner at half its
    #: remaining validity).
    trust_list_refresh: float = 3600.0
    key_passphrase: str | None = None
    dev_bootstrap: bool = False
    #: Days a new credential is valid (a printed badge is reissued when it runs out).
    credential_days: int = 730
    #: Status list Cache-Control max-age and the ``ttl`` claim, in seconds.
    status_ttl: int = 300
    #: flask-limiter rule for the live record, per client address.
    live_rate_limit: str = "120 per minute"
    #: Largest request body (bulk imports); JSON bodies are held to ``max_json_bytes``.
    max_upload_bytes: int = 8 * 1024 * 1024
    max_json_bytes: int = 64 * 1024
    #: Console session (JWT) lifetime in seconds.
    session_seconds: int = 1800
    #: Seconds between two checks that Redis holds every committed status change.
    reconcile_seconds: float = 1.0
    #: Start background threads (Redis reconciler). Off for one-shot CLI commands.
    background: bool = True
    #: Reverse proxies in front (X-Forwarded-For hops to trust, for the per-client rate limit).
    proxies: int = 0
    #: Database connections one process keeps open, and how many more it may open at a peak:
    #: a process holds at most ``db_pool_size + db_max_overflow`` (docs/operations.md sizes them
    #: for N hosts against PostgreSQL's max_connections).
    db_pool_size: int = 4
    db_max_overflow: int = 4
    #: ``none`` or ``pgbouncer`` (transaction mode): see :data:`POOLERS`.
    db_pooler: str = "none"
    #: Seconds a host's claim on a background job lasts unrenewed: a job whose host was killed
    #: is resumed by another within this (services/jobs.py).
    job_lease: int = 30
    #: When (HH:MM, China time) the hosts add the day's daily job; None (``off``): only
    #: ``anxinma jobs daily`` runs it (cron).
    daily_at: str | None = "00:10"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> IssuerConfig:
        source = os.environ if env is None else env
        home = Path(source.get(HOME_ENV) or Path.home() / ".anxinma").expanduser()
        database_url = source.get("DATABASE_URL") or f"sqlite:///{home / 'anxinma.sqlite3'}"
        root_key = source.get("ANXINMA_ROOT_KEY") or None
        config = cls(
            home=home,
            database_url=database_url,
            redis_url=source.get("REDIS_URL") or None,
            base_url=(source.get("ANXINMA_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            base_url_given=bool(source.get("ANXINMA_BASE_URL")),
            trust_list_url=source.get("ANXINMA_TRUST_LIST_URL") or None,
            root_key_path=Path(root_key).expanduser() if root_key else None,
            trust_list_refresh=float(_int(source, "ANXINMA_TRUST_LIST_REFRESH", 3600)),
            key_passphrase=source.get(PASSPHRASE_ENV) or None,
            credential_days=_int(source, "ANXINMA_CREDENTIAL_DAYS", 730),
            status_ttl=_int(source, "ANXINMA_STATUS_TTL", 300),
            live_rate_limit=source.get("ANXINMA_LIVE_RATE_LIMIT") or "120 per minute",
            proxies=_int(source, "ANXINMA_PROXIES", 0),
            db_pool_size=_int(source, "ANXINMA_DB_POOL_SIZE", 4),
            db_max_overflow=_int(source, "ANXINMA_DB_MAX_OVERFLOW", 4),
            db_pooler=(source.get("ANXINMA_DB_POOLER") or "none").strip().lower(),
            job_lease=_int(source, "ANXINMA_JOB_LEASE", 30),
            daily_at=_daily_at(source.get("ANXINMA_DAILY_AT")),
        )
        config = replace(config, **overrides) if overrides else config
        config.validate()
        _check_environment(source)
        return config

    def validate(self) -> None:
        """Check every value; raise :class:`ConfigError` naming the first bad one's variable."""
        for name, value in (
            ("ANXINMA_TRUST_LIST_REFRESH", self.trust_list_refresh),
            ("ANXINMA_CREDENTIAL_DAYS", self.credential_days),
            ("ANXINMA_STATUS_TTL", self.status_ttl),
            ("ANXINMA_PROXIES", self.proxies),
            ("ANXINMA_DB_POOL_SIZE", self.db_pool_size),
            ("ANXINMA_DB_MAX_OVERFLOW", self.db_max_overflow),
            ("ANXINMA_JOB_LEASE", self.job_lease),
        ):
            low, high = INT_RANGES[name]
            if not low <= value <= high:
                raise _bad("integer", name, int(value), low=low, high=high)
        _check_rate_limit("ANXINMA_LIVE_RATE_LIMIT", self.live_rate_limit)
        if not _is_http_url(self.base_url):
            raise _bad("http_url", "ANXINMA_BASE_URL", self.base_url)
        if self.home.exists() and not self.home.is_dir():
            raise _bad("directory", HOME_ENV, self.home)
        _check_database_url(self.database_url)
        if self.daily_at is not None and not _is_clock(self.daily_at):
            raise _bad("clock", "ANXINMA_DAILY_AT", self.daily_at)
        if self.db_pooler not in POOLERS:
            raise _bad("choice", "ANXINMA_DB_POOLER", self.db_pooler, choices=", ".join(POOLERS))
        if self.redis_url is not None:
            _check_redis_url(self.redis_url)
        if self.trust_list_url is not None and not (
            _is_http_url(self.trust_list_url) or Path(self.trust_list_url).expanduser().is_file()
        ):
            raise _bad("trust_source", "ANXINMA_TRUST_LIST_URL", self.trust_list_url)
        if self.root_key_path is not None and not self.root_key_path.is_file():
            raise _bad("file", "ANXINMA_ROOT_KEY", self.root_key_path)

    def effective(self) -> list[tuple[str, str]]:
        """(variable, value) of every setting the service runs with, secrets masked: what
        ``anxinma config check`` prints."""
        env = os.environ
        return [
            (HOME_ENV, str(self.home)),
            ("DATABASE_URL", mask_url(self.database_url)),
            ("REDIS_URL", mask_url(self.redis_url) if self.redis_url else "(unset: in-process)"),
            ("ANXINMA_BASE_URL", self.base_url),
            ("ANXINMA_TRUST_LIST_URL", mask_url(self.trust_list_url) if self.trust_list_url else "(unset)"),
            (
                "ANXINMA_ROOT_KEY",
                str(self.root_key_path) if self.root_key_path else "(unset: the keyring's root)",
            ),
            ("ANXINMA_TRUST_LIST_REFRESH", str(int(self.trust_list_refresh))),
            (PASSPHRASE_ENV, "*** (set)" if self.key_passphrase else "(unset)"),
            ("ANXINMA_CREDENTIAL_DAYS", str(self.credential_days)),
            ("ANXINMA_STATUS_TTL", str(self.status_ttl)),
            ("ANXINMA_LIVE_RATE_LIMIT", self.live_rate_limit),
            ("ANXINMA_PROXIES", str(self.proxies)),
            ("ANXINMA_DB_POOL_SIZE", str(self.db_pool_size)),
            ("ANXINMA_DB_MAX_OVERFLOW", str(self.db_max_overflow)),
            ("ANXINMA_DB_POOLER", self.db_pooler),
            ("ANXINMA_JOB_LEASE", str(self.job_lease)),
            ("ANXINMA_DAILY_AT", self.daily_at or "off"),
            (LOG_FORMAT_ENV, (env.get(LOG_FORMAT_ENV) or "text").strip().lower()),
            (MULTIPROC_ENV, env.get(MULTIPROC_ENV) or "(unset: one process)"),
        ]

    @property
    def key_dir(self) -> Path:
        return self.home / "keys"

    @property
    def secret_dir(self) -> Path:
        return self.home / "secret"


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.query
        and not parts.fragment
        and " " not in value
    )


def _daily_at(raw: str | None) -> str | None:
    value = (raw or "00:10").strip()
    return None if value.lower() == "off" else value


def _is_clock(value: str) -> bool:
    hours, _, minutes = value.partition(":")
    return (
        len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()
        and int(hours) < 24 and int(minutes) < 60
    )  # fmt: skip


def _check_rate_limit(name: str, value: str) -> None:
    from limits import parse_many  # what flask-limiter itself parses the rule with

    try:
        parsed = parse_many(value)
    except ValueError:
        parsed = []
    if not parsed:
        raise _bad("rate_limit", name, value)


def _check_database_url(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise _bad("database_url", "DATABASE_URL", url) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return
    if backend != "postgresql" or (not parsed.host and not parsed.query.get("host")):
        raise _bad("database_url", "DATABASE_URL", url)


def _check_redis_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise _bad("redis_url", "REDIS_URL", url) from None
    if parts.scheme == "unix":
        ok = bool(parts.path)
    else:
        database = parts.path.strip("/")
        ok = (
            parts.scheme in ("redis", "rediss")
            and bool(parts.hostname)
            and (not database or database.isdigit())
        )
    if not ok:
        raise _bad("redis_url", "REDIS_URL", url)


def _check_environment(env: Mapping[str, str]) -> None:
    """The settings read elsewhere (logging, metrics) but checked here with the rest."""
    log_format = (env.get(LOG_FORMAT_ENV) or "text").strip().lower()
    if log_format not in LOG_FORMATS:
        raise _bad("choice", LOG_FORMAT_ENV, env.get(LOG_FORMAT_ENV), choices=", ".join(LOG_FORMATS))
    directory = env.get(MULTIPROC_ENV)
    if directory and not (Path(directory).is_dir() and os.access(directory, os.W_OK)):
        raise _bad("directory", MULTIPROC_ENV, directory)


def check_database(config: IssuerConfig, timeout: float = 5.0) -> None:
    """The database answers ``SELECT 1`` within ``timeout`` seconds (a SQLite file not made yet:
    its directory can be made). Raises :class:`ConfigError` naming ``DATABASE_URL``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    parsed = make_url(config.database_url)
    connect_args: dict[str, Any]
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            return
        path = Path(database)
        if not path.exists():
            ancestor = path.parent
            while not ancestor.exists() and ancestor != ancestor.parent:
                ancestor = ancestor.parent
            if not (ancestor.is_dir() and os.access(ancestor, os.W_OK)):
                raise _bad(
                    "unreachable", "DATABASE_URL", config.database_url, reason=f"{ancestor} is not writable"
                )
            return
        connect_args = {"timeout": timeout}
    else:
        connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": max(1, int(timeout))}
    engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise _bad(
            "unreachable",
            "DATABASE_URL",
            config.database_url,
            reason=(reason[0] if reason else type(exc).__name__)[:200],
        ) from None
    finally:
        engine.dispose()
