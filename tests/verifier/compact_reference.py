"""An independent writer of the compact status list and the freshness document, straight from the
status data formats of docs/interfaces.md, for the page's tests: it signs well-formed publications and
hostile ones (a stream of another value, values out of order, an index beyond the shard, garbage
after a stream, a wrong count) that a correct issuer never produces. tests/vectors/status-compact.json
holds the issuer's own bytes; this module is the second, hand-written encoder they are checked against.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any

import cbor2
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

COMPACT_TYPE = "application/vnd.anxinma.status+cose"
FRESHNESS_TYPE = "anxinma-status-freshness+jwt"


def rice(indices: list[int], k: int) -> bytes:
    """Ascending indices as Golomb-Rice coded gaps (quotient in unary, then k bits), MSB first."""
    bits: list[int] = []
    previous = -1
    for index in indices:
        gap = index - previous - 1
        bits += [1] * (gap >> k) + [0]
        bits += [(gap >> (k - 1 - i)) & 1 for i in range(k)]
        previous = index
    bits += [0] * (-len(bits) % 8)
    return bytes(int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8))


def best_k(indices: list[int]) -> int:
    return min(range(25), key=lambda k: len(rice(indices, k)) if len(indices) < 5000 else abs(k - 6))


def streams_of(statuses: Mapping[int, int]) -> list[list[Any]]:
    """[value, k, count, bytes] for each non-zero value present, ascending (statuses: index -> value)."""
    out: list[list[Any]] = []
    for value in (1, 2, 3):
        indices = sorted(i for i, v in statuses.items() if v == value)
        if indices:
            k = best_k(indices)
            out.append([value, k, len(indices), rice(indices, k)])
    return out


def sign_compact(
    key: Ed25519PrivateKey,
    kid: bytes,
    *,
    issuer_code: int,
    shard: int = 0,
    size: int,
    version: int,
    statuses: Mapping[int, int] | None = None,
    streams: list[list[Any]] | None = None,
    iat: int | None = None,
) -> bytes:
    """A tagged COSE_Sign1 of the compact form; ``streams`` given as-is (hostile) or from ``statuses``."""
    protected = cbor2.dumps({1: -8, 4: kid, 16: COMPACT_TYPE}, canonical=True)
    payload = cbor2.dumps(
        {
            1: issuer_code,
            2: shard,
            3: size,
            4: version,
            5: int(time.time()) if iat is None else iat,
            6: streams if streams is not None else streams_of(statuses or {}),
        },
        canonical=True,
    )
    signed = cbor2.dumps(["Signature1", protected, b"", payload])
    return bytes(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, key.sign(signed)])))


def digest(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("ascii") if isinstance(data, str) else data).hexdigest()


def sign_freshness(
    key: Ed25519PrivateKey,
    kid: bytes,
    *,
    issuer_code: int,
    seq: int,
    shards: list[tuple[int, int, int, bytes, str]],
    iat: int | None = None,
    ttl: int = 300,
) -> str:
    """The freshness JWT; ``shards``: (shard, version, size, compact bytes, url)."""
    moment = int(time.time()) if iat is None else iat
    claims = {
        "iss": str(issuer_code),
        "seq": seq,
        "iat": moment,
        "exp": moment + 7 * 86400,
        "ttl": ttl,
        "shards": [
            {"shard": s, "version": v, "size": n, "digest": digest(body), "url": url}
            for s, v, n, body, url in shards
        ],
    }
    headers = {"typ": FRESHNESS_TYPE, "kid": kid.hex()}
    return jwt.encode(json.loads(json.dumps(claims)), key, algorithm="EdDSA", headers=headers)
