"""Public endpoints for verifiers (no authentication): discovery, trust list, JWKS, status
lists and the live record (docs/interfaces.md, "Public endpoints")."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import TooManyRequests

from anxinma.errors import AnxinmaError
from anxinma.issuer.errors import not_found
from anxinma.issuer.observability import LIVE_LOOKUPS
from anxinma.issuer.services.status_forms import COMPACT_TYPE
from anxinma.issuer.web import schemas
from anxinma.issuer.web.apidoc import operation
from anxinma.issuer.web.params import json_object
from anxinma.keys import jwks
from anxinma.status_list import CWT_TYPE

blueprint = Blueprint("public", __name__)
#: The live record has a blueprint of its own so the factory can rate-limit just it.
live_blueprint = Blueprint("live", __name__)
#: Where the factory puts the live record's limiter (:class:`~anxinma.issuer.web.ratelimit.MovingWindowLimiter`).
LIVE_LIMITER = "anxinma.live_limiter"


def runtime() -> Any:
    return current_app.extensions["anxinma"]


def _cached(body: bytes | str, mimetype: str, max_age: int, etag: str | None = None) -> Response:
    data = body.encode() if isinstance(body, str) else body
    tag = etag or '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    if tag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = Response(status=304)
    else:
        response = Response(data, mimetype=mimetype)
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blueprint.get("/.well-known/anxinma")
@operation("Discovery document", answer=schemas.Discovery, errors=(), public=True)
def discovery() -> Response:
    rt = runtime()
    base = rt.config.base_url
    code = rt.service.issuer_code
    shards = rt.board.shards() or [0]
    document = {
        "issuer_code": code,
        "name": rt.keys.issuer.name,
        "base_url": base,
        "trust_list": f"{base}/trust-list",
        "jwks": f"{base}/jwks.json",
        "status_lists": [f"{base}/status/{code}/{shard}" for shard in shards],
        "status_freshness": f"{base}/status/{code}/freshness",
        "live_record": f"{base}/api/v1/live",
        "openapi": f"{base}/api/v1/openapi.json",
        "root_public_key": _pem(rt.root_public_key),
    }
    return _cached(json.dumps(document, ensure_ascii=False), "application/json", 300)


def _pem(raw: bytes) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(raw)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@blueprint.get("/trust-list")
@operation(
    "Root-signed trust list (JWS)",
    media={"application/jwt": None},
    ok_description="JWS",
    errors=(),
    public=True,
)
def trust_list() -> Response:
    served = runtime().trust.current()
    return _cached(served.body, "application/jwt", 300, served.etag())


@blueprint.get("/trust-list/status")
@operation(
    "Sequence, age and expiry of the served trust list",
    answer=schemas.TrustListStatus,
    errors=(),
    public=True,
)
def trust_list_status() -> Response:
    """Sequence, age and expiry of the served list (what operators alert on)."""
    response = jsonify(runtime().trust.status())
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/jwks.json")
@operation(
    "The issuer's keys",
    media={"application/jwk-set+json": schemas.Jwks},
    ok_description="JWKS",
    errors=(),
    public=True,
)
def jwks_json() -> Response:
    return _cached(json.dumps(jwks(runtime().keys)), "application/jwk-set+json", 300)


def _own_shard(issuer_code: int, shard: int) -> Any:
    rt = runtime()
    if issuer_code != rt.service.issuer_code or shard > 4095:
        raise not_found("issuer", "签发机构")
    published = rt.board.publication(shard)
    if published is None:
        raise not_found("status list shard", "状态列表分片")
    return published


#: The status documents: public, cached (ETag → 304), 404 for another issuer or an unknown shard.
_CACHED: dict[str, Any] = {"also": {304: (None, "not modified")}, "errors": (404,), "public": True}


@blueprint.get("/status/<int:issuer_code>/<int:shard>")
@operation(
    "Status list token of one shard (ETag, If-None-Match → 304)",
    media={"application/statuslist+jwt": None, CWT_TYPE: None},
    ok_description="the JWT, or the CWT with Accept: application/statuslist+cwt",
    **_CACHED,
)
def status_list(issuer_code: int, shard: int) -> Response:
    """The standard forms (JWT, or CWT on request), of the shard's current version."""
    published = _own_shard(issuer_code, shard)
    form = "cwt" if CWT_TYPE in request.headers.get("Accept", "") else "jwt"
    body = published.cwt if form == "cwt" else published.jwt
    mimetype = CWT_TYPE if form == "cwt" else "application/statuslist+jwt"
    response = _cached(body, mimetype, runtime().config.status_ttl, published.etag(form))
    response.headers["Vary"] = "Accept"
    return response


@blueprint.get("/status/<int:issuer_code>/<int:shard>/compact")
@operation(
    "Compact form of one shard (Rice-coded, COSE_Sign1); its ETag moves with its version",
    media={COMPACT_TYPE: None},
    ok_description="the compact form",
    **_CACHED,
)
def status_list_compact(issuer_code: int, shard: int) -> Response:
    """The compact form our verifiers download (docs/interfaces.md, status data); its ETag moves with its version."""
    published = _own_shard(issuer_code, shard)
    return _cached(published.body, COMPACT_TYPE, runtime().config.status_ttl, published.etag("compact"))


@blueprint.get("/status/<int:issuer_code>/freshness")
@operation(
    "Freshness document: every shard's current version and digest (JWS)",
    media={"application/jwt": None},
    ok_description="JWS",
    **_CACHED,
)
def status_freshness(issuer_code: int) -> Response:
    """The freshness document: every shard's current version and digest, signed (docs/interfaces.md, status data)."""
    rt = runtime()
    if issuer_code != rt.service.issuer_code:
        raise not_found("issuer", "签发机构")
    published = rt.board.freshness()
    return _cached(published.body, "application/jwt", rt.config.status_ttl, published.etag())


_LIVE_OK = LIVE_LOOKUPS.labels(outcome="ok")
_LIVE_HEADERS = {"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}


@live_blueprint.before_request
def _live_rate_limit() -> None:
    """The per-client limit (ANXINMA_LIVE_RATE_LIMIT), checked before the body is read."""
    limiter = current_app.extensions.get(LIVE_LIMITER)
    if limiter is None:
        return
    decision = limiter.hit(request.remote_addr or "127.0.0.1")
    g.anxinma_live_limit = decision
    if not decision.allowed:
        raise TooManyRequests()


@live_blueprint.after_request
def _live_rate_limit_headers(response: Response) -> Response:
    """X-RateLimit-* on every answer, Retry-After on a 429 (as flask-limiter's headers were)."""
    decision = g.get("anxinma_live_limit")
    if decision is not None:
        response.headers.update(decision.headers())
    return response


@live_blueprint.post("/api/v1/live")
@operation(
    "The live record, for a caller presenting the credential",
    answer=schemas.Live,
    body=schemas.LiveRequest,
    errors=(400, 404, 413),
    public=True,
    description="Rate-limited per client (429).",
)
def live_record() -> Response:
    rt = runtime()
    data = json_object()  # the one body reader: 413 over the limit, 400 for no JSON object
    wanted = schemas.LiveRequest.parse(data)
    try:
        token = rt.service.live_record(wanted.code)
    except AnxinmaError as exc:  # refused (malformed, unknown, revoked…): counted by its code
        LIVE_LOOKUPS.labels(outcome=exc.code).inc()
        raise
    _LIVE_OK.inc()
    # The token is base64url and dots: its JSON needs no escaping (jsonify costs a tenth of the lookup).
    return Response(f'{{"token":"{token}"}}\n', mimetype="application/json", headers=_LIVE_HEADERS)


@blueprint.get("/audit/checkpoint")
@operation(
    "The newest signed checkpoint of the audit chain's head (JWS), for anyone to keep copies",
    media={"application/jwt": None},
    ok_description="JWS",
    errors=(404,),
    public=True,
)
def audit_checkpoint() -> Response:
    """The newest signed checkpoint of the audit chain (docs/operations.md, the audit log): served
    so that anyone — the regulator, a monitor — can keep copies the database's writer cannot reach."""
    rt = runtime()
    newest = rt.service.checkpoints.newest()
    if newest is None:
        raise not_found("audit checkpoint", "审计日志检查点")
    return _cached(newest.token, "application/jwt", rt.config.status_ttl)
