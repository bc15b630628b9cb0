"""The trust rules: which trust list speaks for each issuer, and whose status data counts.

A verifier holds several **anchors** side by side — one verified trust list per bundle origin
(Ningbo's, Chongqing's, a province's) with the status data fetched from that origin. This module
decides, once per load, the **view** of each issuer code: the one anchor whose list speaks for it,
the keys that count, and the status data that counts. A candidate loses unless a rule says it
wins (docs/verifier.md, "Trust rules"; the case table tests/vectors/trust-rules.json is run
against this module and against verify.js's ``chooseViews``, so the two cannot drift):

1. An anchor pinned by the operator (``--root-key``, a previous pin, the page's own service)
   outranks one trusted on first use.
2. Then an issuer's own origin outranks a peer entry in another anchor's list.
3. Among candidates of equal rank, two that state different public keys for one kid are a
   **conflict**: the issuer has no view at all (``unknown_issuer``, the reason names both).
   Otherwise the newest list (signed ``iat``, then ``seq``) wins.
4. A key declared compromised counts when the chosen anchor or any *pinned* anchor declares it:
   a withdrawal is not undone by an older list, and a first-use list cannot take a pinned
   issuer down.
5. Status data of issuer X — its status shards and its freshness document — comes only from the
   chosen anchor's origin, and only when signed by a key of the view that is active and not
   declared compromised.

:func:`admission_refusal` is the rule sync applies before it writes anything: an origin trusted
on first use may not claim an issuer code that a pinned anchor already names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from anxinma.keys.store import KeyStatus
from anxinma.keys.trust_list import TrustedIssuer, TrustedKey, TrustList

PINNED = "pinned"
TOFU = "tofu"


class Signed(Protocol):
    """What the rules need of a status shard or a freshness document: who signed it, for what."""

    @property
    def issuer_code(self) -> int: ...

    @property
    def kid(self) -> bytes: ...


@dataclass(frozen=True)
class TrustAnchor:
    """A trust list whose root signature was checked, and the status data fetched beside it.

    ``name`` says where it came from (the bundle's origin directory, e.g. ``v.ningbo.gov.cn``);
    ``issuer_code`` is the issuer that origin speaks for (its **own** code; None for a list with
    no origin of its own). ``root_source`` is ``"pinned"`` or ``"tofu"`` (trusted on first use:
    development only). ``status_lists`` maps (issuer code, shard) to a verified status list and
    ``freshness`` maps an issuer code to its verified freshness document, both as fetched from
    this origin (the rules decide whether they count).
    """

    trust_list: TrustList
    status_lists: Mapping[tuple[int, int], Any] = field(default_factory=dict)
    name: str = "trust-list"
    issuer_code: int | None = None
    fetched_at: datetime | None = None
    root_source: str = PINNED
    freshness: Mapping[int, Any] = field(default_factory=dict)

    @property
    def pinned(self) -> bool:
        return self.root_source != TOFU


@dataclass(frozen=True, slots=True)
class IssuerView:
    """Everything about one issuer code that does not change between two verifications."""

    code: int
    anchor: TrustAnchor
    issuer: TrustedIssuer
    keys: dict[bytes, TrustedKey]
    compromised_elsewhere: dict[bytes, str]  # kid -> the (pinned) anchor that declared it compromised
    status_lists: dict[int, Any]  # shard -> status list that counts
    freshness: Any | None  # the freshness document that counts, if any

    def usable_key(self, kid: bytes) -> bytes | None:
        """The public key of ``kid`` if it may sign status data or a live record: listed in this
        view, active, and declared compromised by no anchor that counts."""
        if kid in self.compromised_elsewhere:
            return None
        key = self.keys.get(kid)
        if key is None or key.status is not KeyStatus.ACTIVE:
            return None
        return key.public_key


@dataclass(frozen=True, slots=True)
class Conflict:
    """Anchors of equal rank that state different keys for one issuer: none of them wins."""

    code: int
    anchors: tuple[str, ...]
    kid: str


@dataclass(frozen=True)
class TrustViews:
    """The outcome of the rules: a view per issuer code, or the conflict that left it without one."""

    views: dict[int, IssuerView]
    conflicts: dict[int, Conflict]


def rank(anchor: TrustAnchor, code: int) -> tuple[int, int]:
    """Rules 1 and 2 as a sortable pair: (pinned, own origin)."""
    return (int(anchor.pinned), int(anchor.issuer_code == code))


def _conflicting_kid(a: TrustedIssuer, b: TrustedIssuer) -> bytes | None:
    """A kid the two entries give different public keys (a compromised entry states none)."""
    for kid, key in a.keys.items():
        other = b.keys.get(kid)
        if (
            other is not None
            and key.public_key is not None
            and other.public_key is not None
            and key.public_key != other.public_key
        ):
            return kid
    return None


def _newest(candidates: Sequence[TrustAnchor]) -> TrustAnchor:
    return max(candidates, key=lambda a: (a.trust_list.issued_at, a.trust_list.sequence, a.name))


def choose_views(anchors: Iterable[TrustAnchor]) -> TrustViews:
    """Apply the five rules to every issuer code any anchor names."""
    anchors = tuple(anchors)
    named: dict[int, list[TrustAnchor]] = {}
    for anchor in anchors:
        for code in anchor.trust_list.issuers:
            named.setdefault(code, []).append(anchor)
    views: dict[int, IssuerView] = {}
    conflicts: dict[int, Conflict] = {}
    for code, candidates in named.items():
        best = max(rank(a, code) for a in candidates)
        top = [a for a in candidates if rank(a, code) == best]
        conflict = _conflict(code, top)
        if conflict is not None:
            conflicts[code] = conflict
            continue
        chosen = _newest(top)
        views[code] = _view(code, chosen, anchors)
    return TrustViews(views, conflicts)


def _conflict(code: int, top: Sequence[TrustAnchor]) -> Conflict | None:
    for i, first in enumerate(top):
        for second in top[i + 1 :]:
            kid = _conflicting_kid(first.trust_list.issuers[code], second.trust_list.issuers[code])
            if kid is not None:
                names = tuple(sorted((first.name, second.name)))
                return Conflict(code, names, kid.hex())
    return None


def _view(code: int, chosen: TrustAnchor, anchors: Sequence[TrustAnchor]) -> IssuerView:
    issuer = chosen.trust_list.issuers[code]
    elsewhere: dict[bytes, str] = {}
    for anchor in anchors:  # rule 4: compromises declared by pinned anchors count too
        if anchor is chosen or not anchor.pinned:
            continue
        entry = anchor.trust_list.issuers.get(code)
        if entry is None:
            continue
        for kid, key in entry.keys.items():
            own = issuer.keys.get(kid)
            if key.status is KeyStatus.COMPROMISED and not (
                own is not None and own.status is KeyStatus.COMPROMISED
            ):
                elsewhere.setdefault(kid, anchor.name)
    view = IssuerView(code, chosen, issuer, dict(issuer.keys), elsewhere, {}, None)
    # Rule 5: status data only from the chosen origin, only under a usable key of the view.
    for (list_code, shard), status_list in chosen.status_lists.items():
        if list_code == code and view.usable_key(bytes(status_list.kid)) is not None:
            view.status_lists[shard] = status_list
    freshness = chosen.freshness.get(code)
    if freshness is not None and view.usable_key(bytes(freshness.kid)) is not None:
        object.__setattr__(view, "freshness", freshness)
    return view


@dataclass(frozen=True)
class HeldOrigin:
    """What sync knows of an origin already in the bundle directory (from its meta.json)."""

    name: str
    root_source: str
    codes: frozenset[int]  # every issuer code its trust list names


def admission_refusal(
    held: Iterable[HeldOrigin], *, origin: str, root_source: str, issuer_code: int
) -> HeldOrigin | None:
    """The pinned origin that forbids admitting ``origin``, or None when it may be admitted.

    Only a first-use origin is ever refused: one whose discovery claims an issuer code that a
    pinned origin's trust list already names. (A pinned origin is the operator's own decision.)
    """
    if root_source != TOFU:
        return None
    for other in held:
        if other.name != origin and other.root_source != TOFU and issuer_code in other.codes:
            return other
    return None
