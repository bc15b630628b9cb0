"""The status-list token itself (anxinma/status_list.py), apart from the issuer that publishes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma.errors import StatusListError
from anxinma.status_list import CredentialStatus, StatusArray, load_status_list, sign_status_list

KID = bytes.fromhex("be5d")


def _token(signed_at: datetime, key: Ed25519PrivateKey) -> str:
    array = StatusArray(8)
    array.set(3, CredentialStatus.REVOKED)
    return sign_status_list(
        array,
        issuer_code=330200,
        shard=0,
        uri="https://v.example.cn/status/330200/0",
        key=key,
        kid=KID,
        now=signed_at,
    )


def test_a_list_signed_by_a_clock_a_minute_ahead_still_loads() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    loaded = load_status_list(_token(datetime.now(UTC) + timedelta(seconds=60), key), lambda _c, _k: public)
    assert loaded.status(3) is CredentialStatus.REVOKED
    assert loaded.status(2) is CredentialStatus.VALID


def test_a_list_dated_hours_in_the_future_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    with pytest.raises(StatusListError):
        load_status_list(_token(datetime.now(UTC) + timedelta(hours=2), key), lambda _c, _k: public)
