"""The freshness document: which publication of each shard is current (docs/interfaces.md, status data).

One small signed file in the spirit of TUF's timestamp and snapshot roles: a compact JWS
(EdDSA, ``typ: anxinma-status-freshness+jwt``) signed by an active key of the issuer, listing
each shard's current ``version``, ``size``, the SHA-256 of its compact form and where to get it.
``seq`` rises with every document, so a verifier judges it with :func:`anxinma.rollback.judge`
like every versioned thing; a sync with nothing changed moves only this document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from anxinma.errors import StatusListError
from anxinma.keys.trust_list import CLOCK_LEEWAY
from anxinma.status_list.array import SHARD_SIZE
from anxinma.status_list.tokens import DEFAULT_VALIDITY, PublicKeyLookup, digest_of, signer_key

FRESHNESS_TYPE = "anxinma-status-freshness+jwt"
DEFAULT_FRESHNESS_TTL = timedelta(minutes=5)
_CLAIMS = ("iss", "seq", "iat", "exp", "ttl", "shards")
_SHARD_FIELDS = frozenset({"shard", "version", "size", "digest", "url"})
_DIGEST = re.compile(r"[0-9a-f]{64}")
_ISSUER_CODE = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class ShardVersion:
    """One shard as a freshness document lists it: the publication current at its ``iat``."""

    shard: int
    version: int
    size: int
    digest: str  # lower-case hex SHA-256 of the compact form's bytes
    url: str

    def as_claim(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Freshness:
    """A verified freshness document of one issuer."""

    issuer_code: int
    seq: int
    issued_at: datetime
    expires_at: datetime
    ttl: int
    shards: dict[int, ShardVersion]
    kid: bytes
    token: str = field(repr=False)
    digest: str = ""

    def lists(self, shard: int, version: int, digest: str | None = None) -> bool:
        """Whether this document vouches for that publication of ``shard`` (and those bytes)."""
        listed = self.shards.get(shard)
        return (
            listed is not None and listed.version == version and (digest is None or listed.digest == digest)
        )


def _malformed(why: str) -> StatusListError:
    return StatusListError(f"malformed freshness document: {why}", message_zh="状态新鲜度文件格式错误")


def _int(value: Any, name: str, *, at_least: int = 0, at_most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < at_least:
        raise _malformed(f"{name} {value!r} is not an int >= {at_least}")
    if at_most is not None and value > at_most:
        raise _malformed(f"{name} {value} is above {at_most}")
    return value


def _shard_version(raw: Any) -> ShardVersion:
    if not isinstance(raw, dict) or set(raw) != _SHARD_FIELDS:
        raise _malformed(f"a shard entry has exactly the fields {sorted(_SHARD_FIELDS)}")
    digest, url = raw["digest"], raw["url"]
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise _malformed("a shard's digest is 64 lower-case hex digits")
    if not isinstance(url, str) or not url:
        raise _malformed("a shard's url is a non-empty string")
    return ShardVersion(
        shard=_int(raw["shard"], "shard"),
        version=_int(raw["version"], "version", at_least=1),
        size=_int(raw["size"], "size", at_most=SHARD_SIZE),
        digest=digest,
        url=url,
    )


def _shards_of(shards: Iterable[ShardVersion] | Mapping[int, ShardVersion]) -> list[ShardVersion]:
    listed = list(shards.values()) if isinstance(shards, Mapping) else list(shards)
    ordered = sorted(listed, key=lambda entry: entry.shard)
    for entry in ordered:
        _shard_version(entry.as_claim())  # the signer refuses what a loader would refuse
    if len({entry.shard for entry in ordered}) != len(ordered):
        raise ValueError("a shard listed twice in one freshness document")
    return ordered


def sign_freshness(
    *,
    issuer_code: int,
    seq: int,
    shards: Iterable[ShardVersion] | Mapping[int, ShardVersion],
    key: Ed25519PrivateKey,
    kid: bytes,
    now: datetime | None = None,
    ttl: timedelta = DEFAULT_FRESHNESS_TTL,
    validity: timedelta = DEFAULT_VALIDITY,
) -> str:
    """Sign the freshness document of ``issuer_code``; shards are written in ascending order.

    Raises ValueError (or :class:`StatusListError` for a malformed shard entry) before signing
    anything a loader would refuse.
    """
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError(f"a freshness document's seq is an int >= 1, not {seq!r}")
    if int(ttl.total_seconds()) < 1:
        raise ValueError("a freshness document's ttl is at least one second")
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    claims = {
        "iss": str(issuer_code),
        "seq": seq,
        "iat": int(moment.timestamp()),
        "exp": int((moment + validity).timestamp()),
        "ttl": int(ttl.total_seconds()),
        "shards": [entry.as_claim() for entry in _shards_of(shards)],
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": FRESHNESS_TYPE, "kid": kid.hex()})


def load_freshness(token: str | bytes, public_key_for: PublicKeyLookup) -> Freshness:
    """Verify and read a freshness document; raises :class:`StatusListError` saying why not.

    Checks the ``typ``, the algorithm (EdDSA only), the signature under the key
    ``public_key_for(issuer_code, kid)`` gives, and every claim and its type. An ``iat`` beyond
    the clock leeway in the future is refused; expiry is *not* enforced here (the verifier
    reports the age, as for status lists): :attr:`Freshness.expires_at` says when.
    """
    if isinstance(token, bytes | bytearray):
        try:
            token = bytes(token).decode("ascii")
        except UnicodeDecodeError as exc:
            raise _malformed("not ASCII text") from exc
    if not isinstance(token, str):
        raise _malformed("not text")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise _malformed(str(exc)) from exc
    if header.get("typ") != FRESHNESS_TYPE:
        raise StatusListError(
            f"not a freshness document (typ {header.get('typ')!r})", message_zh="这不是状态新鲜度文件"
        )
    if header.get("alg") != "EdDSA":
        raise StatusListError(
            f"freshness document algorithm {header.get('alg')!r} is not EdDSA",
            message_zh="状态新鲜度文件的签名算法不是 EdDSA",
        )
    issuer = unverified.get("iss") if isinstance(unverified, dict) else None
    if not isinstance(issuer, str) or not _ISSUER_CODE.fullmatch(issuer):
        raise _malformed(f"iss {issuer!r} is not an issuer code")
    kid_hex = header.get("kid")
    try:
        if not isinstance(kid_hex, str):
            raise ValueError(kid_hex)
        kid = bytes.fromhex(kid_hex)
    except ValueError as exc:
        raise _malformed(f"kid {kid_hex!r} is not hex") from exc
    issuer_code = int(issuer)
    public = signer_key(public_key_for, issuer_code, kid, "freshness document", "状态新鲜度文件")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            Ed25519PublicKey.from_public_bytes(public),
            algorithms=["EdDSA"],
            options={"verify_exp": False},
            leeway=CLOCK_LEEWAY,  # a verifier's clock a little behind the issuer's is not an error
        )
    except jwt.InvalidSignatureError as exc:
        raise StatusListError(
            "the freshness document's signature does not verify", message_zh="状态新鲜度文件签名无效"
        ) from exc
    except jwt.ImmatureSignatureError as exc:
        raise StatusListError(
            "the freshness document is dated in the future", message_zh="状态新鲜度文件的签发时间在未来"
        ) from exc
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise _malformed(str(exc)) from exc
    missing = [name for name in _CLAIMS if name not in claims]
    if missing:
        raise _malformed(f"the claims {', '.join(missing)} are missing")
    seq = _int(claims["seq"], "seq", at_least=1)
    issued = _int(claims["iat"], "iat")
    expires = _int(claims["exp"], "exp", at_least=issued)
    ttl = _int(claims["ttl"], "ttl", at_least=1)
    if not isinstance(claims["shards"], list):
        raise _malformed("shards is not a list")
    shards: dict[int, ShardVersion] = {}
    for raw in claims["shards"]:
        entry = _shard_version(raw)
        if entry.shard in shards:
            raise _malformed(f"shard {entry.shard} listed twice")
        shards[entry.shard] = entry
    try:
        issued_at, expires_at = datetime.fromtimestamp(issued, UTC), datetime.fromtimestamp(expires, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _malformed("a time out of range") from exc
    return Freshness(
        issuer_code=issuer_code,
        seq=seq,
        issued_at=issued_at,
        expires_at=expires_at,
        ttl=ttl,
        shards=shards,
        kid=kid,
        token=token,
        digest=digest_of(token),
    )
