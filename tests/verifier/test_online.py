"""The live record: fetched from the issuer the trust list names, checked, merged into the verdict."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma.status_list import CredentialStatus
from anxinma.verifier import Status, Verifier
from anxinma.verifier.online import DEFAULT_TIMEOUT, LiveClient
from anxinma.verifier.sync import sync
from tests.verifier.publisher import Publisher


def synced(publisher: Publisher, bundle_dir: Path, **policy: object) -> Verifier:
    publisher.publish()
    sync(publisher.base_url, bundle_dir)
    return Verifier.from_bundle(bundle_dir, **policy)


def live_posts(publisher: Publisher) -> int:
    return sum(1 for method, path, _ in publisher.log if method == "POST" and path == "/api/v1/live")


def test_live_record_that_agrees_is_attached_and_the_source_stays_offline(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    cred = ningbo.issue(61442)
    result = synced(ningbo, bundle_dir).verify_online(cred.to_url(ningbo.base_url))
    assert result.status is Status.VALID
    assert result.live is not None and result.live["serial"] == 61442
    assert result.live["enterprise"]["name"] == "宁波安心家政服务有限公司"
    assert result.source.kind == "offline"
    assert any("在线核对一致" in r for r in result.reasons)
    assert result.to_json()["live"]["star_level"] == 4


def test_live_revocation_wins_over_an_offline_valid(ningbo: Publisher, bundle_dir: Path) -> None:
    cred = ningbo.issue(1)
    verifier = synced(ningbo, bundle_dir)
    ningbo.set_status(1, CredentialStatus.REVOKED)  # revoked after the bundle was synced
    assert verifier.verify(cred.to_hex()).status is Status.VALID
    result = verifier.verify_online(cred.to_hex())
    assert result.status is Status.REVOKED
    assert result.source.kind == "live" and result.source.detail == f"{ningbo.base_url}/api/v1/live"
    assert "离职" in result.reasons[0] and "left" in result.reasons[0]
    assert any("offline said valid" in r for r in result.reasons)


def test_live_attention_names_what_lapsed(ningbo: Publisher, bundle_dir: Path) -> None:
    cred = ningbo.issue(2)
    verifier = synced(ningbo, bundle_dir)
    ningbo.set_status(2, CredentialStatus.ATTENTION)
    result = verifier.verify_online(cred.to_hex())
    assert result.status is Status.ATTENTION and result.source.kind == "live"
    assert "健康证" in result.reasons[0]


def test_live_answer_settles_a_stale_bundle(ningbo: Publisher, bundle_dir: Path) -> None:
    cred = ningbo.issue(3)
    verifier = synced(ningbo, bundle_dir, clock=lambda: datetime.now(UTC) + timedelta(hours=25))
    assert verifier.verify(cred.to_hex()).status is Status.STATUS_UNKNOWN
    client = LiveClient(clock=lambda: datetime.now(UTC))
    result = verifier.verify_online(cred.to_hex(), client=client)
    assert result.status is Status.VALID and result.source.kind == "live"


def test_live_timeout_leaves_the_offline_result_standing_and_says_so(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    cred = ningbo.issue(4)
    verifier = synced(ningbo, bundle_dir)
    ningbo.set_status(4, CredentialStatus.REVOKED)
    ningbo.stall["live"] = 3
    started = time.monotonic()
    result = verifier.verify_online(cred.to_hex(), timeout=0.5)
    assert time.monotonic() - started < 2
    assert result.status is Status.VALID and result.source.kind == "offline" and result.live is None
    assert "0.5 秒内未获得在线结果" in result.reasons[-1]
    assert DEFAULT_TIMEOUT == 2.0 and LiveClient().timeout == 2.0


@pytest.mark.parametrize("status", [500, 429, 503])
def test_live_error_leaves_the_offline_result_standing(
    ningbo: Publisher, bundle_dir: Path, status: int
) -> None:
    cred = ningbo.issue(5)
    verifier = synced(ningbo, bundle_dir)
    ningbo.fail["live"] = status
    result = verifier.verify_online(cred.to_hex())
    assert result.status is Status.VALID and result.live is None
    assert "live check failed" in result.reasons[-1]


def test_live_record_signed_by_a_key_outside_the_trust_list_is_ignored(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    cred = ningbo.issue(6)
    verifier = synced(ningbo, bundle_dir)
    ningbo.set_status(6, CredentialStatus.REVOKED)
    ningbo.live_signer = Ed25519PrivateKey.generate()  # right kid in the header, wrong key
    result = verifier.verify_online(cred.to_hex())
    assert result.status is Status.VALID and result.live is None
    assert "签名无效" in result.reasons[-1]


def test_issuer_down_leaves_the_offline_result_standing(ningbo: Publisher, bundle_dir: Path) -> None:
    cred = ningbo.issue(7)
    verifier = synced(ningbo, bundle_dir)
    ningbo.stop()
    result = verifier.verify_online(cred.to_hex())
    assert result.status is Status.VALID
    assert "无法连接签发机构" in result.reasons[-1]


def test_offline_verification_never_touches_the_network(ningbo: Publisher, bundle_dir: Path) -> None:
    cred = ningbo.issue(8)
    verifier = synced(ningbo, bundle_dir)
    requests_before = len(ningbo.log)
    verifier.verify(cred.to_hex())
    assert len(ningbo.log) == requests_before


def test_forged_or_untrusted_credentials_are_not_looked_up(ningbo: Publisher, bundle_dir: Path) -> None:
    cred = ningbo.issue(9)
    verifier = synced(ningbo, bundle_dir)
    raw = bytearray(cred.to_bytes())
    raw[-1] ^= 1
    assert verifier.verify_online(bytes(raw)).status is Status.BAD_SIGNATURE
    assert verifier.verify_online("https://example.com/not-ours").status is Status.MALFORMED
    assert live_posts(ningbo) == 0


def test_expired_credential_stays_expired_whatever_the_live_record(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    cred = ningbo.issue(10, valid_from=-400, valid_days=300)
    result = synced(ningbo, bundle_dir).verify_online(cred.to_hex())
    assert result.status is Status.EXPIRED
    assert result.live is not None and result.live["status"] == "expired"


def test_a_genuine_signature_the_issuer_never_recorded_is_an_alarm_not_a_retry(
    ningbo: Publisher, bundle_dir: Path
) -> None:
    """Issue 15 (verdicts that say what the evidence says): signed with a key of the trust list,
    but the issuer's database has no such credential — a leaked or a test key made it."""
    cred = ningbo.issue(0)
    verifier = synced(ningbo, bundle_dir)
    del ningbo.issued[0]
    assert verifier.verify(cred.to_hex()).status is Status.VALID  # offline it cannot be told
    result = verifier.verify_online(cred.to_hex())
    assert result.status is Status.UNKNOWN_CREDENTIAL and not result.status.genuine
    assert result.reasons[0].key == "not_on_record" and "请勿放行" in result.reasons[0]
    assert result.source.kind == "live"
    assert result.to_json()["status"] == "unknown_credential"
