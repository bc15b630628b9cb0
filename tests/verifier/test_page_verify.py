"""The page's own verifier (anxinma/static/verifier/verify.js) against the format's test vectors,
in Chromium: it reads every positive vector to the same claims as the Python decoder, refuses
every negative one with the same error code, and verifies their signatures with WebCrypto and
with the vendored tweetnacl alike."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

import anxinma
from anxinma import credential as fmt
from tests.conftest import free_port

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
POSITIVE = ("typical-worker", "card-uid", "holder-key", "enterprise", "worker-limits", "enterprise-limits")
#: An init script that takes Ed25519 out of WebCrypto, as in browsers that lack it.
NO_WEBCRYPTO_ED25519 = """
(() => {
  const subtle = crypto.subtle, importKey = subtle.importKey.bind(subtle), verify = subtle.verify.bind(subtle);
  const ed = (alg) => alg === "Ed25519" || (alg && alg.name === "Ed25519");
  const refuse = () => Promise.reject(new DOMException("Unrecognized algorithm name", "NotSupportedError"));
  subtle.importKey = (format, data, alg, ...rest) => ed(alg) ? refuse() : importKey(format, data, alg, ...rest);
  subtle.verify = (alg, ...rest) => ed(alg) ? refuse() : verify(alg, ...rest);
})();
"""


@pytest.fixture(scope="module")
def static_site() -> Iterator[str]:
    """The page's static files on 127.0.0.1 (a secure context: WebCrypto is there)."""
    app = Flask(__name__, static_folder=str(Path(anxinma.__file__).parent / "static"))

    @app.get("/")
    def index() -> str:
        return (
            "<!doctype html><html><body><script src='/static/verifier/verify.js'></script>"
            "<script>AnxinmaVerify.configure({naclUrl: '/static/verifier/vendor/nacl-fast.min.js'})</script>"
            "</body></html>"
        )

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.shutdown()


def _decode_all(page: Any, hexes: list[str]) -> list[dict[str, Any]]:
    return page.evaluate(  # type: ignore[no-any-return]
        """async (hexes) => {
          const V = AnxinmaVerify, out = [];
          for (const h of hexes) {
            try {
              const c = V.decodeCredential(V.fromHex(h));
              const { issued_at, expires_at, ...claims } = c.claims;
              out.push({ ok: true, claims, kid: c.kidHex, signed: V.hex(c.signed) });
            } catch (e) {
              if (!(e instanceof V.Refused)) throw e;
              out.push({ ok: false, code: e.code, key: e.key });
            }
          }
          return out;
        }""",
        hexes,
    )


@pytest.mark.browser
def test_verify_js_reads_every_vector_as_the_python_decoder_does(
    browser_context: Callable[..., Any], static_site: str
) -> None:
    page = browser_context().new_page()
    page.goto(static_site)
    vectors = [json.loads((VECTORS / f"{name}.json").read_text("utf-8")) for name in POSITIVE]
    results = _decode_all(page, [v["credential_hex"] for v in vectors])
    for vector, result in zip(vectors, results, strict=True):
        expected = fmt.decode(bytes.fromhex(vector["credential_hex"]))
        claims = expected.claims
        assert result["ok"], (vector["claims"], result)
        got = result["claims"]
        assert got["subject_kind"] == claims.subject_kind.value
        assert (got["issuer_code"], got["serial"]) == (claims.issuer_code, claims.serial)
        assert (got["archive_id"], got["enterprise_id"]) == (claims.archive_id, claims.enterprise_id)
        assert got["display_name"] == claims.display_name
        assert got["category_bits"] == fmt.categories_to_bits(claims.categories)
        assert got["issued_on"] == claims.issued_at.date().isoformat()
        assert got["expires_on"] == claims.expires_at.date().isoformat()
        assert got["card_uid"] == (claims.card_uid.hex() if claims.card_uid else None)
        assert got["holder_key"] == (claims.holder_key.hex() if claims.holder_key else None)
        assert result["kid"] == vector["kid"]
        assert result["signed"] == vector["sig_structure_hex"]
    # The text forms: URL (both cases), fragment, digits, hex all read back to the same bytes.
    typical = vectors[0]
    texts = [
        typical["url"],
        typical["qr_text"],
        typical["url_fragment"],
        typical["decimal"],
        typical["credential_hex"],
    ]
    read = page.evaluate("(texts) => texts.map(t => AnxinmaVerify.hex(AnxinmaVerify.parseText(t)))", texts)
    assert read == [typical["credential_hex"]] * len(texts)
    assert (
        page.evaluate("(h) => AnxinmaVerify.toDecimal(AnxinmaVerify.fromHex(h))", typical["credential_hex"])
        == (typical["decimal"])
    )


@pytest.mark.browser
def test_verify_js_refuses_every_negative_vector_with_its_error_code(
    browser_context: Callable[..., Any], static_site: str
) -> None:
    page = browser_context().new_page()
    page.goto(static_site)
    negative = json.loads((VECTORS / "negative.json").read_text("utf-8"))
    results = _decode_all(page, [v["hex"] for v in negative])
    wrong = [
        (v["name"], v["code"], r)
        for v, r in zip(negative, results, strict=True)
        if r["ok"] or r["code"] != v["code"]
    ]
    assert wrong == []
    texts = json.loads((VECTORS / "negative_text.json").read_text("utf-8"))
    kinds = page.evaluate(
        "(texts) => texts.map(t => AnxinmaVerify.classify(t, []).kind)", [v["text"] for v in texts]
    )
    assert "anxinma" not in kinds
    assert kinds[:2] == ["empty", "empty"]


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["webcrypto", "tweetnacl"])
def test_vector_signatures_verify_and_a_flipped_bit_does_not(
    browser_context: Callable[..., Any], static_site: str, engine: str
) -> None:
    context = browser_context()
    if engine == "tweetnacl":
        context.add_init_script(NO_WEBCRYPTO_ED25519)
    page = context.new_page()
    page.goto(static_site)
    vectors = [json.loads((VECTORS / f"{name}.json").read_text("utf-8")) for name in POSITIVE]
    answers = page.evaluate(
        """async (vectors) => {
          const V = AnxinmaVerify, out = [];
          for (const v of vectors) {
            const c = V.decodeCredential(V.fromHex(v.credential_hex)), key = V.fromHex(v.issuer_public_key);
            const good = await V.verifySignature(key, c.signature, c.signed);
            const forged = c.signature.slice(); forged[10] ^= 1;
            out.push([good, await V.verifySignature(key, forged, c.signed)]);
          }
          return { engine: await V.cryptoEngine(), out };
        }""",
        vectors,
    )
    assert answers["engine"] == engine
    assert answers["out"] == [[True, False]] * len(vectors)


def _zlib_cases() -> list[tuple[str, bytes, bytes]]:
    """(what, raw, zlib stream): every block type deflate has, from zlib itself."""
    import random
    import zlib

    rng = random.Random(61442)
    status_like = bytearray(250_000)  # a full shard: 2 bits a serial, mostly valid
    for _ in range(5000):
        status_like[rng.randrange(len(status_like))] = rng.choice((0x01, 0x04, 0x10, 0x40, 0x03))
    noise = rng.randbytes(4000)
    text = ("李*霞 家政服务 " * 300).encode()
    cases: list[tuple[str, bytes, bytes]] = [("empty", b"", zlib.compress(b""))]
    for level in (0, 1, 6, 9):  # 0: stored blocks; otherwise dynamic Huffman
        cases.append(
            (f"status list, level {level}", bytes(status_like), zlib.compress(bytes(status_like), level))
        )
    cases.append(("random, level 6", noise, zlib.compress(noise, 6)))
    for name, strategy in (
        ("fixed", zlib.Z_FIXED),
        ("huffman only", zlib.Z_HUFFMAN_ONLY),
        ("rle", zlib.Z_RLE),
    ):
        packer = zlib.compressobj(9, zlib.DEFLATED, 15, 9, strategy)
        cases.append((f"text, {name}", text, packer.compress(text) + packer.flush()))
    return cases


@pytest.mark.browser
def test_the_fallback_inflater_agrees_with_zlib_and_refuses_what_is_broken(
    browser_context: Callable[..., Any], static_site: str
) -> None:
    import base64
    import hashlib
    import zlib

    page = browser_context().new_page()
    page.goto(static_site)
    inflate = """([b64, limit]) => {
      const V = AnxinmaVerify;
      try {
        const out = V.inflateZlib(V.b64urlDecode(b64), limit);
        return crypto.subtle.digest("SHA-256", out).then(d => ({ ok: true, length: out.length, sha: V.hex(new Uint8Array(d)) }));
      } catch (e) { return { ok: false, error: String(e.message) }; }
    }"""

    def run(stream: bytes, limit: int = 1 << 20) -> dict[str, Any]:
        encoded = base64.urlsafe_b64encode(stream).decode().rstrip("=")
        return page.evaluate(inflate, [encoded, limit])  # type: ignore[no-any-return]

    cases = _zlib_cases()
    for what, raw, stream in cases:
        assert run(stream) == {"ok": True, "length": len(raw), "sha": hashlib.sha256(raw).hexdigest()}, what
    shard = next(stream for what, _, stream in cases if what == "status list, level 9")
    broken = {
        "truncated": shard[:-40],
        "checksum": shard[:-1] + bytes([shard[-1] ^ 1]),
        "header": b"\x78\x9d" + shard[2:],
        "not zlib": b"\x1f\x8b\x08\x00" + shard,
    }
    answers = {name: run(stream) for name, stream in broken.items()}
    assert answers["truncated"] == {"ok": False, "error": "deflate: truncated"}
    assert answers["checksum"] == {"ok": False, "error": "zlib: checksum mismatch"}
    assert answers["header"]["ok"] is False and answers["not zlib"] == {
        "ok": False,
        "error": "not a zlib stream",
    }
    assert run(shard, limit=100_000) == {"ok": False, "error": "the status list inflates beyond one shard"}
    # An incomplete literal/length code (zlib: "invalid literal/lengths set") is refused as zlib does.
    incomplete = bytes.fromhex("780105c0010900000080a06dfe3f152003d40146")
    with pytest.raises(zlib.error):
        zlib.decompress(incomplete)
    assert run(incomplete) == {"ok": False, "error": "deflate: incomplete Huffman code"}
    bomb = zlib.compress(bytes(300_000), 9)  # 300 KB of zeros in a few hundred bytes
    assert run(bomb, limit=1 << 18)["error"] == "the status list inflates beyond one shard"


@pytest.mark.browser
def test_a_status_list_whose_key_the_newer_trust_list_retired_is_no_evidence(
    browser_context: Callable[..., Any], static_site: str, tmp_path: Path
) -> None:
    """The page keeps a status list it loaded under an older trust list; once a newer trust list
    retires that list's key, the list proves nothing: status unknown, not valid."""
    from anxinma.keys import KeyDirectory, build_trust_list
    from anxinma.status_list import StatusArray, sign_status_list
    from tests.verifier.publisher import worker_claims

    keys = KeyDirectory.init(tmp_path / "keys", insecure_dev=True)
    old_kid, old_key = keys.signing_key()
    before = build_trust_list(keys)
    shard = sign_status_list(
        StatusArray(1000), issuer_code=330200, shard=0, uri="https://v.example.cn/status/330200/0",
        key=old_key.to_cryptography(), kid=old_kid, now=datetime.now(UTC) - timedelta(hours=1),
    )  # fmt: skip
    keys.rotate()
    keys.retire(old_kid)
    after = build_trust_list(keys)
    new_kid, new_key = keys.signing_key()
    credential = fmt.sign(worker_claims(330200, 7), new_key, new_kid)
    page = browser_context().new_page()
    page.goto(static_site)
    verdicts = page.evaluate(
        """async ([before, after, shard, root, credential]) => {
          const V = AnxinmaVerify, rootKey = V.fromHex(root), cred = V.decodeCredential(V.fromHex(credential));
          const older = await V.loadTrustList(before, rootKey), newer = await V.loadTrustList(after, rootKey);
          const list = await V.loadStatusList(shard, older);  // cached from the first visit
          const policy = { clockSkew: 300, statusMaxAge: 86400, leeway: 300 }, now = Date.now() / 1000;
          const stale = await V.verifyOffline(cred, newer, list, now, policy, null);
          // the "data updated … ago" the page shows rests on the trust list, not on that list
          return [stale.status, stale.reasons[0].key, stale.evidence === newer.issuedAt, list.issuedAt < newer.issuedAt];
        }""",
        [before, after, shard, keys.root_public_key.hex(), credential.to_bytes().hex()],
    )
    assert verdicts == ["status_unknown", "no_status_list", True, True]
