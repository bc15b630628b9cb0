"""How the page keeps its trust data (issue 15), in Chromium against the served issuer: floors for
the trust list, the freshness document and each shard, so that older data and other bytes under a
version already held are refused and the held data kept (a revoked credential stays 已吊销 after a
replayed pre-revocation shard); status data signed by another issuer's key does not count; a
correctly signed code the issuer has no record of is 查无此证 (unknown_credential); the CSP names
only the page's origin and the trust list's issuers; the bytes of a first and a later visit.

Every freshness document and compact shard the issuer serves the page is recorded by
:class:`Publications` (in front of the issuer's app, on its own server), so that a test can
replay one, or substitute one signed with the issuer's key, as an attacker on the network would
(or an issuer that equivocates). Live records are blocked where a test is about the status data
(the live status would otherwise win and hide what the page did with it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import cbor2
import jwt
import pytest
import requests

from anxinma import credential as fmt
from anxinma.keys import KeyDirectory, build_trust_list
from tests.conftest import LiveIssuer, screenshot
from tests.verifier import compact_reference as ref
from tests.verifier.publisher import worker_claims
from tests.verifier.test_page import verdict

pytestmark = pytest.mark.browser


class Publications:
    """The freshness document and compact shard 0 of one issuer as the page receives them, with
    knobs to replay or substitute what is served (``serve_freshness``, ``serve_compact``,
    ``serve_trust_list``)."""

    def __init__(self, issuer: LiveIssuer) -> None:
        self.issuer = issuer
        self.code = int(issuer.runtime.service.issuer_code)
        self.compact: dict[int, bytes] = {}  # version -> the bytes served
        self.freshness: list[str] = []  # every freshness document served, oldest first
        self.serve_freshness: str | None = None
        self.serve_compact: bytes | None = None
        self.serve_trust_list: str | None = None

    @property
    def base(self) -> str:
        return self.issuer.url

    def _key(self) -> tuple[Any, bytes]:
        kid, key = self.issuer.runtime.keys.signing_key()
        return key.to_cryptography(), kid

    def sign_freshness(self, seq: int, version: int, body: bytes) -> str:
        """A freshness document signed by the issuer's key listing ``version`` with ``body``."""
        key, kid = self._key()
        size = cbor2.loads(cbor2.loads(body).value[2])[3]
        url = f"{self.base}/status/{self.code}/0/compact"
        return ref.sign_freshness(
            key, kid, issuer_code=self.code, seq=seq, shards=[(0, version, size, body, url)]
        )

    def resign(self, body: bytes, *, iat_delta: int) -> bytes:
        """The same version and statuses signed again at another time: other bytes, one version."""
        payload = cbor2.loads(cbor2.loads(body).value[2])
        key, kid = self._key()
        return ref.sign_compact(
            key,
            kid,
            issuer_code=payload[1],
            shard=payload[2],
            size=payload[3],
            version=payload[4],
            streams=payload[6],
            iat=payload[5] + iat_delta,
        )

    def install(self) -> None:
        """Answer in front of the issuer's app on its own server (not a browser route: those
        turn the browser's HTTP cache off, and a phone has one)."""
        self.inner = self.issuer.server.app
        self.issuer.server.app = self

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        if path == f"/status/{self.code}/freshness":
            if self.serve_freshness is not None:
                return self._answer(environ, start_response, self.serve_freshness.encode(), "application/jwt")
            return self._record(environ, start_response, lambda body: self._seen_freshness(body.decode()))
        if path == f"/status/{self.code}/0/compact":
            if self.serve_compact is not None:
                return self._answer(environ, start_response, self.serve_compact, ref.COMPACT_TYPE)
            return self._record(environ, start_response, self._seen_compact)
        if path == "/trust-list" and self.serve_trust_list is not None:
            return self._answer(environ, start_response, self.serve_trust_list.encode(), "application/jwt")
        return self.inner(environ, start_response)

    def _seen_freshness(self, body: str) -> None:
        if not self.freshness or self.freshness[-1] != body:
            self.freshness.append(body)

    def _seen_compact(self, body: bytes) -> None:
        self.compact[cbor2.loads(cbor2.loads(body).value[2])[4]] = body

    def _record(self, environ: dict[str, Any], start_response: Any, seen: Callable[[bytes], None]) -> Any:
        answer: dict[str, str] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"] = status
            return start_response(status, headers, exc_info)

        body = b"".join(self.inner(environ, start))
        if answer.get("status", "").startswith("200"):
            seen(body)
        return [body]

    def _answer(self, environ: dict[str, Any], start_response: Any, body: bytes, mimetype: str) -> Any:
        etag = f'"{ref.digest(body)[:16]}"'
        headers = [
            ("ETag", etag),
            ("Cache-Control", "public, max-age=300"),
            ("Access-Control-Allow-Origin", "*"),
        ]
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response("304 NOT MODIFIED", headers)
            return [b""]
        start_response("200 OK", [*headers, ("Content-Type", mimetype), ("Content-Length", str(len(body)))])
        return [body]


def visit(context: Any, url: str) -> dict[str, str]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert errors == []
    seen = verdict(page)
    page.close()
    return seen


def no_live(context: Any) -> None:
    """The live record unreachable: the verdict is what the page's own status data says."""
    context.route("**/api/v1/live", lambda route: route.abort())


def test_replayed_older_or_equivocal_status_data_is_refused_and_a_revocation_stays(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    issued = live_issuer.credential()
    code = str(issued["code"])
    publications = Publications(live_issuer)
    publications.install()
    context = browser_context()
    no_live(context)
    first = visit(context, code)
    assert first["status"] == "valid" and first["source"] == "offline"
    before = publications.freshness[-1], publications.compact[max(publications.compact)]

    # The revocation shows on the next online visit, from the status data alone.
    answer = live_issuer.api(
        "POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "left"}
    )
    assert answer.status_code == 200
    revoked = visit(context, code)
    assert revoked["status"] == "revoked" and revoked["word"] == "已吊销"
    held_version = max(publications.compact)
    assert held_version > min(publications.compact)

    # An older freshness document (the one from before the revocation): refused, the held kept.
    publications.serve_freshness = before[0]
    seen = visit(context, code)
    assert (
        seen["status"] == "revoked"
        and "吊销数据被拒绝" in seen["notes"]
        and "早于本机已有的数据" in seen["notes"]
    )

    # A newer freshness document that lists the pre-revocation shard, and that shard: refused.
    seq = 10_000
    publications.serve_freshness = publications.sign_freshness(seq, min(publications.compact), before[1])
    publications.serve_compact = before[1]
    seen = visit(context, code)
    assert seen["status"] == "revoked" and "早于本机已有的数据" in seen["notes"], seen

    # The held version again, with other bytes (an issuer equivocating, a replay inside a window).
    other = publications.resign(publications.compact[held_version], iat_delta=-60)
    publications.serve_freshness = publications.sign_freshness(seq + 1, held_version, other)
    publications.serve_compact = other
    seen = visit(context, code)
    assert seen["status"] == "revoked" and "同一版本" in seen["notes"], seen
    screenshot_page = context.new_page()
    screenshot_page.goto(code)
    screenshot_page.wait_for_selector("#verdict[data-final]", timeout=15000)
    screenshot(screenshot_page, "page-status-replay-refused-zh")

    # Offline after those visits: still revoked, from the shard held.
    context.set_offline(True)
    live_issuer.stop()
    seen = visit(context, code)
    assert seen["status"] == "revoked" and seen["source"] == "offline"


def test_an_older_or_equal_but_different_trust_list_is_refused_and_the_held_one_kept(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    issued = live_issuer.credential()
    publications = Publications(live_issuer)
    publications.install()
    context = browser_context()
    older = build_trust_list(live_issuer.runtime.keys)
    newer = build_trust_list(live_issuer.runtime.keys)  # the next sequence number
    publications.serve_trust_list = newer
    assert visit(context, str(issued["code"]))["status"] == "valid"
    publications.serve_trust_list = older
    seen = visit(context, str(issued["code"]))
    assert seen["status"] == "valid"  # verified against the newer list still held
    assert "信任数据未通过验证" in seen["notes"] and "早于本机已有的信任列表" in seen["notes"]
    # The held sequence number again, with other bytes (a root that equivocates, or a forgery
    # under a leaked root): refused as well.
    held_seq = jwt.decode(newer, options={"verify_signature": False})["seq"]
    publications.serve_trust_list = build_trust_list(live_issuer.runtime.keys, sequence=held_seq)
    assert publications.serve_trust_list != newer
    seen = visit(context, str(issued["code"]))
    assert seen["status"] == "valid" and "与本机已有的同一版本数据不同" in seen["notes"], seen
    floors = context.new_page()
    floors.goto(f"{live_issuer.url}/v")
    held = json.loads(floors.evaluate("localStorage.getItem('anxinma.floors')"))
    assert held["trust"]["version"] == jwt.decode(newer, options={"verify_signature": False})["seq"]


def test_status_data_signed_by_another_issuers_key_does_not_count(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any], tmp_path: Any
) -> None:
    issued = live_issuer.credential()
    publications = Publications(live_issuer)
    stranger = KeyDirectory.init(tmp_path / "cq", issuer_code=500000, issuer_name="重庆", insecure_dev=True)
    kid, key = stranger.signing_key()
    size = 64
    foreign = ref.sign_compact(
        key.to_cryptography(), kid, issuer_code=publications.code, size=size, version=99
    )
    url = f"{live_issuer.url}/status/{publications.code}/0/compact"
    publications.serve_compact = foreign
    publications.serve_freshness = ref.sign_freshness(
        key.to_cryptography(),
        kid,
        issuer_code=publications.code,
        seq=99,
        shards=[(0, 99, size, foreign, url)],
    )
    publications.install()
    context = browser_context()
    no_live(context)
    seen = visit(context, str(issued["code"]))
    assert seen["status"] == "status_unknown" and seen["reason"] == "no_status_list"
    assert "不是由信任列表中该签发机构的有效密钥签名" in seen["notes"]


def test_a_signed_code_the_issuer_has_no_record_of_is_red_not_on_record(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    """Signed with the issuer's own key (leaked, or a test key), but never issued: the live record
    answers 404. Not grey 状态未知 with "go online again": red, do not let them in."""
    kid, key = live_issuer.runtime.keys.signing_key()
    forged = fmt.sign(worker_claims(int(live_issuer.runtime.service.issuer_code), 987654), key, kid)
    context = browser_context()
    page = context.new_page()
    page.goto(forged.to_url(live_issuer.url))
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    seen = verdict(page)
    assert seen["status"] == "unknown_credential" and seen["reason"] == "not_on_record"
    assert "tone-red" in seen["tone"] and seen["icon"] == "#i-red" and seen["word"] == "查无此证"
    assert "可能是伪造" in seen["text"] and "请勿放行" in seen["text"] and seen["source"] == "live"
    assert "不要" in page.inner_text("#advice") or "请勿" in page.inner_text("#advice")
    assert page.is_hidden("#person") and page.is_hidden("#entry")  # what it claims is no fact
    screenshot(page, "page-unknown-credential-zh")
    page.click("#lang-switch")
    seen = verdict(page)
    assert seen["word"] == "No record" and "no record of this credential" in seen["text"]


def test_the_csp_connects_only_to_the_page_and_the_trust_lists_issuers(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    def csp() -> tuple[str, str]:
        response = requests.get(f"{live_issuer.url}/v", timeout=10, headers={"Accept-Language": "zh-CN"})
        return response.headers["Content-Security-Policy"], response.headers["ETag"]

    def connect_src(policy: str) -> str:
        return next(part.strip() for part in policy.split(";") if part.strip().startswith("connect-src"))

    live_issuer.app.config.pop("ANXINMA_TRUSTED_ORIGINS", None)
    alone, alone_etag = csp()
    assert connect_src(alone) == "connect-src 'self'"
    origins = ["https://v.cq.gov.cn", "http://127.0.0.1:9001"]
    live_issuer.app.config["ANXINMA_TRUSTED_ORIGINS"] = lambda: list(origins)
    named, named_etag = csp()
    assert connect_src(named) == "connect-src 'self' http://127.0.0.1:9001 https://v.cq.gov.cn"
    assert named_etag != alone_etag  # the shell cached by the service worker follows its CSP
    origins.append("https://v.sh.gov.cn/status")  # not an origin: never put into the policy
    origins.append("https://x.example'; script-src *")
    assert connect_src(csp()[0]) == "connect-src 'self' http://127.0.0.1:9001 https://v.cq.gov.cn"
    shells = live_issuer.app.extensions["anxinma.page.shells"]
    assert {key[2] for key in shells} >= {(), ("http://127.0.0.1:9001", "https://v.cq.gov.cn")}

    # In the browser: a connection to an origin the policy does not name is blocked.
    page = browser_context().new_page()
    page.goto(str(live_issuer.credential()["code"]))
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    blocked = page.evaluate(
        "() => fetch('https://v.elsewhere.example/trust-list').then(() => 'fetched', e => String(e))"
    )
    assert blocked != "fetched"


class Counted:
    """What the issuer's server sends, byte for byte (status line, headers, body), per path:
    the phone's download, without what its HTTP cache or service worker answered itself."""

    def __init__(self, issuer: LiveIssuer) -> None:
        self.moved: list[tuple[str, int]] = []
        self.inner = issuer.server.app
        issuer.server.app = self

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        sent = {"head": 0}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            sent["head"] = len(status) + 11 + sum(len(k) + len(v) + 4 for k, v in headers) + 2
            return start_response(status, headers, exc_info)

        body = b"".join(self.inner(environ, start))
        self.moved.append((environ["PATH_INFO"], sent["head"] + len(body)))
        return [body]


def test_bytes_of_a_first_visit_and_of_a_later_visit_with_nothing_changed(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Measured (docs/page.md reports them): everything the issuer's server sends to the page and
    its service worker."""
    issued = live_issuer.credential()
    code = str(issued["code"])
    Publications(live_issuer).install()
    counted = Counted(live_issuer)
    context = browser_context()

    def settle(page: Any) -> None:
        page.goto(code)
        page.wait_for_selector("#verdict[data-final]", timeout=15000)
        page.wait_for_timeout(1500)  # the service worker's install, prefetch and refresh

    settle(context.new_page())
    first = counted.moved
    counted.moved = []
    settle(context.new_page())
    later = counted.moved

    def total(items: list[tuple[str, int]]) -> int:
        return sum(n for _, n in items)

    with capsys.disabled():
        print(
            f"\npage bytes: first visit {total(first)} B in {len(first)} responses; "
            f"later visit, nothing changed: {total(later)} B in {len(later)} responses: "
            + ", ".join(f"{p[:40]} {n}" for p, n in later)
        )
    assert not any(path.endswith("/compact") for path, _ in later)  # nothing changed: no shard moves
    assert total(later) < total(first) / 10
