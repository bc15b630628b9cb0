"""Offline verification: parse, trust list, issuer and key, signature, time, status — in that order.

Each step either passes or produces the result; nothing is skipped silently, and every
result carries the reasons a person reads (Chinese first, English beside it).

A :class:`Verifier` holds one or more :class:`TrustAnchor` s side by side — a verified trust
list with the status lists verified under it, one per bundle (issuer origin) — so a Ningbo
verifier checks a Chongqing worker against whichever trust list names Chongqing. Everything
that can be worked out once per issuer or key (which trust list speaks for an issuer, whether
any list has declared a key compromised, which status list is the newest for a shard) is
worked out when the verifier is built, so :meth:`Verifier.verify` does only per-credential
work: decode, one dictionary lookup per step, one Ed25519 verification.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.errors import MalformedCredential, UnsupportedAlgorithm, UnsupportedVersion
from anxinma.keys.store import KeyStatus
from anxinma.keys.trust_list import TrustedIssuer, TrustedKey, TrustList
from anxinma.status_list import CredentialStatus, StatusList, shard_of
from anxinma.verifier.result import Source, Status, VerificationResult, new_result, offline_source

DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_STATUS_MAX_AGE = timedelta(hours=24)
_utc_now = functools.partial(datetime.now, UTC)


def reason(zh: str, en: str) -> str:
    """One sentence as a person reads it: Chinese first, English beside it."""
    return f"{zh} / {en}"


_reason = reason  # the name the foundation's code used


def age_text(seconds: float) -> tuple[str, str]:
    """A duration as people say it, (中文, English): ``3 天 2 小时`` / ``3 d 2 h``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        if not hours:
            return (f"{days} 天", f"{days} d")
        return (f"{days} 天 {hours} 小时", f"{days} d {hours} h")
    if hours:
        return (f"{hours} 小时 {minutes} 分钟", f"{hours} h {minutes} min")
    return (f"{minutes} 分钟", f"{minutes} min")


@dataclass(frozen=True)
class TrustAnchor:
    """A trust list whose root signature was checked, and the status lists verified under it.

    ``name`` says where it came from (the bundle's origin directory, e.g. ``v.ningbo.gov.cn``);
    ``issuer_code`` is the issuer that origin speaks for, whose own list is preferred for its
    credentials when several lists name it. ``root_source`` is ``"pinned"`` or ``"tofu"``
    (trusted on first use: development only).
    """

    trust_list: TrustList
    status_lists: Mapping[tuple[int, int], StatusList] = field(default_factory=dict)
    name: str = "trust-list"
    issuer_code: int | None = None
    fetched_at: datetime | None = None
    root_source: str = "pinned"


@dataclass(frozen=True, slots=True)
class _IssuerView:
    """Everything about one issuer code that does not change between two verifications."""

    anchor: TrustAnchor
    issuer: TrustedIssuer
    keys: dict[bytes, TrustedKey]
    compromised_elsewhere: dict[bytes, str]  # kid -> the anchor that declared it compromised


@dataclass
class OfflineVerifier:
    """Verifies credentials with no network, against trust anchors (and their status lists).

    ``OfflineVerifier(trust_list)`` is the one-list form (``status_lists`` maps (issuer code,
    shard) to a verified :class:`StatusList`); ``anchors`` holds several lists side by side.
    :class:`anxinma.verifier.Verifier` adds loading from a bundle and the online step. When ``require_status`` is true (always, from a bundle) a credential whose
    status list is missing is ``status_unknown``, never ``valid``. Whatever the settings, a
    status list older than ``status_max_age`` (or past its own ``exp``) and a trust list past
    its expiry give ``status_unknown`` with the age in the reasons.
    """

    trust_list: TrustList | None = None
    status_lists: Mapping[tuple[int, int], StatusList] | None = None
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW
    status_max_age: timedelta = DEFAULT_STATUS_MAX_AGE
    require_status: bool = False
    clock: Callable[[], datetime] = _utc_now
    anchors: Sequence[TrustAnchor] = ()
    problems: tuple[str, ...] = ()  # what could not be loaded (a broken bundle), in words

    def __post_init__(self) -> None:
        anchors = list(self.anchors)
        if self.trust_list is not None:
            anchors.insert(0, TrustAnchor(self.trust_list, dict(self.status_lists or {})))
        self.anchors = tuple(anchors)
        self._issuers = _index_issuers(self.anchors)
        self._status = _index_status_lists(self.anchors)

    # -- what the verifier trusts ----------------------------------------------------------

    @property
    def issuer_codes(self) -> list[int]:
        return sorted(self._issuers)

    def trusted_issuer(self, code: int) -> tuple[TrustedIssuer, TrustAnchor] | None:
        """The issuer entry that speaks for ``code`` and the anchor it comes from."""
        view = self._issuers.get(code)
        return None if view is None else (view.issuer, view.anchor)

    def live_key(self, code: int, kid: bytes) -> bytes | None:
        """The public key that may sign a live record or status list: active, not compromised anywhere."""
        view = self._issuers.get(code)
        if view is None or kid in view.compromised_elsewhere:
            return None
        key = view.keys.get(kid)
        if key is None or key.status is not KeyStatus.ACTIVE:
            return None
        return key.public_key

    # -- the offline verdict ----------------------------------------------------------------

    def verify(
        self,
        code: bytes | str | fmt.Credential,
        *,
        card_uid: bytes | None = None,
        source: Source | None = None,
    ) -> VerificationResult:
        """Verify any form of a credential offline; never raises for bad input.

        ``card_uid`` is the UID read from the NFC card the credential came from; a bound
        credential read from another card is rejected (a copy), and without a UID (a QR
        scan) the result says the binding could not be checked.
        """
        now = self.clock()
        try:
            if isinstance(code, fmt.Credential):
                cred = code
            elif isinstance(code, str):
                cred = fmt.decode_text(code)
            else:
                cred = fmt.decode(code)
        except (UnsupportedVersion, UnsupportedAlgorithm) as exc:
            return VerificationResult(Status.MALFORMED, (exc.explain(),), source=source or Source("offline"))
        except MalformedCredential as exc:
            return VerificationResult(
                Status.MALFORMED,
                (reason("无法识别的安心码", "not a readable 安心码") + f": {exc.explain()}",),
                source=source or Source("offline"),
            )
        claims = cred.claims
        view = self._issuers.get(claims.issuer_code)
        if view is None:
            return VerificationResult(
                Status.UNKNOWN_ISSUER,
                (
                    reason(
                        f"签发机构 {claims.issuer_code} 不在信任列表中",
                        f"issuer {claims.issuer_code} is not in the trust list",
                    ),
                ),
                claims,
                cred.kid_hex,
                source or Source("offline"),
                credential=cred,
            )
        anchor = view.anchor

        key = view.keys.get(cred.kid)
        if key is None:
            return _before_status(
                cred,
                anchor,
                now,
                source,
                Status.UNKNOWN_KEY,
                reason(
                    f"{view.issuer.name} 没有密钥 {cred.kid_hex}",
                    f"{view.issuer.name} has no key {cred.kid_hex}",
                ),
            )
        public_key = key.public_key
        elsewhere = view.compromised_elsewhere.get(cred.kid)
        if key.status is KeyStatus.COMPROMISED or public_key is None or elsewhere is not None:
            where = f"（{elsewhere} 的信任列表）" if elsewhere else ""
            where_en = f" (in the trust list of {elsewhere})" if elsewhere else ""
            return _before_status(
                cred,
                anchor,
                now,
                source,
                Status.UNKNOWN_KEY,
                reason(
                    f"签名密钥 {cred.kid_hex} 已被宣告泄露{where}，其签发的安心码一律无效",
                    f"signing key {cred.kid_hex} was declared compromised{where_en}; nothing it signed is trusted",
                ),
            )
        if not ed25519.verify(public_key, cred.signature, cred.signed_bytes()):
            return _before_status(
                cred,
                anchor,
                now,
                source,
                Status.BAD_SIGNATURE,
                reason("签名无效：安心码被篡改或伪造", "the signature does not verify: altered or forged"),
            )
        if key.status is KeyStatus.RETIRED:
            return _before_status(
                cred,
                anchor,
                now,
                source,
                Status.KEY_RETIRED,
                reason(
                    f"签名密钥 {cred.kid_hex} 已停用，请持证人换发新证",
                    f"signing key {cred.kid_hex} was retired; the holder needs a re-issued credential",
                ),
            )
        binding = None
        if claims.card_uid is not None:
            if card_uid is None:
                binding = "unchecked"
            elif card_uid == claims.card_uid:
                binding = "match"
            else:
                return _before_status(
                    cred,
                    anchor,
                    now,
                    source,
                    Status.BAD_SIGNATURE,
                    reason(
                        "此安心码签发给另一张卡，这张卡可能是复制卡",
                        "this credential was issued for a different card: this card may be a copy",
                    ),
                    binding="mismatch",
                )
        # The claims' days are China time: compared in it, as datetimes of one tzinfo compare
        # field by field (across zones each comparison costs more than a dozen steps here).
        local = now.astimezone(fmt.CHINA_TZ)
        if local + self.clock_skew < claims.issued_at:
            return _before_status(
                cred,
                anchor,
                now,
                source,
                Status.NOT_YET_VALID,
                reason(
                    f"尚未生效，生效日期 {claims.issued_at.date().isoformat()}",
                    f"not valid until {claims.issued_at.date().isoformat()}",
                ),
                binding=binding,
            )
        if local - self.clock_skew >= claims.expires_at:
            return _before_status(
                cred,
                anchor,
                now,
                source,
                Status.EXPIRED,
                reason(
                    f"已于 {claims.expires_at.date().isoformat()} 过期",
                    f"expired on {claims.expires_at.date().isoformat()}",
                ),
                binding=binding,
            )
        notes: list[str] = []
        if binding == "unchecked":
            notes.append(reason("扫码无法核对卡号绑定", "a QR scan cannot check the card binding"))
        if now >= anchor.trust_list.expires_at:
            zh, en = age_text((now - anchor.trust_list.expires_at).total_seconds())
            return _before_status(
                cred,
                anchor,
                now,
                source,
                Status.STATUS_UNKNOWN,
                reason(
                    f"信任列表已过期 {zh}，无法确认密钥是否仍可信（请同步）",
                    f"the trust list expired {en} ago: the key may since have been withdrawn (sync the bundle)",
                ),
                *notes,
                binding=binding,
            )
        return self._status_step(cred, now, notes, source, anchor, binding)

    def _status_step(
        self,
        cred: fmt.Credential,
        now: datetime,
        notes: list[str],
        source: Source | None,
        anchor: TrustAnchor,
        binding: str | None,
    ) -> VerificationResult:
        claims = cred.claims
        shard, _ = shard_of(claims.serial)
        status_list = self._status.get((claims.issuer_code, shard))
        evidence = status_list.issued_at if status_list is not None else anchor.trust_list.issued_at
        src = source or offline_source(_age(now, evidence), anchor.name)
        kid = cred.kid_hex
        if status_list is None:
            reasons: tuple[str, ...]
            if self.require_status:
                status, reasons = Status.STATUS_UNKNOWN, _NO_STATUS_LIST
            else:
                status, reasons = Status.VALID, _UNCHECKED
            return new_result(status, (*reasons, *notes), claims, kid, src, binding, cred)
        age = now - status_list.issued_at
        value = status_list.status(claims.serial)
        if age > self.status_max_age or now >= status_list.expires_at:
            zh, en = age_text(age.total_seconds())
            last = last_en = ""
            if value is not None and value is not CredentialStatus.VALID:
                last = f"；最后已知状态：{_LAST_KNOWN[value][0]}"
                last_en = f"; last known: {_LAST_KNOWN[value][1]}"
            limit_zh, limit_en = age_text(self.status_max_age.total_seconds())
            stale = reason(
                f"状态列表已 {zh} 未更新（上限 {limit_zh}），无法确认是否已吊销{last}",
                f"the status list is {en} old (limit {limit_en}): status unknown{last_en}",
            )
            return new_result(Status.STATUS_UNKNOWN, (stale, *notes), claims, kid, src, binding, cred)
        if value is None:
            return new_result(Status.STATUS_UNKNOWN, (_NOT_COVERED, *notes), claims, kid, src, binding, cred)
        status, said = _VERDICT[value]
        return new_result(status, (said, *notes), claims, kid, src, binding, cred)


_VALID = reason("签名有效，未吊销，在有效期内", "genuine, not revoked, in validity")
_ATTENTION = reason(
    "身份真实，但健康证或保险缺失或已过期", "genuine, but a health certificate or insurance lapsed"
)
_REVOKED = reason("此安心码已被吊销", "this credential was revoked")
_SUSPENDED = reason("此安心码已被暂停", "this credential is suspended")
_VERDICT = {
    CredentialStatus.VALID: (Status.VALID, _VALID),
    CredentialStatus.ATTENTION: (Status.ATTENTION, _ATTENTION),
    CredentialStatus.REVOKED: (Status.REVOKED, _REVOKED),
    CredentialStatus.SUSPENDED: (Status.SUSPENDED, _SUSPENDED),
}
_NO_STATUS_LIST = (
    reason("没有该签发机构的状态列表，无法确认是否已吊销", "no status list: revocation unknown"),
)
_UNCHECKED = (
    reason("签名有效，在有效期内", "genuine and within its validity"),
    reason("未核对吊销状态（没有状态列表）", "revocation not checked (no status list)"),
)
_NOT_COVERED = reason("状态列表尚未包含此证（刚签发？）", "the status list does not cover this serial yet")
_LAST_KNOWN = {
    CredentialStatus.REVOKED: ("已吊销", "revoked"),
    CredentialStatus.SUSPENDED: ("已暂停", "suspended"),
    CredentialStatus.ATTENTION: ("需注意", "attention"),
    CredentialStatus.VALID: ("有效", "valid"),
}


def _before_status(
    cred: fmt.Credential,
    anchor: TrustAnchor,
    now: datetime,
    source: Source | None,
    status: Status,
    *reasons: str,
    binding: str | None = None,
) -> VerificationResult:
    """A verdict reached before the status step: the evidence it rests on is the trust list.
    (A function, not a closure in :meth:`OfflineVerifier.verify`: a closure makes every
    variable it captures slower to read on the path of a valid credential.)"""
    src = source or offline_source(_age(now, anchor.trust_list.issued_at), anchor.name)
    return new_result(status, reasons, cred.claims, cred.kid_hex, src, binding, cred)


def _age(now: datetime, then: datetime) -> int:
    """Whole seconds from ``then`` to ``now``, 0 for a moment in the future."""
    return max(0, (now - then) // _SECOND)


_SECOND = timedelta(seconds=1)


def _index_issuers(anchors: Sequence[TrustAnchor]) -> dict[int, _IssuerView]:
    """For each issuer code: the list that speaks for it, and compromises declared anywhere.

    An issuer's own origin wins over another list that also names it; among the others the
    most recently issued list wins. A key declared compromised in *any* loaded list is
    treated as compromised: a withdrawal must not be undone by an older list elsewhere.
    """
    chosen: dict[int, tuple[TrustAnchor, TrustedIssuer]] = {}
    compromised: dict[int, dict[bytes, str]] = {}
    for anchor in anchors:
        for code, issuer in anchor.trust_list.issuers.items():
            for kid, key in issuer.keys.items():
                if key.status is KeyStatus.COMPROMISED:
                    compromised.setdefault(code, {}).setdefault(kid, anchor.name)
            current = chosen.get(code)
            if current is None or _prefer(anchor, current[0], code):
                chosen[code] = (anchor, issuer)
    views = {}
    for code, (anchor, issuer) in chosen.items():
        elsewhere = {
            kid: name
            for kid, name in compromised.get(code, {}).items()
            if not (kid in issuer.keys and issuer.keys[kid].status is KeyStatus.COMPROMISED)
        }
        views[code] = _IssuerView(anchor, issuer, dict(issuer.keys), elsewhere)
    return views


def _prefer(candidate: TrustAnchor, current: TrustAnchor, code: int) -> bool:
    own_candidate = candidate.issuer_code == code
    own_current = current.issuer_code == code
    if own_candidate != own_current:
        return own_candidate
    return candidate.trust_list.issued_at > current.trust_list.issued_at


def _index_status_lists(anchors: Sequence[TrustAnchor]) -> dict[tuple[int, int], StatusList]:
    """The newest verified status list for each (issuer code, shard) across all anchors."""
    newest: dict[tuple[int, int], StatusList] = {}
    for anchor in anchors:
        for where, status_list in anchor.status_lists.items():
            current = newest.get(where)
            if current is None or status_list.issued_at > current.issued_at:
                newest[where] = status_list
    return newest
