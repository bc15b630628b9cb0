"""The freshness document (anxinma/status_list/freshness.py, contract 15 §1.3)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from anxinma.status_list import ShardVersion, load_freshness, sign_freshness
from tests.status_list.support import ISSUER, KEY, KID, SIGNED_AT, lookup

SHARDS = [
    ShardVersion(1, 4, 200, "ab" * 32, "https://v.example.cn/status/330200/1/compact"),
    ShardVersion(0, 17, 61442, "cd" * 32, "https://v.example.cn/status/330200/0/compact"),
]


def test_a_freshness_document_round_trips() -> None:
    token = sign_freshness(issuer_code=ISSUER, seq=1042, shards=SHARDS, key=KEY, kid=KID, now=SIGNED_AT)
    loaded = load_freshness(token, lookup())
    assert (loaded.issuer_code, loaded.seq, loaded.ttl, loaded.kid) == (ISSUER, 1042, 300, KID)
    assert loaded.issued_at == SIGNED_AT and loaded.expires_at == SIGNED_AT + timedelta(days=7)
    assert loaded.shards == {entry.shard: entry for entry in SHARDS}
    assert loaded.token == token and loaded.digest == hashlib.sha256(token.encode()).hexdigest()
    assert loaded.lists(0, 17, "cd" * 32) and not loaded.lists(0, 16)
