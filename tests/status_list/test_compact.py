"""The compact form (anxinma/status_list/compact.py, contract 15 §1.2)."""

from __future__ import annotations

import hashlib

from anxinma.status_list import (
    FAR_FUTURE,
    CredentialStatus,
    compact_digest,
    load_compact_status_list,
    sign_compact_status_list,
)
from tests.status_list.support import ISSUER, KEY, KID, SIGNED_AT, array_of, lookup


def _compact(statuses: dict[int, int], size: int = 1000, version: int = 3) -> bytes:
    return sign_compact_status_list(
        array_of(size, statuses),
        issuer_code=ISSUER,
        shard=2,
        version=version,
        key=KEY,
        kid=KID,
        now=SIGNED_AT,
    )


def test_a_compact_list_round_trips_with_its_version_and_digest() -> None:
    statuses = {0: 1, 7: 2, 8: 3, 999: 1, 500: 3}
    data = _compact(statuses)
    loaded = load_compact_status_list(data, lookup())
    assert (loaded.issuer_code, loaded.shard, loaded.size, loaded.version) == (ISSUER, 2, 1000, 3)
    assert loaded.digest == hashlib.sha256(data).hexdigest() == compact_digest(data)
    assert loaded.compact == data and loaded.token == ""
    assert loaded.issued_at == SIGNED_AT and loaded.expires_at == FAR_FUTURE
    assert {i: int(loaded.array.get(i)) for i in range(1000) if loaded.array.get(i)} == statuses
    assert loaded.status(2 * 2**20 + 7) is CredentialStatus.SUSPENDED


def test_the_same_statuses_version_time_and_key_give_the_same_bytes() -> None:
    assert _compact({5: 1, 6: 3}) == _compact({6: 3, 5: 1})
    assert _compact({5: 1}) != _compact({5: 1}, version=4)
