"""Bundle sync against real HTTP publishers of real signed material, behaving well and badly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from anxinma.status_list import CredentialStatus
from anxinma.verifier import Status, Verifier
from anxinma.verifier import bundle as layout
from anxinma.verifier.bundle import TrustBundle, read_root_key
from anxinma.verifier.errors import BundleError, SyncError
from anxinma.verifier.sync import TOFU_WARNING, sync
from tests.verifier.publisher import Publisher


def origin_dir(bundle_dir: Path, publisher: Publisher) -> Path:
    return bundle_dir / layout.origin_name(publisher.base_url)


def in_use(bundle_dir: Path, publisher: Publisher) -> str | None:
    return layout.current_generation(origin_dir(bundle_dir, publisher))


def pinned(publisher: Publisher) -> bytes:
    return read_root_key(publisher.root_pem)


def test_first_contact_trusts_the_discovery_root_loudly_and_the_bundle_verifies(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    cred = ningbo.issue(61442)
    ningbo.publish()
    report = sync(ningbo.base_url, bundle_dir)
    assert report.root_source == "tofu" and TOFU_WARNING in report.warnings
    assert report.issuer_code == 330200 and report.status_lists == 1
    assert sorted(report.changed) == ["discovery.json", "jwks.json", "status/330200-0.jwt", "trust-list.jwt"]
    result = Verifier.from_bundle(bundle_dir).verify(cred.to_url(ningbo.base_url))
    assert result.status is Status.VALID
    assert result.source.bundle == report.origin == f"127.0.0.1_{ningbo.port}"


def test_a_pinned_root_key_is_used_without_warning(ningbo: Publisher, bundle_dir: Path) -> None:
    report = sync(ningbo.base_url, bundle_dir, root_key=pinned(ningbo))
    assert report.root_source == "pinned" and TOFU_WARNING not in report.warnings
    loaded = TrustBundle.load(bundle_dir)
    assert loaded.issuers[0].root_public_key == pinned(ningbo)
    assert loaded.issuers[0].meta["root_fingerprint"] == layout.fingerprint(pinned(ningbo))


def test_nothing_changed_means_304s_and_a_fraction_of_the_bytes(ningbo: Publisher, bundle_dir: Path) -> None:
    for serial in range(2000):
        ningbo.issue(serial)
    ningbo.publish()
    cold = sync(ningbo.base_url, bundle_dir)
    first_generation = in_use(bundle_dir, ningbo)
    ningbo.log.clear()
    warm = sync(ningbo.base_url, bundle_dir)
    assert [status for _, _, status in ningbo.log] == [304, 304, 304, 304]
    assert warm.changed == [] and len(warm.unchanged) == 4
    assert warm.bytes_received < cold.bytes_received / 2
    assert in_use(bundle_dir, ningbo) != first_generation  # fetched_at moved on, in a new generation
    assert warm.trust_list_sequence == cold.trust_list_sequence
    sync(ningbo.base_url, bundle_dir)
    generations = [p for p in origin_dir(bundle_dir, ningbo).iterdir() if p.name.startswith("gen-")]
    assert len(generations) == 2  # the one in use and the one before it


def test_a_revocation_reaches_the_bundle_on_the_next_sync(ningbo: Publisher, bundle_dir: Path) -> None:
    cred = ningbo.issue(7)
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir)
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.VALID
    ningbo.set_status(7, CredentialStatus.REVOKED)
    report = sync(ningbo.base_url, bundle_dir)
    assert "status/330200-0.jwt" in report.changed and "jwks.json" in report.unchanged
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.REVOKED


def refused(publisher: Publisher, bundle_dir: Path, match: str, **kwargs: object) -> SyncError:
    """Sync must fail with ``match`` in its message and leave the generation in use alone."""
    before = in_use(bundle_dir, publisher)
    with pytest.raises(SyncError, match=match) as caught:
        sync(publisher.base_url, bundle_dir, **kwargs)  # type: ignore[arg-type]
    assert in_use(bundle_dir, publisher) == before
    leftovers = list(origin_dir(bundle_dir, publisher).glob(".tmp-*"))
    assert leftovers == []
    return caught.value


def test_tampered_trust_list_is_refused_and_the_old_bundle_stays_in_use(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    cred = ningbo.issue(1)
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir)
    ningbo.tamper.add("trust_list")
    ningbo.publish()
    error = refused(ningbo, bundle_dir, "not signed by the pinned root")
    assert "信任列表" in error.explain()
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.VALID


def test_replayed_older_trust_list_is_refused(ningbo: Publisher, bundle_dir: Path) -> None:
    old = ningbo.trust_list
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir)
    ningbo.serve_trust_list = old  # genuine, root-signed, but an older sequence
    refused(ningbo, bundle_dir, "older than")


def test_a_trust_list_under_another_root_is_refused_once_a_root_is_pinned(
    ningbo: Publisher, chongqing: Publisher, bundle_dir: Path
) -> None:
    sync(ningbo.base_url, bundle_dir)
    ningbo.keys.add_peer(chongqing.keys.descriptor())
    chongqing.keys.add_peer(ningbo.keys.descriptor())
    ningbo.trust_list_signer = chongqing.keys  # validly signed, by a root this verifier never pinned
    ningbo.publish()
    refused(ningbo, bundle_dir, "not signed by the pinned root")


def test_a_root_key_that_differs_from_the_pin_needs_replace_root(
    ningbo: Publisher, chongqing: Publisher, bundle_dir: Path
) -> None:
    sync(ningbo.base_url, bundle_dir)
    refused(ningbo, bundle_dir, "differs from the root pinned", root_key=pinned(chongqing))
    with pytest.raises(SyncError, match="not signed by the pinned root"):
        sync(ningbo.base_url, bundle_dir, root_key=pinned(chongqing), replace_root=True)


def test_without_a_pin_and_without_trust_on_first_use_nothing_is_fetched_beyond_discovery(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    with pytest.raises(SyncError, match="--root-key"):
        sync(ningbo.base_url, bundle_dir, trust_on_first_use=False)
    assert [path for _, path, _ in ningbo.log] == ["/.well-known/anxinma"]
    assert in_use(bundle_dir, ningbo) is None


@pytest.mark.parametrize("what", ["status", "trust_list", "discovery"])
def test_truncated_download_is_refused(ningbo: Publisher, bundle_dir: Path, what: str) -> None:
    ningbo.issue(1)
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir)
    ningbo.set_status(1, CredentialStatus.SUSPENDED)
    ningbo.truncate.add(what)
    refused(ningbo, bundle_dir, "truncated")


def test_issuer_that_is_down_gives_a_clear_error_and_the_old_bundle_is_untouched(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    cred = ningbo.issue(3)
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir)
    ningbo.stop()
    error = refused(ningbo, bundle_dir, "cannot reach")
    assert "签发机构服务中断" in error.explain()
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.VALID


def test_issuer_answering_an_error_is_refused(ningbo: Publisher, bundle_dir: Path) -> None:
    ningbo.fail["status"] = 503
    refused(ningbo, bundle_dir, "HTTP 503")
    assert in_use(bundle_dir, ningbo) is None


def test_tampered_status_list_is_refused(ningbo: Publisher, bundle_dir: Path) -> None:
    ningbo.issue(1)
    ningbo.tamper.add("status")
    ningbo.publish()
    refused(ningbo, bundle_dir, "status list .* refused")


def test_jwks_that_contradicts_the_trust_list_is_refused(ningbo: Publisher, bundle_dir: Path) -> None:
    ningbo.tamper.add("jwks")
    refused(ningbo, bundle_dir, "differs from the trust list")


def test_older_status_list_than_the_one_held_is_refused(ningbo: Publisher, bundle_dir: Path) -> None:
    ningbo.issue(1)
    ningbo.set_status(1, CredentialStatus.REVOKED)
    old_tokens = dict(ningbo.status_tokens)
    time.sleep(1.1)  # iat has a resolution of a second
    ningbo.set_status(1, CredentialStatus.VALID)
    sync(ningbo.base_url, bundle_dir)
    ningbo.status_tokens = old_tokens  # a genuine, signed, older list: would un-revoke nothing but re-revoke
    refused(ningbo, bundle_dir, "older than the one already held")


def test_stale_status_list_from_the_issuer_syncs_with_a_warning_and_verifies_status_unknown(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    cred = ningbo.issue(1)
    ningbo.status_list_age = timedelta(hours=30)
    ningbo.publish()
    report = sync(ningbo.base_url, bundle_dir)
    assert any("status_unknown" in warning for warning in report.warnings)
    result = Verifier.from_bundle(bundle_dir).verify(cred.to_hex())
    assert result.status is Status.STATUS_UNKNOWN
    assert "1 d 6 h" in result.reasons[0]
    assert result.source.bundle_age_seconds is not None and result.source.bundle_age_seconds >= 30 * 3600


def test_crash_while_writing_a_generation_leaves_the_old_one_in_use(
    ningbo: Publisher, bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cred = ningbo.issue(1)
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir)
    before = in_use(bundle_dir, ningbo)
    ningbo.set_status(1, CredentialStatus.REVOKED)
    real_add = layout.GenerationWriter.add

    def add_then_fail(self: layout.GenerationWriter, name: str, data: bytes) -> None:
        if name.startswith("status/"):
            real_add(self, name, data[: len(data) // 3])
            raise OSError(28, "No space left on device")
        real_add(self, name, data)

    monkeypatch.setattr(layout.GenerationWriter, "add", add_then_fail)
    with pytest.raises(OSError, match="No space"):
        sync(ningbo.base_url, bundle_dir)
    monkeypatch.undo()
    assert in_use(bundle_dir, ningbo) == before
    assert not list(origin_dir(bundle_dir, ningbo).glob(".tmp-*"))
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.VALID
    sync(ningbo.base_url, bundle_dir)
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.REVOKED


def test_a_sync_process_killed_mid_download_leaves_a_usable_bundle(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    cred = ningbo.issue(1)
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir)
    before = in_use(bundle_dir, ningbo)
    ningbo.set_status(1, CredentialStatus.REVOKED)
    ningbo.stall["status"] = 20
    script = "import sys; from anxinma.verifier.sync import sync; sync(sys.argv[1], sys.argv[2])"
    child = subprocess.Popen([sys.executable, "-c", script, ningbo.base_url, str(bundle_dir)])
    try:
        deadline = time.monotonic() + 15
        while not any(path == "/jwks.json" for _, path, _ in ningbo.log) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # it is now waiting for the status list
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    assert in_use(bundle_dir, ningbo) == before
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.VALID
    ningbo.stall.clear()
    sync(ningbo.base_url, bundle_dir)  # the killed sync's lock died with it
    assert Verifier.from_bundle(bundle_dir).verify(cred.to_hex()).status is Status.REVOKED


def test_a_second_sync_of_the_same_origin_waits_for_no_one(ningbo: Publisher, bundle_dir: Path) -> None:
    with layout.locked(origin_dir(bundle_dir, ningbo)), pytest.raises(BundleError, match="another sync"):
        sync(ningbo.base_url, bundle_dir)


def test_two_cities_under_their_own_roots_sync_into_one_directory(
    ningbo: Publisher, chongqing: Publisher, make_publisher: Callable[..., Publisher], bundle_dir: Path
) -> None:
    nb = ningbo.issue(59216)
    cq = chongqing.issue(61442)
    chongqing.set_status(61442, CredentialStatus.ATTENTION)
    ningbo.publish()
    sync(ningbo.base_url, bundle_dir, root_key=pinned(ningbo))
    sync(chongqing.base_url, bundle_dir, root_key=pinned(chongqing))
    loaded = TrustBundle.load(bundle_dir)
    assert sorted(issuer.issuer_code or 0 for issuer in loaded.issuers) == [330200, 500000]
    verifier = Verifier.from_trust_bundle(loaded)
    assert verifier.verify(nb.to_hex()).status is Status.VALID
    result = verifier.verify(cq.to_hex())
    assert result.status is Status.ATTENTION
    assert result.source.bundle == layout.origin_name(chongqing.base_url)
    stranger = make_publisher(issuer_code=440300, name="深圳市商务局").issue(1)
    assert verifier.verify(stranger.to_hex()).status is Status.UNKNOWN_ISSUER


def test_follow_syncs_the_other_issuers_a_trust_list_names(
    ningbo: Publisher, chongqing: Publisher, bundle_dir: Path
) -> None:
    # One provincial root (Ningbo's here) signs a list naming both; both serve it.
    ningbo.keys.add_peer(chongqing.keys.descriptor())
    chongqing.trust_list_signer = ningbo.keys
    cq = chongqing.issue(5)
    chongqing.set_status(5, CredentialStatus.REVOKED)
    ningbo.publish()
    report = sync(ningbo.base_url, bundle_dir, root_key=pinned(ningbo), follow=True)
    assert report.follow_errors == []
    assert [r.issuer_code for r in report.followed] == [500000]
    assert report.followed[0].root_source == "pinned"
    result = Verifier.from_bundle(bundle_dir).verify(cq.to_hex())
    assert result.status is Status.REVOKED


def test_follow_reports_a_peer_under_another_root_without_undoing_the_sync(
    ningbo: Publisher, chongqing: Publisher, bundle_dir: Path
) -> None:
    ningbo.keys.add_peer(chongqing.keys.descriptor())
    ningbo.publish()
    report = sync(ningbo.base_url, bundle_dir, follow=True)
    assert report.followed == [] and len(report.follow_errors) == 1
    assert "500000" in report.follow_errors[0] and "pinned root" in report.follow_errors[0]
    assert in_use(bundle_dir, ningbo) is not None


def test_a_file_damaged_on_disk_is_detected_and_that_origin_skipped(
    ningbo: Publisher, chongqing: Publisher, bundle_dir: Path
) -> None:
    cred = chongqing.issue(1)
    chongqing.publish()
    sync(ningbo.base_url, bundle_dir)
    sync(chongqing.base_url, bundle_dir)
    damaged = origin_dir(bundle_dir, ningbo) / str(in_use(bundle_dir, ningbo)) / "status" / "330200-0.jwt"
    damaged.write_bytes(damaged.read_bytes()[:-4] + b"AAAA")
    loaded = TrustBundle.load(bundle_dir)
    assert [issuer.issuer_code for issuer in loaded.issuers] == [500000]
    assert len(loaded.problems) == 1 and "digest" in loaded.problems[0]
    assert Verifier.from_trust_bundle(loaded).verify(cred.to_hex()).status is Status.VALID
    report = sync(ningbo.base_url, bundle_dir)  # re-fetches everything, keeps the pin
    assert report.root_source == "tofu" and TOFU_WARNING not in report.warnings
    assert len(TrustBundle.load(bundle_dir).issuers) == 2


def test_bundle_state_changes_exactly_when_a_sync_swaps_a_generation_in(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    assert TrustBundle.current_state(bundle_dir) == ()
    sync(ningbo.base_url, bundle_dir)
    loaded = TrustBundle.load(bundle_dir)
    assert loaded.state == TrustBundle.current_state(bundle_dir)
    ningbo.stop()
    with pytest.raises(SyncError):
        sync(ningbo.base_url, bundle_dir)
    assert TrustBundle.current_state(bundle_dir) == loaded.state  # a failed sync changes nothing
    (origin,) = loaded.state
    assert origin[1] == in_use(bundle_dir, ningbo)


def test_an_empty_bundle_directory_is_a_clear_error(bundle_dir: Path) -> None:
    with pytest.raises(BundleError, match="no usable trust bundle") as caught:
        Verifier.from_bundle(bundle_dir)
    assert "verifier sync" in caught.value.message


def test_a_url_that_is_not_an_issuer_is_refused(ningbo: Publisher, bundle_dir: Path) -> None:
    with pytest.raises(SyncError, match="HTTP 404"):
        sync(ningbo.base_url + "/nothing", bundle_dir)
    with pytest.raises(BundleError, match="issuer URL"):
        sync("ftp://example.com", bundle_dir)
