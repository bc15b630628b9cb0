"""verify.js's status data of issue 15 in Chromium: the compact status list (Rice-coded gaps in a
COSE_Sign1) decoded to the same statuses as the writer put in, every malformed stream refused;
the freshness document; judgeUpdate (the one rollback rule, as anxinma.rollback.judge); and the
age the page reports (the freshness document's iat when it lists the held version)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from anxinma.keys import KeyDirectory, build_trust_list
from anxinma.rollback import judge
from tests.verifier import compact_reference as ref
from tests.verifier.test_page_verify import static_site  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser
VECTORS = Path(__file__).resolve().parent.parent / "vectors"

#: Runs in the page: loads a trust list, then each case through the named loader.
LOAD = """async ([trustList, root, loader, cases]) => {
  const V = AnxinmaVerify, trust = await V.loadTrustList(trustList, V.fromHex(root)), out = [];
  for (const c of cases) {
    try {
      const input = loader === "loadCompactStatusList" ? V.fromHex(c) : c;
      const got = await V[loader](input, trust);
      if (loader === "loadFreshness") {
        out.push({ ok: true, seq: got.seq, iat: got.issuedAt, shards: [...got.shards.values()], digest: got.digest });
      } else {
        const statuses = {};
        for (let i = 0; i < got.size; i++) { const s = V.statusOf(got, got.shard * V.SHARD_SIZE + i); if (s !== "valid") statuses[i] = s; }
        out.push({ ok: true, version: got.version, size: got.size, iat: got.issuedAt, digest: got.digest, statuses });
      }
    } catch (e) { out.push({ ok: false, error: String(e.message || e) }); }
  }
  return out;
}"""
NAMES = {1: "revoked", 2: "suspended", 3: "attention"}


@pytest.fixture
def issuer_keys(tmp_path: Path) -> tuple[KeyDirectory, str]:
    keys = KeyDirectory.init(
        tmp_path / "keys", issuer_code=330200, issuer_name="宁波市商务局", insecure_dev=True
    )
    return keys, build_trust_list(keys)


def run(
    page: Any, keys: KeyDirectory, trust_list: str, loader: str, cases: list[Any]
) -> list[dict[str, Any]]:
    return page.evaluate(LOAD, [trust_list, keys.root_public_key.hex(), loader, cases])  # type: ignore[no-any-return]


def test_compact_status_lists_decode_to_the_statuses_written(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
    issuer_keys: tuple[KeyDirectory, str],
) -> None:
    keys, trust_list = issuer_keys
    kid, key = keys.signing_key()
    rng = random.Random(15)
    mixes = [
        {},
        {0: 1},
        {4999: 3},
        {i: rng.choice((1, 1, 1, 2, 3)) for i in rng.sample(range(5000), 400)},
        {i: 1 for i in range(5000)},  # every one revoked: gaps of 0, k = 0
    ]
    bodies = [
        ref.sign_compact(key.to_cryptography(), kid, issuer_code=330200, size=5000, version=n + 1, statuses=m)
        for n, m in enumerate(mixes)
    ]
    page = browser_context().new_page()
    page.goto(static_site)
    results = run(page, keys, trust_list, "loadCompactStatusList", [b.hex() for b in bodies])
    for mix, body, got in zip(mixes, bodies, results, strict=True):
        assert got["ok"], got
        assert got["statuses"] == {str(i): NAMES[v] for i, v in mix.items()}
        assert got["digest"] == ref.digest(body) and got["size"] == 5000


def test_malformed_or_foreign_compact_lists_are_refused_with_a_reason(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
    issuer_keys: tuple[KeyDirectory, str],
    tmp_path: Path,
) -> None:
    keys, trust_list = issuer_keys
    kid, key = keys.signing_key()
    sk = key.to_cryptography()
    good = ref.rice([3, 7, 20], 3)  # 13 bits: too few padding bits for a 4th entry

    def signed(streams: list[list[Any]], **kw: Any) -> str:
        fields: dict[str, Any] = {"issuer_code": 330200, "size": 100, "version": 1, **kw}
        return ref.sign_compact(sk, kid, streams=streams, **fields).hex()

    other = KeyDirectory.init(tmp_path / "other", issuer_code=500000, issuer_name="重庆", insecure_dev=True)
    okid, okey = other.signing_key()
    cases = {
        "another value": signed([[4, 3, 3, good]]),
        "not ascending": signed([[3, 3, 3, good], [1, 3, 3, good]]),
        "same value twice": signed([[1, 3, 3, good], [1, 3, 3, good]]),
        "index beyond size": signed([[1, 3, 3, good]], size=20),
        "trailing garbage": signed([[1, 3, 3, good + b"\x00"]]),
        "padding not zero": signed([[1, 3, 3, good[:-1] + bytes([good[-1] | 1])]]),
        "count too high": signed([[1, 3, 4, good]]),
        "count too low": signed([[1, 3, 2, good]]),
        "k beyond 24": signed([[1, 25, 3, good]]),
        "version 0": signed([[1, 3, 3, good]], version=0),
        "size beyond 2^20": signed([], size=(1 << 20) + 1),
        "an index in two streams": signed([[1, 3, 3, good], [2, 3, 3, good]]),
        "another issuer's key": ref.sign_compact(
            okey.to_cryptography(), okid, issuer_code=330200, size=100, version=1, streams=[]
        ).hex(),
        "untagged": signed([])[2:],
    }
    tampered = bytearray.fromhex(signed([[1, 3, 3, good]]))
    tampered[-70] ^= 1  # a byte of the payload
    cases["tampered"] = tampered.hex()
    page = browser_context().new_page()
    page.goto(static_site)
    results = dict(
        zip(cases, run(page, keys, trust_list, "loadCompactStatusList", list(cases.values())), strict=True)
    )
    accepted = [name for name, got in results.items() if got["ok"]]
    assert accepted == []
    assert "a stream's value 4 is above 3" in results["another value"]["error"]
    assert "(ascending, once each)" in results["not ascending"]["error"]
    assert "(ascending, once each)" in results["same value twice"]["error"]
    assert "an index beyond the size 20" in results["index beyond size"]["error"]
    assert "bytes after a stream's last entry" in results["trailing garbage"]["error"]
    assert "padding bits that are not zero" in results["padding not zero"]["error"]
    assert "ends before its count" in results["count too high"]["error"]
    assert "a stream's k 25 is above 24" in results["k beyond 24"]["error"]
    assert "does not hold" in results["another issuer's key"]["error"]
    assert "does not verify" in results["tampered"]["error"] or "malformed" in results["tampered"]["error"]
    assert "an index listed in two streams" in results["an index in two streams"]["error"]
    assert "tag 18" in results["untagged"]["error"]


def test_the_freshness_document_is_read_and_refused_when_foreign_or_tampered(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
    issuer_keys: tuple[KeyDirectory, str],
    tmp_path: Path,
) -> None:
    keys, trust_list = issuer_keys
    kid, key = keys.signing_key()
    body = ref.sign_compact(key.to_cryptography(), kid, issuer_code=330200, size=10, version=3, statuses={})
    url = "http://127.0.0.1/status/330200/0/compact"
    good = ref.sign_freshness(
        key.to_cryptography(), kid, issuer_code=330200, seq=42, shards=[(0, 3, 10, body, url)]
    )
    other = KeyDirectory.init(tmp_path / "other", issuer_code=500000, issuer_name="重庆", insecure_dev=True)
    okid, okey = other.signing_key()
    foreign = ref.sign_freshness(okey.to_cryptography(), okid, issuer_code=330200, seq=43, shards=[])
    head, claims, signature = good.split(".")
    forged = ".".join([head, claims[:-2] + ("A" if claims[-2] != "A" else "B") + claims[-1], signature])
    page = browser_context().new_page()
    page.goto(static_site)
    got = run(page, keys, trust_list, "loadFreshness", [good, foreign, forged, "not.a.jwt"])
    assert got[0]["ok"] and got[0]["seq"] == 42 and got[0]["digest"] == ref.digest(good)
    assert got[0]["shards"] == [
        {"shard": 0, "version": 3, "size": 10, "digest": ref.digest(body), "url": url}
    ]
    assert [g["ok"] for g in got[1:]] == [False, False, False]
    assert "does not hold" in got[1]["error"]


@pytest.mark.parametrize(
    ("held", "candidate"),
    [
        (None, (1, "a")),
        ((1, "a"), (2, "b")),
        ((2, "b"), (2, "b")),
        ((2, "b"), (1, "a")),
        ((2, "b"), (2, "c")),
    ],
)
def test_judge_update_in_the_browser_matches_anxinma_rollback(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
    held: tuple[int, str] | None,
    candidate: tuple[int, str],
) -> None:
    page = browser_context().new_page()
    page.goto(static_site)

    def as_js(pair: tuple[int, str] | None) -> dict[str, Any] | None:
        return None if pair is None else {"version": pair[0], "digest": pair[1]}

    answer = page.evaluate("([h, c]) => AnxinmaVerify.judgeUpdate(h, c)", [as_js(held), as_js(candidate)])
    assert answer == judge(held, candidate).value


def test_the_age_comes_from_the_freshness_document_only_when_it_lists_the_held_version(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
    issuer_keys: tuple[KeyDirectory, str],
) -> None:
    keys, trust_list = issuer_keys
    kid, key = keys.signing_key()
    sk, now = key.to_cryptography(), int(time.time())
    shard = ref.sign_compact(
        sk, kid, issuer_code=330200, size=10, version=3, statuses={}, iat=now - 30 * 3600
    )
    url = "http://127.0.0.1/status/330200/0/compact"
    lists_it = ref.sign_freshness(
        sk, kid, issuer_code=330200, seq=9, shards=[(0, 3, 10, shard, url)], iat=now - 60
    )
    newer = ref.sign_compact(sk, kid, issuer_code=330200, size=10, version=4, statuses={1: 1}, iat=now - 60)
    lists_other = ref.sign_freshness(
        sk, kid, issuer_code=330200, seq=10, shards=[(0, 4, 10, newer, url)], iat=now - 60
    )
    from anxinma import credential as fmt
    from tests.verifier.publisher import worker_claims

    credential = fmt.sign(worker_claims(330200, 2), key, kid).to_bytes().hex()
    page = browser_context().new_page()
    page.goto(static_site)
    answers = page.evaluate(
        """async ([trustList, root, shard, fresh, stale, credential]) => {
          const V = AnxinmaVerify, trust = await V.loadTrustList(trustList, V.fromHex(root));
          const list = await V.loadCompactStatusList(V.fromHex(shard), trust), cred = V.decodeCredential(V.fromHex(credential));
          const policy = { clockSkew: 300, statusMaxAge: 86400, leeway: 300 }, now = Date.now() / 1000, out = [];
          for (const token of [fresh, stale, null]) {
            const freshness = token ? await V.loadFreshness(token, trust) : null;
            const r = await V.verifyOffline(cred, trust, list, now, policy, null, freshness);
            out.push([r.status, Math.round((now - r.evidence) / 60)]);
          }
          return out;
        }""",
        [trust_list, keys.root_public_key.hex(), shard.hex(), lists_it, lists_other, credential],
    )
    # Listed: a 30-hour-old shard is vouched current a minute ago. Not listed (a newer version is
    # out): the shard's own 30 hours count, beyond the 24 h limit.
    assert answers == [["valid", 1], ["status_unknown", 30 * 60], ["status_unknown", 30 * 60]]


#: Each vector through verify.js under a trust list holding only the vector's key (any issuer code).
VECTOR_RUN = """async ([vectors, loader]) => {
  const V = AnxinmaVerify, out = [];
  for (const v of vectors) {
    const keys = new Map([[v.kid, { x: V.fromHex(v.public_key), status: "active" }]]);
    const trust = { issuers: { get: () => ({ keys }), has: () => true } };
    try {
      const got = loader === "compact" ? await V.loadCompactStatusList(V.fromHex(v.hex), trust)
        : await V.loadFreshness(v.token, trust);
      if (loader === "compact") {
        const statuses = [];
        for (let i = 0; i < got.size; i++) {
          const value = (got.packed[i >> 2] >> ((i & 3) * 2)) & 3;
          if (value) statuses.push([i, value]);
        }
        out.push({ ok: true, issuer_code: got.issuerCode, shard: got.shard, size: got.size, version: got.version,
          iat: got.issuedAt, digest: got.digest, statuses });
      } else {
        out.push({ ok: true, iss: String(got.issuerCode), seq: got.seq, iat: got.issuedAt, exp: got.expiresAt, ttl: got.ttl,
          shards: [...got.shards.values()], digest: got.digest });
      }
    } catch (e) { out.push({ ok: false, error: String(e.message || e) }); }
  }
  return out;
}"""


def test_the_issuers_compact_vectors_read_the_same_in_the_browser(
    browser_context: Callable[..., Any],
    static_site: str,  # noqa: F811  (the imported fixture)
) -> None:
    """tests/vectors/status-compact.json: the Python loaders' own bytes; every valid vector reads
    to the same statuses and digest, every invalid one is refused for the same reason (the
    refusal contains the words the Python test requires of anxinma.status_list)."""
    vectors = json.loads((VECTORS / "status-compact.json").read_text("utf-8"))
    page = browser_context().new_page()
    page.goto(static_site)
    compact = page.evaluate(VECTOR_RUN, [vectors["compact"], "compact"])
    for vector, got in zip(vectors["compact"], compact, strict=True):
        expected = {
            key: vector[key]
            for key in ("issuer_code", "shard", "size", "version", "iat", "digest", "statuses")
        }
        assert got == {"ok": True, **expected}, vector["name"]
    fresh = page.evaluate(VECTOR_RUN, [vectors["freshness"], "freshness"])
    for vector, got in zip(vectors["freshness"], fresh, strict=True):
        claims = vector["claims"]
        assert got["ok"] and got["digest"] == vector["digest"], vector["name"]
        assert [got[k] for k in ("iss", "seq", "iat", "exp", "ttl")] == [
            claims[k] for k in ("iss", "seq", "iat", "exp", "ttl")
        ]
        assert got["shards"] == claims["shards"]
    for kind, loader in (("invalid_compact", "compact"), ("invalid_freshness", "freshness")):
        answers = page.evaluate(VECTOR_RUN, [vectors[kind], loader])
        wrong = [
            (vector["name"], vector["message_contains"], got)
            for vector, got in zip(vectors[kind], answers, strict=True)
            if got["ok"] or vector["message_contains"] not in got["error"]
        ]
        assert wrong == [], kind
