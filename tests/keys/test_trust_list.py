"""The root-signed trust list: what a verifier trusts, checked against the pinned root key;
what rotation, retirement and compromise do to credentials already out; trust across cities."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma.errors import TrustListError
from anxinma.keys import KeyDirectory, KeyStatus, TrustList, build_trust_list, validate_issuer_entry
from anxinma.keys.jwk import b64url, b64url_decode
from anxinma.keys.trust_list import ROOT_ISSUER, TOKEN_TYPE
from anxinma.verifier import Status, Verifier
from tests.keys._support import issue_with


def verify(directory: KeyDirectory, code: bytes) -> Status:
    trust = TrustList.load(build_trust_list(directory), directory.root_public_key)
    return Verifier(trust).verify(code).status


def test_a_trust_list_is_a_jws_signed_by_the_root_key(ningbo: KeyDirectory) -> None:
    token = build_trust_list(ningbo)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["typ"] == TOKEN_TYPE
    trust = TrustList.load(token, ningbo.root_public_key)
    issuer = trust.issuer(330200)
    assert issuer is not None and issuer.name == "宁波市商务局"
    (key,) = issuer.keys.values()
    assert key.kid == ningbo.signing_kid and key.public_key == ningbo.key(key.kid).public_key
    assert key.status is KeyStatus.ACTIVE
    assert trust.expires_at - trust.issued_at == timedelta(days=30)


def test_the_trust_list_claims_name_issuers_keys_sequence_and_dates(ningbo: KeyDirectory) -> None:
    claims = jwt.decode(build_trust_list(ningbo), options={"verify_signature": False})
    assert claims["iss"] == ROOT_ISSUER and claims["seq"] == 1 and claims["exp"] > claims["iat"]
    (entry,) = claims["issuers"]
    assert entry["code"] == 330200 and entry["base_url"] == "http://127.0.0.1:8600"
    (key,) = entry["keys"]
    assert {"kid", "kty", "crv", "x", "status", "valid_from", "valid_to"} <= set(key)
    listed = TrustList.load(build_trust_list(ningbo), ningbo.root_public_key).issuers[330200].keys
    assert listed[ningbo.signing_kid].valid_from == ningbo.key(ningbo.signing_kid).created_at


def test_each_trust_list_takes_the_next_sequence_number(ningbo: KeyDirectory) -> None:
    sequences = [TrustList.load(build_trust_list(ningbo), ningbo.root_public_key).sequence for _ in range(3)]
    assert sequences == [1, 2, 3]
    assert KeyDirectory(ningbo.path).next_trust_list_sequence() == 4  # kept on disk


def test_a_list_not_signed_by_the_pinned_root_is_refused(ningbo: KeyDirectory, tmp_path: Path) -> None:
    impostor = KeyDirectory.init(tmp_path / "impostor", issuer_code=330200)
    with pytest.raises(TrustListError, match="not signed by the pinned root key") as caught:
        TrustList.load(build_trust_list(impostor), ningbo.root_public_key)
    assert "根签名无效" in caught.value.message_zh


def test_a_tampered_list_is_refused(ningbo: KeyDirectory) -> None:
    header, payload, signature = build_trust_list(ningbo).split(".")
    claims = json.loads(b64url_decode(payload))
    claims["issuers"][0]["keys"][0]["x"] = b64url(bytes(32))  # swap in another public key
    forged = ".".join([header, b64url(json.dumps(claims).encode()), signature])
    with pytest.raises(TrustListError, match="not signed by the pinned root key"):
        TrustList.load(forged, ningbo.root_public_key)
    with pytest.raises(TrustListError, match="malformed"):
        TrustList.load("not.a.jws", ningbo.root_public_key)


def test_an_older_sequence_number_is_refused_as_a_replay(ningbo: KeyDirectory) -> None:
    old = build_trust_list(ningbo)
    new = TrustList.load(build_trust_list(ningbo), ningbo.root_public_key)
    with pytest.raises(TrustListError, match="older than the 2 already accepted"):
        TrustList.load(old, ningbo.root_public_key, min_sequence=new.sequence)
    assert TrustList.load(new.token, ningbo.root_public_key, min_sequence=new.sequence).sequence == 2


def test_an_expired_list_is_refused(ningbo: KeyDirectory) -> None:
    token = build_trust_list(ningbo, validity=timedelta(days=1))
    later = datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(TrustListError, match="expired") as caught:
        TrustList.load(token, ningbo.root_public_key, now=later)
    assert "过期" in caught.value.message_zh
    stale = TrustList.load(token, ningbo.root_public_key, now=later, check_expiry=False)
    assert stale.expires_at < later  # a verifier may read it to report staleness itself


def test_a_list_of_another_type_is_refused_even_if_root_signed(ningbo: KeyDirectory) -> None:
    root = ningbo.root_signing_key()
    now = int(datetime.now(UTC).timestamp())
    token = jwt.encode(
        {"iss": ROOT_ISSUER, "seq": 9, "iat": now, "exp": now + 60, "issuers": []},
        root,
        algorithm="EdDSA",
        headers={"typ": "statuslist+jwt"},
    )
    with pytest.raises(TrustListError, match="not a trust list"):
        TrustList.load(token, ningbo.root_public_key)


def test_a_key_pointed_at_another_public_key_is_refused(ningbo: KeyDirectory) -> None:
    entry = ningbo.descriptor()
    entry["keys"][0]["x"] = b64url(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    with pytest.raises(TrustListError, match="not derived from its key"):
        validate_issuer_entry(entry)


# -- what key changes do to credentials already issued -------------------------------------


def test_after_rotation_credentials_of_the_old_and_the_new_key_both_verify(ningbo: KeyDirectory) -> None:
    issue = issue_with(ningbo)
    before = issue().to_bytes()
    ningbo.rotate()
    after = issue(serial=61443).to_bytes()
    assert verify(ningbo, before) is Status.VALID
    assert verify(ningbo, after) is Status.VALID


def test_a_retired_key_makes_what_it_signed_key_retired(ningbo: KeyDirectory) -> None:
    issue = issue_with(ningbo)
    old_kid = ningbo.signing_kid
    before = issue().to_bytes()
    ningbo.rotate()
    after = issue(serial=61443).to_bytes()
    ningbo.retire(old_kid)
    assert verify(ningbo, before) is Status.KEY_RETIRED
    assert verify(ningbo, after) is Status.VALID


def test_a_compromised_key_makes_everything_it_signed_unknown_key(ningbo: KeyDirectory) -> None:
    issue = issue_with(ningbo)
    leaked = ningbo.signing_kid
    signed_by_leaked = [issue(serial=s).to_bytes() for s in (1, 2, 3)]
    ningbo.rotate()
    fresh = issue(serial=4).to_bytes()
    ningbo.compromised(leaked)
    trust = TrustList.load(build_trust_list(ningbo), ningbo.root_public_key)
    listed = trust.issuers[330200].keys[leaked]
    assert listed.status is KeyStatus.COMPROMISED and listed.public_key is None  # the key is gone
    verifier = Verifier(trust)
    for code in signed_by_leaked:
        result = verifier.verify(code)
        assert result.status is Status.UNKNOWN_KEY
        assert any("泄露" in reason for reason in result.reasons)
    assert verifier.verify(fresh).status is Status.VALID


def test_a_credential_of_an_issuer_not_in_the_list_is_unknown_issuer(
    ningbo: KeyDirectory, tmp_path: Path
) -> None:
    chongqing = KeyDirectory.init(tmp_path / "chongqing", issuer_code=500000, issuer_name="重庆市商务委员会")
    assert verify(ningbo, issue_with(chongqing)().to_bytes()) is Status.UNKNOWN_ISSUER


# -- across cities --------------------------------------------------------------------------


def test_a_second_issuer_imported_with_add_issuer_verifies_across_cities(
    ningbo: KeyDirectory, tmp_path: Path
) -> None:
    """Chongqing's worker is verified in Ningbo with Ningbo's root and trust list only."""
    chongqing = KeyDirectory.init(tmp_path / "chongqing", issuer_code=500000, issuer_name="重庆市商务委员会")
    ningbo.add_peer(json.loads(json.dumps(chongqing.descriptor())))  # as it travels: JSON
    worker_from_chongqing = issue_with(chongqing)().to_bytes()
    worker_from_ningbo = issue_with(ningbo)().to_bytes()
    trust = TrustList.load(build_trust_list(ningbo), ningbo.root_public_key)
    assert set(trust.issuers) == {330200, 500000}
    verifier = Verifier(trust)
    assert verifier.verify(worker_from_chongqing).status is Status.VALID
    assert verifier.verify(worker_from_ningbo).status is Status.VALID
    # Chongqing's own root plays no part: the list is Ningbo's root's word.
    with pytest.raises(TrustListError):
        TrustList.load(build_trust_list(ningbo), chongqing.root_public_key)


def test_reimporting_an_issuer_replaces_its_entry_with_its_new_keys(
    ningbo: KeyDirectory, tmp_path: Path
) -> None:
    chongqing = KeyDirectory.init(tmp_path / "chongqing", issuer_code=500000, issuer_name="重庆市商务委员会")
    ningbo.add_peer(chongqing.descriptor())
    old_kid = chongqing.signing_kid
    chongqing.rotate()
    chongqing.compromised(old_kid)
    ningbo.add_peer(chongqing.descriptor())
    assert [p["code"] for p in ningbo.peers()] == [500000]
    stale = issue_with(chongqing)  # now signs with the new key
    trust = TrustList.load(build_trust_list(ningbo), ningbo.root_public_key)
    assert trust.issuers[500000].keys[old_kid].status is KeyStatus.COMPROMISED
    assert Verifier(trust).verify(stale().to_bytes()).status is Status.VALID


def test_an_issuer_cannot_import_itself_or_a_broken_descriptor(ningbo: KeyDirectory) -> None:
    from anxinma.errors import KeyStoreError

    with pytest.raises(KeyStoreError, match="own issuer"):
        ningbo.add_peer(ningbo.descriptor())
    with pytest.raises(TrustListError, match="6-digit division code"):
        ningbo.add_peer({"code": 42, "name": "x", "keys": []})


def test_a_verifier_clock_a_minute_behind_the_root_still_loads_a_fresh_list(ningbo: KeyDirectory) -> None:
    signed_at = datetime.now(UTC) + timedelta(seconds=60)  # the root's clock runs ahead of ours
    token = build_trust_list(ningbo, now=signed_at)
    assert TrustList.load(token, ningbo.root_public_key).issued_at == signed_at.replace(microsecond=0)


def test_a_list_dated_far_in_the_future_is_refused(ningbo: KeyDirectory) -> None:
    token = build_trust_list(ningbo, now=datetime.now(UTC) + timedelta(hours=2))
    with pytest.raises(TrustListError):
        TrustList.load(token, ningbo.root_public_key)
