"""The Flask app factory: ``create_app(config=None, blueprints=())``.

Everything the service needs is built here, once per process: keys, the store (migrated on
start), the service's own secrets, the status board, Redis or its in-process equivalent, the
rate limiter. A composition root (``anxinma/wsgi.py``, ``anxinma serve``) passes extra
blueprints — the consumer page — without this package importing them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from anxinma.errors import AnxinmaError
from anxinma.i18n import init_i18n
from anxinma.issuer.config import IssuerConfig
from anxinma.issuer.db import Store
from anxinma.issuer.errors import ApiError
from anxinma.issuer.propagation import LocalBus, Publisher, RedisMirror
from anxinma.issuer.service import IssuerService
from anxinma.issuer.status import StatusBoard
from anxinma.issuer.trust import TrustListFile
from anxinma.issuer.vault import Vault
from anxinma.keys import KeyDirectory

log = logging.getLogger("anxinma.issuer")


@dataclass
class Runtime:
    """What a request handler reaches through ``current_app.extensions["anxinma"]``."""

    config: IssuerConfig
    keys: KeyDirectory
    store: Store
    vault: Vault
    board: StatusBoard
    publisher: Publisher
    service: IssuerService
    trust: TrustListFile

    def close(self) -> None:
        self.service.close()
        self.publisher.close()
        self.store.dispose()


def open_keys(config: IssuerConfig) -> KeyDirectory:
    """The issuer's key directory; on an empty home with ``dev_bootstrap``, new dev keys."""
    if not (config.key_dir / "keyring.json").exists() and config.dev_bootstrap:
        try:
            KeyDirectory.init(config.key_dir, insecure_dev=True, base_url=config.base_url)
        except AnxinmaError:
            if not (config.key_dir / "keyring.json").exists():  # not just another process winning
                raise
    keys = KeyDirectory(config.key_dir, passphrase=config.key_passphrase)
    if (
        keys.issuer.base_url != config.base_url
        and (config.key_dir / "root.key.pem").exists()
        and not keys.encrypted
    ):
        keys.set_issuer(base_url=config.base_url)  # a development home moved to another port
    return keys


def build_runtime(config: IssuerConfig) -> Runtime:
    """Everything but Flask: the CLI's jobs use this directly."""
    keys = open_keys(config)
    keys.signing_key()  # fail now, with a clear message, if the key does not decrypt
    store = Store(config.database_url)
    store.migrate()
    vault = Vault.open(config.secret_dir)
    code = keys.issuer.code
    board = StatusBoard(
        store,
        issuer_code=code,
        uri_for=lambda shard: f"{config.base_url}/status/{code}/{shard}",
        signing_key=keys.signing_key,
        ttl=config.status_ttl,
    )
    publisher: Publisher
    if config.redis_url:
        mirror = RedisMirror(config.redis_url, store, code, interval=config.reconcile_seconds)
        if config.background:
            mirror.start()
        publisher = mirror
    else:
        publisher = LocalBus()
    service = IssuerService(config, store, vault, keys, publisher, board)
    return Runtime(
        config,
        keys,
        store,
        vault,
        board,
        publisher,
        service,
        TrustListFile(config.home, keys, config.key_passphrase),
    )


def create_app(config: IssuerConfig | None = None, blueprints: Iterable[Blueprint] = ()) -> Flask:
    """The issuer service as a WSGI app; ``config`` from the environment when None."""
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    from anxinma.issuer import api, console, openapi, public, visits

    config = config or IssuerConfig.from_env()
    runtime = build_runtime(config)
    package = Path(__file__).resolve().parent.parent
    app = Flask(
        "anxinma.issuer", template_folder=str(package / "templates"), static_folder=str(package / "static")
    )
    app.config["MAX_CONTENT_LENGTH"] = config.max_upload_bytes
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["anxinma"] = runtime
    # The root key verifiers pin, for pages that verify in the browser (the consumer page).
    app.config["ANXINMA_ROOT_PUBLIC_KEY"] = runtime.keys.root_public_key
    if config.proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = config.proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    logging.getLogger("werkzeug").addFilter(_redact_query)

    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=config.redis_url or "memory://",
        storage_options={"socket_timeout": 1, "socket_connect_timeout": 1} if config.redis_url else {},
        strategy="moving-window",
        default_limits=[],
        swallow_errors=True,  # Redis down: serve without limiting rather than fail
        headers_enabled=True,
    )
    limiter.limit(config.live_rate_limit)(public.live_blueprint)
    console.init_app(app)  # the web consoles (docs/consoles.md); limits its log-in with ``limiter``
    app.register_blueprint(public.blueprint)
    app.register_blueprint(public.live_blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(openapi.blueprint)
    from anxinma.issuer.checkins import blueprint as check_ins  # 按月打卡 (docs/checkin.md)

    app.register_blueprint(check_ins)
    visits.register(app, limiter)  # 确认入户, ratings, complaints (the consumer page's loop)
    extras = list(blueprints)
    for extra in extras:
        app.register_blueprint(extra)
    # Each part's catalog sits beside its code; a blueprint brings its own (``translation_directory``).
    catalogs = [Path(__file__).resolve().parent / "translations"]
    catalogs += [Path(d) for d in (getattr(bp, "translation_directory", None) for bp in extras) if d]
    init_i18n(app, catalogs)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        page = _html_error(exc.http_status, exc.message_zh, exc.message)
        return page or jsonify(exc.body()), exc.http_status

    @app.errorhandler(AnxinmaError)
    def _library_error(exc: AnxinmaError) -> tuple[Response, int]:
        log.warning("request failed: %s", exc.code)
        page = _html_error(400, exc.message_zh, exc.message)
        return page or jsonify({"error": {"code": exc.code, "zh": exc.message_zh, "en": exc.message}}), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        zh = _HTTP_ZH.get(status, "请求失败")
        page = _html_error(status, zh, exc.name)
        if page is not None:
            return page, status
        body: dict[str, Any] = {
            "error": {"code": _HTTP_CODE.get(status, "http_error"), "zh": zh, "en": exc.name}
        }
        response = jsonify(body)
        if status == 429:
            response.headers["Retry-After"] = "60"
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unexpected error")  # the trace goes to the log, never to the caller
        page = _html_error(500, "服务器内部错误", "internal error")
        return page or jsonify(
            {"error": {"code": "internal", "zh": "服务器内部错误", "en": "internal error"}}
        ), 500

    import atexit

    atexit.register(runtime.service.close)
    return app


#: Paths that machines read: they answer JSON errors whatever the client accepts.
_MACHINE_PATHS = ("/api/", "/status/", "/.well-known/", "/trust-list", "/jwks.json")


def _html_error(status: int, zh: str, en: str) -> Response | None:
    """The HTML error page for a page request (the consoles' renderer, when registered): a
    ``/console/`` path, or any non-machine path asked for by a browser. None: answer JSON."""
    render = current_app.extensions.get("anxinma.html_errors")
    path = request.path
    if render is None or path.startswith(_MACHINE_PATHS):
        return None
    if not path.startswith("/console/") and (
        request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html"
    ):
        return None
    try:
        return render(status, zh, en)  # type: ignore[no-any-return]
    except Exception:  # a page that cannot render falls back to the JSON answer
        log.exception("error page failed")
        return None


def _redact_query(record: logging.LogRecord) -> bool:
    """The development server logs request lines; a search (``?q=<ID number>``) must not end
    up there, so query strings are cut from them."""
    if isinstance(record.msg, str) and "?" in record.msg:
        record.msg = _QUERY.sub(r"\1?…", record.msg)
    if record.args and isinstance(record.args, tuple):
        record.args = tuple(_QUERY.sub(r"\1?…", a) if isinstance(a, str) else a for a in record.args)
    return True


_QUERY = re.compile(r"(/[^\s?\"]*)\?[^\s\"]*")

_HTTP_ZH = {
    404: "没有这个地址",
    405: "不支持该请求方法",
    413: "请求体过大",
    415: "不支持的内容类型",
    429: "请求过于频繁，请稍后再试",
}
_HTTP_CODE = {
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
