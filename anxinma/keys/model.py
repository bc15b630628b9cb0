"""What the key directory and the trust list both speak: key states, key records, issuer entries.

The lowest module of :mod:`anxinma.keys`, so that imports point one way
(``model`` ← ``store`` ← ``trust_list``): the store writes issuer entries and checks imported
ones with the same rules the trust list reads them by, without importing the trust list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from anxinma.credential import KID_SIZE, MAX_DIVISION_CODE, MIN_DIVISION_CODE, derive_kid
from anxinma.errors import TrustListError
from anxinma.keys.jwk import public_jwk, public_key_from_jwk


class KeyStatus(StrEnum):
    """A key's state as the trust list publishes it."""

    ACTIVE = "active"  # verifies (and, if it is the signing key, signs)
    RETIRED = "retired"  # rotated out: what it signed no longer verifies
    COMPROMISED = "compromised"  # declared leaked: dropped, what it signed no longer verifies


@dataclass(frozen=True)
class KeyRecord:
    """One issuer key's public half and its state, as keyring.json stores it."""

    kid: bytes
    public_key: bytes
    status: KeyStatus
    created_at: datetime
    valid_to: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid.hex(),
            "public_key": self.public_key.hex(),
            "status": self.status.value,
            "created_at": self.created_at.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyRecord:
        return cls(
            kid=bytes.fromhex(data["kid"]),
            public_key=bytes.fromhex(data["public_key"]),
            status=KeyStatus(data["status"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            valid_to=datetime.fromisoformat(data["valid_to"]) if data.get("valid_to") else None,
        )


@dataclass(frozen=True)
class IssuerInfo:
    """An issuer's public identity: division code, name, public base URL."""

    code: int
    name: str
    base_url: str


def issuer_entry(info: IssuerInfo, records: list[KeyRecord]) -> dict[str, Any]:
    """The public trust-list entry of one issuer.

    A compromised key keeps its kid and status but loses its public key, so a verifier can say
    *why* a credential no longer verifies while nothing can verify under that key.
    """
    keys = []
    for record in records:
        if record.status is KeyStatus.COMPROMISED:
            item: dict[str, Any] = {"kid": record.kid.hex()}
        else:
            item = public_jwk(record.public_key, record.kid)
        item["status"] = record.status.value
        item["valid_from"] = record.created_at.isoformat()
        item["valid_to"] = record.valid_to.isoformat() if record.valid_to else None
        keys.append(item)
    return {"code": info.code, "name": info.name, "base_url": info.base_url, "keys": keys}


def validate_issuer_entry(entry: Any) -> dict[str, Any]:
    """Check one issuer entry's shape; raises :class:`TrustListError` naming the problem.

    Guarantees: a 6-digit division code, a name, kids of the format's size that are unique
    and derived from their public keys (so a kid cannot be pointed at another key).
    """
    if not isinstance(entry, dict):
        raise TrustListError("an issuer entry is an object", message_zh="签发机构条目必须是对象")
    code = entry.get("code")
    if (
        not isinstance(code, int)
        or isinstance(code, bool)
        or not MIN_DIVISION_CODE <= code <= MAX_DIVISION_CODE
    ):
        raise TrustListError(
            f"issuer code {code!r} is not a 6-digit division code",
            message_zh=f"签发机构代码 {code!r} 不是六位行政区划代码",
        )
    if not isinstance(entry.get("name"), str) or not isinstance(entry.get("keys"), list):
        raise TrustListError(
            f"issuer {code}: name and keys are required", message_zh=f"签发机构 {code}：缺少名称或密钥"
        )
    seen: set[str] = set()
    for key in entry["keys"]:
        kid = key.get("kid") if isinstance(key, dict) else None
        if not isinstance(kid, str) or len(kid) != 2 * KID_SIZE:
            raise TrustListError(
                f"issuer {code}: a kid is {KID_SIZE} bytes in hex",
                message_zh=f"签发机构 {code}：密钥标识须为 {KID_SIZE} 字节的十六进制",
            )
        if kid in seen:
            raise TrustListError(
                f"issuer {code}: kid {kid} appears twice", message_zh=f"签发机构 {code}：密钥 {kid} 重复"
            )
        seen.add(kid)
        try:
            status = KeyStatus(key.get("status"))
        except ValueError as exc:
            raise TrustListError(
                f"issuer {code}: key {kid} has an unknown status",
                message_zh=f"签发机构 {code}：密钥 {kid} 状态未知",
            ) from exc
        if status is not KeyStatus.COMPROMISED:
            public = public_key_from_jwk(key)
            if derive_kid(public).hex() != kid:
                raise TrustListError(
                    f"issuer {code}: kid {kid} is not derived from its key",
                    message_zh=f"签发机构 {code}：密钥标识 {kid} 与公钥不符",
                )
    return entry
