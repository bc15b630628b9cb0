"""Keys and small helpers the status-list tests share (fixed seeds: the same bytes every run)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from anxinma.ed25519 import SigningKey
from anxinma.status_list import PublicKeyLookup, StatusArray

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
