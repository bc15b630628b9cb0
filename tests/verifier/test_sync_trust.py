"""Issue 15's attacks on the verifier's trust, each against real HTTP publishers and a real bundle.

1. A trust-on-first-use origin claiming a pinned issuer's code (sync refuses it; and if one is
   already in the bundle, the pinned origin still wins).
2. Another anchor's peer entry and status list for a pinned issuer (a revocation stays revoked).
3. A replayed pre-revocation status list inside one signing window (same ``iat``: refused).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from anxinma import credential as fmt
from anxinma.cli import main
from anxinma.keys import KeyDirectory
from anxinma.status_list import CredentialStatus, StatusArray, sign_compact_status_list, sign_status_list
from anxinma.verifier import Status, Verifier
from anxinma.verifier import bundle as layout
from anxinma.verifier.bundle import read_root_key
from anxinma.verifier.errors import SyncError
from anxinma.verifier.sync import sync
from tests.verifier.publisher import Publisher, worker_claims


def pinned(publisher: Publisher) -> bytes:
    return read_root_key(publisher.root_pem)


def forger(tmp_path: Path, code: int = 330200) -> KeyDirectory:
    """Keys someone made for themselves, under the issuer code they want to speak for."""
    return KeyDirectory.init(
        tmp_path / f"forger-{code}", issuer_code=code, issuer_name="宁波市商务局", insecure_dev=True
    )


def forge(keys: KeyDirectory, serial: int) -> fmt.Credential:
    kid, key = keys.signing_key()
    return fmt.sign(worker_claims(keys.issuer.code, serial), key, kid)


def test_a_first_use_origin_claiming_a_pinned_issuer_is_refused_and_changes_nothing(
    make_publisher: Callable[..., Publisher], bundle_dir: Path
) -> None:
    ningbo = make_publisher(issuer_code=330200)
    genuine = ningbo.issue(7)
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir, root_key=pinned(ningbo))
    evil = make_publisher(issuer_code=330200, name="宁波市商务局")  # its own root, its own keys
    forged = evil.issue(8)
    evil.publish()
    before = layout.TrustBundle.current_state(bundle_dir)

    with pytest.raises(SyncError) as refused:
        sync(evil.base_url, bundle_dir)  # no --root-key: the normal way to add a city
    text = refused.value.explain()
    ningbo_origin = layout.origin_name(ningbo.base_url)
    assert ningbo_origin in text and layout.origin_name(evil.base_url) in text and "--root-key" in text
    assert layout.TrustBundle.current_state(bundle_dir) == before  # nothing written for the newcomer

    verifier = Verifier.from_bundle(bundle_dir)
    assert verifier.verify(genuine.to_hex()).status is Status.VALID
    assert verifier.verify(forged.to_hex()).status is Status.UNKNOWN_KEY

    cli = CliRunner().invoke(main, ["verifier", "sync", "--issuer", evil.base_url, "--dir", str(bundle_dir)])
    assert cli.exit_code != 0 and ningbo_origin in cli.output
    assert layout.TrustBundle.current_state(bundle_dir) == before


def test_a_first_use_origin_already_in_the_bundle_never_outranks_the_pinned_one(
    make_publisher: Callable[..., Publisher], bundle_dir: Path
) -> None:
    """The order of events the refusal cannot catch: the first-use origin came first, and is newer."""
    evil = make_publisher(issuer_code=330200)
    forged = evil.issue(8)
    evil.publish()
    sync(evil.base_url, bundle_dir)  # first use, before the operator pinned Ningbo
    ningbo = make_publisher(issuer_code=330200)
    genuine = ningbo.issue(7)
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir, root_key=pinned(ningbo))
    evil.publish()  # a newer list than Ningbo's
    verifier = Verifier.from_bundle(bundle_dir)
    assert verifier.verify(genuine.to_hex()).status is Status.VALID
    assert verifier.verify(forged.to_hex()).status is Status.UNKNOWN_KEY
    with pytest.raises(SyncError):  # and it cannot be refreshed while the pin holds the code
        sync(evil.base_url, bundle_dir)


def test_another_anchors_peer_entry_and_status_list_cannot_undo_a_revocation(
    make_publisher: Callable[..., Publisher], bundle_dir: Path, tmp_path: Path
) -> None:
    ningbo = make_publisher(issuer_code=330200)
    revoked = ningbo.issue(4, status=CredentialStatus.REVOKED)
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir, root_key=pinned(ningbo))

    # A second city, pinned by the operator too, whose list vouches for a *different* 330200 key
    # and whose origin serves a newer 330200 status list signed by it, saying serial 4 is valid.
    chongqing = make_publisher(issuer_code=500000)
    fake = forger(tmp_path)
    chongqing.keys.add_peer(fake.descriptor())
    kid, key = fake.signing_key()
    clean = StatusArray(0)
    clean.set(10, CredentialStatus.VALID)
    chongqing.foreign_status["/status/330200/0"] = sign_status_list(
        clean,
        issuer_code=330200,
        shard=0,
        uri=f"{chongqing.base_url}/status/330200/0",
        key=key.to_cryptography(),
        kid=kid,
        now=datetime.now(UTC),
    )
    chongqing.publish()
    sync(chongqing.base_url, bundle_dir, root_key=pinned(chongqing))

    verifier = Verifier.from_bundle(bundle_dir)
    assert verifier.verify(revoked.to_hex()).status is Status.REVOKED
    assert verifier.verify(forge(fake, 4).to_hex()).status is Status.UNKNOWN_KEY  # Ningbo's own view
    found = verifier.trusted_issuer(330200)
    assert found is not None and found[1].name == layout.origin_name(ningbo.base_url)
    shown = CliRunner().invoke(main, ["verifier", "status", "--dir", str(bundle_dir), "--json"])
    views = json.loads(shown.stdout)["views"]
    assert views == {
        "330200": layout.origin_name(ningbo.base_url),
        "500000": layout.origin_name(chongqing.base_url),
    }


@pytest.fixture
def current(make_publisher: Callable[..., Publisher]) -> Publisher:
    """An issuer publishing as the issuer service does: versions, compact shards, freshness."""
    return make_publisher(issuer_code=330200, protocol="freshness")


def test_a_replayed_pre_revocation_list_with_the_same_iat_is_refused(
    current: Publisher, bundle_dir: Path
) -> None:
    window = datetime.now(UTC).replace(microsecond=0)
    current.status_time = window  # one iat for a whole ttl window, as the issuer used to sign
    cred = current.issue(4)
    current.publish()
    sync(current.base_url, bundle_dir, root_key=pinned(current))
    before_revocation = (current.freshness, current.compact[0])
    current.set_status(4, CredentialStatus.REVOKED)
    sync(current.base_url, bundle_dir)
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.REVOKED
    in_use = layout.TrustBundle.current_state(bundle_dir)

    # A later change (a new version is listed); the network answers with the earlier shard ...
    current.set_status(5, CredentialStatus.SUSPENDED)
    current.serve_compact[0] = before_revocation[1]
    with pytest.raises(SyncError, match="older than"):
        sync(current.base_url, bundle_dir)
    # ... or the earlier freshness document with the earlier shard (same iat: nothing to tell by time).
    current.serve_freshness = before_revocation[0]
    with pytest.raises(SyncError, match="seq"):
        sync(current.base_url, bundle_dir)
    assert layout.TrustBundle.current_state(bundle_dir) == in_use
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.REVOKED


def test_a_shard_with_the_listed_version_but_other_bytes_is_refused(
    current: Publisher, bundle_dir: Path
) -> None:
    cred = current.issue(4)
    current.publish()
    sync(current.base_url, bundle_dir, root_key=pinned(current))
    current.set_status(4, CredentialStatus.REVOKED)
    kid, key = current.keys.signing_key()
    other = StatusArray(0)
    other.set(4, CredentialStatus.VALID)
    current.serve_compact[0] = sign_compact_status_list(  # the listed version, other statuses
        other, issuer_code=330200, shard=0, version=current.versions[0], key=key.to_cryptography(), kid=kid
    )
    with pytest.raises(SyncError, match="same version"):
        sync(current.base_url, bundle_dir)
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.VALID  # the last good data


def test_a_sync_with_nothing_changed_moves_only_the_freshness_document(
    current: Publisher, bundle_dir: Path
) -> None:
    for serial in range(3000):
        current.issue(serial, status=CredentialStatus.REVOKED if serial % 97 == 0 else CredentialStatus.VALID)
    current.publish()
    first = sync(current.base_url, bundle_dir, root_key=pinned(current))
    assert "status/330200-0.cose" in first.changed and "freshness.jwt" in first.changed
    current.publish(trust_list=False)  # a new signing window: a new freshness document, the same shard
    again = sync(current.base_url, bundle_dir)
    shard_requests = [p for _, p, _ in current.log[-again.requests :] if p.endswith("/compact")]
    assert shard_requests == [] and again.changed == ["freshness.jwt"]
    assert again.bytes_received < 2500, again.bytes_received
    verifier = Verifier.from_bundle(bundle_dir)
    result = verifier.verify(current.issued[97].to_hex())
    assert result.status is Status.REVOKED
    # The age is the freshness document's: vouched for now, although the shard is older.
    assert result.source.bundle_age_seconds is not None and result.source.bundle_age_seconds < 60


@pytest.mark.parametrize("fault", ["tamper", "truncate", "other_issuer"])
def test_a_bad_freshness_document_is_refused_and_the_last_good_data_kept(
    current: Publisher, bundle_dir: Path, make_publisher: Callable[..., Publisher], fault: str
) -> None:
    cred = current.issue(4)
    current.publish()
    sync(current.base_url, bundle_dir, root_key=pinned(current))
    in_use = layout.TrustBundle.current_state(bundle_dir)
    current.set_status(4, CredentialStatus.REVOKED)
    if fault == "tamper":
        current.tamper.add("freshness")
    elif fault == "truncate":
        current.truncate.add("freshness")
    else:  # a genuine freshness document, of another issuer
        other = make_publisher(issuer_code=500000, protocol="freshness")
        current.serve_freshness = other.freshness
    with pytest.raises(SyncError):
        sync(current.base_url, bundle_dir)
    assert layout.TrustBundle.current_state(bundle_dir) == in_use
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.VALID  # as last synced
    current.tamper.clear()
    current.truncate.clear()
    current.serve_freshness = None
    sync(current.base_url, bundle_dir)
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.REVOKED
