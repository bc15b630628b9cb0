"""Generate the dynamic code's test vectors (docs/format.md §12): ``presentation.json``.

Deterministic like generate.py (fixed seeds, Ed25519 is deterministic, a fixed time), and
checked the same way: tests/test_credential_presentation.py compares the committed file with
what this makes. Run from the repository root::

    .venv/bin/python -m tests.vectors.generate_presentation

The file has no ``credential_hex`` key, so the credential vector readers
(:data:`tests.vectors.CREDENTIAL_VECTORS`) skip it.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.verifier.holder import PROOF_MAX_AGE, PROOF_MAX_AHEAD, PROOF_REFRESH, PROOF_WINDOW
from tests.vectors.generate import BASE_URL, HERE, HOLDER_SEED, ISSUER_SEED, TYPICAL, seed

#: When the dynamic code of the vector was made: 2026-12-01 09:30:00 China time.
TIME = int(datetime(2026, 12, 1, 1, 30, tzinfo=UTC).timestamp())
OTHER_HOLDER_SEED = seed("another phone's holder key")


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _credential(serial: int, holder_key: bytes | None) -> fmt.Credential:
    data: dict[str, Any] = {**TYPICAL, "serial": serial}
    if holder_key is not None:
        data["holder_key"] = holder_key.hex()
    return fmt.sign(fmt.Claims.from_mapping(data), ed25519.SigningKey(ISSUER_SEED))


def _assemble(credential: bytes, time: int, proof: bytes) -> bytes:
    """The presentation's bytes around any proof (the negative cases carry wrong ones)."""
    return b"\x83" + credential + b"\x1a" + time.to_bytes(4, "big") + b"\x58\x40" + proof


def build() -> dict[str, Any]:
    holder = ed25519.SigningKey(HOLDER_SEED)
    other_holder = ed25519.SigningKey(OTHER_HOLDER_SEED)
    cred = _credential(61444, holder.public_key)  # the holder-key vector's credential
    other = _credential(61445, holder.public_key)  # the same phone's key in another credential
    card = _credential(61442, None)  # the typical worker: no holder key
    shown = fmt.present(cred, holder, TIME)
    raw = cred.to_bytes()

    def case(
        name: str, description: str, code: bytes | str, at: int, status: str, reason: str
    ) -> dict[str, Any]:
        form = {"text": code} if isinstance(code, str) else {"hex": code.hex()}
        return {
            "name": name,
            "description": description,
            **form,
            "verify_at": at,
            "verify_at_iso": _iso(at),
            "status": status,
            "reason": reason,
        }

    cases = [
        case(
            "fresh",
            "The code as the phone shows it, scanned 20 s later.",
            shown.raw,
            TIME + 20,
            "valid",
            None,
        ),
        case(
            "fresh-url",
            "The same code by its URL (a camera's scan).",
            shown.to_url(BASE_URL),
            TIME + 20,
            "valid",
            None,
        ),
        case(
            "fresh-qr-text",
            "The same code as a QR reader returns it (upper-case prefix).",
            shown.qr_text(BASE_URL),
            TIME,
            "valid",
            None,
        ),
        case(
            "last-fresh-second",
            f"Scanned {PROOF_MAX_AGE} s after it was made: still fresh.",
            shown.raw,
            TIME + PROOF_MAX_AGE,
            "valid",
            None,
        ),
        case(
            "expired",
            f"Scanned {PROOF_MAX_AGE + 1} s after it was made (a screenshot): expired.",
            shown.raw,
            TIME + PROOF_MAX_AGE + 1,
            "holder_proof_expired",
            "holder_proof_expired",
        ),
        case(
            "screenshot-next-day",
            "A screenshot of the code, scanned a day later.",
            shown.to_url(BASE_URL),
            TIME + 86400,
            "holder_proof_expired",
            "holder_proof_expired",
        ),
        case(
            "ahead-within-tolerance",
            f"Dated {PROOF_MAX_AHEAD} s ahead of the verifier's clock: within the clock tolerance.",
            shown.raw,
            TIME - PROOF_MAX_AHEAD,
            "valid",
            None,
        ),
        case(
            "future-beyond-tolerance",
            f"Dated {PROOF_MAX_AHEAD + 1} s ahead of the verifier's clock: beyond the tolerance.",
            shown.raw,
            TIME - PROOF_MAX_AHEAD - 1,
            "holder_proof_expired",
            "holder_proof_future",
        ),
        case(
            "proof-of-another-credential",
            "This credential with the proof the same phone made for another of its credentials.",
            _assemble(raw, TIME, holder.sign(fmt.proof_input(other.to_bytes(), TIME))),
            TIME + 20,
            "bad_holder_proof",
            "bad_holder_proof",
        ),
        case(
            "proof-over-truncated-credential",
            "A proof over the credential without its last byte.",
            _assemble(raw, TIME, holder.sign(fmt.proof_input(raw[:-1], TIME))),
            TIME + 20,
            "bad_holder_proof",
            "bad_holder_proof",
        ),
        case(
            "proof-at-another-time",
            "The time changed to now, the proof made 10 minutes earlier (the time is signed).",
            _assemble(raw, TIME, holder.sign(fmt.proof_input(raw, TIME - 600))),
            TIME + 20,
            "bad_holder_proof",
            "bad_holder_proof",
        ),
        case(
            "wrong-holder-key",
            "A proof made by another phone's key.",
            _assemble(raw, TIME, other_holder.sign(fmt.proof_input(raw, TIME))),
            TIME + 20,
            "bad_holder_proof",
            "bad_holder_proof",
        ),
        case(
            "proof-without-context",
            "A proof over the credential and time without the domain-separation string.",
            _assemble(raw, TIME, holder.sign(raw + TIME.to_bytes(4, "big"))),
            TIME + 20,
            "bad_holder_proof",
            "bad_holder_proof",
        ),
        case(
            "missing-proof",
            "The holder-bound credential itself (its NFC form, hex).",
            raw,
            TIME,
            "holder_proof_missing",
            "holder_proof_missing",
        ),
        case(
            "missing-proof-url",
            "The holder-bound credential's own URL (a screenshot of the static code).",
            cred.to_url(BASE_URL),
            TIME,
            "holder_proof_missing",
            "holder_proof_missing",
        ),
        case(
            "card-credential",
            "A card credential (no holder key): verifies as it always did.",
            card.to_bytes(),
            TIME,
            "valid",
            None,
        ),
        case(
            "card-credential-in-a-presentation",
            "A card credential wrapped as a dynamic code: refused, it has no holder key.",
            _assemble(card.to_bytes(), TIME, holder.sign(fmt.proof_input(card.to_bytes(), TIME))),
            TIME,
            "malformed",
            "malformed",
        ),
        case(
            "truncated-presentation",
            "The dynamic code without its last byte.",
            shown.raw[:-1],
            TIME,
            "malformed",
            "malformed",
        ),
    ]
    return {
        "name": "presentation",
        "description": (
            "The dynamic code (docs/format.md §12) of the holder-key vector's credential, and the "
            "verdicts of a verifier that trusts the vector issuer key and finds the credential "
            "itself valid."
        ),
        "context": fmt.PRESENTATION_CONTEXT,
        "refresh_seconds": PROOF_REFRESH,
        "window_seconds": PROOF_WINDOW,
        "max_age_seconds": PROOF_MAX_AGE,
        "max_ahead_seconds": PROOF_MAX_AHEAD,
        "issuer_seed": ISSUER_SEED.hex(),
        "issuer_public_key": ed25519.SigningKey(ISSUER_SEED).public_key.hex(),
        "holder_seed": HOLDER_SEED.hex(),
        "holder_public_key": holder.public_key.hex(),
        "other_holder_seed": OTHER_HOLDER_SEED.hex(),
        "credential_vector": "holder-key",
        "credential": raw.hex(),
        "time": TIME,
        "time_iso": _iso(TIME),
        "proof_input_hex": fmt.proof_input(raw, TIME).hex(),
        "proof_hex": shown.proof.hex(),
        "presentation_hex": shown.to_hex(),
        "size": len(shown.raw),
        "decimal": shown.to_decimal(),
        "url": shown.to_url(BASE_URL),
        "qr_text": shown.qr_text(BASE_URL),
        "qr_version_m": _qr_version(shown),
        "cases": cases,
    }


def _qr_version(shown: fmt.Presentation) -> int:
    from anxinma.qr import make_qr

    return int(make_qr(shown, BASE_URL).version)


def render(content: Any) -> str:
    return json.dumps(content, ensure_ascii=False, indent=2) + "\n"


def main() -> int:
    (HERE / "presentation.json").write_text(render(build()), "utf-8")
    print("wrote tests/vectors/presentation.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
