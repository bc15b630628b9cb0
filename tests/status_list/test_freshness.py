"""The freshness document (anxinma/status_list/freshness.py, docs/interfaces.md, status data): round trip and refusals."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anxinma.errors import StatusListError
from anxinma.status_list import FRESHNESS_TYPE, ShardVersion, load_freshness, sign_freshness
from tests.status_list.support import ISSUER, KEY, KID, OTHER_KEY, SIGNED_AT, lookup

SHARDS = [
    ShardVersion(1, 4, 200, "ab" * 32, "https://v.example.cn/status/330200/1/compact"),
    ShardVersion(0, 17, 61442, "cd" * 32, "https://v.example.cn/status/330200/0/compact"),
]


def _signed(**overrides: Any) -> str:
    arguments: dict[str, Any] = {"issuer_code": ISSUER, "seq": 1042, "shards": SHARDS, "key": KEY, "kid": KID}
    arguments.update(overrides)
    return sign_freshness(now=SIGNED_AT, **arguments)


def _claims() -> dict[str, Any]:
    return dict(jwt.decode(_signed(), options={"verify_signature": False}))


def _forged(claims: dict[str, Any], *, typ: str = FRESHNESS_TYPE, kid: bytes = KID, key: Any = KEY) -> str:
    # the JWS layer: pyjwt's JWT layer would refuse to write some of these claims
    return jwt.api_jws.encode(
        json.dumps(claims).encode(), key, algorithm="EdDSA", headers={"typ": typ, "kid": kid.hex()}
    )


def _refused(token: str, match: str) -> None:
    with pytest.raises(StatusListError, match=match) as caught:
        load_freshness(token, lookup())
    assert caught.value.message_zh != caught.value.message


def test_a_freshness_document_round_trips() -> None:
    token = _signed()
    loaded = load_freshness(token, lookup())
    assert (loaded.issuer_code, loaded.seq, loaded.ttl, loaded.kid) == (ISSUER, 1042, 300, KID)
    assert loaded.issued_at == SIGNED_AT and loaded.expires_at == SIGNED_AT + timedelta(days=7)
    assert loaded.shards == {entry.shard: entry for entry in SHARDS}
    assert loaded.token == token and loaded.digest == hashlib.sha256(token.encode()).hexdigest()
    assert loaded.lists(0, 17, "cd" * 32) and loaded.lists(0, 17) and not loaded.lists(0, 16)
    assert not loaded.lists(0, 17, "ab" * 32) and not loaded.lists(5, 1)
    assert load_freshness(token.encode("ascii"), lookup()) == loaded


def test_the_document_is_the_contracts() -> None:
    token = _signed(ttl=timedelta(seconds=120))
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "typ": FRESHNESS_TYPE, "kid": KID.hex()}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims == {
        "iss": "330200",
        "seq": 1042,
        "iat": int(SIGNED_AT.timestamp()),
        "exp": int((SIGNED_AT + timedelta(days=7)).timestamp()),
        "ttl": 120,
        "shards": [entry.as_claim() for entry in sorted(SHARDS, key=lambda entry: entry.shard)],
    }


def test_the_same_inputs_give_the_same_token() -> None:
    assert _signed() == _signed(shards={entry.shard: entry for entry in reversed(SHARDS)})


def test_the_signer_refuses_what_a_loader_would() -> None:
    with pytest.raises(ValueError):
        _signed(seq=0)
    with pytest.raises(ValueError):
        _signed(shards=[SHARDS[0], SHARDS[0]])
    with pytest.raises(StatusListError):
        _signed(shards=[ShardVersion(0, 1, 10, "AB" * 32, "https://x/")])


def test_another_type_is_refused() -> None:
    _refused(_forged(_claims(), typ="statuslist+jwt"), "not a freshness document")


def test_another_algorithm_is_refused() -> None:
    token = jwt.encode(
        _claims(), "secret" * 6, algorithm="HS256", headers={"typ": FRESHNESS_TYPE, "kid": KID.hex()}
    )
    _refused(token, "not EdDSA")


def test_tampered_claims_are_refused() -> None:
    header, payload, signature = _signed().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["shards"][0]["version"] = 18
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    _refused(f"{header}.{forged_payload}.{signature}", "signature does not verify")


def test_a_document_signed_by_another_key_is_refused() -> None:
    _refused(_signed(key=OTHER_KEY), "signature does not verify")


def test_a_kid_the_lookup_does_not_give_is_refused() -> None:
    _refused(_signed(kid=b"\x00\x01"), "does not hold")
    _refused(_signed(issuer_code=500000), "does not hold")


@pytest.mark.parametrize("claim", ["iss", "seq", "iat", "exp", "ttl", "shards"])
def test_a_missing_claim_is_refused(claim: str) -> None:
    claims = _claims()
    del claims[claim]
    _refused(_forged(claims), "malformed|issuer code")


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("iss", 330200),
        ("iss", "ningbo"),
        ("seq", "1042"),
        ("seq", 0),
        ("seq", True),
        ("iat", "now"),
        ("exp", 1.5),
        ("ttl", 0),
        ("shards", {"0": {}}),
    ],
)
def test_a_claim_of_the_wrong_type_is_refused(claim: str, value: Any) -> None:
    claims = _claims()
    claims[claim] = value
    _refused(_forged(claims), "malformed")


def test_an_expiry_before_the_issue_time_is_refused() -> None:
    claims = _claims()
    claims["exp"] = claims["iat"] - 1
    _refused(_forged(claims), "exp")


@pytest.mark.parametrize(
    "change",
    [
        {"digest": "AB" * 32},
        {"digest": "ab" * 31},
        {"version": 0},
        {"size": 2**20 + 1},
        {"shard": -1},
        {"url": ""},
        {"extra": 1},
    ],
)
def test_a_malformed_shard_entry_is_refused(change: dict[str, Any]) -> None:
    claims = _claims()
    claims["shards"][0].update(change)
    _refused(_forged(claims), "malformed")


def test_a_shard_listed_twice_is_refused() -> None:
    claims = _claims()
    claims["shards"].append(dict(claims["shards"][0]))
    _refused(_forged(claims), "listed twice")


def test_a_document_dated_in_the_future_is_refused() -> None:
    claims = _claims()
    claims["iat"] = int(SIGNED_AT.timestamp()) + 10**9
    claims["exp"] = claims["iat"] + 1
    _refused(_forged(claims), "future")


def test_an_expired_document_still_loads_saying_when_it_expired() -> None:
    loaded = load_freshness(_signed(), lookup())
    assert loaded.expires_at == SIGNED_AT + timedelta(days=7)  # the verifier judges age, not this loader


@pytest.mark.parametrize("token", ["", "a.b.c", "not a token", "é.é.é"])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(StatusListError):
        load_freshness(token, lookup())


def _parts(token: str) -> list[bytes] | None:
    try:
        return [base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in token.split(".")]
    except ValueError:
        return None


@settings(max_examples=200, deadline=None)
@given(position=st.integers(0, 10_000), character=st.sampled_from("A_-.0z=é"))
def test_any_changed_character_is_refused_with_a_status_list_error(position: int, character: str) -> None:
    token = _signed()
    index = position % len(token)
    changed = token[:index] + character + token[index + 1 :]
    if _parts(changed) == _parts(token):
        return  # the same bytes: only the unused low bits of a part's last character changed
    with pytest.raises(StatusListError):
        load_freshness(changed, lookup())


@settings(max_examples=200, deadline=None)
@given(token=st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_random_text_is_refused_with_a_status_list_error(token: str | bytes) -> None:
    with pytest.raises(StatusListError):
        load_freshness(token, lookup())
