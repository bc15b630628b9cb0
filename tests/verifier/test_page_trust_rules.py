"""The trust rules' case table (tests/vectors/trust-rules.json) through verify.js in Chromium.

The same file drives test_trust_rules.py against anxinma.verifier.trust, so the page and the
library cannot drift. As there, each case builds anchors from plain data (the rules decide on
trust lists that are already verified; signatures are tested beside each format), in the shape
``loadTrustList`` returns, and every view is compared with the expected one: the chosen anchor,
its keys, the compromises declared elsewhere, the status shards and the freshness document that
count, or the conflict. The update cases run through ``judgeUpdate``, the admission cases through
``admissionRefusal`` (sync's rule; the page itself holds one pinned anchor, but the rule is one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.verifier.test_page_verify import static_site  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser
CASES = json.loads(
    (Path(__file__).resolve().parent.parent / "vectors" / "trust-rules.json").read_text("utf-8")
)

#: The case's anchors as verify.js holds them, through chooseViews, in the table's shape.
CHOOSE = """(cases) => {
  const V = AnxinmaVerify;
  function anchor(data) {
    const issuers = new Map();
    for (const [code, entry] of Object.entries(data.issuers)) {
      const keys = new Map();
      for (const [kid, key] of Object.entries(entry.keys)) {
        keys.set(kid, { x: key.x ? V.fromHex(key.x) : null, status: key.status, validTo: null });
      }
      issuers.set(Number(code), { code: Number(code), name: entry.name, baseUrl: "", keys });
    }
    const trust = { seq: data.seq, issuedAt: data.iat, expiresAt: data.iat + 30 * 86400, issuers, token: "" };
    const status = new Map(), freshness = new Map();
    // Several candidates for one shard: the case lists them in order; the origin holds the last.
    for (const s of data.status) status.set(s.issuer + ":" + s.shard, { issuerCode: s.issuer, shard: s.shard, kid: s.kid, version: s.version });
    for (const f of data.freshness) freshness.set(f.issuer, { issuerCode: f.issuer, kid: f.kid, seq: f.seq });
    return { name: data.name, rootSource: data.root_source, issuerCode: data.own, trust, status, freshness };
  }
  function outcome(chosen) {
    const out = {};
    chosen.views.forEach((view, code) => {
      const status = {};
      view.statusLists.forEach((list, shard) => { status[String(shard)] = list.version; });
      out[String(code)] = {
        anchor: view.anchor.name,
        keys: [...view.keys.keys()].sort(),
        compromised_elsewhere: Object.fromEntries(view.compromisedElsewhere),
        status,
        freshness: view.freshness ? view.freshness.seq : null,
      };
    });
    chosen.conflicts.forEach((c, code) => { out[String(code)] = { conflict: c.anchors, kid: c.kid }; });
    return out;
  }
  return cases.map((c) => {
    const anchors = c.anchors.map(anchor);
    return [outcome(V.chooseViews(anchors)), outcome(V.chooseViews(anchors.slice().reverse()))];
  });
}"""


def test_every_choose_case_gives_the_python_views(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
) -> None:
    page = browser_context().new_page()
    page.goto(static_site)
    results = page.evaluate(CHOOSE, CASES["choose"])
    wrong = [
        (case["name"], forward, backward)
        for case, (forward, backward) in zip(CASES["choose"], results, strict=True)
        if forward != case["expect"] or backward != case["expect"]  # the order of anchors must not matter
    ]
    assert wrong == []


def test_every_update_case_gives_the_python_answer(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
) -> None:
    page = browser_context().new_page()
    page.goto(static_site)
    answers = page.evaluate(
        "(cases) => cases.map(c => { const a = AnxinmaVerify.judgeUpdate(c.held, c.candidate);"
        " return [a, AnxinmaVerify.accepted(a)]; })",
        CASES["updates"],
    )
    for case, (answer, accepted) in zip(CASES["updates"], answers, strict=True):
        assert answer == case["expect"], case["name"]
        assert accepted == (case["expect"] in ("new", "newer")), case["name"]


def test_a_conflict_is_unknown_issuer_naming_the_anchors(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
) -> None:
    """What the page makes of a conflict: no view, so a credential of that issuer is unknown_issuer
    with the reason trust_conflict (both anchors named), as the Python verifier says."""
    case = next(c for c in CASES["choose"] if any("conflict" in v for v in c["expect"].values()))
    code = next(int(k) for k, v in case["expect"].items() if "conflict" in v)
    page = browser_context().new_page()
    page.goto(static_site)
    trust = page.evaluate(
        """([anchors, code]) => {
          const V = AnxinmaVerify;
          const made = anchors.map(d => {
            const issuers = new Map();
            for (const [c, e] of Object.entries(d.issuers)) {
              const keys = new Map(Object.entries(e.keys).map(([kid, k]) => [kid, { x: k.x ? V.fromHex(k.x) : null, status: k.status }]));
              issuers.set(Number(c), { code: Number(c), name: e.name, baseUrl: "", keys });
            }
            return { name: d.name, rootSource: d.root_source, issuerCode: d.own, trust: { seq: d.seq, issuedAt: d.iat, issuers } };
          });
          const t = V.viewTrust(V.chooseViews(made), { seq: 1, issuedAt: 0, expiresAt: 1e12 });
          return { has: t.issuers.has(code), conflict: t.conflicts.get(code) };
        }""",
        [case["anchors"], code],
    )
    assert trust == {"has": False, "conflict": case["expect"][str(code)]["conflict"]}


def test_every_admission_case_gives_the_python_answer(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
) -> None:
    page = browser_context().new_page()
    page.goto(static_site)
    answers = page.evaluate(
        """(cases) => cases.map(c => {
          const held = c.held.map(h => ({ name: h.name, rootSource: h.root_source, codes: h.codes }));
          const refused = AnxinmaVerify.admissionRefusal(held, { name: c.candidate.name,
            rootSource: c.candidate.root_source, issuerCode: c.candidate.issuer_code });
          return refused ? refused.name : null;
        })""",
        CASES["admission"],
    )
    assert answers == [case["refused_by"] for case in CASES["admission"]]
