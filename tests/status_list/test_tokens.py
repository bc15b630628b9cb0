"""The standard token forms (anxinma/status_list/tokens.py), apart from the issuer that publishes them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma.errors import StatusListError
from anxinma.status_list import (
    CredentialStatus,
    StatusArray,
    load_compact_status_list,
    load_status_list,
    load_status_list_cwt,
    sign_compact_status_list,
    sign_status_list,
    sign_status_list_cwt,
)
from tests.status_list.support import KEY, KID, array_of, lookup

URI = "https://v.example.cn/status/330200/0"


def _token(signed_at: datetime, key: Ed25519PrivateKey) -> str:
    array = StatusArray(8)
    array.set(3, CredentialStatus.REVOKED)
    return sign_status_list(array, issuer_code=330200, shard=0, uri=URI, key=key, kid=KID, now=signed_at)


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


# -- versions and digests (docs/interfaces.md, status data) ----------------------------------------------


def _signed(version: int) -> tuple[str, bytes]:
    array = array_of(100, {3: 1, 50: 3})
    token = sign_status_list(array, issuer_code=330200, shard=0, uri=URI, key=KEY, kid=KID, version=version)
    cwt = sign_status_list_cwt(array, issuer_code=330200, shard=0, uri=URI, key=KEY, kid=KID, version=version)
    return token, cwt


def test_the_version_and_digest_round_trip_in_the_jwt_and_cwt_forms() -> None:
    token, cwt = _signed(17)
    from_jwt = load_status_list(token, lookup())
    from_cwt = load_status_list_cwt(cwt, lookup())
    assert (from_jwt.version, from_cwt.version) == (17, 17)
    assert from_jwt.digest == hashlib.sha256(token.encode("ascii")).hexdigest()
    assert from_cwt.digest == hashlib.sha256(cwt).hexdigest()
    assert from_jwt.status(50) is CredentialStatus.ATTENTION
    assert from_cwt.status(3) is CredentialStatus.REVOKED


def test_the_version_sits_in_the_private_claim() -> None:
    token, _ = _signed(5)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["anxinma"] == {"issuer_code": 330200, "shard": 0, "size": 100, "version": 5}


def test_a_token_without_a_version_reads_as_version_0() -> None:
    token, cwt = _signed(0)
    assert "version" not in jwt.decode(token, options={"verify_signature": False})["anxinma"]
    assert load_status_list(token, lookup()).version == 0
    assert load_status_list_cwt(cwt, lookup()).version == 0


def test_a_negative_version_is_not_signed() -> None:
    with pytest.raises(ValueError):
        sign_status_list(StatusArray(4), issuer_code=330200, shard=0, uri=URI, key=KEY, kid=KID, version=-1)


@pytest.mark.parametrize("version", [-1, "3", True, 1.5])
def test_a_version_that_is_not_an_int_of_0_or_more_is_refused(version: object) -> None:
    claims = {
        "sub": URI,
        "iat": 1765100000,
        "exp": 1765704800,
        "status_list": {"bits": 2, "lst": "eNoDAAAAAAE"},
        "anxinma": {"issuer_code": 330200, "shard": 0, "size": 0, "version": version},
    }
    token = jwt.encode(claims, KEY, algorithm="EdDSA", headers={"typ": "statuslist+jwt", "kid": KID.hex()})
    with pytest.raises(StatusListError, match="version"):
        load_status_list(token, lookup())


def test_every_form_keeps_the_kid_that_signed_it() -> None:
    token, cwt = _signed(3)
    compact = sign_compact_status_list(
        StatusArray(4), issuer_code=330200, shard=0, version=3, key=KEY, kid=KID
    )
    assert load_status_list(token, lookup()).kid == KID
    assert load_status_list_cwt(cwt, lookup()).kid == KID
    assert load_compact_status_list(compact, lookup()).kid == KID
