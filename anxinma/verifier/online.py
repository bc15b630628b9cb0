"""The online step: the live record from the issuer the trust list names, checked, then merged.

``POST <base_url>/api/v1/live {"code": …}`` returns ``{"token": JWS}`` (docs/interfaces.md,
"Live record claims"): ``typ: anxinma-live+jwt``, EdDSA, the kid in the header. The token
must verify under an *active* key that the trust list names for the credential's issuer, its
``iss`` must be that issuer, its ``serial`` the credential's, and it must not have expired.

Merging (docs/verifier.md, "Online"): only a genuine credential is looked up (a forged one
names an issuer it has no right to). When the live status differs from the offline one it
wins and ``source.kind`` becomes ``"live"`` — except that the signed dates are not the
issuer's to overrule: an expired or not-yet-valid credential stays so whatever the live
record says. Any failure (timeout, refused connection, HTTP error, a bad token) leaves the
offline result standing with a reason saying what happened.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from anxinma.keys.trust_list import CLOCK_LEEWAY
from anxinma.messages import Message, Text
from anxinma.verifier.errors import LiveRecordError, NoRecord
from anxinma.verifier.offline import OfflineVerifier
from anxinma.verifier.reasons import REASONS
from anxinma.verifier.result import Source, Status, VerificationResult

LIVE_PATH = "/api/v1/live"
TOKEN_TYPE = "anxinma-live+jwt"
DEFAULT_TIMEOUT = 2.0
MAX_RESPONSE = 64 * 1024
LIVE_STATUSES = {
    "valid": Status.VALID,
    "attention": Status.ATTENTION,
    "revoked": Status.REVOKED,
    "suspended": Status.SUSPENDED,
    "expired": Status.EXPIRED,
}
#: Offline statuses the live record may replace. A signature, key or date verdict is not its to change.
OVERRIDABLE = frozenset(
    {Status.VALID, Status.ATTENTION, Status.REVOKED, Status.SUSPENDED, Status.STATUS_UNKNOWN}
)
_LOOKED_UP = OVERRIDABLE | {Status.EXPIRED, Status.NOT_YET_VALID}


class LiveClient:
    """Fetches and verifies live records; one ``requests.Session`` (keep-alive) per client.

    ``timeout`` bounds connecting and then waiting for the answer; reading the body is cut
    off once ``timeout`` has passed since the request began. So a dead host costs at most
    ``timeout``, a silent one at most twice that.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.timeout = timeout
        self.session = session or requests.Session()
        self.clock = clock

    def fetch(self, url: str, code: str) -> dict[str, Any]:
        """The live record's token from ``url``, unverified. Raises :class:`LiveRecordError`."""
        deadline = time.monotonic() + self.timeout
        try:
            with self.session.post(
                url,
                json={"code": code},
                headers={"Accept": "application/json"},
                timeout=(self.timeout, self.timeout),
                stream=True,
            ) as response:
                body = bytearray()
                for chunk in response.iter_content(8192):
                    body += chunk
                    if len(body) > MAX_RESPONSE:
                        raise LiveRecordError("the live record answer is far too large")
                    if time.monotonic() > deadline:
                        raise requests.Timeout()
                status = response.status_code
        except requests.Timeout as exc:
            raise LiveRecordError(
                f"no live answer within {self.timeout:g} s", message_zh=f"{self.timeout:g} 秒内未获得在线结果"
            ) from exc
        except requests.RequestException as exc:
            raise LiveRecordError(
                f"the issuer could not be reached ({type(exc).__name__})", message_zh="无法连接签发机构"
            ) from exc
        if status == 404:
            raise NoRecord(
                "the issuer has no record of this credential", message_zh="签发机构没有这张证的记录"
            )
        if status == 429:
            raise LiveRecordError(
                "the issuer is rate-limiting this verifier", message_zh="查询过于频繁，请稍后再试"
            )
        if status != 200:
            raise LiveRecordError(
                f"the issuer answered HTTP {status}", message_zh=f"签发机构返回 HTTP {status}"
            )
        try:
            doc = json.loads(body)
            token = doc["token"]
            if not isinstance(token, str):
                raise TypeError("token is not text")
        except (ValueError, KeyError, TypeError) as exc:
            raise LiveRecordError(
                'the live answer is not {"token": …}', message_zh="在线结果格式错误"
            ) from exc
        return {"token": token}

    def verify_token(
        self, token: str, *, issuer_code: int, serial: int, key_for: Callable[[bytes], bytes | None]
    ) -> dict[str, Any]:
        """Check a live token's type, signature, issuer, serial and time; return its claims."""
        try:
            header = jwt.get_unverified_header(token)
            kid = bytes.fromhex(str(header.get("kid")))
        except (jwt.PyJWTError, ValueError) as exc:
            raise LiveRecordError(
                "the live record is not a JWS", message_zh="在线结果不是有效的 JWS"
            ) from exc
        if header.get("typ") != TOKEN_TYPE or header.get("alg") != "EdDSA":
            raise LiveRecordError(f"the live record has typ {header.get('typ')!r}, alg {header.get('alg')!r}")
        public = key_for(kid)
        if public is None:
            raise LiveRecordError(
                f"the live record is signed by key {kid.hex()}, not an active key of issuer {issuer_code}",
                message_zh=f"在线结果的签名密钥 {kid.hex()} 不是该签发机构的有效密钥",
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                Ed25519PublicKey.from_public_bytes(public),
                algorithms=["EdDSA"],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "require": ["iss", "iat", "exp", "serial", "status"],
                },
            )
        except jwt.InvalidSignatureError as exc:
            raise LiveRecordError(
                "the live record's signature does not verify", message_zh="在线结果签名无效"
            ) from exc
        except jwt.PyJWTError as exc:
            raise LiveRecordError(
                f"the live record is malformed: {exc}", message_zh="在线结果格式错误"
            ) from exc
        if str(claims.get("iss")) != str(issuer_code):
            raise LiveRecordError(f"the live record is from issuer {claims.get('iss')!r}, not {issuer_code}")
        if claims.get("serial") != serial:
            raise LiveRecordError(f"the live record is for serial {claims.get('serial')!r}, not {serial}")
        now = self.clock()
        try:
            expires = datetime.fromtimestamp(float(claims["exp"]), UTC)
            issued = datetime.fromtimestamp(float(claims["iat"]), UTC)
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            raise LiveRecordError("the live record's times are malformed") from exc
        if now - CLOCK_LEEWAY >= expires or issued > now + CLOCK_LEEWAY:
            raise LiveRecordError(
                "the live record is outside its validity (replayed, or a clock is wrong)",
                message_zh="在线结果不在有效期内（重放或时钟错误）",
            )
        if claims.get("status") not in LIVE_STATUSES:
            raise LiveRecordError(f"the live record has an unknown status {claims.get('status')!r}")
        return claims


def live_url(base_url: str) -> str:
    return base_url.rstrip("/") + LIVE_PATH


def add_live_record(
    verifier: OfflineVerifier, offline: VerificationResult, client: LiveClient
) -> VerificationResult:
    """Merge the live record into an offline result (module docstring); never raises."""
    claims = offline.claims
    if claims is None or offline.status not in _LOOKED_UP:
        return offline
    found = verifier.trusted_issuer(claims.issuer_code)
    if found is None:  # pragma: no cover - a genuine result always has its issuer
        return offline
    issuer, _anchor = found
    if not issuer.base_url:
        return _note(offline, REASONS("no_live_url"))
    url = live_url(issuer.base_url)
    try:
        code = _code_text(offline)
        token = client.fetch(url, code)["token"]
        record = client.verify_token(
            token,
            issuer_code=claims.issuer_code,
            serial=claims.serial,
            key_for=lambda kid: verifier.live_key(claims.issuer_code, kid),
        )
    except NoRecord:
        # A genuine signature the issuer never recorded: forged with a leaked or a test key.
        return dataclasses.replace(
            offline,
            status=Status.UNKNOWN_CREDENTIAL,
            source=Source("live", offline.source.bundle_age_seconds, url, offline.source.bundle),
            reasons=(REASONS("not_on_record"), *offline.reasons[1:]),
        )
    except LiveRecordError as exc:
        return _note(offline, REASONS("live_failed", why=Text(exc.message_zh, exc.message)))
    except Exception as exc:
        return _note(offline, REASONS("live_error", error=type(exc).__name__))
    live_status = LIVE_STATUSES[record["status"]]
    source = Source("live", offline.source.bundle_age_seconds, url, offline.source.bundle)
    if live_status is offline.status:
        return dataclasses.replace(
            offline,
            live=record,
            reasons=(*offline.reasons, REASONS("confirmed_live")),
        )
    if offline.status not in OVERRIDABLE:
        return dataclasses.replace(
            offline,
            live=record,
            reasons=(
                *offline.reasons,
                REASONS("live_dates_stand", live=_status_word(live_status)),
            ),
        )
    return dataclasses.replace(
        offline,
        status=live_status,
        live=record,
        source=source,
        reasons=(
            _live_reason(live_status, record),
            REASONS("offline_said", offline=_status_word(offline.status)),
            *(r for r in offline.reasons if "卡号" in r or "card" in r),
        ),
    )


def _code_text(result: VerificationResult) -> str:
    """The hex form of the credential scanned: the caller's proof that it holds it."""
    if result.credential is None:  # pragma: no cover - every result with claims carries it
        raise LiveRecordError("no credential bytes to present")
    return result.credential.to_hex()


def _note(result: VerificationResult, text: str) -> VerificationResult:
    return dataclasses.replace(result, reasons=(*result.reasons, text))


def _status_word(status: Status) -> Text:
    """A status as the reasons name it: its Chinese label, its English value."""
    return Text(status.label_zh, status.value)


def _live_reason(status: Status, record: dict[str, Any]) -> Message:
    if status is Status.REVOKED:
        revocation = record.get("revocation") or {}
        why = revocation.get("reason") if isinstance(revocation, dict) else None
        suffix = (
            REASONS("revocation_why", why=Text(str(_REVOCATION_ZH.get(str(why), why)), str(why)))
            if why
            else Text("", "")
        )
        return REASONS("live_revoked", why=suffix)
    if status is Status.ATTENTION:
        items = [a.get("item") for a in record.get("attention") or [] if isinstance(a, dict)]
        names = Text(
            "、".join(_ATTENTION_ZH.get(str(i), str(i)) for i in items) or "健康证或保险",
            ", ".join(map(str, items)) or "a certificate",
        )
        return REASONS("live_attention", items=names)
    return REASONS(f"live_{status.value}")


_REVOCATION_ZH = {
    "left": "离职",
    "lost": "挂失",
    "misconduct": "违规",
    "blacklisted": "列入失信名单",
    "replaced": "已换发新证",
}
_ATTENTION_ZH = {"health_certificate": "健康证", "insurance": "保险"}
