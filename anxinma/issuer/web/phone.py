"""The worker's phone (docs/page.md, "The worker's phone"): the enrolment link ``/w/<secret>``,
the phone page ``/w`` that shows the dynamic code, and its service worker ``/w/sw.js``.

* ``GET /w/<secret>`` — the phone page in enrolment mode, or (a link that is unknown, used or
  expired) a page that says so in both languages and changes nothing;
* ``POST /w/<secret>`` ``{"holder_key": "<base64url or hex>"}`` — the phone sends the public
  half of the key pair it made (WebCrypto, the private half non-extractable, kept in IndexedDB);
  201 with the phone credential, which the phone keeps. The link is spent in that transaction;
* ``GET /w`` — the phone page: the dynamic code, refreshed every 30 s, made on the phone from
  the credential and the key it holds, with no network (``static/worker/``);
* ``GET /w/sw.js`` — caches the page and its scripts, so the code shows offline.

The page's scripts: ``static/worker/holder.js`` (the holder key and credential, the one module
other page code uses: ``window.AnxinmaHolder``), ``static/worker/code.js`` (the dynamic code's
bytes, docs/format.md §12, and its QR), ``static/worker/phone.js`` (the page),
``static/worker/vendor/qrcode.js`` (qrcode-generator 2.0.4, MIT).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template

from anxinma.credential.presentation import PRESENTATION_CONTEXT
from anxinma.issuer.errors import ValidationFailed
from anxinma.issuer.services.enrolments import EnrolmentRefused, refusal
from anxinma.issuer.services.issuer import IssuerServices
from anxinma.issuer.web.params import body
from anxinma.issuer.web.phone_messages import MESSAGES
from anxinma.verifier.holder import PROOF_CLOCK_TOLERANCE, PROOF_REFRESH, PROOF_WINDOW
from anxinma.verifier.web import asset_url as verifier_asset

blueprint = Blueprint("phone", __name__)

STATIC = Path(__file__).resolve().parent.parent.parent / "static" / "worker"
#: The page's files, in the order the shell loads them.
ASSETS = ("phone.css", "vendor/qrcode.js", "holder.js", "code.js", "record.js", "phone.js", "tap-checkin.js")
#: How often the phone makes a new code (seconds): half the window a verifier accepts.
REFRESH_SECONDS = PROOF_REFRESH
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; worker-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
)


def _services() -> IssuerServices:
    return current_app.extensions["anxinma"].service  # type: ignore[no-any-return]


def _base_url() -> str:
    return current_app.extensions["anxinma"].config.base_url  # type: ignore[no-any-return]


@functools.cache
def _digest(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    """``/static/worker/<name>?v=<digest>``: a new file is a new URL (the cache never lies)."""
    return f"/static/worker/{name}?v={_digest(name)}"


def _settings() -> dict[str, Any]:
    """What the page's scripts read from the shell (a ``data-settings`` attribute: no inline
    script under the CSP)."""
    return {
        "verify_base": _base_url(),
        "refresh_seconds": REFRESH_SECONDS,
        "window_seconds": PROOF_WINDOW,
        "tolerance_seconds": PROOF_CLOCK_TOLERANCE,
        "context": PRESENTATION_CONTEXT,
        "issuer_code": _services().issuer_code,
        "messages": {key: MESSAGES.templates(key) for key in list(MESSAGES.keys())},
    }


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"  # the path holds the link's secret
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _shell(mode: str, status: int = 200, refused: EnrolmentRefused | None = None) -> Response:
    html = render_template(
        "issuer/phone.html",
        mode=mode,
        refused=refused,
        m=MESSAGES,
        settings=json.dumps(_settings(), ensure_ascii=False),
        assets={name: asset_url(name) for name in ASSETS},
        verify_js=verifier_asset("verify.js"),  # the credential decoder tap-checkin.js reads cards with
    )
    return _headers(Response(html, status=status, mimetype="text/html"))


@blueprint.get("/w")
@blueprint.get("/w/")
def phone_page() -> Response:
    """The phone page: the dynamic code (and the worker's own record) from what the phone holds."""
    return _shell("code")


@blueprint.get("/w/<token>")
def enrolment_page(token: str) -> Response:
    """The enrolment page, or the bilingual refusal of a link that cannot enrol (nothing changes)."""
    state = _services().enrolments.state(token) if len(token) <= 128 else "unknown"
    if state != "ok":
        problem = refusal(state)
        return _shell("refused", problem.http_status, problem)
    return _shell("enrol")


@blueprint.post("/w/<token>")
def enrol(token: str) -> Response:
    """Issue the phone credential bound to the key the phone sends; spend the link."""
    data = body()
    if not isinstance(data, dict) or set(data) != {"holder_key"}:
        raise ValidationFailed({"holder_key": ("必填：手机生成的公钥", "required: the phone's public key")})
    key = _holder_key(data["holder_key"])
    if len(token) > 128:
        raise refusal("unknown")
    services = _services()
    with services.tx() as unit:
        issued = services.enrolments.redeem(unit, token, key)
    row, signed = issued.row, issued.credential
    response = Response(
        json.dumps(
            {
                "serial": row.serial,
                "worker_id": row.worker_id,
                "enterprise_id": row.enterprise_id,
                "credential_hex": signed.to_hex(),
                "display_name": signed.claims.display_name,
                "issued_at": signed.claims.issued_at.isoformat(),
                "expires_at": signed.claims.expires_at.isoformat(),
                "verify_base": _base_url(),
                "replaced_serial": issued.replaced_serial,
            },
            ensure_ascii=False,
        ),
        status=201,
        mimetype="application/json",
    )
    return _headers(response)


def _holder_key(raw: Any) -> bytes:
    """32 bytes, as base64url (what WebCrypto's raw export becomes) or 64 hex digits."""
    key = b""
    if isinstance(raw, str) and len(raw) <= 88:
        try:
            key = (
                bytes.fromhex(raw)
                if len(raw) == 64
                else base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            )
        except ValueError:
            key = b""
    if len(key) != 32:
        raise ValidationFailed(
            {"holder_key": ("应为 32 字节的 Ed25519 公钥", "a 32-byte Ed25519 public key, hex or base64url")}
        )
    return key


@blueprint.post("/w/record")
def record() -> Response:
    """The worker's own record, for a request signed by the phone's holder key
    (``{"serial", "time", "signature"}``: Ed25519 over ``worker_record_message``); 401 otherwise."""
    data = body()
    serial, at = (data.get("serial"), data.get("time")) if isinstance(data, dict) else (None, None)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32 for v in (serial, at)):
        raise ValidationFailed(
            {"serial": ("必填：手机安心码编号与时间", "required: the phone credential's serial and the time")}
        )
    signature = _signature(data.get("signature"))
    found = _services().worker_records.record(int(serial or 0), int(at or 0), signature)
    return _headers(Response(json.dumps(found, ensure_ascii=False), mimetype="application/json"))


def _signature(raw: Any) -> bytes:
    try:
        signature = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)) if isinstance(raw, str) else b""
    except ValueError:
        signature = b""
    if len(signature) != 64:
        raise ValidationFailed(
            {"signature": ("应为 64 字节的 Ed25519 签名", "a 64-byte Ed25519 signature, base64url")}
        )
    return signature


@blueprint.get("/w/sw.js")
def service_worker() -> Response:
    """The phone page's service worker (scope ``/w``): the shell and its files from the cache."""
    version = hashlib.sha256("".join(_digest(n) for n in ASSETS).encode()).hexdigest()[:12]
    script = render_template(
        "issuer/phone_sw.js",
        version=version,
        shell="/w",
        assets=[*(asset_url(name) for name in ASSETS), verifier_asset("verify.js")],
    )
    response = Response(script, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/w"
    response.headers["Cache-Control"] = "no-cache"
    return response


__all__ = ["ASSETS", "REFRESH_SECONDS", "asset_url", "blueprint"]
