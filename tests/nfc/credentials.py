"""Credentials for the NFC tests, signed with a fixed throw-away key (never an issuer's)."""

from __future__ import annotations

from datetime import date

from anxinma import credential as fmt
from anxinma import ed25519

BASE_URL = "https://v.anxinma.cn"
SIGNING_KEY = ed25519.SigningKey(bytes(range(32)))
KID = fmt.derive_kid(SIGNING_KEY.public_key)


def make_credential(
    *,
    card_uid: bytes | None = None,
    holder_key: bytes | None = None,
    serial: int = 61442,
    archive_id: int = 123456,
    enterprise_id: int = 253,
    display_name: str = "李*霞",
    categories: tuple[str, ...] = ("infant_care", "elderly_care", "cleaning"),
) -> fmt.Credential:
    """The typical worker credential of docs/format.md (119 bytes unbound)."""
    claims = fmt.Claims(
        issuer_code=330200,
        serial=serial,
        subject_kind=fmt.SubjectKind.WORKER,
        archive_id=archive_id,
        enterprise_id=enterprise_id,
        display_name=display_name,
        categories=frozenset(fmt.Category(c) for c in categories),
        issued_at=fmt.parse_when(date(2025, 3, 1), "issued_at"),
        expires_at=fmt.parse_when(date(2026, 3, 1), "expires_at"),
        card_uid=card_uid,
        holder_key=holder_key,
    )
    return fmt.sign(claims, SIGNING_KEY, KID)
