"""A real HTTP server that publishes what the real signing code produces, and can misbehave.

It serves the public endpoints of docs/interfaces.md (discovery, trust list, JWKS, status
lists, the live record) from a real :class:`KeyDirectory`, :func:`build_trust_list` and
:func:`sign_status_list`, over werkzeug's HTTP server on a free 127.0.0.1 port. Tests turn
knobs to make it tamper with, replay, truncate or withhold what it serves. It stands in for the
issuer service (branch ``issuer``) until that one's ``live_issuer`` fixture exists, and keeps
covering the misbehaviour a correct issuer never shows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from anxinma import credential as fmt
from anxinma.keys import KeyDirectory, build_trust_list, jwks
from anxinma.status_list import (
    CredentialStatus,
    ShardVersion,
    StatusArray,
    digest_of,
    shard_of,
    sign_compact_status_list,
    sign_freshness,
    sign_status_list,
)

LIVE_NAMES = {
    CredentialStatus.VALID: "valid",
    CredentialStatus.REVOKED: "revoked",
    CredentialStatus.SUSPENDED: "suspended",
    CredentialStatus.ATTENTION: "attention",
}


def day(offset: int) -> datetime:
    """00:00 China Standard Time, ``offset`` days from today."""
    today = datetime.now(fmt.CHINA_TZ).date() + timedelta(days=offset)
    return datetime(today.year, today.month, today.day, tzinfo=fmt.CHINA_TZ)


def worker_claims(
    issuer_code: int,
    serial: int,
    *,
    valid_from: int = -30,
    valid_days: int = 365,
    card_uid: bytes | None = None,
) -> fmt.Claims:
    """The claims of a typical worker credential, valid from ``valid_from`` days from today."""
    return fmt.Claims(
        issuer_code=issuer_code,
        serial=serial,
        subject_kind=fmt.SubjectKind.WORKER,
        archive_id=100000 + serial,
        enterprise_id=253,
        display_name="李*霞",
        categories=frozenset({fmt.Category.INFANT_CARE, fmt.Category.CLEANING}),
        issued_at=day(valid_from),
        expires_at=day(valid_from + valid_days),
        card_uid=card_uid,
    )


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        """Tests read ``Publisher.log`` instead of werkzeug's request lines on stderr."""


class Publisher:
    """One issuer origin on 127.0.0.1: keys, credentials it issued, statuses, and knobs."""

    def __init__(
        self, home: Path, *, issuer_code: int = 330200, name: str = "宁波市商务局", protocol: str = "legacy"
    ) -> None:
        self.keys = KeyDirectory.init(
            home / "keys", issuer_code=issuer_code, issuer_name=name, insecure_dev=True
        )
        self.code = issuer_code
        self.name = name
        self.statuses: dict[int, StatusArray] = {0: StatusArray(0)}
        self.issued: dict[int, fmt.Credential] = {}
        self.attention: dict[int, list[str]] = {}
        self.log: list[tuple[str, str, int]] = []
        # knobs
        self.trust_list_signer: KeyDirectory | None = None  # another root signs our trust list
        self.serve_trust_list: str | None = None  # serve this token instead (a replay)
        self.tamper: set[str] = set()  # "trust_list", "status", "jwks": flip a byte of the signature
        self.truncate: set[str] = set()  # send half the body with the full Content-Length
        self.stall: dict[str, float] = {}  # seconds to sleep before answering
        self.fail: dict[str, int] = {}  # HTTP status to answer instead
        self.status_list_age = timedelta(0)  # sign status lists this far in the past
        self.status_time: datetime | None = None  # sign status lists at this moment (one signing window)
        self.foreign_status: dict[str, str] = {}  # path -> a status list token served (and listed) too
        # "legacy": standard-form shards only, as issuers before versions; "freshness": versioned
        # shards in the compact form and a freshness document, as the issuer service publishes.
        self.protocol = protocol
        self.versions: dict[int, int] = {}
        self.compact: dict[int, bytes] = {}
        self.freshness_seq = 0
        self.freshness = ""
        self.serve_freshness: str | None = None  # serve this freshness document instead (a replay)
        self.serve_compact: dict[int, bytes] = {}  # serve these shard bytes instead (a replay)
        self._published: dict[int, tuple[bytes, bytes]] = {}  # shard -> (statuses, kid) last versioned
        self.live_signer: Any = None  # a foreign key to sign live records with (forgery)
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.keys.set_issuer(base_url=self.base_url)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.publish()

    # -- what it publishes ---------------------------------------------------------------

    def publish(self, *, trust_list: bool = True) -> None:
        """Sign a new trust list (next sequence; unless ``trust_list`` is false) and every status
        list shard, as an issuer would."""
        signer = self.trust_list_signer or self.keys
        if trust_list or not hasattr(self, "trust_list"):
            self.trust_list = build_trust_list(signer)
        kid, key = self.keys.signing_key()
        moment = (self.status_time or datetime.now(UTC)) - self.status_list_age
        self.status_tokens = {
            shard: sign_status_list(
                array,
                issuer_code=self.code,
                shard=shard,
                uri=f"{self.base_url}/status/{self.code}/{shard}",
                key=key.to_cryptography(),
                kid=kid,
                now=moment,
            )
            for shard, array in self.statuses.items()
        }
        if self.protocol == "freshness":
            self._publish_versions(moment)

    def _publish_versions(self, moment: datetime) -> None:
        kid, key = self.keys.signing_key()
        shards = []
        for shard, array in sorted(self.statuses.items()):
            state = (array.to_bytes() + array.size.to_bytes(4, "big"), kid)
            if self._published.get(shard) != state:
                self.versions[shard] = self.versions.get(shard, 0) + 1
                self._published[shard] = state
                self.compact[shard] = sign_compact_status_list(
                    array,
                    issuer_code=self.code,
                    shard=shard,
                    version=self.versions[shard],
                    key=key.to_cryptography(),
                    kid=kid,
                    now=moment,
                )
            shards.append(
                ShardVersion(
                    shard,
                    self.versions[shard],
                    array.size,
                    digest_of(self.compact[shard]),
                    f"{self.base_url}/status/{self.code}/{shard}/compact",
                )
            )
        self.freshness_seq += 1
        self.freshness = sign_freshness(
            issuer_code=self.code,
            seq=self.freshness_seq,
            shards=shards,
            key=key.to_cryptography(),
            kid=kid,
            now=moment,
        )

    @property
    def root_pem(self) -> bytes:
        return (self.trust_list_signer or self.keys).root_public_pem()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer_code": self.code,
            "name": self.name,
            "base_url": self.base_url,
            "trust_list": f"{self.base_url}/trust-list",
            "jwks": f"{self.base_url}/jwks.json",
            "status_lists": [
                *(f"{self.base_url}/status/{self.code}/{shard}" for shard in sorted(self.statuses)),
                *(f"{self.base_url}{path}" for path in sorted(self.foreign_status)),
            ],
            "live_record": f"{self.base_url}/api/v1/live",
            "root_public_key": self.root_pem.decode(),
            **(
                {"status_freshness": f"{self.base_url}/status/{self.code}/freshness"}
                if self.protocol == "freshness"
                else {}
            ),
        }

    def issue(
        self,
        serial: int,
        *,
        valid_from: int = -30,
        valid_days: int = 365,
        card_uid: bytes | None = None,
        status: CredentialStatus = CredentialStatus.VALID,
        holder_key: bytes | None = None,
    ) -> fmt.Credential:
        """Sign a worker credential with the current signing key and record its status
        (``holder_key``: the phone's public key, for the dynamic code)."""
        claims = worker_claims(
            self.code, serial, valid_from=valid_from, valid_days=valid_days, card_uid=card_uid
        )
        if holder_key is not None:
            claims = dataclasses.replace(claims, holder_key=holder_key)
        kid, key = self.keys.signing_key()
        cred = fmt.sign(claims, key, kid)
        self.issued[serial] = cred
        self.set_status(serial, status, publish=False)
        return cred

    def set_status(self, serial: int, status: CredentialStatus, *, publish: bool = True) -> None:
        shard, index = shard_of(serial)
        self.statuses.setdefault(shard, StatusArray(0)).set(index, status)
        if status is CredentialStatus.ATTENTION:
            self.attention[serial] = ["health_certificate"]
        if publish:
            self.publish()

    def stop(self) -> None:
        """Stop serving (an issuer that is down); idempotent."""
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- HTTP ------------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._route(request)
        self.log.append((request.method, request.path, response.status_code))
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/.well-known/anxinma":
            return self._serve(
                "discovery", request, json.dumps(self.discovery()).encode(), "application/json"
            )
        if path == "/trust-list":
            token = self.serve_trust_list or self.trust_list
            return self._serve("trust_list", request, token.encode(), "application/jwt")
        if path == "/jwks.json":
            return self._serve("jwks", request, json.dumps(jwks(self.keys)).encode(), "application/json")
        if self.protocol == "freshness" and path == f"/status/{self.code}/freshness":
            body = (self.serve_freshness or self.freshness).encode()
            return self._serve("freshness", request, body, "application/jwt")
        if (
            self.protocol == "freshness"
            and path.startswith(f"/status/{self.code}/")
            and path.endswith("/compact")
        ):
            shard_text = path.split("/")[-2]
            if not shard_text.isdigit() or int(shard_text) not in self.compact:
                return Response("no such shard", status=404)
            body = self.serve_compact.get(int(shard_text), self.compact[int(shard_text)])
            return self._serve("status", request, body, "application/vnd.anxinma.status+cose")
        if path in self.foreign_status:
            return self._serve(
                "status", request, self.foreign_status[path].encode(), "application/statuslist+jwt"
            )
        if path.startswith(f"/status/{self.code}/"):
            shard_text = path.rsplit("/", 1)[1]
            if not shard_text.isdigit() or int(shard_text) not in self.status_tokens:
                return Response("no such shard", status=404)
            token = self.status_tokens[int(shard_text)]
            return self._serve("status", request, token.encode(), "application/statuslist+jwt")
        if path == "/api/v1/live" and request.method == "POST":
            return self._live(request)
        return Response("not found", status=404)

    def _serve(self, what: str, request: Request, body: bytes, mimetype: str) -> Response:
        if what in self.stall:
            time.sleep(self.stall[what])
        if what in self.fail:
            return Response("unavailable", status=self.fail[what])
        if what in self.tamper:
            body = _flip_signature(body)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if what not in self.truncate and request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        if what in self.truncate:
            response = Response(body[: len(body) // 2], mimetype=mimetype)
            response.headers["Content-Length"] = str(len(body))
            response.headers["Connection"] = "close"
            return response
        return Response(body, mimetype=mimetype, headers={"ETag": etag, "Cache-Control": "max-age=60"})

    def _live(self, request: Request) -> Response:
        if "live" in self.stall:
            time.sleep(self.stall["live"])
        if "live" in self.fail:
            return Response("unavailable", status=self.fail["live"])
        try:
            cred = fmt.decode_text(str((request.get_json(silent=True) or {}).get("code", "")))
        except fmt.MalformedCredential:
            return Response(json.dumps({"error": "bad code"}), status=400, mimetype="application/json")
        serial = cred.claims.serial
        if serial not in self.issued:
            return Response(json.dumps({"error": "unknown serial"}), status=404, mimetype="application/json")
        shard, index = shard_of(serial)
        value = self.statuses[shard].get(index)
        status = LIVE_NAMES[value]
        if cred.claims.expires_at <= datetime.now(UTC):
            status = "expired"
        now = int(time.time())
        claims = {
            "iss": str(self.code),
            "iat": now,
            "exp": now + 300,
            "serial": serial,
            "status": status,
            "display_name": cred.claims.display_name,
            "photo_url": None,
            "enterprise": {
                "id": 253,
                "name": "宁波安心家政服务有限公司",
                "credit_code_masked": "9133****12X",
            },
            "categories": [c.zh for c in cred.claims.categories],
            "star_level": 4,
            "training": [{"name": "育婴员（五级）", "issued_on": date.today().isoformat()}],
            "health_certificate": {"valid_until": None, "valid": status != "attention"},
            "insurance": {"valid_until": "2030-01-01", "valid": True},
            "attention": [{"item": item, "since": None} for item in self.attention.get(serial, [])]
            if status == "attention"
            else [],
            "rating": {"count": 12, "average": 4.8},
            "revocation": {"reason": "left", "at": "2025-01-01T00:00:00+08:00"}
            if status == "revoked"
            else None,
            "card_uid": cred.claims.card_uid.hex() if cred.claims.card_uid else None,
        }
        if self.live_signer is not None:
            kid, key = self.keys.signing_kid, self.live_signer
        else:
            kid, signing = self.keys.signing_key()
            key = signing.to_cryptography()
        token = jwt.encode(
            claims, key, algorithm="EdDSA", headers={"typ": "anxinma-live+jwt", "kid": kid.hex()}
        )
        return Response(json.dumps({"token": token}), mimetype="application/json")


def _flip_signature(body: bytes) -> bytes:
    """Change one character of a JWS's signature (or of a JSON document's last key)."""
    text = body.decode()
    if text.count(".") == 2:
        head, payload, signature = text.split(".")
        flipped = ("A" if signature[5] != "A" else "B").join([signature[:5], signature[6:]])
        return f"{head}.{payload}.{flipped}".encode()
    doc = json.loads(text)
    for key in doc.get("keys", []):
        x = key["x"]
        key["x"] = ("A" if x[3] != "A" else "B").join([x[:3], x[4:]])
    return json.dumps(doc).encode()
