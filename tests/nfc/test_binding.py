"""Card UID binding end to end: the issuer binds, the card carries, the verifier (by NFC) checks.

A credential copied byte for byte onto another card is rejected; a QR scan of it, which has no
UID to compare, says that the binding could not be checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from anxinma import credential as fmt
from anxinma.cli import main
from anxinma.keys import TrustList
from anxinma.ndef import NdefForm, decode_message, encode_message
from anxinma.nfc.reader import Reader
from anxinma.verifier import Status, Verifier
from tests.nfc.emulator import CardEmulator, EmulatedCard


def issue_for(live_issuer: Any, card: EmulatedCard) -> fmt.Credential:
    answer = live_issuer.credential(card_uid=card.idm.hex())
    assert answer["card_uid"] == card.idm.hex()
    return fmt.decode(bytes.fromhex(answer["hex"]))


def verifier_for(live_issuer: Any) -> Verifier:
    return Verifier(TrustList.load(live_issuer.trust_list(), live_issuer.root_public_key))


def test_a_credential_copied_to_another_card_is_rejected_and_the_original_passes(live_issuer: Any) -> None:
    original, copy = EmulatedCard.blank(1), EmulatedCard.blank(2)
    credential = issue_for(live_issuer, original)
    message = encode_message(credential, live_issuer.url, NdefForm.BOTH)
    with CardEmulator([original]) as emulator, Reader.open(emulator.path) as reader:
        reader.wait_for_card(timeout=3).write_message(message)
    copy.memory[:] = original.memory  # a cloner copies every block; only the IDm differs
    verifier = verifier_for(live_issuer)
    with CardEmulator([copy, original]) as emulator, Reader.open(emulator.path) as reader:
        results = []
        for _ in range(2):
            card = reader.wait_for_card(timeout=3)
            results.append(
                (card.uid, verifier.verify(decode_message(card.read_message()), card_uid=card.uid))
            )
            reader.wait_for_removal(card, timeout=3)
    (copy_uid, on_copy), (original_uid, on_original) = results
    assert copy_uid == copy.idm and original_uid == original.idm
    assert on_copy.status is Status.BAD_SIGNATURE and on_copy.card_binding == "mismatch"
    assert any("另一张卡" in reason for reason in on_copy.reasons)
    assert on_original.status is Status.VALID and on_original.card_binding == "match"


def test_a_qr_scan_of_a_bound_credential_says_the_binding_was_not_checked(live_issuer: Any) -> None:
    credential = issue_for(live_issuer, EmulatedCard.blank(3))
    result = verifier_for(live_issuer).verify(credential.qr_text(live_issuer.url))
    assert result.status is Status.VALID and result.card_binding == "unchecked"
    assert any("扫码无法核对卡号绑定" in reason for reason in result.reasons)


def test_verify_card_command_rejects_the_copy_and_accepts_the_original(
    live_issuer: Any, tmp_path: Path
) -> None:
    original, copy = EmulatedCard.blank(4), EmulatedCard.blank(5)
    credential = issue_for(live_issuer, original)
    message = encode_message(credential, live_issuer.url, NdefForm.EXTERNAL)
    trust_list = tmp_path / "trust-list.jwt"
    trust_list.write_text(live_issuer.trust_list())
    root = tmp_path / "root.pem"
    root.write_bytes(live_issuer.root_public_pem)
    status_list = tmp_path / "status.jwt"
    status_list.write_text(live_issuer.status_list())
    with CardEmulator([original]) as emulator, Reader.open(emulator.path) as reader:
        reader.wait_for_card(timeout=3).write_message(message)
    copy.memory[:] = original.memory
    runner = CliRunner()
    outcomes = {}
    for card in (original, copy):
        with CardEmulator([card]) as emulator:
            result = runner.invoke(
                main,
                ["verify-card", "--device", emulator.path, "--trust-list", str(trust_list), "--root-key", str(root),
                 "--status-list", str(status_list), "--wait", "3", "--json"],
            )  # fmt: skip
        outcomes[card.idm] = (result.exit_code, json.loads(result.stdout))
    code, report = outcomes[original.idm]
    assert code == 0 and report["status"] == "valid" and report["card_binding"] == "match"
    assert (
        report["card"]["uid"] == original.idm.hex()
        and report["card"]["originality"]["status"] == "unavailable"
    )
    code, report = outcomes[copy.idm]
    assert code == 1 and report["card_binding"] == "mismatch" and report["status"] == "bad_signature"


def test_verify_card_reads_the_synced_bundle_by_default_and_follows_a_revocation(
    live_issuer: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from tests.nfc.checkin_helpers import carrying, sync_bundle

    monkeypatch.setenv("ANXINMA_HOME", str(tmp_path / "home"))
    card = EmulatedCard.blank(6)
    credential = issue_for(live_issuer, card)
    carrying(card, encode_message(credential, live_issuer.url, NdefForm.BOTH))
    sync_bundle(live_issuer, tmp_path / "home" / "bundles")  # $ANXINMA_HOME/bundles: no option needed

    def verify_card(*extra: str) -> tuple[int, dict[str, Any]]:
        with CardEmulator([card]) as emulator:
            result = CliRunner().invoke(
                main, ["verify-card", "--device", emulator.path, "--wait", "3", "--json", *extra]
            )
        return result.exit_code, json.loads(result.stdout) if result.stdout.startswith("{") else {
            "error": result.stderr
        }

    code, report = verify_card()
    assert code == 0 and report["status"] == "valid" and report["card_binding"] == "match"
    live_issuer.api("POST", f"/api/v1/credentials/{credential.claims.serial}/revoke", json={"reason": "lost"})
    other = sync_bundle(live_issuer, tmp_path / "elsewhere")
    code, report = verify_card("--bundle", str(other))
    assert code == 1 and report["status"] == "revoked"
    trust_list = tmp_path / "trust-list.jwt"
    trust_list.write_text(live_issuer.trust_list())
    code, report = verify_card("--bundle", str(other), "--trust-list", str(trust_list))
    assert code == 2 and "not both" in report["error"]
