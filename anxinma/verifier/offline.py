"""Offline verification: parse, trust list, issuer and key, signature, time, status — in that
order — and then, for a holder-bound credential whose verdict is still valid, attention or
status unknown, the holder's proof (:mod:`anxinma.verifier.holder`).

Each step either passes or produces the result; nothing is skipped silently, and every
result carries the reasons a person reads (:mod:`anxinma.verifier.reasons`: Chinese first,
English beside it, each with the key verify.js uses).

A :class:`Verifier` holds one or more :class:`TrustAnchor` s side by side — a verified trust
list with the status data verified under it, one per bundle (issuer origin) — so a Ningbo
verifier checks a Chongqing worker against whichever trust list speaks for Chongqing. Which
one that is, which keys count and whose status data counts is decided once, when the verifier
is built, by the trust rules of :mod:`anxinma.verifier.trust`; :meth:`Verifier.verify` then does
only per-credential work: decode, one dictionary lookup per step, one Ed25519 verification.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.errors import MalformedCredential, UnsupportedAlgorithm, UnsupportedVersion
from anxinma.keys.store import KeyStatus
from anxinma.keys.trust_list import TrustedIssuer, TrustList
from anxinma.messages import Text
from anxinma.status_list import CredentialStatus, StatusList, shard_of
from anxinma.verifier.holder import CHECKED_UNDER, Proof, judge_holder_proof
from anxinma.verifier.reasons import LAST_KNOWN, REASONS
from anxinma.verifier.reasons import age as _age_words
from anxinma.verifier.result import Source, Status, VerificationResult, new_result, offline_source
from anxinma.verifier.trust import IssuerView, TrustAnchor, TrustViews, choose_views

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "DEFAULT_STATUS_MAX_AGE",
    "OfflineVerifier",
    "TrustAnchor",
    "age_text",
]

DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_STATUS_MAX_AGE = timedelta(hours=24)
_utc_now = functools.partial(datetime.now, UTC)


def age_text(seconds: float) -> tuple[str, str]:
    """A duration as people say it, (中文, English): ``3 天 2 小时`` / ``3 d 2 h``."""
    words = _age_words(seconds)
    return (words.zh, words.en)


@dataclass
class OfflineVerifier:
    """Verifies credentials with no network, against trust anchors (and their status data).

    ``OfflineVerifier(trust_list)`` is the one-list form (``status_lists`` maps (issuer code,
    shard) to a verified :class:`StatusList`); ``anchors`` holds several lists side by side.
    :class:`anxinma.verifier.Verifier` adds loading from a bundle and the online step. When
    ``require_status`` is true (always, from a bundle) a credential whose status list is missing
    is ``status_unknown``, never ``valid``. Whatever the settings, status data older than
    ``status_max_age`` (or past its own ``exp``) and a trust list past its expiry give
    ``status_unknown`` with the age in the reasons.
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
        self._views: TrustViews = choose_views(self.anchors)
        self._issuers: dict[int, IssuerView] = self._views.views
        # Per (issuer, shard): the status list that counts and when it was vouched for, worked
        # out once here rather than per scan.
        self._status: dict[tuple[int, int], tuple[StatusList, datetime, datetime]] = {
            (code, shard): (status_list, *_vouched(view, status_list))
            for code, view in self._issuers.items()
            for shard, status_list in view.status_lists.items()
        }

    # -- what the verifier trusts ----------------------------------------------------------

    @property
    def issuer_codes(self) -> list[int]:
        return sorted(self._issuers)

    @property
    def views(self) -> TrustViews:
        """The trust rules' outcome: the view of each issuer, and the conflicts."""
        return self._views

    def trusted_issuer(self, code: int) -> tuple[TrustedIssuer, TrustAnchor] | None:
        """The issuer entry that speaks for ``code`` and the anchor it comes from."""
        view = self._issuers.get(code)
        return None if view is None else (view.issuer, view.anchor)

    def live_key(self, code: int, kid: bytes) -> bytes | None:
        """The public key that may sign a live record or status data: active, not compromised."""
        view = self._issuers.get(code)
        return None if view is None else view.usable_key(kid)

    # -- the offline verdict ----------------------------------------------------------------

    def verify(
        self,
        code: bytes | str | fmt.Credential | fmt.Presentation,
        *,
        card_uid: bytes | None = None,
        source: Source | None = None,
    ) -> VerificationResult:
        """Verify any form of a credential or a dynamic code (presentation) offline; never
        raises for bad input.

        ``card_uid`` is the UID read from the NFC card the credential came from; a bound
        credential read from another card is rejected (a copy), and without a UID (a QR
        scan) the result says the binding could not be checked. A holder-bound credential is
        then held to its proof (:mod:`anxinma.verifier.holder`): shown bare it is
        ``holder_proof_missing``; in a dynamic code, its proof must verify under the holder key
        and be fresh by this verifier's clock.
        """
        now = self.clock()
        presentation: fmt.Presentation | None = None
        try:
            if isinstance(code, fmt.Credential):
                cred = code
            elif isinstance(code, fmt.Presentation):
                presentation, cred = code, code.credential
            else:
                data = fmt.parse_text(code) if isinstance(code, str) else code
                if isinstance(data, bytes | bytearray | memoryview) and fmt.is_presentation(data):
                    presentation = fmt.decode_presentation(data)
                    cred = presentation.credential
                else:
                    cred = fmt.decode(data)
        except (UnsupportedVersion, UnsupportedAlgorithm) as exc:
            detail = Text(exc.message_zh, exc.message)
            return VerificationResult(
                Status.MALFORMED, (REASONS("unsupported", detail=detail),), source=source or Source("offline")
            )
        except MalformedCredential as exc:
            detail = Text(exc.message_zh, exc.message)
            return VerificationResult(
                Status.MALFORMED, (REASONS("malformed", detail=detail),), source=source or Source("offline")
            )
        result = self._verify_credential(cred, now, card_uid, source)
        if cred.claims.holder_key is None or result.status not in CHECKED_UNDER:
            return result  # a card credential, or a verdict no proof changes (holder.py, rule 1)
        return _with_holder_proof(result, presentation, now)

    def _verify_credential(
        self, cred: fmt.Credential, now: datetime, card_uid: bytes | None, source: Source | None
    ) -> VerificationResult:
        """The credential's own verdict: issuer, key, signature, card binding, dates, status."""
        claims = cred.claims
        view = self._issuers.get(claims.issuer_code)
        if view is None:
            conflict = self._views.conflicts.get(claims.issuer_code)
            said = (
                REASONS("unknown_issuer", issuer=claims.issuer_code)
                if conflict is None
                else REASONS(
                    "trust_conflict",
                    issuer=claims.issuer_code,
                    anchors=Text("、".join(conflict.anchors), ", ".join(conflict.anchors)),
                    kid=conflict.kid,
                )
            )
            return VerificationResult(
                Status.UNKNOWN_ISSUER,
                (said,),
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
                REASONS("unknown_key", issuer=view.issuer.name, kid=cred.kid_hex),
            )
        public_key = key.public_key
        elsewhere = view.compromised_elsewhere.get(cred.kid)
        if key.status is KeyStatus.COMPROMISED or public_key is None or elsewhere is not None:
            where = (
                Text(f"（{elsewhere} 的信任列表）", f" (in the trust list of {elsewhere})")
                if elsewhere
                else ""
            )
            return _before_status(
                cred,
                anchor,
                now,
                source,
                Status.UNKNOWN_KEY,
                REASONS("key_compromised", kid=cred.kid_hex, where=where),
            )
        if not ed25519.verify(public_key, cred.signature, cred.signed_bytes()):
            return _before_status(cred, anchor, now, source, Status.BAD_SIGNATURE, _BAD_SIGNATURE)
        if key.status is KeyStatus.RETIRED:
            return _before_status(
                cred, anchor, now, source, Status.KEY_RETIRED, REASONS("key_retired", kid=cred.kid_hex)
            )
        binding = None
        if claims.card_uid is not None:
            if card_uid is None:
                binding = "unchecked"
            elif card_uid == claims.card_uid:
                binding = "match"
            else:
                return _before_status(
                    cred, anchor, now, source, Status.BAD_SIGNATURE, _CARD_COPY, binding="mismatch"
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
                REASONS("not_yet_valid", date=claims.issued_at.date().isoformat()),
                binding=binding,
            )
        if local - self.clock_skew >= claims.expires_at:
            return _before_status(
                cred,
                anchor,
                now,
                source,
                Status.EXPIRED,
                REASONS("expired", date=claims.expires_at.date().isoformat()),
                binding=binding,
            )
        notes: list[str] = []
        if binding == "unchecked":
            notes.append(_BINDING_UNCHECKED)
        if now >= anchor.trust_list.expires_at:
            return _before_status(
                cred,
                anchor,
                now,
                source,
                Status.STATUS_UNKNOWN,
                REASONS(
                    "trust_list_expired", age=_age_words((now - anchor.trust_list.expires_at).total_seconds())
                ),
                *notes,
                binding=binding,
            )
        return self._status_step(cred, now, notes, source, view, binding)

    def _status_step(
        self,
        cred: fmt.Credential,
        now: datetime,
        notes: list[str],
        source: Source | None,
        view: IssuerView,
        binding: str | None,
    ) -> VerificationResult:
        claims = cred.claims
        anchor = view.anchor
        shard, _ = shard_of(claims.serial)
        held = self._status.get((claims.issuer_code, shard))
        if held is None:
            src = source or offline_source(_age(now, anchor.trust_list.issued_at), anchor.name)
        else:
            status_list, evidence, until = held
            src = source or offline_source(_age(now, evidence), anchor.name)
        kid = cred.kid_hex
        if held is None:
            reasons: tuple[str, ...]
            if self.require_status:
                status, reasons = Status.STATUS_UNKNOWN, _NO_STATUS_LIST
            else:
                status, reasons = Status.VALID, _UNCHECKED
            return new_result(status, (*reasons, *notes), claims, kid, src, binding, cred)
        age = now - evidence
        value = status_list.status(claims.serial)
        if age > self.status_max_age or now >= until:
            last: str | Text = ""
            if value is not None and value is not CredentialStatus.VALID:
                last = REASONS("last_known", status=LAST_KNOWN[_VALUE_NAMES[value]])
            stale = REASONS(
                "status_stale",
                age=_age_words(age.total_seconds()),
                limit=_age_words(self.status_max_age.total_seconds()),
                last=last,
            )
            return new_result(Status.STATUS_UNKNOWN, (stale, *notes), claims, kid, src, binding, cred)
        if value is None:
            return new_result(Status.STATUS_UNKNOWN, (_NOT_COVERED, *notes), claims, kid, src, binding, cred)
        status, said = _VERDICT[value]
        return new_result(status, (said, *notes), claims, kid, src, binding, cred)


def _with_holder_proof(
    result: VerificationResult, presentation: fmt.Presentation | None, now: datetime
) -> VerificationResult:
    """The verdict on a holder-bound credential whose own verdict a proof can still change:
    the proof checked (one more Ed25519 verification) and judged by the rule of holder.py."""
    age: int | None = None
    if presentation is None:
        proof = Proof.NONE
    elif not presentation.proof_verifies():
        proof = Proof.BAD
    else:
        proof = Proof.GOOD
        age = int(now.timestamp() // 1) - presentation.time
    judged = judge_holder_proof(result.status, True, proof, age)
    if judged is None:
        return result
    status, said = judged
    return new_result(
        status,
        (said, *result.reasons),
        result.claims,
        result.kid,
        result.source,
        result.card_binding,
        result.credential,
    )


def _vouched(view: IssuerView, status_list: Any) -> tuple[datetime, datetime]:
    """(as of, until): when the status data the verdict rests on was last vouched for, and the
    signed end of that. The freshness document's ``iat``/``exp`` when it lists exactly the version
    held (TUF's timestamp role: a list that did not change need not be downloaded again to be
    fresh), else the list's own."""
    freshness = view.freshness
    version = getattr(status_list, "version", 0)
    if freshness is not None and version:
        listed = freshness.shards.get(status_list.shard)
        if listed is not None and listed.version == version and listed.digest == status_list.digest:
            return max(freshness.issued_at, status_list.issued_at), freshness.expires_at
    return status_list.issued_at, status_list.expires_at


_VALUE_NAMES = {
    CredentialStatus.VALID: "valid",
    CredentialStatus.REVOKED: "revoked",
    CredentialStatus.SUSPENDED: "suspended",
    CredentialStatus.ATTENTION: "attention",
}
_VERDICT = {
    CredentialStatus.VALID: (Status.VALID, REASONS("valid")),
    CredentialStatus.ATTENTION: (Status.ATTENTION, REASONS("attention")),
    CredentialStatus.REVOKED: (Status.REVOKED, REASONS("revoked")),
    CredentialStatus.SUSPENDED: (Status.SUSPENDED, REASONS("suspended")),
}
_BAD_SIGNATURE = REASONS("bad_signature")
_CARD_COPY = REASONS("card_copy")
_BINDING_UNCHECKED = REASONS("binding_unchecked")
_NO_STATUS_LIST = (REASONS("no_status_list"),)
_UNCHECKED = (REASONS("genuine_unchecked"), REASONS("revocation_unchecked"))
_NOT_COVERED = REASONS("serial_not_covered")


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
