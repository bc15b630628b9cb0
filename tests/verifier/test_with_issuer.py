"""The verifier against the real issuer service (``live_issuer``): credentials it issued, its
revocations, its live records; a Ningbo and a Chongqing issuer side by side in one bundle."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from anxinma.cli import main
from anxinma.keys import KeyDirectory
from anxinma.verifier import Status, Verifier
from anxinma.verifier.sync import TOFU_WARNING, sync
from tests.conftest import LiveIssuer, free_port


def synced(issuer: LiveIssuer, bundle_dir: Path) -> Verifier:
    sync(issuer.url, bundle_dir, root_key=issuer.root_public_key)
    return Verifier.from_bundle(bundle_dir)


def change(issuer: LiveIssuer, serial: int, action: str, reason: str | None = None) -> None:
    body = {"reason": reason} if reason else {}
    response = issuer.api("POST", f"/api/v1/credentials/{serial}/{action}", json=body)
    assert response.status_code == 200, response.text


@pytest.fixture
def chongqing_issuer(tmp_path: Path) -> Iterator[LiveIssuer]:
    """A second issuer service, Chongqing's, under its own root."""
    home = tmp_path / "chongqing-home"
    port = free_port()  # the keyring's base URL is the service's identity: made for its port
    KeyDirectory.init(
        home / "keys",
        issuer_code=500000,
        issuer_name="重庆市商务委员会 (开发)",
        base_url=f"http://127.0.0.1:{port}",
        insecure_dev=True,
    )
    issuer = LiveIssuer(home, f"sqlite:///{home / 'anxinma.sqlite3'}", port=port)
    try:
        yield issuer
    finally:
        issuer.stop()


def test_credentials_the_issuer_issued_verify_offline_and_online(
    live_issuer: LiveIssuer, bundle_dir: Path
) -> None:
    issued = live_issuer.credential()
    verifier = synced(live_issuer, bundle_dir)
    offline = verifier.verify(str(issued["code"]))
    assert offline.status is Status.VALID
    assert offline.claims is not None and offline.claims.serial == issued["serial"]
    online = verifier.verify_online(str(issued["code"]))
    assert online.status is Status.VALID and online.live is not None
    assert online.live["serial"] == issued["serial"]
    assert online.live["enterprise"]["name"].startswith("测试家政服务有限公司")


def test_a_revocation_through_the_api_is_seen_live_at_once_and_offline_after_the_next_sync(
    live_issuer: LiveIssuer, bundle_dir: Path
) -> None:
    issued = live_issuer.credential()
    code, serial = str(issued["code"]), int(issued["serial"])  # type: ignore[call-overload]
    verifier = synced(live_issuer, bundle_dir)
    change(live_issuer, serial, "revoke", "left")
    assert verifier.verify(code).status is Status.VALID  # the bundle predates the revocation
    online = verifier.verify_online(code)
    assert online.status is Status.REVOKED and online.source.kind == "live"
    assert "离职" in online.reasons[0]
    report = sync(live_issuer.url, bundle_dir)
    assert "status/330200-0.cose" in report.changed  # the compact form (issue 15)
    assert Verifier.from_bundle(bundle_dir).verify(code).status is Status.REVOKED


def test_suspend_and_reinstate_through_the_api(live_issuer: LiveIssuer, bundle_dir: Path) -> None:
    issued = live_issuer.credential()
    code, serial = str(issued["code"]), int(issued["serial"])  # type: ignore[call-overload]
    change(live_issuer, serial, "suspend", "投诉核查中")
    assert synced(live_issuer, bundle_dir).verify(code).status is Status.SUSPENDED
    change(live_issuer, serial, "reinstate")
    assert synced(live_issuer, bundle_dir).verify(code).status is Status.VALID


def test_a_worker_whose_health_certificate_lapsed_is_attention(
    live_issuer: LiveIssuer, bundle_dir: Path
) -> None:
    lapsed = (date.today() - timedelta(days=3)).isoformat()
    worker = live_issuer.worker(health_certificate_valid_until=lapsed)
    issued = live_issuer.credential(int(worker["id"]))  # type: ignore[call-overload]
    verifier = synced(live_issuer, bundle_dir)
    assert verifier.verify(str(issued["code"])).status is Status.ATTENTION
    online = verifier.verify_online(str(issued["code"]))
    assert online.status is Status.ATTENTION
    assert online.live is not None and online.live["health_certificate"]["valid"] is False


def test_a_card_bound_credential_rejects_another_card(live_issuer: LiveIssuer, bundle_dir: Path) -> None:
    issued = live_issuer.credential(card_uid="04a1b2c3d4e5f6")
    verifier = synced(live_issuer, bundle_dir)
    right = verifier.verify(str(issued["hex"]), card_uid=bytes.fromhex("04a1b2c3d4e5f6"))
    assert right.status is Status.VALID and right.card_binding == "match"
    wrong = verifier.verify(str(issued["hex"]), card_uid=bytes.fromhex("04a1b2c3d4e5f7"))
    assert wrong.status is Status.BAD_SIGNATURE and wrong.card_binding == "mismatch"


def test_resync_with_nothing_changed_is_all_304(live_issuer: LiveIssuer, bundle_dir: Path) -> None:
    live_issuer.credential()
    first = sync(live_issuer.url, bundle_dir)
    assert TOFU_WARNING in first.warnings
    second = sync(live_issuer.url, bundle_dir)
    assert second.changed == [] and second.bytes_received < first.bytes_received


def test_ningbo_and_chongqing_issuers_side_by_side_in_one_bundle(
    live_issuer: LiveIssuer, chongqing_issuer: LiveIssuer, bundle_dir: Path, tmp_path: Path
) -> None:
    ningbo_cred = live_issuer.credential()
    chongqing_cred = chongqing_issuer.credential()
    change(chongqing_issuer, int(chongqing_cred["serial"]), "revoke", "misconduct")  # type: ignore[call-overload]
    runner = CliRunner()
    for issuer, name in ((live_issuer, "nb.pem"), (chongqing_issuer, "cq.pem")):
        pem = tmp_path / name
        pem.write_bytes(issuer.root_public_pem)
        result = runner.invoke(
            main,
            ["verifier", "sync", "--issuer", issuer.url, "--dir", str(bundle_dir), "--root-key", str(pem)],
        )
        assert result.exit_code == 0, result.output
    verdicts = {}
    for issued in (ningbo_cred, chongqing_cred):
        result = runner.invoke(
            main, ["verify", str(issued["code"]), "--bundle", str(bundle_dir), "--offline", "--json"]
        )
        document = json.loads(result.stdout)
        verdicts[document["claims"]["issuer_code"]] = (document["status"], result.exit_code)
    assert verdicts == {330200: ("valid", 0), 500000: ("revoked", 1)}
    online = Verifier.from_bundle(bundle_dir).verify_online(str(chongqing_cred["code"]))
    assert online.status is Status.REVOKED and online.live is not None and online.live["iss"] == "500000"
