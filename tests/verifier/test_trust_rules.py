"""The trust rules' case table (tests/vectors/trust-rules.json) against the Python verifier.

The same file runs through verify.js in Chromium (test_page_trust_rules.py), so the page and the
library cannot drift. Each case builds anchors from plain data (the rules decide on trust lists
that are already verified, so no signature is involved here; signatures are tested beside each
format) and compares every view with the expected one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from anxinma.keys.store import KeyStatus
from anxinma.keys.trust_list import TrustedIssuer, TrustedKey, TrustList
from anxinma.rollback import judge
from anxinma.verifier.trust import HeldOrigin, TrustAnchor, TrustViews, admission_refusal, choose_views

CASES = json.loads(
    (Path(__file__).resolve().parent.parent / "vectors" / "trust-rules.json").read_text("utf-8")
)


@dataclass(frozen=True)
class _Signed:
    """A status shard or freshness document as the rules see it: who signed it, which version."""

    issuer_code: int
    kid: bytes
    shard: int = 0
    version: int = 0
    seq: int = 0


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def build_anchor(data: dict[str, Any]) -> TrustAnchor:
    issuers = {}
    for code, entry in data["issuers"].items():
        keys = {}
        for kid, key in entry["keys"].items():
            public = bytes.fromhex(key["x"]) if "x" in key else None
            keys[bytes.fromhex(kid)] = TrustedKey(bytes.fromhex(kid), public, KeyStatus(key["status"]), None)
        issuers[int(code)] = TrustedIssuer(int(code), entry["name"], "", keys)
    issued = _moment(data["iat"])
    trust_list = TrustList(data["seq"], issued, issued + timedelta(days=30), issuers, token="")
    status = {
        (s["issuer"], s["shard"]): _Signed(s["issuer"], bytes.fromhex(s["kid"]), s["shard"], s["version"])
        for s in data["status"]
    }
    # Several candidates for one shard: the case lists them in order; the origin holds the last.
    freshness = {
        f["issuer"]: _Signed(f["issuer"], bytes.fromhex(f["kid"]), seq=f["seq"]) for f in data["freshness"]
    }
    return TrustAnchor(
        trust_list, status, data["name"], data["own"], root_source=data["root_source"], freshness=freshness
    )


def outcome(views: TrustViews) -> dict[str, Any]:
    """The views in the case table's shape."""
    out: dict[str, Any] = {}
    for code, view in views.views.items():
        out[str(code)] = {
            "anchor": view.anchor.name,
            "keys": sorted(kid.hex() for kid in view.keys),
            "compromised_elsewhere": {kid.hex(): name for kid, name in view.compromised_elsewhere.items()},
            "status": {str(shard): item.version for shard, item in view.status_lists.items()},
            "freshness": view.freshness.seq if view.freshness is not None else None,
        }
    for code, conflict in views.conflicts.items():
        out[str(code)] = {"conflict": list(conflict.anchors), "kid": conflict.kid}
    return out


@pytest.mark.parametrize("case", CASES["choose"], ids=[c["name"] for c in CASES["choose"]])
def test_views_follow_the_trust_rules(case: dict[str, Any]) -> None:
    anchors = [build_anchor(a) for a in case["anchors"]]
    assert outcome(choose_views(anchors)) == case["expect"]
    # The order anchors are loaded in (directory order) must not matter.
    assert outcome(choose_views(reversed(anchors))) == case["expect"]


@pytest.mark.parametrize("case", CASES["updates"], ids=[c["name"] for c in CASES["updates"]])
def test_versioned_data_is_never_replaced_by_older_or_other_bytes_of_the_same_version(
    case: dict[str, Any],
) -> None:
    held = case["held"]
    candidate = case["candidate"]
    verdict = judge(
        None if held is None else (held["version"], held["digest"]),
        (candidate["version"], candidate["digest"]),
    )
    assert verdict.value == case["expect"]
    assert verdict.accepted == (case["expect"] in ("new", "newer"))
    assert verdict.refused == (case["expect"] in ("older", "equivocal"))


@pytest.mark.parametrize("case", CASES["admission"], ids=[c["name"] for c in CASES["admission"]])
def test_a_first_use_origin_may_not_claim_a_pinned_issuer(case: dict[str, Any]) -> None:
    held = [HeldOrigin(h["name"], h["root_source"], frozenset(h["codes"])) for h in case["held"]]
    candidate = case["candidate"]
    refusal = admission_refusal(
        held,
        origin=candidate["name"],
        root_source=candidate["root_source"],
        issuer_code=candidate["issuer_code"],
    )
    assert (refusal.name if refusal is not None else None) == case["refused_by"]
