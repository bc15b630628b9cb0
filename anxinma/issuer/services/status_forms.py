"""The status forms the issuer publishes, signed by ``anxinma.status_list`` (docs/interfaces.md, status data): the
issuer's one call site for them, with the validity and digest rules of anxinma/rollback.py, docs/interfaces.md.

Every form of a shard's publication carries the same ``version`` and ``iat``; ``exp`` of the
standard forms and of the freshness document is iat + :data:`VALIDITY`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma import status_list
from anxinma.status_list import COMPACT_TYPE, FRESHNESS_TYPE, ShardVersion, StatusArray

__all__ = ["COMPACT_TYPE", "FRESHNESS_TYPE", "VALIDITY", "ShardEntry", "canonical", "digest"]

#: A shard's and a freshness document's validity (``exp`` = iat + this; docs/interfaces.md, status data, §1.3).
VALIDITY = timedelta(days=7)
#: One shard as the freshness document lists it.
ShardEntry = ShardVersion


def digest(body: bytes) -> str:
    """Lower-case hex SHA-256 of the exact bytes as served: the formats' own digest."""
    return status_list.digest_of(body)


def sign_jwt(
    array: StatusArray, *, issuer_code: int, shard: int, uri: str, version: int, key: Ed25519PrivateKey,
    kid: bytes, now: datetime, ttl: int,
) -> bytes:  # fmt: skip
    """The standard ``statuslist+jwt`` form."""
    token = status_list.sign_status_list(
        array, issuer_code=issuer_code, shard=shard, uri=uri, key=key, kid=kid, now=now,
        ttl=timedelta(seconds=ttl), validity=VALIDITY, version=version,
    )  # fmt: skip
    return token.encode("ascii")


def sign_cwt(
    array: StatusArray, *, issuer_code: int, shard: int, uri: str, version: int, key: Ed25519PrivateKey,
    kid: bytes, now: datetime, ttl: int,
) -> bytes:  # fmt: skip
    """The standard ``statuslist+cwt`` form."""
    return status_list.sign_status_list_cwt(
        array, issuer_code=issuer_code, shard=shard, uri=uri, key=key, kid=kid, now=now,
        ttl=timedelta(seconds=ttl), validity=VALIDITY, version=version,
    )  # fmt: skip


def sign_compact(
    array: StatusArray, *, issuer_code: int, shard: int, version: int, key: Ed25519PrivateKey, kid: bytes,
    now: datetime,
) -> bytes:  # fmt: skip
    """The compact form of docs/interfaces.md, status data (``application/vnd.anxinma.status+cose``)."""
    return status_list.sign_compact_status_list(
        array, issuer_code=issuer_code, shard=shard, version=version, key=key, kid=kid, now=now
    )


def sign_freshness(
    *, issuer_code: int, seq: int, shards: Sequence[ShardVersion], key: Ed25519PrivateKey, kid: bytes,
    now: datetime, ttl: int,
) -> bytes:  # fmt: skip
    """The freshness document of docs/interfaces.md, status data (compact JWS, EdDSA)."""
    token = status_list.sign_freshness(
        issuer_code=issuer_code, seq=seq, shards=shards, key=key, kid=kid, now=now,
        ttl=timedelta(seconds=ttl), validity=VALIDITY,
    )  # fmt: skip
    return token.encode("ascii")


def canonical(value: Any) -> str:
    """A digest of a JSON value independent of key order (what a publication was made from)."""
    return digest(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
