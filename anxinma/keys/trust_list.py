"""The trust list: which issuers (cities, provinces) and which of their keys a verifier trusts.

A JWS (RFC 7515, compact, EdDSA) signed by the root key, built with pyjwt. Verifiers pin the
root public key and keep the highest sequence number they have accepted, so a replayed
older list (one that still trusted a key since declared compromised) is refused.

Claims: ``iss`` ("anxinma-root"), ``seq``, ``iat``, ``exp``, ``issuers``: a list of
``{code, name, base_url, keys: [JWK + status, valid_from, valid_to]}`` (docs/keys.md). A compromised key stays in the
list without its public key, so a verifier can say *why* it no longer verifies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from anxinma.credential import derive_kid
from anxinma.errors import TrustListError
from anxinma.keys.jwk import public_jwk, public_key_from_jwk
from anxinma.keys.model import KeyStatus, issuer_entry, validate_issuer_entry
from anxinma.keys.store import KeyDirectory

__all__ = [
    "ROOT_ISSUER",
    "TOKEN_TYPE",
    "TrustList",
    "TrustedIssuer",
    "TrustedKey",
    "build_trust_list",
    "dumps_jwks",
    "issuer_entry",  # re-exported from keys.model, where it lives
    "jwks",
    "validate_issuer_entry",  # re-exported from keys.model
]

TOKEN_TYPE = "anxinma-trust-list+jwt"
ROOT_ISSUER = "anxinma-root"
DEFAULT_VALIDITY = timedelta(days=30)
#: How far a verifier's clock may lag the signer's before an ``iat`` counts as "in the future".
CLOCK_LEEWAY = timedelta(minutes=5)


@dataclass(frozen=True)
class TrustedKey:
    """One issuer key as the trust list states it."""

    kid: bytes
    public_key: bytes | None  # None once compromised: nothing may verify under it
    status: KeyStatus
    valid_to: datetime | None  # when it was retired or declared compromised
    valid_from: datetime | None = None  # when it was made (lists before this field have none)


@dataclass(frozen=True)
class TrustedIssuer:
    code: int
    name: str
    base_url: str
    keys: dict[bytes, TrustedKey]


@dataclass(frozen=True)
class TrustList:
    """A trust list whose root signature, expiry and sequence have been checked."""

    sequence: int
    issued_at: datetime
    expires_at: datetime
    issuers: dict[int, TrustedIssuer]
    token: str = field(repr=False)

    def issuer(self, code: int) -> TrustedIssuer | None:
        return self.issuers.get(code)

    def active_key(self, code: int, kid: bytes) -> bytes | None:
        """The public key of ``kid`` if this list names it as an *active* key of issuer ``code``:
        the only keys that may sign status data or a live record. (The status-list loaders take
        this method as their ``public_key_for``.)"""
        issuer = self.issuers.get(code)
        key = issuer.keys.get(kid) if issuer is not None else None
        if key is None or key.status is not KeyStatus.ACTIVE:
            return None
        return key.public_key

    @classmethod
    def load(
        cls,
        token: str | bytes,
        root_public_key: bytes | Ed25519PublicKey,
        *,
        min_sequence: int = 0,
        now: datetime | None = None,
        check_expiry: bool = True,
    ) -> TrustList:
        """Verify ``token`` against the pinned root key and parse it.

        Raises :class:`TrustListError` for a bad signature, a malformed list, an expired list
        (unless ``check_expiry`` is false: the verifier reports staleness itself), or a
        sequence number below ``min_sequence`` (a replay of an older list).
        """
        if isinstance(token, bytes):
            token = token.decode("ascii", "replace")
        token = token.strip()
        key = (
            root_public_key
            if isinstance(root_public_key, Ed25519PublicKey)
            else Ed25519PublicKey.from_public_bytes(root_public_key)
        )
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != TOKEN_TYPE:
                raise TrustListError(
                    f"not a trust list (typ {header.get('typ')!r})", message_zh="这不是信任列表"
                )
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                options={"verify_exp": False, "require": ["seq", "iat", "exp", "issuers", "iss"]},
                issuer=ROOT_ISSUER,
                # A verifier's clock a little behind the root's must not refuse a fresh list
                # (pyjwt refuses an iat in the future); expiry is judged below, by our clock.
                leeway=CLOCK_LEEWAY,
            )
        except jwt.InvalidSignatureError as exc:
            raise TrustListError(
                "the trust list is not signed by the pinned root key", message_zh="信任列表的根签名无效"
            ) from exc
        except jwt.PyJWTError as exc:
            raise TrustListError(f"malformed trust list: {exc}", message_zh="信任列表格式错误") from exc
        try:
            sequence = int(claims["seq"])
            issued_at = datetime.fromtimestamp(int(claims["iat"]), UTC)
            expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
            issuers = {}
            for raw in claims["issuers"]:
                entry = validate_issuer_entry(raw)
                issuers[entry["code"]] = _trusted_issuer(entry)
        except (KeyError, TypeError, ValueError) as exc:
            raise TrustListError(f"malformed trust list: {exc}", message_zh="信任列表格式错误") from exc
        if sequence < min_sequence:
            raise TrustListError(
                f"trust list sequence {sequence} is older than the {min_sequence} already accepted (replay?)",
                message_zh=f"信任列表序号 {sequence} 早于已接受的 {min_sequence}（重放？）",
            )
        moment = now or datetime.now(UTC)
        if check_expiry and moment >= expires_at:
            raise TrustListError(
                f"the trust list expired at {expires_at.isoformat()}",
                message_zh=f"信任列表已于 {expires_at.isoformat()} 过期",
            )
        return cls(sequence, issued_at, expires_at, issuers, token)


def _trusted_issuer(entry: dict[str, Any]) -> TrustedIssuer:
    keys: dict[bytes, TrustedKey] = {}
    for key in entry["keys"]:
        kid = bytes.fromhex(key["kid"])
        status = KeyStatus(key["status"])
        public = None if status is KeyStatus.COMPROMISED else public_key_from_jwk(key)
        valid_to = datetime.fromisoformat(key["valid_to"]) if key.get("valid_to") else None
        valid_from = datetime.fromisoformat(key["valid_from"]) if key.get("valid_from") else None
        keys[kid] = TrustedKey(kid, public, status, valid_to, valid_from)
    return TrustedIssuer(int(entry["code"]), str(entry["name"]), str(entry.get("base_url") or ""), keys)


def build_trust_list(
    directory: KeyDirectory,
    *,
    validity: timedelta = DEFAULT_VALIDITY,
    now: datetime | None = None,
    sequence: int | None = None,
) -> str:
    """Sign a new trust list naming this directory's issuer (none in a root-only directory) and
    its imported peers.

    Without ``sequence`` each call takes the next sequence number of the keyring (written back),
    so the newest list always wins; a service signing its published list passes the ``sequence``
    it computed from the published ones and writes nothing.
    """
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    issuers = directory.trust_list_entries()
    codes = [entry["code"] for entry in issuers]
    if len(set(codes)) != len(codes):
        raise TrustListError("two issuers share one code", message_zh="两个签发机构使用了同一代码")
    for entry in issuers:
        validate_issuer_entry(entry)
    root: Ed25519PrivateKey = directory.root_signing_key()
    root_kid = derive_kid(root.public_key().public_bytes_raw()).hex()
    claims = {
        "iss": ROOT_ISSUER,
        "seq": directory.next_trust_list_sequence() if sequence is None else sequence,
        "iat": int(moment.timestamp()),
        "exp": int((moment + validity).timestamp()),
        "issuers": issuers,
    }
    return jwt.encode(claims, root, algorithm="EdDSA", headers={"typ": TOKEN_TYPE, "kid": root_kid})


def jwks(directory: KeyDirectory) -> dict[str, Any]:
    """The issuer's verifying keys (active ones) as a JWKS, RFC 7517 §5."""
    return {
        "keys": [
            public_jwk(record.public_key, record.kid)
            for record in directory.key_records()
            if record.status is KeyStatus.ACTIVE
        ]
    }


def dumps_jwks(directory: KeyDirectory) -> str:
    return json.dumps(jwks(directory), indent=2)
