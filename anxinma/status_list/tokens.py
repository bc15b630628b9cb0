"""The standard token forms of a status list (JWT and CWT), and the verified :class:`StatusList`.

The shape follows the IETF OAuth Token Status List draft (draft-ietf-oauth-status-list §4,
§5): a JWT with ``typ: statuslist+jwt`` whose ``status_list`` claim is
``{"bits": 2, "lst": base64url(zlib(packed))}``; index ``i`` occupies bits ``2i`` and
``2i+1`` counted from the least significant bit of byte 0. The credential's serial is its
index. One list covers :data:`SHARD_SIZE` serials, so a province's lists stay small and a
change recompresses only its shard.

Compression: every zlib strategy yields a stream any inflater reads; we keep the smallest of
Huffman-only, RLE and (on sparse arrays only) filtered LZ77, because on mixed statuses
Huffman-only wins (1.18x the Shannon bound for 1 % revoked and 5 % attention, against 1.30x
for the default; see docs/benchmarks.md) at a hundredth of the time.

Two token forms carry the same list: the JWT (``statuslist+jwt``, what verifiers read by
default) and the CWT of the draft's §5.2 (``application/statuslist+cwt``: a COSE_Sign1 whose
``lst`` is raw bytes, so the token stays within a few hundred bytes of the compressed list,
where the JWT's base64url inside base64url costs 1.78x). :func:`sign_status_list_cwt` and
:func:`load_status_list_cwt` make and read it.

Signing uses the issuer's credential keys (the ones the trust list names), with the kid in
the JWS header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from anxinma.errors import StatusListError
from anxinma.keys.jwk import b64url, b64url_decode
from anxinma.keys.trust_list import CLOCK_LEEWAY
from anxinma.status_list.array import BITS, SHARD_SIZE, CredentialStatus, StatusArray, shard_of

TOKEN_TYPE = "statuslist+jwt"
DEFAULT_TTL = timedelta(hours=1)
DEFAULT_VALIDITY = timedelta(days=7)


@dataclass(frozen=True)
class StatusList:
    """A verified status list for one shard of one issuer."""

    issuer_code: int
    shard: int
    size: int
    issued_at: datetime
    expires_at: datetime
    ttl: int
    uri: str
    array: StatusArray = field(repr=False)
    token: str = field(repr=False)
    cwt: bytes | None = field(default=None, repr=False)  # the CWT form's bytes, when read from one
    #: The publication's version (docs/interfaces.md, status data: strictly increasing per shard); 0 for a
    #: token made before versions existed.
    version: int = 0
    #: Lower-case hex SHA-256 of the token's bytes as given (:func:`digest_of`).
    digest: str = ""
    compact: bytes | None = field(default=None, repr=False)  # the compact form's bytes, when read from one
    kid: bytes = b""  # the key that signed it (the verifier's trust rules check it is still usable)

    def status(self, serial: int) -> CredentialStatus | None:
        """The serial's status, or None when this list does not cover it."""
        shard, index = shard_of(serial)
        if shard != self.shard or index >= self.size:
            return None
        return self.array.get(index)


def sign_status_list(
    array: StatusArray,
    *,
    issuer_code: int,
    shard: int,
    uri: str,
    key: Ed25519PrivateKey,
    kid: bytes,
    now: datetime | None = None,
    ttl: timedelta = DEFAULT_TTL,
    validity: timedelta = DEFAULT_VALIDITY,
    version: int = 0,
) -> str:
    """Sign a status list token for one shard (draft-ietf-oauth-status-list §5.1).

    ``version`` (>= 1 for every new publication; 0 only for callers from before versions)
    goes into the private ``anxinma`` claim; 0 leaves it out, so such a token is the old one.
    """
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    claims = {
        "sub": uri,
        "iat": int(moment.timestamp()),
        "exp": int((moment + validity).timestamp()),
        "ttl": int(ttl.total_seconds()),
        "status_list": {"bits": BITS, "lst": b64url(array.compress())},
        "anxinma": _private_claim(issuer_code, shard, array.size, version),
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": TOKEN_TYPE, "kid": kid.hex()})


PublicKeyLookup = Callable[[int, bytes], bytes | None]


def signer_key(
    public_key_for: PublicKeyLookup,
    issuer_code: int,
    kid: bytes,
    what: str = "status list",
    what_zh: str = "状态列表",
) -> bytes:
    """The raw public key that may verify what ``issuer_code`` signed under ``kid`` (every form:
    the JWT, the CWT, the compact list, the freshness document); a :class:`StatusListError`
    when the trust list gives none (an unknown, retired or compromised key)."""
    public = public_key_for(issuer_code, kid)
    if public is None:
        raise StatusListError(
            f"{what} signed by key {kid.hex()} that issuer {issuer_code} does not hold",
            message_zh=f"{what_zh}的签名密钥不在信任列表中",
        )
    return public


def digest_of(body: str | bytes) -> str:
    """Lower-case hex SHA-256 of a publication's exact bytes (a JWT's text as ASCII).

    Raises :class:`StatusListError` for text that is not ASCII (no token of ours is).
    """
    if isinstance(body, str):
        try:
            body = body.encode("ascii")
        except UnicodeEncodeError as exc:
            raise StatusListError("a token is ASCII text", message_zh="令牌应为 ASCII 文本") from exc
    return hashlib.sha256(body).hexdigest()


def _private_claim(issuer_code: int, shard: int, size: int, version: int) -> dict[str, int]:
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"a status list version is an int >= 0, not {version!r}")
    info = {"issuer_code": issuer_code, "shard": shard, "size": size}
    if version:
        info["version"] = version
    return info


def _version_of(info: dict[str, Any]) -> int:
    """The ``version`` of the private claim: absent (an old token) is 0."""
    version = info.get("version", 0) if isinstance(info, dict) else None
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise StatusListError(
            f"status list version {version!r} is not an int >= 0", message_zh="状态列表版本号无效"
        )
    return version


def load_status_list(token: str, public_key_for: PublicKeyLookup) -> StatusList:
    """Verify a status list token with the issuer key the trust list gives for (code, kid).

    ``public_key_for(issuer_code, kid)`` returns the raw public key of a key that may verify,
    or None. Expiry is *not* enforced here: the verifier turns an old list into
    ``status_unknown`` with its age, rather than an exception.
    """
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
        info = unverified["anxinma"]
        issuer_code = int(info["issuer_code"])
        kid = bytes.fromhex(header["kid"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise StatusListError(f"malformed status list: {exc}", message_zh="状态列表格式错误") from exc
    if header.get("typ") != TOKEN_TYPE:
        raise StatusListError("not a status list token")
    public = signer_key(public_key_for, issuer_code, kid)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            Ed25519PublicKey.from_public_bytes(public),
            algorithms=["EdDSA"],
            options={"verify_exp": False, "require": ["sub", "iat", "exp", "status_list"]},
            leeway=CLOCK_LEEWAY,  # a verifier's clock a little behind the issuer's is not an error
        )
        status_list = claims["status_list"]
        if status_list.get("bits") != BITS:
            raise StatusListError(f"status lists of {status_list.get('bits')} bits are not read")
        info = claims["anxinma"]
        size = int(info["size"])
        if not 0 <= size <= SHARD_SIZE:
            raise StatusListError("status list size out of range")
        array = StatusArray.decompress(b64url_decode(status_list["lst"]), size=None)
        if array.size < size:
            raise StatusListError("status list shorter than its declared size")
        array.size = size
        return StatusList(
            issuer_code=int(info["issuer_code"]),
            shard=int(info["shard"]),
            size=size,
            issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            ttl=int(claims.get("ttl", 0)),
            uri=str(claims["sub"]),
            array=array,
            token=token,
            version=_version_of(info),
            digest=digest_of(token),
            kid=kid,
        )
    except jwt.InvalidSignatureError as exc:
        raise StatusListError(
            "the status list signature does not verify", message_zh="状态列表签名无效"
        ) from exc
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise StatusListError(f"malformed status list: {exc}", message_zh="状态列表格式错误") from exc


# -- the CWT form (draft-ietf-oauth-status-list §5.2) ---------------------------------------

CWT_TYPE = "application/statuslist+cwt"
_COSE_ALG, _COSE_KID, _COSE_TYP = 1, 4, 16  # RFC 9052 §3.1, RFC 9596 (typ)
_CWT_SUB, _CWT_EXP, _CWT_IAT = 2, 4, 6  # RFC 8392 §3.1
_CWT_STATUS_LIST, _CWT_TTL = 65533, 65534  # draft-ietf-oauth-status-list §5.2
_CWT_ANXINMA = "anxinma"  # private claim: issuer code, shard, size
_COSE_SIGN1_TAG = 18


def sign_status_list_cwt(
    array: StatusArray,
    *,
    issuer_code: int,
    shard: int,
    uri: str,
    key: Ed25519PrivateKey,
    kid: bytes,
    now: datetime | None = None,
    ttl: timedelta = DEFAULT_TTL,
    validity: timedelta = DEFAULT_VALIDITY,
    version: int = 0,
) -> bytes:
    """The same list as :func:`sign_status_list`, as a tagged COSE_Sign1 (EdDSA) CWT."""
    import cbor2

    from anxinma.credential import sig_structure

    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    protected = cbor2.dumps({_COSE_ALG: -8, _COSE_KID: kid, _COSE_TYP: CWT_TYPE}, canonical=True)
    claims = {
        _CWT_SUB: uri,
        _CWT_IAT: int(moment.timestamp()),
        _CWT_EXP: int((moment + validity).timestamp()),
        _CWT_TTL: int(ttl.total_seconds()),
        _CWT_STATUS_LIST: {"bits": BITS, "lst": array.compress()},
        _CWT_ANXINMA: _private_claim(issuer_code, shard, array.size, version),
    }
    payload = cbor2.dumps(claims, canonical=True)
    signature = key.sign(sig_structure(protected, payload))
    return bytes(cbor2.dumps(cbor2.CBORTag(_COSE_SIGN1_TAG, [protected, {}, payload, signature])))


def load_status_list_cwt(data: bytes, public_key_for: PublicKeyLookup) -> StatusList:
    """Verify and read a CWT status list; raises :class:`StatusListError` saying why not."""
    import cbor2

    from anxinma import ed25519
    from anxinma.credential import sig_structure

    try:
        outer = cbor2.loads(data)
        if not isinstance(outer, cbor2.CBORTag) or outer.tag != _COSE_SIGN1_TAG or len(outer.value) != 4:
            raise StatusListError("not a COSE_Sign1 status list")
        protected, _unprotected, payload, signature = outer.value
        header = cbor2.loads(protected)
        claims = cbor2.loads(payload)
        if header.get(_COSE_TYP) != CWT_TYPE or header.get(_COSE_ALG) != -8:
            raise StatusListError("not an EdDSA status list CWT")
        info = claims[_CWT_ANXINMA]
        issuer_code, kid = int(info["issuer_code"]), bytes(header[_COSE_KID])
    except StatusListError:
        raise
    except (cbor2.CBORError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StatusListError(f"malformed status list: {exc}", message_zh="状态列表格式错误") from exc
    public = signer_key(public_key_for, issuer_code, kid)
    if not ed25519.verify(public, bytes(signature), sig_structure(protected, payload)):
        raise StatusListError("the status list signature does not verify", message_zh="状态列表签名无效")
    try:
        status_list = claims[_CWT_STATUS_LIST]
        if status_list.get("bits") != BITS:
            raise StatusListError(f"status lists of {status_list.get('bits')} bits are not read")
        size = int(info["size"])
        if not 0 <= size <= SHARD_SIZE:
            raise StatusListError("status list size out of range")
        array = StatusArray.decompress(bytes(status_list["lst"]))
        if array.size < size:
            raise StatusListError("status list shorter than its declared size")
        array.size = size
        return StatusList(
            issuer_code=issuer_code,
            shard=int(info["shard"]),
            size=size,
            issued_at=datetime.fromtimestamp(int(claims[_CWT_IAT]), UTC),
            expires_at=datetime.fromtimestamp(int(claims[_CWT_EXP]), UTC),
            ttl=int(claims.get(_CWT_TTL, 0)),
            uri=str(claims[_CWT_SUB]),
            array=array,
            token="",
            cwt=bytes(data),
            version=_version_of(info),
            digest=digest_of(bytes(data)),
            kid=kid,
        )
    except StatusListError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StatusListError(f"malformed status list: {exc}", message_zh="状态列表格式错误") from exc
