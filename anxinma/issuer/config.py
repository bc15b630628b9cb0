"""The issuer's configuration: the environment names of docs/interfaces.md, read in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from anxinma.credential import DEFAULT_BASE_URL
from anxinma.keys.store import HOME_ENV, PASSPHRASE_ENV

__all__ = ["DEFAULT_BASE_URL", "IssuerConfig"]  # DEFAULT_BASE_URL re-exported: its one home is the format


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


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
    #: The regulator's signed trust list (http(s) URL or file path; contract §2 source a).
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
        )
        return replace(config, **overrides) if overrides else config

    @property
    def key_dir(self) -> Path:
        return self.home / "keys"

    @property
    def secret_dir(self) -> Path:
        return self.home / "secret"
