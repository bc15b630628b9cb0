"""A worker holding a card credential (bound to a card UID) and a phone credential (bound to a
phone's Ed25519 key) at once, and a check-in signed by that phone: shared by the phone
check-in tests (the API, the audit rule, the page)."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import Any

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.issuer.services.checkins import phone_check_in_message


@dataclass
class CardAndPhone:
    worker_id: int
    card_uid: bytes
    card: fmt.Credential
    phone: fmt.Credential
    phone_key: ed25519.SigningKey

    @property
    def serial_number(self) -> str:
        """The chip's serial number as Web NFC's ``NDEFReadingEvent.serialNumber`` gives it."""
        return ":".join(f"{byte:02x}" for byte in self.card_uid)


def card_and_phone(
    issuer: Any, enterprise_id: int, *, phone_key: ed25519.SigningKey | None = None
) -> CardAndPhone:
    """A new worker of ``enterprise_id`` with both credentials live (issue 18: one card and one
    phone credential at once)."""
    worker_id = int(issuer.worker(enterprise_id)["id"])
    uid = bytes.fromhex("04" + secrets.token_hex(6))
    card = issuer.credential(worker_id, card_uid=uid.hex())
    key = phone_key or ed25519.SigningKey.generate()
    answer = issuer.api(
        "POST", f"/api/v1/workers/{worker_id}/credentials", json={"holder_key": key.public_key.hex()}
    )
    assert answer.status_code == 201, answer.text
    phone = answer.json()
    assert answer.json().get("replaced_serial") is None  # the card credential stays live beside it
    return CardAndPhone(
        worker_id,
        uid,
        fmt.decode(bytes.fromhex(str(card["hex"]))),
        fmt.decode(bytes.fromhex(str(phone["hex"]))),
        key,
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def phone_body(
    issuer_code: int,
    who: CardAndPhone,
    *,
    card: fmt.Credential | None = None,
    serial_number: str | None = None,
    at: int | None = None,
    nonce: str | None = None,
    signer: ed25519.SigningKey | None = None,
) -> dict[str, Any]:
    """The body the worker's page posts, signed by ``signer`` (the worker's phone by default)."""
    card = card or who.card
    serial_number = serial_number or who.serial_number
    at = int(time.time()) if at is None else at
    nonce = nonce or b64url(secrets.token_bytes(16))
    uid = bytes.fromhex(serial_number.replace(":", ""))
    message = phone_check_in_message(issuer_code, card.to_bytes(), uid, at, nonce)
    return {
        "credential": who.phone.to_hex(),
        "card": card.to_hex(),
        "serial_number": serial_number,
        "time": at,
        "nonce": nonce,
        "signature": b64url((signer or who.phone_key).sign(message)),
    }
