"""The consumer's verification page (``/v/<payload>``, ``/V/<payload>``, ``/v#<payload>``).

The page is one static shell: the server never reads the payload (with ``/v#…`` it never even
sees it). Everything is decided on the consumer's phone by ``static/verifier/verify.js``: the
credential is parsed and its signature checked there (WebCrypto Ed25519, tweetnacl where the
browser lacks it), against the trust list the page fetches from its own origin (``/trust-list``)
and each issuer's freshness document and compact status shard from that issuer's base URL in the
trust list (``/status/<code>/freshness``, ``/status/<code>/<shard>/compact``), kept in the Cache
API with version floors in ``localStorage`` (never older data over newer, docs/page.md), so that
after one visit the verdict needs no network (a basement, a lift). Online it
adds the signed live record (``POST /api/v1/live``, verified in the browser too) and the
confirm-entry / rating / complaint loop (``/api/v1/visits``, anxinma.issuer.web.visits).

How this blueprint reaches the trust material without importing the issuer (docs/page.md):
it does not — the browser fetches it over HTTP like any other verifier. The only thing the
server puts into the page is the **root public key** the page pins, read from
``app.config["ANXINMA_ROOT_PUBLIC_KEY"]`` (raw 32 bytes; the issuer's app factory sets it from
its key directory, another composition root may set it from a pinned file). The shell's CSP
``connect-src`` is ``'self'`` and the origins ``app.config["ANXINMA_TRUSTED_ORIGINS"]()`` names
(the issuers of the served trust list), nothing else.

A service worker (``/verifier/sw.js``, registered for the scopes ``/v`` and ``/V/``) caches the
shell and its assets; the words of the page (one catalog, :data:`MESSAGES`, zh_CN in
``translations/``) travel in the shell in both languages, so the language switch works offline.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, send_from_directory, url_for
from werkzeug.http import generate_etag

from anxinma import credential as fmt
from anxinma.keys.jwk import b64url
from anxinma.keys.trust_list import CLOCK_LEEWAY
from anxinma.verifier.offline import DEFAULT_CLOCK_SKEW, DEFAULT_STATUS_MAX_AGE
from anxinma.verifier.online import DEFAULT_TIMEOUT, LIVE_PATH

PACKAGE = Path(__file__).resolve().parent.parent
STATIC = PACKAGE / "static" / "verifier"
ASSETS = ("page.css", "verify.js", "page.js", "vendor/nacl-fast.min.js")
#: Ed25519 in pure JavaScript, for browsers whose WebCrypto lacks it (fetched only by those).
FALLBACK = "vendor/nacl-fast.min.js"
ROOT_KEY_CONFIG = "ANXINMA_ROOT_PUBLIC_KEY"


class _Blueprint(Blueprint):
    translation_directory: Path


blueprint = _Blueprint("verifier_page", __name__)
blueprint.translation_directory = Path(__file__).resolve().parent / "translations"


def N_(message: str) -> str:  # gettext's marker name, which pybabel extracts
    """Marks a message id for extraction; translated when the page is rendered."""
    return message


#: Every word the page shows, by key (English ids; zh_CN in translations/). ``{name}`` is
#: filled in by page.js. The one place for the page's language.
MESSAGES: dict[str, str] = {
    "title": N_("安心码 check"),
    "brand": N_("安心码 · check a home-service worker"),
    "checking": N_("Checking…"),
    "word.valid": N_("Valid"),
    "word.attention": N_("Attention"),
    "word.revoked": N_("Revoked"),
    "word.suspended": N_("Suspended"),
    "word.cannot": N_("Cannot verify"),
    "word.expired": N_("Expired"),
    "word.not_yet_valid": N_("Not yet valid"),
    "word.status_unknown": N_("Status unknown"),
    "word.unknown_credential": N_("No record"),
    "word.scan": N_("Scan a 安心码"),
    "word.holder_proof_missing": N_("Show the dynamic code"),
    "word.holder_proof_expired": N_("Dynamic code expired"),
    "word.bad_holder_proof": N_("Dynamic code invalid"),
    "advice.holder_proof_missing": N_(
        "Ask the worker to open the dynamic code on their phone and scan that. A screenshot, the card "
        "or a link cannot show that the worker's phone is here."
    ),
    "advice.holder_proof_expired": N_(
        "Ask the worker to refresh the dynamic code on their phone, then scan again."
    ),
    "reason.holder_proof_missing": N_(
        "This 安心码 is bound to the worker's phone: only the dynamic code on that phone counts"
    ),
    "reason.holder_proof_expired": N_(
        "The dynamic code was made {seconds} s ago (limit {max} s): it may be a screenshot"
    ),
    "reason.holder_proof_future": N_(
        "The dynamic code is dated {ahead} s ahead of this phone's clock (tolerance {max} s): one of "
        "the two phones has a wrong clock"
    ),
    "reason.bad_holder_proof": N_(
        "The dynamic code was not made by the phone this 安心码 is bound to: do not let them in"
    ),
    "reason.holder_proof_clock": N_(
        "This phone's clock has not been checked online: if it is wrong, set the date and time and scan "
        "again. The worker may not be at fault"
    ),
    "advice.valid": N_(
        "Genuine and in service. If the person at the door matches the card, you may let them in "
        "and tap Confirm entry."
    ),
    "advice.attention": N_(
        "The identity is genuine, but a certificate is missing or has lapsed. Ask the worker or "
        "their enterprise before you let them in."
    ),
    "advice.stop": N_("Do not let this person in on the strength of this code."),
    "advice.cannot": N_("This code cannot be trusted. Do not open the door on the strength of it."),
    "advice.expired": N_("The card has expired: the worker should ask their enterprise for a new one."),
    "advice.status_unknown": N_(
        "The code is genuine, but whether it was revoked cannot be confirmed. Go online and check again."
    ),
    "advice.clock": N_("Set your phone's date and time, then check again."),
    "advice.scan": N_(
        "Scan the worker's 安心码 with your phone camera or WeChat, or paste its link or digits below."
    ),
    "reason.valid": N_("Genuine, not revoked, within its validity"),
    "reason.attention": N_(
        "Genuine, but a health certificate or insurance is missing or has lapsed (go online to see which)"
    ),
    "reason.revoked": N_("This credential was revoked"),
    "reason.suspended": N_("This credential is suspended"),
    "reason.expired": N_("Expired on {date}"),
    "reason.not_yet_valid": N_("Not valid until {date}"),
    "reason.unknown_issuer": N_("Issuer {issuer} is not in the trust list"),
    "reason.unknown_key": N_(
        "The trust data has no signing key {kid} of {issuer}: go online to update it and check again; "
        "if it stays so, do not trust this code"
    ),
    "reason.key_compromised": N_("Signing key {kid} was declared compromised: nothing it signed is trusted"),
    "reason.key_retired": N_("Signing key {kid} was retired: the holder needs a re-issued credential"),
    "reason.bad_signature": N_("The signature does not verify: the code was altered or forged"),
    "reason.card_copy": N_("This credential was issued for a different card: this card may be a copy"),
    "reason.binding_unchecked": N_("A QR scan cannot check which card this code belongs to"),
    "reason.clock_behind": N_(
        "Your phone's clock is wrong: it is earlier than {signed}, when the trust data was signed. "
        "Set the date and time, or go online."
    ),
    "reason.clock_corrected": N_("Your phone's clock is off by {offset}: checked with the server's time"),
    "reason.trust_list_expired": N_("The trust list expired {age} ago: go online to update it"),
    "reason.no_status_list": N_("No revocation list for this issuer on this phone yet: go online once"),
    "reason.status_stale": N_(
        "The revocation data is {age} old (limit {limit}): revocation unknown. Go online to update it"
    ),
    "reason.last_known": N_("Last known status: {last}"),
    "reason.serial_not_covered": N_("The revocation list does not cover this credential yet (just issued?)"),
    "reason.no_bundle": N_("No trust data on this phone yet: go online once to check codes"),
    "reason.not_on_record": N_(
        "the signature verifies, but the issuer has no record of this credential: possibly forged "
        "with a leaked or test key — do not let them in"
    ),
    "reason.trust_conflict": N_(
        "The trust lists of {anchors} disagree about the keys of issuer {issuer}: none of them is trusted for it"
    ),
    "reason.status_refused": N_("Revocation data from the network was refused, the data held is kept: {why}"),
    "reason.no_root": N_("This page has no pinned root key: it cannot verify"),
    "reason.trust_refused": N_("The trust data from the network was refused: {why}"),
    "reason.confirmed_live": N_("Confirmed live by the issuer"),
    "reason.live_dates_stand": N_("The issuer says {live} live, but the dates signed on the code stand"),
    "reason.live_valid": N_("The issuer confirms live: valid"),
    "reason.live_attention": N_("Genuine, but {items}: missing or lapsed (live)"),
    "reason.live_revoked": N_("The issuer says live: revoked{why}"),
    "reason.live_suspended": N_("The issuer says live: suspended"),
    "reason.live_expired": N_("The issuer says live: expired"),
    "reason.offline_said": N_("The offline check said {offline}; the issuer's live status wins"),
    "reason.live_failed": N_("Live check failed, the offline result stands: {why}"),
    "reason.foreign_payment": N_("This is {what}, not a 安心码"),
    "reason.foreign_url": N_("This is another link ({shown}), not a 安心码"),
    "reason.foreign_text": N_("This is not a 安心码"),
    "reason.damaged": N_("This looks like a 安心码 link, but it is damaged or incomplete: scan again"),
    "reason.unsupported_version": N_("A newer kind of 安心码 that this page does not read yet"),
    "reason.unsupported_algorithm": N_("Signed with an algorithm the 安心码 does not use"),
    "reason.malformed": N_("Not a readable 安心码: the data breaks the format"),
    "reason.internal": N_("The check could not run in this browser: try another browser"),
    "revocation.left": N_("left the enterprise"),
    "revocation.lost": N_("reported lost"),
    "revocation.misconduct": N_("misconduct"),
    "revocation.blacklisted": N_("put on the blacklist"),
    "revocation.replaced": N_("replaced by a new card"),
    "revocation.why": N_(" (reason: {why})"),
    "why.timeout": N_("no answer within {seconds} s"),
    "why.offline": N_("no network"),
    "why.not_found": N_("the issuer has no record of this credential"),
    "why.rate_limited": N_("too many checks: try again later"),
    "why.http": N_("the issuer answered HTTP {status}"),
    "why.bad_token": N_("the issuer's answer did not verify"),
    "why.replay": N_("it is older than the trust list this phone already holds (replay?)"),
    "why.bad_root": N_("it is not signed by the pinned root key"),
    "why.older": N_("it is older than what this phone already holds (replay?)"),
    "why.equivocal": N_(
        "it differs from the data of the same version this phone already holds (replay or tampering?)"
    ),
    "why.not_listed": N_("it is not the version the issuer's freshness document lists"),
    "why.bad_status": N_("it is not signed by an active key of the issuer in the trust list"),
    "item.health_certificate": N_("health certificate"),
    "item.insurance": N_("insurance"),
    "list.separator": N_(", "),
    "label.name": N_("Name"),
    "label.photo": N_("Photo of the worker"),
    "photo.placeholder": N_("The photo is shown online"),
    "photo.none": N_("No photo on file"),
    "enterprise.offline": N_("Enterprise no. {id} (the name is shown online)"),
    "enterprise.compare": N_("Compare this enterprise"),
    "label.enterprise_name": N_("Enterprise name"),
    "label.credit_code": N_("Unified social credit code"),
    "label.credit_grade": N_("Credit grade"),
    "label.workers": N_("Workers in service"),
    "label.holding_rate": N_("Holding rate"),
    "label.display_rate": N_("Display rate"),
    "label.complaints": N_("Complaints"),
    "label.blacklist": N_("Blacklist"),
    "label.public_page": N_("Public page"),
    "credit.grade": N_("{grade} ({score} points)"),
    "credit.ungraded": N_("Not graded yet"),
    "credit.none": N_("None yet"),
    "credit.workers": N_("{n} registered"),
    "credit.complaints": N_("{n}, {resolved} resolved"),
    "credit.blacklisted": N_("{n} entries on the blacklist"),
    "credit.clean": N_("Not on the blacklist"),
    "credit.unlisted": N_("Not in the public directory of enterprises"),
    "enterprise.public_page": N_("Credit, grade and comparison"),
    "advice.valid_enterprise": N_(
        "This is the enterprise's own code, genuine and in service. A worker at your door shows "
        "their own 安心码: scan that one before you let them in."
    ),
    "label.categories": N_("Services"),
    "label.stars": N_("Star level (set by the enterprise)"),
    "stars.value": N_("{n} of 5 stars"),
    "stars.none": N_("Not rated yet"),
    "label.rating": N_("Consumer ratings"),
    "rating.value": N_("{average} from {count} ratings"),
    "rating.none": N_("No ratings yet"),
    "label.training": N_("Training"),
    "training.none": N_("None recorded"),
    "training.item": N_("{name} ({date})"),
    "label.health": N_("Health certificate"),
    "label.insurance": N_("Insurance"),
    "validity.until": N_("Valid until {date}"),
    "validity.lapsed": N_("Lapsed since {date}"),
    "validity.missing": N_("Missing"),
    "label.validity": N_("Card valid"),
    "validity.range": N_("{start} to {end}"),
    "label.issuer": N_("Issued by"),
    "label.serial": N_("Card no."),
    "online.only": N_("Shown online"),
    "source.offline": N_("Checked on this phone, offline · revocation data from {age} ago"),
    "source.live": N_("Checked live with the issuer just now"),
    "source.none": N_("Not checked"),
    "age.days_hours": N_("{d} d {h} h"),
    "age.days": N_("{d} d"),
    "age.hours_minutes": N_("{h} h {m} min"),
    "age.minutes": N_("{m} min"),
    "age.now": N_("under a minute"),
    "card.button": N_("Tap the card to check it"),
    "card.prompt": N_("Hold the worker's card to the back of your phone…"),
    "card.match": N_("The card is the one this code was issued for"),
    "card.failed": N_("Could not read the card: {why}"),
    "card.again": N_(
        "You opened this page by tapping a card: tap the same card once more so this phone can check "
        "its chip (a copied card has another chip)"
    ),
    "card.impossible": N_(
        "Could not check the card: this phone cannot read the chip's number, so a copied card cannot "
        "be told apart. Compare the photo and the name."
    ),
    "card.copy": N_(
        "Warning: this chip is not the card this 安心码 was issued for. The card may be a copy: do "
        "not let them in."
    ),
    "card.other": N_(
        "This is another card: the 安心码 on it is not this page's. Tap the card this page was opened from."
    ),
    "card.no_serial": N_(
        "Could not check the card: no chip number was read. Tap again; if it is still not read, the "
        "card cannot be checked."
    ),
    "entry.button": N_("Confirm entry"),
    "entry.hint": N_(
        "Tap after you let the worker in. It records the visit (nothing about you) and lets you rate "
        "the service afterwards."
    ),
    "entry.done": N_("Entry confirmed at {time}. After the service, rate it below."),
    "entry.failed": N_("Could not confirm entry: {why}"),
    "entry.offline": N_("Confirming entry needs the internet"),
    "rate.title": N_("Rate the service"),
    "rate.stars": N_("Stars"),
    "rate.star": N_("{n} stars"),
    "rate.comment": N_("Comment (optional; no phone numbers)"),
    "rate.submit": N_("Submit the rating"),
    "rate.thanks": N_("Thank you: your rating was recorded."),
    "rate.failed": N_("The rating was not recorded: {why}"),
    "complain.title": N_("File a complaint"),
    "complain.category": N_("What it is about"),
    "complaint.quality": N_("Quality of the service"),
    "complaint.attitude": N_("Attitude"),
    "complaint.safety": N_("Safety"),
    "complaint.fee": N_("Fees"),
    "complaint.no_show": N_("Did not come as agreed"),
    "complaint.other": N_("Other"),
    "complain.summary": N_("What happened (at least 5 characters; no phone numbers)"),
    "complain.submit": N_("Submit the complaint"),
    "complain.done": N_("Complaint no. {id} was sent to the enterprise and the regulator."),
    "complain.failed": N_("The complaint was not sent: {why}"),
    "complain.sent": N_("You have filed a complaint about this visit."),
    "rating.verified": N_(" ({n} from visits checked with the worker's dynamic code)"),
    "report.title": N_("Report this code"),
    "report.hint": N_(
        "If this code is being used although it is revoked, cannot be verified or was shown by someone "
        "else, tell the regulator. Nothing about you is asked or kept."
    ),
    "report.reason": N_("Why"),
    "report.revoked_in_use": N_("A revoked or suspended code is being used"),
    "report.cannot_verify": N_("The code cannot be verified / looks forged"),
    "report.wrong_person": N_("The person is not the one on the card"),
    "report.other": N_("Other"),
    "report.note": N_("A short note (optional; no phone numbers or names)"),
    "report.submit": N_("Send the report"),
    "report.done": N_("Report no. {id} was sent to the regulator. Thank you."),
    "report.failed": N_("The report was not sent: {why}"),
    "manual.label": N_("Link or digits of a 安心码"),
    "manual.submit": N_("Check"),
    "privacy": N_(
        "This page collects nothing about you. The check runs on your phone; online, only the code "
        "is sent to the issuer."
    ),
    "noscript": N_("This page needs JavaScript to check the code."),
}


@functools.cache
def _digest(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


@functools.cache
def version() -> str:
    """Changes with any asset, template or word of the page: the service worker's cache name."""
    state = hashlib.sha256()
    for name in ASSETS:
        state.update(_digest(name).encode())
    for template in ("page.html", "sw.js"):
        state.update((PACKAGE / "templates" / "verifier" / template).read_bytes())
    state.update(json.dumps(MESSAGES, sort_keys=True).encode())
    for po in blueprint.translation_directory.glob("*/LC_MESSAGES/messages.mo"):
        state.update(po.read_bytes())
    return state.hexdigest()[:16]


def asset_url(name: str) -> str:
    return url_for("verifier_page.asset", name=name, v=_digest(name))


@blueprint.get("/verifier/assets/<path:name>")
def asset(name: str) -> Response:
    """The page's files from ``anxinma/static/verifier/``; a URL with the file's digest is
    immutable (a year in every cache), so the worker's precache and later visits move nothing."""
    if name not in ASSETS:
        from werkzeug.exceptions import NotFound

        raise NotFound()
    current = request.args.get("v") == _digest(name)
    response = send_from_directory(STATIC, name, max_age=31536000 if current else 0)
    if current:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _catalog() -> dict[str, dict[str, str]]:
    """Each message in both languages (the shell carries both: the switch works offline)."""
    cached: dict[str, dict[str, str]] | None = current_app.extensions.get("anxinma.page.catalog")
    if cached is None:
        from flask_babel import force_locale, gettext

        with force_locale("zh_CN"):
            chinese = {key: gettext(message) for key, message in MESSAGES.items()}
        cached = {key: {"en": message, "zh": chinese[key]} for key, message in MESSAGES.items()}
        # The categories' words are the format's own (anxinma.credential), as on badges and consoles.
        cached.update({f"category.{c.value}": {"en": c.en, "zh": c.zh} for c in fmt.Category})
        current_app.extensions["anxinma.page.catalog"] = cached
    return cached


def _text(key: str) -> str:
    """A message in the request's language (the server-rendered first paint)."""
    from anxinma.i18n import select_locale

    return _catalog()[key]["zh" if select_locale() == "zh_CN" else "en"]


@functools.cache
def _payment_prefixes() -> list[list[str]]:
    from anxinma.verifier.scan import _PAYMENT_PREFIXES

    return [list(entry) for entry in _PAYMENT_PREFIXES]


def page_config() -> dict[str, Any]:
    """What the page's scripts need, embedded as JSON in the shell."""
    root = current_app.config.get(ROOT_KEY_CONFIG)
    return {
        "version": version(),
        "root_key": b64url(bytes(root)) if root else None,
        "messages": _catalog(),
        "categories": [
            {"bit": c.bit, "key": f"category.{c.value}"} for c in sorted(fmt.Category, key=lambda c: c.bit)
        ],
        "payments": _payment_prefixes(),
        "policy": {
            "clock_skew": int(DEFAULT_CLOCK_SKEW.total_seconds()),
            "status_max_age": int(DEFAULT_STATUS_MAX_AGE.total_seconds()),
            "leeway": int(CLOCK_LEEWAY.total_seconds()),
            "live_timeout": DEFAULT_TIMEOUT,
            "fetch_timeout": 4.0,
        },
        "paths": {
            "trust_list": "/trust-list",
            "status": "/status/{code}/{shard}",
            "freshness": "/status/{code}/freshness",
            "compact": "/status/{code}/{shard}/compact",
            "live": LIVE_PATH,
            "visits": "/api/v1/visits",
            "lang": url_for("verifier_page.remember_language"),
            "worker": url_for("verifier_page.service_worker"),
        },
        "assets": {"nacl": asset_url(FALLBACK)},
    }


TRUSTED_ORIGINS_CONFIG = "ANXINMA_TRUSTED_ORIGINS"


def trusted_origins() -> tuple[str, ...]:
    """The origins (scheme://host[:port]) of the issuers' base URLs in the trust list the service
    serves: ``app.config["ANXINMA_TRUSTED_ORIGINS"]``, a zero-argument callable the issuer's app
    sets (it follows the served list, so a city joining appears without a restart); none when the
    composition root sets nothing."""
    origins = current_app.config.get(TRUSTED_ORIGINS_CONFIG)
    if not callable(origins):
        return ()
    return tuple(sorted({str(origin) for origin in origins() if _is_origin(str(origin))}))


def _is_origin(text: str) -> bool:
    """scheme://host[:port] and nothing else: no path, no space or quote that would end the CSP source."""
    from urllib.parse import urlsplit

    if any(c in text for c in " ;,'\"\\") or text != text.strip():
        return False
    parts = urlsplit(text)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not (parts.path or parts.query or parts.fragment)
    )


def content_security_policy(origins: tuple[str, ...]) -> str:
    """The shell's CSP: scripts and styles from this origin only; the page may talk to this
    origin and to the issuers named in the trust list (their status data and live records), nothing else."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' https: data:",
            " ".join(("connect-src", "'self'", *origins)),
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _shell_body(origins: tuple[str, ...]) -> tuple[str, str]:
    """(html, its ETag) of the shell in the request's language. The shell holds nothing of
    the request but its language (the payload stays in the URL, read by the page), so it is
    rendered once per language, root key and set of trusted origins (the CSP that goes with
    it, which the ETag must follow), not per scan."""
    from anxinma.i18n import select_locale

    root = current_app.config.get(ROOT_KEY_CONFIG)
    key = (select_locale(), bytes(root) if root else None, origins)
    rendered: dict[Any, tuple[str, str]] = current_app.extensions.setdefault("anxinma.page.shells", {})
    if key not in rendered:
        html = render_template("verifier/page.html", config=page_config(), text=_text, asset=asset_url)
        # as Response.add_etag() would, over the body and the CSP it is served with
        rendered[key] = (html, generate_etag(html.encode() + content_security_policy(origins).encode()))
    return rendered[key]


def _shell() -> Response:
    origins = trusted_origins()
    html, etag = _shell_body(origins)
    response = Response(html, mimetype="text/html")
    response.set_etag(etag)  # the service worker's background refresh is then a 304 of a few bytes
    # The path holds the credential: no referrer to photo hosts, no shared caches, no indexing.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Content-Security-Policy"] = content_security_policy(origins)
    response.headers["Vary"] = "Cookie, Accept-Language"
    response.make_conditional(request)
    return response


@blueprint.get("/v")
def shell() -> Response:
    """``/v#<payload>``: the fragment never reaches the server; the page reads it."""
    return _shell()


@blueprint.get("/v/", defaults={"payload": ""})
@blueprint.get("/V/", defaults={"payload": ""})
@blueprint.get("/v/<path:payload>")
@blueprint.get("/V/<path:payload>")
def verify_page(payload: str) -> Response:
    """``/v/<digits>`` (``/V/`` from a QR): the same shell; the payload is read in the browser,
    so another system's code (a payment QR, a random link) gets the page's 无法验证, never an
    error page."""
    del payload  # decided in the browser, from location
    return _shell()


@blueprint.get("/verifier/sw.js")
def service_worker() -> Response:
    script = render_template(
        "verifier/sw.js",
        version=version(),
        shell=url_for("verifier_page.shell"),
        assets=[asset_url(name) for name in ASSETS if name != FALLBACK],
        fallback=asset_url(FALLBACK),
    )
    response = Response(script, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"  # it serves /v and /V/ (the QR's upper case)
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/verifier/lang")
def remember_language() -> Response:
    """The page switches language in place; this lets the server remember it (``?lang=``)."""
    response = Response(status=204)
    response.headers["Cache-Control"] = "no-store"  # anxinma.i18n sets the cookie from ?lang=
    return response


__all__ = ["MESSAGES", "blueprint", "content_security_policy", "page_config", "trusted_origins", "version"]
