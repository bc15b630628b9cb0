"""The NXP originality signature of NTAG21x chips: is this a genuine chip with a factory UID?

A UID binding is only worth something if the UID cannot be chosen, and "magic" clone chips
let anyone write any UID. NTAG21x chips carry a 32-byte ECC signature of their 7-byte UID,
programmed by NXP at production and read with READ_SIG (0x3C 0x00). NXP application note
AN11350 ("NTAG21x Originality Signature Validation") gives the scheme and the public key:
ECDSA over secp128r1, the UID itself as the message (no hash), the signature as r || s of 16
bytes each. The ``cryptography`` package has no secp128r1, so python-ecdsa does the curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ecdsa import BadSignatureError, VerifyingKey
from ecdsa.curves import SECP128r1
from ecdsa.util import sigdecode_string

__all__ = ["NXP_NTAG21X_PUBLIC_KEY", "Originality", "OriginalityStatus", "check_ntag21x"]

#: AN11350 §3: the NTAG21x originality public key (uncompressed SEC 1 point on secp128r1).
NXP_NTAG21X_PUBLIC_KEY = bytes.fromhex("04494E1A386D3D3CFE3DC10E5DE68A499B1C202DB5B132393E89ED19FE5BE8BC61")
SIGNATURE_SIZE = 32

_NTAG21X_KEY = VerifyingKey.from_string(NXP_NTAG21X_PUBLIC_KEY, curve=SECP128r1)


class OriginalityStatus(StrEnum):
    """The answer of an originality check. Lower-case values are stable (JSON, journal, report)."""

    GENUINE = "genuine"  # the signature verifies under NXP's key: a factory UID
    NOT_GENUINE = "not_genuine"  # a signature is there and is wrong: a clone or counterfeit chip
    UNREADABLE = "unreadable"  # the chip should have one but gave none (all zeros, no answer)
    UNAVAILABLE = "unavailable"  # this kind of chip has no NXP originality signature


_REASONS = {
    OriginalityStatus.GENUINE: (
        "NXP 原厂芯片，卡号为出厂卡号",
        "a genuine NXP chip: the UID is the factory UID",
    ),
    OriginalityStatus.NOT_GENUINE: (
        "芯片原厂签名无效：可能是仿制卡或可改卡号的卡",
        "the originality signature is invalid: a clone or a UID-changeable chip",
    ),
    OriginalityStatus.UNREADABLE: (
        "芯片未返回原厂签名（仿制卡常见）",
        "the chip returned no originality signature (common on clones)",
    ),
    OriginalityStatus.UNAVAILABLE: (
        "此类芯片没有 NXP 原厂签名，无法核对",
        "this kind of chip has no NXP originality signature to check",
    ),
}


@dataclass(frozen=True)
class Originality:
    """The result of an originality check, with the reason a person reads."""

    status: OriginalityStatus
    signature: bytes | None = None

    @property
    def reason_zh(self) -> str:
        return _REASONS[self.status][0]

    @property
    def reason_en(self) -> str:
        return _REASONS[self.status][1]

    @property
    def reason(self) -> str:
        return f"{self.reason_zh} / {self.reason_en}"

    def to_json(self) -> dict[str, str | None]:
        return {
            "status": self.status.value,
            "reason": self.reason,
            "signature": self.signature.hex() if self.signature is not None else None,
        }


def check_ntag21x(uid: bytes, signature: bytes | None) -> Originality:
    """Check an NTAG21x READ_SIG answer against NXP's published key; never raises."""
    if signature is None or len(signature) != SIGNATURE_SIZE or not any(signature):
        return Originality(OriginalityStatus.UNREADABLE, signature)
    try:
        _NTAG21X_KEY.verify_digest(signature, uid, sigdecode=sigdecode_string)
    except (BadSignatureError, ValueError, AssertionError):
        return Originality(OriginalityStatus.NOT_GENUINE, signature)
    return Originality(OriginalityStatus.GENUINE, signature)
