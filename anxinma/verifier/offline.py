"""Offline verification: parse, issuer, key, signature, time, status — in that order.

Each step either passes or produces the result; nothing is skipped silently, and every
result carries the reasons a person reads (Chinese first, English beside it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from anxinma import credential as fmt
from anxinma.errors import BadSignature, MalformedCredential, UnsupportedAlgorithm, UnsupportedVersion
from anxinma.keys.store import KeyStatus
from anxinma.keys.trust_list import TrustedKey, TrustList
from anxinma.status_list import CredentialStatus, StatusList, shard_of
from anxinma.verifier.result import Source, Status, VerificationResult

DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_STATUS_MAX_AGE = timedelta(hours=24)


def _reason(zh: str, en: str) -> str:
    return f"{zh} / {en}"


@dataclass
class Verifier:
    """Verifies credentials against a trust list (and, when given, status lists) with no network.

    ``status_lists`` maps (issuer code, shard) to a verified :class:`StatusList`. When
    ``require_status`` is true, a credential whose list is missing or older than
    ``status_max_age`` is ``status_unknown``, never ``valid``.
    """

    trust_list: TrustList
    status_lists: Mapping[tuple[int, int], StatusList] | None = None
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW
    status_max_age: timedelta = DEFAULT_STATUS_MAX_AGE
    require_status: bool = False
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def verify(
        self,
        code: bytes | str | fmt.Credential,
        *,
        card_uid: bytes | None = None,
        source: Source | None = None,
    ) -> VerificationResult:
        """Verify any form of a credential; never raises for bad input.

        ``card_uid`` is the UID read from the NFC card the credential came from; a bound
        credential read from another card is rejected (a copy), and without a UID (a QR
        scan) the result says the binding could not be checked.
        """
        now = self.clock()
        src = source or Source("offline", self._bundle_age(now))
        try:
            if isinstance(code, fmt.Credential):
                cred = code
            elif isinstance(code, str):
                cred = fmt.decode_text(code)
            else:
                cred = fmt.decode(code)
        except (UnsupportedVersion, UnsupportedAlgorithm) as exc:
            return VerificationResult(Status.MALFORMED, (exc.explain(),), source=src)
        except MalformedCredential as exc:
            return VerificationResult(
                Status.MALFORMED,
                (_reason("无法识别的安心码", "not a readable 安心码") + f": {exc.explain()}",),
                source=src,
            )
        claims = cred.claims

        def result(status: Status, *reasons: str, binding: str | None = None) -> VerificationResult:
            return VerificationResult(status, reasons, claims, cred.kid_hex, src, None, binding)

        issuer = self.trust_list.issuer(claims.issuer_code)
        if issuer is None:
            return result(
                Status.UNKNOWN_ISSUER,
                _reason(
                    f"签发机构 {claims.issuer_code} 不在信任列表中",
                    f"issuer {claims.issuer_code} is not in the trust list",
                ),
            )
        key: TrustedKey | None = issuer.keys.get(cred.kid)
        if key is None:
            return result(
                Status.UNKNOWN_KEY,
                _reason(f"{issuer.name} 没有密钥 {cred.kid_hex}", f"{issuer.name} has no key {cred.kid_hex}"),
            )
        if key.status is KeyStatus.COMPROMISED or key.public_key is None:
            return result(
                Status.UNKNOWN_KEY,
                _reason(
                    f"签名密钥 {cred.kid_hex} 已被宣告泄露，其签发的安心码一律无效",
                    f"signing key {cred.kid_hex} was declared compromised; nothing it signed is trusted",
                ),
            )
        try:
            cred.verify_signature(key.public_key)
        except BadSignature:
            return result(
                Status.BAD_SIGNATURE,
                _reason("签名无效：安心码被篡改或伪造", "the signature does not verify: altered or forged"),
            )
        if key.status is KeyStatus.RETIRED:
            return result(
                Status.KEY_RETIRED,
                _reason(
                    f"签名密钥 {cred.kid_hex} 已停用，请持证人换发新证",
                    f"signing key {cred.kid_hex} was retired; the holder needs a re-issued credential",
                ),
            )
        binding = self._card_binding(cred, card_uid)
        if binding == "mismatch":
            return result(
                Status.BAD_SIGNATURE,
                _reason(
                    "此安心码签发给另一张卡，这张卡可能是复制卡",
                    "this credential was issued for a different card: this card may be a copy",
                ),
                binding=binding,
            )
        if now + self.clock_skew < claims.issued_at:
            return result(
                Status.NOT_YET_VALID,
                _reason(
                    f"尚未生效，生效日期 {claims.issued_at.date().isoformat()}",
                    f"not valid until {claims.issued_at.date().isoformat()}",
                ),
                binding=binding,
            )
        if now - self.clock_skew >= claims.expires_at:
            return result(
                Status.EXPIRED,
                _reason(
                    f"已于 {claims.expires_at.date().isoformat()} 过期",
                    f"expired on {claims.expires_at.date().isoformat()}",
                ),
                binding=binding,
            )
        notes = []
        if binding == "unchecked":
            notes.append(_reason("扫码无法核对卡号绑定", "a QR scan cannot check the card binding"))
        return self._status_step(claims, now, notes, result, binding)

    def _card_binding(self, cred: fmt.Credential, card_uid: bytes | None) -> str | None:
        if cred.claims.card_uid is None:
            return None
        if card_uid is None:
            return "unchecked"
        return "match" if card_uid == cred.claims.card_uid else "mismatch"

    def _status_step(
        self,
        claims: fmt.Claims,
        now: datetime,
        notes: list[str],
        result: Callable[..., VerificationResult],
        binding: str | None,
    ) -> VerificationResult:
        shard, _ = shard_of(claims.serial)
        status_list = (self.status_lists or {}).get((claims.issuer_code, shard))
        if status_list is None:
            if self.require_status:
                return result(
                    Status.STATUS_UNKNOWN,
                    _reason(
                        "没有该签发机构的状态列表，无法确认是否已吊销", "no status list: revocation unknown"
                    ),
                    *notes,
                    binding=binding,
                )
            return result(
                Status.VALID,
                _reason("签名有效，在有效期内", "genuine and within its validity"),
                _reason("未核对吊销状态（没有状态列表）", "revocation not checked (no status list)"),
                *notes,
                binding=binding,
            )
        age = now - status_list.issued_at
        if age > self.status_max_age:
            hours = int(age.total_seconds() // 3600)
            return result(
                Status.STATUS_UNKNOWN,
                _reason(
                    f"状态列表已 {hours} 小时未更新，无法确认",
                    f"status list is {hours} h old: status unknown",
                ),
                *notes,
                binding=binding,
            )
        value = status_list.status(claims.serial)
        if value is None:
            return result(
                Status.STATUS_UNKNOWN,
                _reason("状态列表尚未包含此证（刚签发？）", "the status list does not cover this serial yet"),
                *notes,
                binding=binding,
            )
        if value is CredentialStatus.REVOKED:
            return result(
                Status.REVOKED,
                _reason("此安心码已被吊销", "this credential was revoked"),
                *notes,
                binding=binding,
            )
        if value is CredentialStatus.SUSPENDED:
            return result(
                Status.SUSPENDED,
                _reason("此安心码已被暂停", "this credential is suspended"),
                *notes,
                binding=binding,
            )
        if value is CredentialStatus.ATTENTION:
            return result(
                Status.ATTENTION,
                _reason(
                    "身份真实，但健康证或保险缺失或已过期",
                    "genuine, but a health certificate or insurance lapsed",
                ),
                *notes,
                binding=binding,
            )
        return result(
            Status.VALID,
            _reason("签名有效，未吊销，在有效期内", "genuine, not revoked, in validity"),
            *notes,
            binding=binding,
        )

    def _bundle_age(self, now: datetime) -> int | None:
        if not self.status_lists:
            return None
        oldest = min(sl.issued_at for sl in self.status_lists.values())
        return max(0, int((now - oldest).total_seconds()))
