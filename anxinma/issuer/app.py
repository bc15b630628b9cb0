"""The Flask app factory: ``create_app(config=None, blueprints=())``.

Everything the service needs is built here, once per process: keys, the store (migrated on
start), the service's own secrets, the status board, Redis or its in-process equivalent, the
rate limiter. A composition root (``anxinma/wsgi.py``, ``anxinma serve``) passes extra
blueprints — the consumer page — without this package importing them.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from anxinma.errors import AnxinmaError
from anxinma.i18n import init_i18n
from anxinma.issuer.config import IssuerConfig, check_database
from anxinma.issuer.errors import ApiError
from anxinma.issuer.services.issuer import IssuerServices
from anxinma.issuer.services.propagation import LocalBus, Publisher, RedisMirror
from anxinma.issuer.services.publications import Publications
from anxinma.issuer.services.status import StatusBoard
from anxinma.issuer.services.trust import ServedTrustList, TrustListUnavailable, load_root_key
from anxinma.issuer.store.db import Store
from anxinma.issuer.store.vault import Vault
from anxinma.keys import KeyDirectory
from anxinma.messages import Catalog, Message

log = logging.getLogger("anxinma.issuer")

NOTICES = Catalog("issuer")
BASE_URL_MISMATCH = NOTICES.define(
    "base_url_mismatch",
    zh="警告：{asked}（{wanted}）与密钥目录中签发机构的基础地址 {keyring} 不一致，服务使用 {keyring}；"
    "如确需更改，请运行 anxinma keys set-base-url {wanted} --dir {key_dir}",
    en="warning: {asked} ({wanted}) differs from the issuer's base URL in the keyring, {keyring}; the "
    "service uses {keyring}; to change it on purpose: anxinma keys set-base-url {wanted} --dir {key_dir}",
)
ROOT_FROM_KEYRING = NOTICES.define(
    "root_from_keyring",
    zh="未设置 ANXINMA_ROOT_KEY：信任列表按密钥目录中的根公钥核验",
    en="ANXINMA_ROOT_KEY is not set: the trust list is checked against the keyring's root public key",
)


@dataclass
class Runtime:
    """What a request handler reaches through ``current_app.extensions["anxinma"]``.

    ``config.base_url`` is the keyring's (the issuer's identity); ``root_public_key`` the root
    this service pins (``ANXINMA_ROOT_KEY`` when set, else the keyring's); ``notices`` the
    warnings of its start (each one line, both languages), already logged.
    """

    config: IssuerConfig
    keys: KeyDirectory
    store: Store
    vault: Vault
    board: StatusBoard
    publisher: Publisher
    service: IssuerServices
    trust: ServedTrustList
    root_public_key: bytes = b""
    notices: list[Message] = field(default_factory=list)
    #: Why this runtime cannot serve a trust list (the service refuses to start; commands run).
    trust_problem: AnxinmaError | None = None

    def close(self) -> None:
        self.trust.close()
        self.service.close()
        self.publisher.close()
        self.store.dispose()


def open_keys(config: IssuerConfig) -> KeyDirectory:
    """The issuer's key directory; on an empty home with ``dev_bootstrap``, new dev keys made
    with ``config.base_url``. Nothing here changes an existing keyring (issue 15, finding 6)."""
    if not (config.key_dir / "keyring.json").exists() and config.dev_bootstrap:
        try:
            KeyDirectory.init(config.key_dir, insecure_dev=True, base_url=config.base_url)
        except AnxinmaError:
            if not (config.key_dir / "keyring.json").exists():  # not just another process winning
                raise
    return KeyDirectory(config.key_dir, passphrase=config.key_passphrase)


def base_url_notice(config: IssuerConfig, keys: KeyDirectory) -> Message | None:
    """The one-line warning when the base URL asked for differs from the keyring's, else None."""
    keyring = keys.issuer.base_url.rstrip("/")
    if not config.base_url_given or config.base_url.rstrip("/") == keyring:
        return None
    asked = str(config.extra.get("base_url_from") or "ANXINMA_BASE_URL")
    return NOTICES(
        BASE_URL_MISMATCH, asked=asked, wanted=config.base_url, keyring=keyring, key_dir=str(config.key_dir)
    )


def build_runtime(config: IssuerConfig) -> Runtime:
    """Everything but Flask: the CLI's jobs use this directly."""
    keys = open_keys(config)
    keys.signing_key()  # fail now, with a clear message, if the key does not decrypt
    notices: list[Message] = []
    mismatch = base_url_notice(config, keys)
    if mismatch is not None:
        log.warning("%s", mismatch)
        notices.append(mismatch)
    config = replace(config, base_url=keys.issuer.base_url.rstrip("/"))  # the identity is the keyring's
    if config.root_key_path is not None:
        root_public_key = load_root_key(config.root_key_path)
    else:
        root_public_key = keys.root_public_key
        if config.trust_list_url:
            log.info("%s", NOTICES(ROOT_FROM_KEYRING))
    # A service without a usable trust-list source must not start (create_app refuses); a
    # one-shot command (token create, jobs daily) does not serve the list and runs anyway.
    problem: TrustListUnavailable | None = None
    try:
        trust_list_url = config.trust_list_url or _legacy_trust_list(config)
    except TrustListUnavailable as exc:
        trust_list_url, problem = None, exc
    if trust_list_url is None and problem is None and root_public_key != keys.root_public_key:
        problem = TrustListUnavailable(
            f"ANXINMA_ROOT_KEY ({config.root_key_path}) is not the root key held in {config.key_dir}, which "
            "signs the lists this service serves: set ANXINMA_TRUST_LIST_URL to the list that root signs, "
            "or unset ANXINMA_ROOT_KEY",
            message_zh=f"ANXINMA_ROOT_KEY（{config.root_key_path}）不是 {config.key_dir} 中签署信任列表的根密钥："
            "请设置 ANXINMA_TRUST_LIST_URL 为该根签发的信任列表，或取消 ANXINMA_ROOT_KEY",
        )
    store = Store(
        config.database_url,
        pool_size=config.db_pool_size,
        max_overflow=config.db_max_overflow,
        pooler=config.db_pooler,
    )
    store.migrate()
    vault = Vault.open(config.secret_dir)
    code = keys.issuer.code
    publications = Publications(store)
    board = StatusBoard(
        store,
        issuer_code=code,
        uri_for=lambda shard: f"{config.base_url}/status/{code}/{shard}",
        signing_key=keys.signing_key,
        ttl=config.status_ttl,
        publications=publications,
    )
    trust = ServedTrustList(
        publications,
        issuer_code=code,
        key_dir=config.key_dir,
        root_public_key=root_public_key,
        passphrase=config.key_passphrase,
        url=trust_list_url,
        refresh_seconds=config.trust_list_refresh,
    )
    publisher: Publisher
    if config.redis_url:
        mirror = RedisMirror(config.redis_url, store, code, interval=config.reconcile_seconds)
        if config.background:
            mirror.start()
        publisher = mirror
    else:
        publisher = LocalBus()
    service = IssuerServices(config, store, vault, keys, publisher, board)
    return Runtime(
        config, keys, store, vault, board, publisher, service, trust, root_public_key, notices, problem
    )


def _legacy_trust_list(config: IssuerConfig) -> str | None:
    """A home without the root key and without ``ANXINMA_TRUST_LIST_URL``: the list dropped at
    ``$ANXINMA_HOME/trust-list.jwt`` (how a city took the regulator's list before issue 15).
    With neither, there is no source at all: refuse, saying what to set."""
    if (config.key_dir / "root.key.pem").exists():
        return None
    legacy = config.home / "trust-list.jwt"
    if legacy.exists():
        log.info("serving the trust list dropped at %s (set ANXINMA_TRUST_LIST_URL instead)", legacy)
        return str(legacy)
    raise TrustListUnavailable(
        "no trust list source: set ANXINMA_TRUST_LIST_URL to the regulator's signed trust list (URL or "
        f"file) and ANXINMA_ROOT_KEY to its root public key (PEM), or hold the root key in {config.key_dir}",
        message_zh="没有信任列表来源：请将 ANXINMA_TRUST_LIST_URL 设为监管机构签发的信任列表（网址或文件），"
        f"ANXINMA_ROOT_KEY 设为其根公钥（PEM），或在 {config.key_dir} 中持有根密钥",
    )


def _skip_for_blueprint(app: Flask, limiter: Any, blueprint: str) -> None:
    """Run flask-limiter's request hooks for every request but ``blueprint``'s.

    Exempting a blueprint still leaves its before-request hook resolving and filtering limits,
    its after-request hook and its teardown running on each of the blueprint's requests (together
    about as much work as the live record's lookup); the live record has its own limiter.
    """

    def owned(hook: Any) -> bool:
        bound = getattr(hook, "__self__", None) is limiter
        return bound or (isinstance(hook, functools.partial) and limiter in hook.args)

    def before(hook: Any) -> Any:
        def skipping() -> Any:
            return None if request.blueprint == blueprint else hook()

        return skipping

    def after(hook: Any) -> Any:
        def skipping(response: Response) -> Any:
            return response if request.blueprint == blueprint else hook(response)

        return skipping

    def teardown(hook: Any) -> Any:
        def skipping(exc: BaseException | None) -> Any:
            return None if request.blueprint == blueprint else hook(exc)

        return skipping

    for hooks, wrap in (
        (app.before_request_funcs.setdefault(None, []), before),
        (app.after_request_funcs.setdefault(None, []), after),
        (app.teardown_request_funcs.setdefault(None, []), teardown),
    ):
        found = [i for i, hook in enumerate(hooks) if owned(hook)]
        assert found, "flask-limiter's request hooks moved: the live record would pay for them again"
        for index in found:
            hooks[index] = wrap(hooks[index])


def create_app(config: IssuerConfig | None = None, blueprints: Iterable[Blueprint] = ()) -> Flask:
    """The issuer service as a WSGI app; ``config`` from the environment when None."""
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    from anxinma.issuer import observability
    from anxinma.issuer.web import api, console, directory, openapi, params, public, visits
    from anxinma.issuer.web.ratelimit import MovingWindowLimiter

    config = config or IssuerConfig.from_env()
    check_database(config)  # a service that cannot reach its database does not start (one line)
    runtime = build_runtime(config)
    try:
        if runtime.trust_problem is not None:
            raise runtime.trust_problem
        runtime.trust.start(background=config.background)  # no trust list at all: refuse to start
    except AnxinmaError:
        runtime.close()
        raise
    package = Path(__file__).resolve().parent.parent
    app = Flask(
        "anxinma.issuer", template_folder=str(package / "templates"), static_folder=str(package / "static")
    )
    app.config["MAX_CONTENT_LENGTH"] = config.max_upload_bytes
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["anxinma"] = runtime
    # The root key verifiers pin, for pages that verify in the browser (the consumer page), and
    # the origins of the issuers the served trust list names (the page's CSP connect-src).
    app.config["ANXINMA_ROOT_PUBLIC_KEY"] = runtime.root_public_key
    app.config["ANXINMA_TRUSTED_ORIGINS"] = runtime.trust.trusted_origins
    if config.proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = config.proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    logging.getLogger("werkzeug").addFilter(_redact_query)
    # Probes, /metrics, request ids and the access log; first, so its hooks time and count every
    # request, the limiter's 429s included (its check is a before_request hook registered below).
    observability.install(app)

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
    # The live record is limited by a limiter of its own (web/ratelimit.py: the same rule and
    # moving window, shared through Redis when configured, without flask-limiter's per-request
    # work, which cost more than the lookup); flask-limiter leaves it alone.
    limiter.exempt(public.live_blueprint)
    _skip_for_blueprint(app, limiter, public.live_blueprint.name)
    app.extensions[public.LIVE_LIMITER] = MovingWindowLimiter(config.live_rate_limit, config.redis_url)
    # Every route's path ids, the consoles' and the extras' too: beyond what the store holds, 404.
    app.url_value_preprocessor(params.bound_ids)
    console.init_app(app)  # the web consoles (docs/consoles.md); limits its log-in with ``limiter``
    app.register_blueprint(public.blueprint)
    app.register_blueprint(public.live_blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(openapi.blueprint)
    from anxinma.issuer.web import checkins as check_ins  # 按月打卡 (docs/checkin.md)

    check_ins.register(app, limiter)  # the desks' API and the worker's phone
    from anxinma.issuer.web.phone import blueprint as phone  # the worker's phone (docs/page.md)

    app.register_blueprint(phone)
    visits.register(app, limiter)  # 确认入户, ratings, complaints (the consumer page's loop)
    directory.register(app, limiter)  # the public enterprise directory and credit lists (docs/credit.md)
    extras = list(blueprints)
    for extra in extras:
        app.register_blueprint(extra)
    # Each part's catalog sits beside its code; a blueprint brings its own (``translation_directory``).
    catalogs = [Path(__file__).resolve().parent / "translations"]
    catalogs += [Path(d) for d in (getattr(bp, "translation_directory", None) for bp in extras) if d]
    init_i18n(app, catalogs)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        page = _html_error(exc.http_status, exc.message_zh, exc.message)
        response = app.make_response((page or jsonify(exc.body()), exc.http_status))
        retry_after = getattr(exc, "retry_after", None)  # a 429 of the sign-in limits says when
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

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
_MACHINE_PATHS = (
    "/api/",
    "/status/",
    "/.well-known/",
    "/trust-list",
    "/jwks.json",
    "/healthz",
    "/readyz",
    "/metrics",
)  # /trust-list/status too


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
