"""The check-in desk and the holder proof (issue 18, item 2): a holder-bound (phone) credential
tapped at a desk without a fresh proof of its phone is refused in the desk's own words; a
fresh dynamic code of a card-and-phone-bound credential checks in (the issuer gets the
credential inside it); a card credential checks in as before. All through the real desk
(emulated cards over nfcpy's udp driver), the real verifier over a bundle synced from the live
issuer, and the issuer's real API."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import ndef

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.cli import BundleTapVerifier
from anxinma.ndef import EXTERNAL_TYPE, NdefForm, encode_message
from anxinma.nfc.checkin import CheckInDesk, CheckInSender, Outcome, month_of
from anxinma.nfc.checkin_display import headline
from anxinma.nfc.checkin_queue import CheckInQueue
from anxinma.nfc.issuer_client import IssuerClient
from anxinma.nfc.messages import MESSAGES
from anxinma.nfc.reader import Reader
from tests.conftest import LiveIssuer
from tests.nfc.checkin_helpers import carrying, check_ins_at, issued_card, sync_bundle
from tests.nfc.emulator import CardEmulator, EmulatedCard


def _issue(issuer: LiveIssuer, enterprise: int, **body: str) -> fmt.Credential:
    worker = issuer.worker(enterprise)
    answer = issuer._ok(issuer.api("POST", f"/api/v1/workers/{worker['id']}/credentials", json=body), 201)
    return fmt.decode(bytes.fromhex(str(answer["hex"])))


def _external(data: bytes) -> bytes:
    """An NDEF message whose one external record carries ``data`` (a credential or a dynamic code)."""
    return b"".join(ndef.message_encoder([ndef.Record(EXTERNAL_TYPE, "", data)]))


def test_the_desk_refuses_a_phone_credential_without_a_fresh_proof_in_its_own_words(
    tmp_path: Path, live_issuer: LiveIssuer
) -> None:
    enterprise = int(live_issuer.enterprise()["id"])
    phone_key = ed25519.SigningKey(bytes(range(1, 33)))
    holder = phone_key.public_key.hex()
    # A phone credential (holder key, no card) written onto some card: its NFC form, bare.
    bare_card = EmulatedCard.blank(11)
    phone = _issue(live_issuer, enterprise, holder_key=holder)
    carrying(bare_card, encode_message(phone, live_issuer.url, NdefForm.BOTH))
    # The phone credential's dynamic code written onto a card: stale, forged, fresh. A phone
    # credential carries no card UID (issue 18: the card has its own card credential), so even a
    # fresh code is no card check-in: the desk checks the proof first, then the card binding.
    both = phone
    now = int(time.time())
    stale = fmt.present(both, phone_key, now - 600)
    forged = fmt.decode_presentation(stale.raw[:-64] + ed25519.SigningKey(bytes(32)).sign(b"x"))
    fresh = fmt.present(both, phone_key, now)
    stale_card, forged_card, fresh_card = (
        carrying(EmulatedCard.blank(12), _external(p.raw)) for p in (stale, forged, fresh)
    )
    plain_card, plain = issued_card(live_issuer, 13, enterprise)  # a card credential, as today
    bundle = sync_bundle(live_issuer, tmp_path / "bundles")
    verify = BundleTapVerifier(bundle)
    token = live_issuer.token("card_operator")
    taps = [bare_card, stale_card, forged_card, fresh_card, plain_card]
    with CheckInQueue(tmp_path / "q.sqlite3") as queue, CardEmulator(taps) as emulator:
        sender = CheckInSender(queue, lambda u: IssuerClient(u, token, timeout=5, retries=0))
        with Reader.open(emulator.path) as reader:
            desk = CheckInDesk(
                reader, queue, verify, issuer_url=live_issuer.url, issuer_code=330200, station="desk"
            )
            results = [desk.tap(reader.wait_for_card(3)) for _ in taps]
        statuses = [r.verdict.status if r.verdict is not None else None for r in results]
        assert statuses == [
            "holder_proof_missing",
            "holder_proof_expired",
            "bad_holder_proof",
            "valid",
            "valid",
        ]
        assert [r.outcome for r in results] == [Outcome.REFUSED] * 4 + [Outcome.RECORDED]
        assert results[3].reasons != results[0].reasons  # the fresh code passed its proof: refused as unbound
        # The desk's words (Chinese first, English beside), not the consumer page's.
        assert results[0].reasons == (MESSAGES("checkin_holder_proof_missing"),)
        assert results[1].reasons == (MESSAGES("checkin_holder_proof_expired"),)
        assert results[2].reasons == (MESSAGES("checkin_bad_holder_proof"),)
        assert all("请刷服务员本人的卡" in r.reasons[0] and " / " in r.reasons[0] for r in results[:3])
        assert headline(results[0]) == ("red", "请刷本人的卡 · 未打卡", "TAP YOUR OWN CARD · NOT CHECKED IN")
        report = sender.flush()
        assert (report.sent, report.rejected) == (1, 0)
    month = month_of(datetime.now(UTC))
    assert check_ins_at(live_issuer) == [(int(plain["worker_id"]), month, plain_card.idm.hex())]
