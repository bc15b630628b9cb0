"""Keys and small helpers the status-list tests share (fixed seeds: the same bytes every run)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma.credential import sig_structure
from anxinma.ed25519 import SigningKey
from anxinma.status_list import COMPACT_TYPE, PublicKeyLookup, StatusArray

ISSUER = 330200
KID = bytes.fromhex("be5d")
KEY = SigningKey(hashlib.sha256(b"anxinma status list tests: issuer key").digest()).to_cryptography()
PUBLIC = KEY.public_key().public_bytes_raw()
OTHER_KEY = SigningKey(hashlib.sha256(b"anxinma status list tests: another key").digest()).to_cryptography()
SIGNED_AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def lookup(public: bytes = PUBLIC, *, issuer: int = ISSUER, kid: bytes = KID) -> PublicKeyLookup:
    """A trust-list lookup that gives ``public`` for (issuer, kid) and nothing else."""

    def public_key_for(code: int, asked: bytes) -> bytes | None:
        return public if code == issuer and asked == kid else None

    return public_key_for


def array_of(size: int, statuses: dict[int, int]) -> StatusArray:
    array = StatusArray(size)
    for index, value in statuses.items():
        array.set(index, value)
    return array


def forge_compact(
    payload: Any,
    *,
    header: Any = None,
    unprotected: Any = None,
    tag: int | None = 18,
    key: Ed25519PrivateKey = KEY,
    signature: bytes | None = None,
) -> bytes:
    """A compact form built by hand (payload or header given as a value or as raw CBOR bytes), signed.

    What the refusal tests and the invalid vectors make: anything the real signer would never
    write, with a valid signature over it, so the loader's own checks are what refuses it.
    """
    if header is None:
        header = {1: -8, 4: KID, 16: COMPACT_TYPE}
    protected = header if isinstance(header, bytes) else cbor2.dumps(header, canonical=True)
    body = payload if isinstance(payload, bytes) else cbor2.dumps(payload, canonical=True)
    if signature is None:
        signature = key.sign(sig_structure(protected, body))
    parts = [protected, {} if unprotected is None else unprotected, body, signature]
    return bytes(cbor2.dumps(parts if tag is None else cbor2.CBORTag(tag, parts), canonical=True))


def compact_payload(size: int, streams: list[list[Any]], **overrides: Any) -> dict[int, Any]:
    """A compact payload with the test issuer, shard 0, version 1 and SIGNED_AT, streams as given."""
    payload: dict[int, Any] = {1: ISSUER, 2: 0, 3: size, 4: 1, 5: int(SIGNED_AT.timestamp()), 6: streams}
    for name, value in overrides.items():
        payload[_PAYLOAD_KEY[name]] = value
    return payload


_PAYLOAD_KEY = {"issuer": 1, "shard": 2, "size": 3, "version": 4, "iat": 5, "streams": 6}
