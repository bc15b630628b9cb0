"""Publications every host serves byte for byte (issue 15, findings 3, 5 and 7; docs/operations.md):
two hosts on one database serve one trust list, one shard and one freshness document; an
unchanged shard keeps its version and ETag across ttl windows; a revocation makes a new
version and a new freshness seq; a lagging host never publishes a revocation away."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import requests

from anxinma.issuer.services.status_forms import COMPACT_TYPE
from anxinma.keys import TrustList
from anxinma.status_list import CWT_TYPE, CredentialStatus, load_status_list
from tests.conftest import LiveIssuer


def _get(issuer: LiveIssuer, path: str, **headers: str) -> requests.Response:
    response = requests.get(issuer.url + path, headers=headers, timeout=30)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
    return response


def _two_hosts(tmp_path: Path, database_url: str, **config: object) -> tuple[LiveIssuer, LiveIssuer]:
    """Two hosts of one issuer: one database, one keys/ (the second home links to the first's),
    each its own home, port and process state (as two machines behind one public URL)."""
    first_home, second_home = tmp_path / "host1", tmp_path / "host2"
    first_home.mkdir()
    second_home.mkdir()
    first = LiveIssuer(first_home, database_url, **config)
    (second_home / "keys").symlink_to(first_home / "keys", target_is_directory=True)
    second = LiveIssuer(second_home, database_url, **config)
    return first, second


def _freshness_claims(issuer: LiveIssuer) -> dict[str, object]:
    return dict(
        jwt.decode(_get(issuer, "/status/330200/freshness").text, options={"verify_signature": False})
    )


def test_two_hosts_on_one_database_serve_the_same_bytes(tmp_path: Path, database_url: str) -> None:
    first, second = _two_hosts(tmp_path, database_url)
    try:
        serials = [int(first.credential()["serial"]) for _ in range(3)]  # type: ignore[call-overload]
        second.api("POST", f"/api/v1/credentials/{serials[1]}/revoke", json={"reason": "lost"})
        for path, headers in (
            ("/trust-list", {}),
            ("/status/330200/0", {}),
            ("/status/330200/0", {"Accept": CWT_TYPE}),
            ("/status/330200/0/compact", {}),
            ("/status/330200/freshness", {}),
            ("/.well-known/anxinma", {}),
        ):
            a, b = _get(first, path, **headers), _get(second, path, **headers)
            assert a.content == b.content, path
            assert a.headers["ETag"] == b.headers["ETag"], path
        trust = TrustList.load(_get(first, "/trust-list").text, first.root_public_key)
        assert trust.sequence == 1  # one list for both hosts, not one each (finding 5)
        key_for = _key_for(trust)
        listed = load_status_list(_get(second, "/status/330200/0").text, key_for)
        assert listed.status(serials[1]) is CredentialStatus.REVOKED
        assert _get(first, "/status/330200/0/compact").headers["Content-Type"] == COMPACT_TYPE
    finally:
        second.stop()
        first.stop()


def _key_for(trust: TrustList):  # type: ignore[no-untyped-def]
    def key_for(code: int, kid: bytes) -> bytes | None:
        found = trust.issuer(code)
        key = found.keys.get(kid) if found else None
        return key.public_key if key else None

    return key_for


def test_an_unchanged_shard_keeps_its_etag_across_ttl_windows_and_freshness_moves_on(
    live_issuer_factory: object,
) -> None:
    issuer: LiveIssuer = live_issuer_factory(status_ttl=1)  # type: ignore[operator]
    serial = int(issuer.credential()["serial"])  # type: ignore[call-overload]
    shard = _get(issuer, "/status/330200/0")
    compact = _get(issuer, "/status/330200/0/compact")
    fresh = _freshness_claims(issuer)
    assert shard.headers["Cache-Control"] == "public, max-age=1"
    time.sleep(2.2)  # more than two ttl windows, nothing changed
    again = _get(issuer, "/status/330200/0")
    assert again.content == shard.content and again.headers["ETag"] == shard.headers["ETag"]
    assert _get(issuer, "/status/330200/0/compact").content == compact.content
    unchanged = requests.get(
        issuer.url + "/status/330200/0", headers={"If-None-Match": shard.headers["ETag"]}, timeout=10
    )
    assert unchanged.status_code == 304
    later = _freshness_claims(issuer)
    assert int(later["seq"]) > int(fresh["seq"])  # type: ignore[call-overload]
    assert later["shards"] == fresh["shards"]  # the same shard version, vouched for again
    # A revocation: a new shard version, and a freshness document that lists it.
    issuer.api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "left"})
    revoked = _get(issuer, "/status/330200/0/compact")
    assert revoked.headers["ETag"] != compact.headers["ETag"]
    after = _freshness_claims(issuer)
    assert int(after["seq"]) > int(later["seq"])  # type: ignore[call-overload]
    (listed,) = after["shards"]  # type: ignore[misc]
    (before,) = later["shards"]  # type: ignore[misc]
    assert listed["version"] == before["version"] + 1
    assert listed["url"] == f"{issuer.url}/status/330200/0/compact"
    import hashlib

    assert listed["digest"] == hashlib.sha256(revoked.content).hexdigest()
    jwt_after = _get(issuer, "/status/330200/0").text
    claims = jwt.decode(jwt_after, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600


def test_a_shard_is_republished_past_half_its_validity_and_when_the_key_changes(
    live_issuer: LiveIssuer,
) -> None:
    live_issuer.credential()
    board = live_issuer.runtime.board
    first = board.publication(0)
    assert first is not None and first.version == 1
    board.clock = lambda: datetime.now(UTC) + timedelta(days=3, hours=13)
    aged = board.publication(0)
    assert aged is not None and aged.version == 2 and aged.source == first.source
    board.clock = lambda: datetime.now(UTC)
    live_issuer.runtime.keys.rotate()
    rotated = board.publication(0)
    assert rotated is not None and rotated.version == 3 and rotated.kid != first.kid


def test_a_host_that_has_not_seen_a_revocation_cannot_publish_it_away(tmp_path: Path) -> None:
    first, second = _two_hosts(tmp_path, f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    try:
        serial = int(first.credential()["serial"])  # type: ignore[call-overload]
        assert second.runtime.board.publication(0) is not None  # host 2 has loaded its view
        second.runtime.board.min_sync_interval = 3600.0  # and stops following the database
        second.runtime.board._synced_at = time.monotonic()
        first.api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "lost"})
        revoked = first.runtime.board.publication(0)
        assert revoked is not None
        served = second.runtime.board.publication(0)  # its stale view differs from the newest row
        assert served is not None and served.version >= revoked.version
        trust = TrustList.load(_get(first, "/trust-list").text, first.root_public_key)
        listed = load_status_list(_get(second, "/status/330200/0").text, _key_for(trust))
        assert listed.status(serial) is CredentialStatus.REVOKED
    finally:
        second.stop()
        first.stop()


@pytest.mark.parametrize(
    "path", ["/status/330200/9/compact", "/status/110000/0/compact", "/status/110000/freshness"]
)
def test_unknown_shard_or_issuer_is_404(live_issuer: LiveIssuer, path: str) -> None:
    live_issuer.credential()
    assert requests.get(live_issuer.url + path, timeout=10).status_code == 404


def test_discovery_names_the_freshness_document(live_issuer: LiveIssuer) -> None:
    document = _get(live_issuer, "/.well-known/anxinma").json()
    assert document["status_freshness"] == f"{live_issuer.url}/status/330200/freshness"
    assert document["root_public_key"] == live_issuer.root_public_pem.decode()


def test_the_compact_form_and_the_freshness_document_verify_and_agree(live_issuer: LiveIssuer) -> None:
    from anxinma.status_list import load_compact_status_list, load_freshness

    serials = [int(live_issuer.credential()["serial"]) for _ in range(3)]  # type: ignore[call-overload]
    live_issuer.api("POST", f"/api/v1/credentials/{serials[2]}/revoke", json={"reason": "lost"})
    key_for = _key_for(TrustList.load(live_issuer.trust_list(), live_issuer.root_public_key))
    compact = _get(live_issuer, "/status/330200/0/compact").content
    listed = load_compact_status_list(compact, key_for)
    assert [listed.status(s) for s in serials] == [CredentialStatus.VALID] * 2 + [CredentialStatus.REVOKED]
    freshness = load_freshness(_get(live_issuer, "/status/330200/freshness").text, key_for)
    entry = freshness.shards[0]
    assert (entry.version, entry.digest) == (listed.version, listed.digest)
    standard = load_status_list(_get(live_issuer, "/status/330200/0").text, key_for)
    assert standard.version == listed.version and standard.status(serials[2]) is CredentialStatus.REVOKED
    assert freshness.ttl == live_issuer.config.status_ttl
