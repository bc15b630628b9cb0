"""The status forms the issuer publishes, signed through ``anxinma.status_list`` (contract §1).

The formats themselves belong to ``anxinma.status_list``; this module is the issuer's one call
site for them. While that module lacks the issue-15 API (``sign_compact_status_list``,
``sign_freshness``, the ``version`` keyword), the stand-ins below sign the forms exactly as the
contract (§1.2, §1.3) fixes them, so the publisher, its tables and its tests are the same either
way; once the formats branch is merged they are never reached.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma import status_list
from anxinma.credential import sig_structure
from anxinma.status_list import StatusArray

COMPACT_TYPE: str = getattr(status_list, "COMPACT_TYPE", "application/vnd.anxinma.status+cose")
FRESHNESS_TYPE = "anxinma-status-freshness+jwt"
#: A shard's and a freshness document's validity (``exp`` = iat + this; contract §1.1, §1.3).
VALIDITY = timedelta(days=7)


def digest(body: bytes) -> str:
    """Contract §0: lower-case hex SHA-256 of the exact bytes as served."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class ShardEntry:
    """One shard as the freshness document lists it (``ShardVersion`` of contract §1.3)."""

    shard: int
    version: int
    size: int
    digest: str
    url: str


def _accepts_version(function: Callable[..., Any]) -> bool:
    return "version" in inspect.signature(function).parameters


def sign_jwt(
    array: StatusArray, *, issuer_code: int, shard: int, uri: str, version: int, key: Ed25519PrivateKey,
    kid: bytes, now: datetime, ttl: int,
) -> bytes:  # fmt: skip
    """The standard ``statuslist+jwt`` form, versioned when ``status_list`` can say so."""
    extra: dict[str, Any] = {"version": version} if _accepts_version(status_list.sign_status_list) else {}
    token = status_list.sign_status_list(
        array, issuer_code=issuer_code, shard=shard, uri=uri, key=key, kid=kid, now=now,
        ttl=timedelta(seconds=ttl), validity=VALIDITY, **extra,
    )  # fmt: skip
    return token.encode("ascii")


def sign_cwt(
    array: StatusArray, *, issuer_code: int, shard: int, uri: str, version: int, key: Ed25519PrivateKey,
    kid: bytes, now: datetime, ttl: int,
) -> bytes:  # fmt: skip
    """The standard ``statuslist+cwt`` form."""
    extra: dict[str, Any] = {"version": version} if _accepts_version(status_list.sign_status_list_cwt) else {}
    return status_list.sign_status_list_cwt(
        array, issuer_code=issuer_code, shard=shard, uri=uri, key=key, kid=kid, now=now,
        ttl=timedelta(seconds=ttl), validity=VALIDITY, **extra,
    )  # fmt: skip


def sign_compact(
    array: StatusArray, *, issuer_code: int, shard: int, version: int, key: Ed25519PrivateKey, kid: bytes,
    now: datetime,
) -> bytes:  # fmt: skip
    """The compact form of contract §1.2 (``application/vnd.anxinma.status+cose``)."""
    native = getattr(status_list, "sign_compact_status_list", None)
    if native is not None:
        return bytes(
            native(array, issuer_code=issuer_code, shard=shard, version=version, key=key, kid=kid, now=now)
        )
    protected = cbor2.dumps({1: -8, 4: kid, 16: COMPACT_TYPE}, canonical=True)
    payload = cbor2.dumps(
        {
            1: issuer_code,
            2: shard,
            3: array.size,
            4: version,
            5: int(now.timestamp()),
            6: _streams(array),
        },
        canonical=True,
    )
    signature = key.sign(sig_structure(protected, payload))
    return bytes(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


def _streams(array: StatusArray) -> list[list[Any]]:
    """Contract §1.2: per non-zero value, its indices as Rice-coded gaps, k chosen per stream."""
    indices: dict[int, list[int]] = {1: [], 2: [], 3: []}
    raw = array.to_bytes()
    for byte_index, byte in enumerate(raw):
        if byte:
            for slot in range(4):
                value = byte >> (2 * slot) & 3
                index = byte_index * 4 + slot
                if value and index < array.size:
                    indices[value].append(index)
    streams: list[list[Any]] = []
    for value in (1, 2, 3):
        found = indices[value]
        if not found:
            continue
        gaps = [found[0]] + [b - a - 1 for a, b in itertools.pairwise(found)]
        k = min(range(25), key=lambda k: sum((g >> k) + 1 + k for g in gaps))
        streams.append([value, k, len(found), _rice(gaps, k)])
    return streams


def _rice(gaps: Sequence[int], k: int) -> bytes:
    bits: list[str] = []
    for gap in gaps:
        bits.append("1" * (gap >> k) + "0")
        if k:
            bits.append(format(gap & ((1 << k) - 1), f"0{k}b"))
    text = "".join(bits)
    text += "0" * (-len(text) % 8)
    return int(text, 2).to_bytes(len(text) // 8, "big") if text else b""


def sign_freshness(
    *, issuer_code: int, seq: int, shards: Sequence[ShardEntry], key: Ed25519PrivateKey, kid: bytes,
    now: datetime, ttl: int,
) -> bytes:  # fmt: skip
    """The freshness document of contract §1.3 (compact JWS, EdDSA)."""
    native = getattr(status_list, "sign_freshness", None)
    version_type = getattr(status_list, "ShardVersion", None)
    if native is not None and version_type is not None:
        listed = [version_type(s.shard, s.version, s.size, s.digest, s.url) for s in shards]
        token = native(
            issuer_code=issuer_code,
            seq=seq,
            shards=listed,
            key=key,
            kid=kid,
            now=now,
            ttl=timedelta(seconds=ttl),
        )
        return str(token).encode("ascii")
    moment = now.astimezone(UTC).replace(microsecond=0)
    claims = {
        "iss": str(issuer_code),
        "seq": seq,
        "iat": int(moment.timestamp()),
        "exp": int((moment + VALIDITY).timestamp()),
        "ttl": ttl,
        "shards": [
            {"shard": s.shard, "version": s.version, "size": s.size, "digest": s.digest, "url": s.url}
            for s in shards
        ],
    }
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": FRESHNESS_TYPE, "kid": kid.hex()})
    return token.encode("ascii")


def canonical(value: Any) -> str:
    """A digest of a JSON value independent of key order (what a publication was made from)."""
    return digest(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
