"""The consumer's page (/v/<payload>) in a real headless Chromium at a phone viewport, against
the served issuer: every verdict in colour, icon and word, in Chinese and English; garbage and
payment codes; the in-browser signature check without WebCrypto Ed25519; the card tap (Web NFC
stand-in injected below the page, as no NFC hardware exists here); a wrong clock.

Screenshots go to artifacts/screenshots/page-*.png.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.issuer.store.models import Credential
from tests.conftest import NARROW_PHONE, LiveIssuer, screenshot
from tests.verifier.test_page_verify import NO_WEBCRYPTO_ED25519

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIssuer]:
    home = tmp_path_factory.mktemp("page-issuer")
    served = LiveIssuer(home, f"sqlite:///{home / 'anxinma.sqlite3'}")
    try:
        yield served
    finally:
        served.stop()


def open_page(context: Any, url: str) -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert errors == []
    return page


def verdict(page: Any) -> dict[str, str]:
    return page.eval_on_selector(  # type: ignore[no-any-return]
        "#verdict",
        """e => ({status: e.dataset.status, source: e.dataset.source, reason: e.dataset.reason,
                  crypto: e.dataset.crypto, binding: e.dataset.binding || null, tone: e.className,
                  word: document.getElementById('verdict-word').textContent,
                  text: document.getElementById('verdict-reason').textContent,
                  notes: document.getElementById('notes').innerText,
                  icon: document.getElementById('verdict-icon').getAttribute('href'),
                  lang: document.documentElement.lang})""",
    )


def portrait() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (96, 120), "#dbeafe")
    ImageDraw.Draw(image).ellipse((28, 20, 68, 60), fill="#1e3a8a")
    ImageDraw.Draw(image).rectangle((14, 72, 82, 120), fill="#1e3a8a")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def resign(issuer: LiveIssuer, serial: int, **changes: Any) -> str:
    """Re-sign a stored credential with changed claims (e.g. past dates) and store those bytes,
    as if the issuer had issued it so: the live record then speaks about these very bytes."""
    with issuer.runtime.store.read() as session:
        raw = session.get(Credential, serial).raw
    claims = fmt.decode(raw).claims
    values = {name: getattr(claims, name) for name in claims.__dataclass_fields__}
    values.update(changes)
    kid, key = issuer.runtime.keys.signing_key()
    signed = fmt.sign(fmt.Claims(**values), key, kid)
    with issuer.runtime.store.write() as session:
        session.execute(
            update(Credential)
            .where(Credential.serial == serial)
            .values(
                raw=signed.to_bytes(),
                issued_on=values["issued_at"].date(),
                expires_on=values["expires_at"].date(),
            )
        )
    return signed.to_url(issuer.url)


def test_a_valid_credential_is_green_with_the_live_record_in_chinese_and_english(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    photo = f"{issuer.url}/photos/worker.jpg"
    worker = issuer.worker(
        photo_url=photo, star_level=4, trainings=[{"name": "育婴员（五级）", "issued_on": "2025-03-01"}]
    )
    issued = issuer.credential(int(worker["id"]))  # type: ignore[call-overload]
    context = browser_context()
    # The archive's photo host does not exist here: it is answered below the page.
    context.route(photo, lambda route: route.fulfill(body=portrait(), content_type="image/png"))
    page = open_page(context, str(issued["code"]))
    seen = verdict(page)
    assert seen["status"] == "valid" and seen["word"] == "有效" and "tone-green" in seen["tone"]
    assert seen["icon"] == "#i-green" and seen["lang"] == "zh-CN"
    assert seen["source"] == "live" and seen["crypto"] == "webcrypto"
    assert "签名有效" in seen["text"] and "签发机构在线核对一致" in seen["notes"]
    person = page.inner_text("#person")
    assert "李*霞" in person and "测试家政服务有限公司" in person
    assert "育婴员（五级）" in person and "4 星" in person and "育婴" in person
    # The code's own digits (its URL, in the page's links) are random: a phone's last four can
    # turn up inside them by chance (about 3 % of runs); everywhere else they must not.
    shown = page.content().replace(str(issued["code"]).rsplit("/", 1)[-1], "")
    for private in (str(worker["phone_masked"])[-4:], str(worker["id_number_masked"])[-4:]):
        assert private not in shown  # no phone or identity number, not even masked
    assert page.is_visible("#entry-button") and page.is_enabled("#entry-button")
    page.wait_for_selector("#photo:not([hidden])")
    assert page.get_attribute("#photo", "src") == photo and page.is_hidden("#photo-placeholder")
    assert page.evaluate("document.getElementById('photo').naturalWidth") == 96
    assert "李*霞" in str(page.get_attribute("#photo", "alt"))
    screenshot(page, "page-valid-zh")

    page.click("#lang-switch")
    seen = verdict(page)
    assert seen["word"] == "Valid" and seen["lang"] == "en"
    assert "Genuine, not revoked" in seen["text"]
    assert "Cleaning, Infant care" in page.inner_text("#person")  # the format's English labels
    assert page.inner_text("#entry-button") == "Confirm entry"
    assert page.get_attribute("#lang-switch", "lang") == "zh-CN"
    screenshot(page, "page-valid-en")
    again = open_page(context, str(issued["code"]))  # remembered on the next scan
    assert verdict(again)["word"] == "Valid"
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    assert cookies.get("lang") == "en"  # and by the server, for the other pages


def test_attention_is_yellow_and_names_the_lapsed_item(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    lapsed = (date.today() - timedelta(days=10)).isoformat()
    worker = issuer.worker(health_certificate_valid_until=lapsed)
    page = open_page(browser_context(), str(issuer.credential(int(worker["id"]))["code"]))  # type: ignore[call-overload]
    seen = verdict(page)
    assert seen["status"] == "attention" and seen["word"] == "需注意" and "tone-yellow" in seen["tone"]
    assert "健康证" in seen["text"] and "保险" not in seen["text"]
    assert "已于" in page.inner_text("#facts")  # the lapsed certificate, with the first day without cover
    screenshot(page, "page-attention-zh")


def test_revoked_is_red_and_says_why_and_entry_cannot_be_confirmed(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    issued = issuer.credential()
    response = issuer.api("POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "left"})
    assert response.status_code == 200
    context = browser_context()
    page = open_page(context, str(issued["code"]))
    seen = verdict(page)
    assert seen["status"] == "revoked" and seen["word"] == "已吊销" and "tone-red" in seen["tone"]
    assert "离职" in seen["text"]
    assert page.is_hidden("#entry")
    assert "李*霞" in page.inner_text("#person") and "雇主评价" not in page.inner_text("#person")
    screenshot(page, "page-revoked-zh")
    page.click("#lang-switch")
    assert verdict(page)["word"] == "Revoked" and "left the enterprise" in verdict(page)["text"]
    screenshot(page, "page-revoked-en")


def test_suspended_is_red(issuer: LiveIssuer, browser_context: Callable[..., Any]) -> None:
    issued = issuer.credential()
    assert issuer.api("POST", f"/api/v1/credentials/{issued['serial']}/suspend", json={}).status_code == 200
    page = open_page(browser_context(), str(issued["code"]))
    seen = verdict(page)
    assert seen["status"] == "suspended" and seen["word"] == "已暂停" and "tone-red" in seen["tone"]
    screenshot(page, "page-suspended-zh")


def test_expired_is_grey_with_the_date(issuer: LiveIssuer, browser_context: Callable[..., Any]) -> None:
    issued = issuer.credential()
    url = resign(
        issuer,
        int(issued["serial"]),  # type: ignore[call-overload]
        issued_at=fmt.parse_when("2023-03-01", "issued_at"),
        expires_at=fmt.parse_when("2025-03-01", "expires_at"),
    )
    page = open_page(browser_context(), url)
    seen = verdict(page)
    assert seen["status"] == "expired" and seen["word"] == "已过期" and "tone-grey" in seen["tone"]
    assert "2025-03-01" in seen["text"] and seen["source"] == "live"
    screenshot(page, "page-expired-zh")


def test_a_tampered_code_cannot_be_verified(issuer: LiveIssuer, browser_context: Callable[..., Any]) -> None:
    raw = bytearray(bytes.fromhex(str(issuer.credential()["hex"])))
    raw[-5] ^= 0x40  # one bit of the signature
    page = open_page(browser_context(), f"{issuer.url}/v/{fmt.to_decimal(bytes(raw))}")
    seen = verdict(page)
    assert seen["status"] == "bad_signature" and seen["word"] == "无法验证" and "tone-red" in seen["tone"]
    assert "篡改或伪造" in seen["text"] and seen["source"] == "offline"  # a forgery is never looked up
    assert page.is_hidden("#entry")
    assert page.is_hidden("#person")  # what a forged code claims (a name) is not shown as a fact
    screenshot(page, "page-tampered-zh")


def test_an_unknown_issuer_cannot_be_verified(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    claims = fmt.Claims(
        issuer_code=440300,
        serial=7,
        subject_kind=fmt.SubjectKind.WORKER,
        archive_id=1,
        enterprise_id=1,
        display_name="张*",
        categories=frozenset({fmt.Category.CLEANING}),
        issued_at=fmt.parse_when(date.today() - timedelta(days=1), "issued_at"),
        expires_at=fmt.parse_when(date.today() + timedelta(days=300), "expires_at"),
    )
    stranger = fmt.sign(claims, ed25519.SigningKey.generate())
    page = open_page(browser_context(), stranger.qr_text(issuer.url))  # the QR's upper-case /V/ form
    seen = verdict(page)
    assert seen["status"] == "unknown_issuer" and seen["word"] == "无法验证"
    assert "440300" in seen["text"]
    screenshot(page, "page-unknown-issuer-zh")


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ("/v/" + urllib.parse.quote("https://qr.alipay.com/fkx12345abcde", safe=""), "支付宝付款码"),
        ("/v#wxp://f2f0aAbBcCdD", "微信支付码"),
        ("/v/" + urllib.parse.quote("https://example.com/promo?id=1", safe=""), "其他网址"),
        ("/v/hello%20world", "这不是安心码"),
    ],
)
def test_a_foreign_code_gets_a_friendly_cannot_verify(
    issuer: LiveIssuer, browser_context: Callable[..., Any], payload: str, words: str
) -> None:
    page = open_page(browser_context(), issuer.url + payload)
    seen = verdict(page)
    assert seen["status"] == "malformed" and seen["word"] == "无法验证"
    assert words in seen["text"]
    assert page.is_visible("#manual")  # and a way to type or paste the right code
    if "alipay" in payload:
        screenshot(page, "page-foreign-payment-zh")


def test_without_webcrypto_ed25519_the_vendored_fallback_verifies(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    context = browser_context()
    context.add_init_script(NO_WEBCRYPTO_ED25519)
    issued = issuer.credential()
    page = open_page(context, str(issued["code"]))
    seen = verdict(page)
    assert seen["crypto"] == "tweetnacl" and seen["status"] == "valid"
    raw = bytearray(bytes.fromhex(str(issued["hex"])))
    raw[-1] ^= 1
    forged = open_page(context, f"{issuer.url}/v/{fmt.to_decimal(bytes(raw))}")
    assert verdict(forged)["status"] == "bad_signature" and verdict(forged)["crypto"] == "tweetnacl"


NFC_STAND_IN = """
window.NDEFReader = class {
  constructor() { this.onreading = null; this.onreadingerror = null; }
  async scan(options) {
    setTimeout(() => {
      const event = new Event("reading");
      event.serialNumber = %r;
      event.message = { records: [] };
      if (this.onreading) this.onreading(event);
    }, 100);
  }
};
"""


@pytest.mark.parametrize(
    ("serial", "expected"), [("04:a2:24:5a:9b:6c:80", "match"), ("04:11:22:33:44:55:66", "mismatch")]
)
def test_tapping_the_card_checks_the_binding(
    issuer: LiveIssuer, browser_context: Callable[..., Any], serial: str, expected: str
) -> None:
    context = browser_context()
    context.add_init_script(NFC_STAND_IN % serial)
    issued = issuer.credential(card_uid="04a2245a9b6c80")
    scanned = fmt.decode(bytes.fromhex(str(issued["hex"]))).qr_text(issuer.url)  # the QR's /V/ link
    page = open_page(context, scanned)
    assert verdict(page)["binding"] == "unchecked" and "扫码无法核对卡号绑定" in verdict(page)["notes"]
    page.click("#card-button")
    page.wait_for_selector(f"#verdict[data-binding={expected}]")
    seen = verdict(page)
    if expected == "match":
        assert seen["status"] == "valid" and "卡号一致" in page.inner_text("#card-status")
    else:
        assert seen["status"] == "bad_signature" and seen["word"] == "无法验证"
        assert "另一张卡" in seen["text"] and "复制卡" in seen["text"]
        screenshot(page, "page-card-copy-zh")


def test_a_phone_clock_years_behind_is_named_and_corrected_online(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    context = browser_context()
    page = context.new_page()
    page.clock.set_fixed_time("2020-01-01T08:00:00+08:00")
    page.goto(str(issuer.credential()["code"]))
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    seen = verdict(page)
    assert seen["status"] == "valid"  # not "not yet valid": the server's clock was used
    assert "手机时间与服务器相差" in seen["notes"]


def test_at_320_px_the_page_fits_is_labelled_and_keyboard_reachable(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    page = open_page(browser_context(viewport=NARROW_PHONE), str(issuer.credential()["code"]))
    layout = page.evaluate(
        """() => ({
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          unlabelled: [...document.querySelectorAll('button, a, input, textarea, select')]
            .filter(e => e.offsetParent !== null)
            .filter(e => !(e.innerText || e.getAttribute('aria-label') || (e.labels && e.labels.length)).toString().trim()).length,
          live: document.getElementById('verdict').getAttribute('aria-live'),
          word: parseFloat(getComputedStyle(document.getElementById('verdict-word')).fontSize),
          body: parseFloat(getComputedStyle(document.body).fontSize),
        })"""
    )
    assert layout["overflow"] <= 0 and layout["unlabelled"] == 0 and layout["live"] == "polite"
    assert layout["word"] >= 36 and layout["body"] >= 18
    reached = []
    for _ in range(4):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
    assert "lang-switch" in reached and "entry-button" in reached
    screenshot(page, "page-valid-320")


def test_static_assets_carry_their_licence(issuer: LiveIssuer) -> None:
    vendored = Path(fmt.__file__).resolve().parent.parent / "static" / "verifier" / "vendor"
    assert "Public domain" in (vendored / "nacl-fast.min.js").read_text()[:400]
    assert "unlicense" in (vendored / "LICENSE-tweetnacl.txt").read_text().lower()
    page = issuer.api("GET", "/v", token="")
    assert "https://cdn" not in page.text and "//unpkg" not in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_a_retired_then_compromised_key_cannot_be_verified(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    issued = live_issuer.credential()
    keys = live_issuer.runtime.keys
    old_kid = keys.signing_kid
    keys.rotate()
    keys.retire(old_kid)
    context = browser_context()
    page = open_page(context, str(issued["code"]))
    seen = verdict(page)
    assert seen["status"] == "key_retired" and seen["word"] == "无法验证"
    assert old_kid.hex() in seen["text"] and "换发新证" in seen["text"]
    keys.compromised(old_kid)
    live_issuer.runtime.trust.refresh()  # "publish a new trust list now", as `anxinma keys compromised` says
    page = open_page(context, str(issued["code"]))  # the newer trust list replaces the cached one
    seen = verdict(page)
    assert seen["status"] == "unknown_key" and "已被宣告泄露" in seen["text"]
    screenshot(page, "page-key-compromised-zh")
    fresh = open_page(context, str(live_issuer.credential()["code"]))  # signed by the new key
    assert verdict(fresh)["status"] == "valid"


def test_the_card_tap_link_opens_the_page_and_a_pasted_code_is_checked(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    import ndef

    issued = issuer.credential(card_uid="04a2245a9b6c81")
    records = list(ndef.message_decoder(bytes.fromhex(str(issued["ndef_hex"]))))
    tapped = next(r.iri for r in records if isinstance(r, ndef.UriRecord))  # what the phone opens
    context = browser_context()
    page = open_page(context, tapped)
    assert verdict(page)["status"] == "valid" and verdict(page)["binding"] == "unchecked"

    bare = context.new_page()
    bare.goto(f"{issuer.url}/v")
    bare.wait_for_selector("#manual:not([hidden])")
    assert bare.get_attribute("#verdict", "data-status") is None  # no verdict without a code
    assert "请扫描安心码" in bare.inner_text("#verdict")
    bare.fill("#manual-code", fmt.decode(bytes.fromhex(str(issued["hex"]))).to_decimal())
    bare.click("#manual button[type=submit]")
    bare.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert verdict(bare)["status"] == "valid" and "#" in bare.url  # checked from the fragment


def test_the_shell_is_one_document_per_language_and_revalidates_to_304(issuer: LiveIssuer) -> None:
    import requests

    code = str(issuer.credential()["code"])
    other = str(issuer.credential()["code"])
    zh = requests.get(code, headers={"Accept-Language": "zh-CN"}, timeout=10)
    en = requests.get(code, headers={"Accept-Language": "en"}, timeout=10)
    assert zh.status_code == en.status_code == 200
    assert '<html lang="zh-CN"' in zh.text and '<html lang="en"' in en.text
    assert zh.headers["ETag"] != en.headers["ETag"]
    # Another credential's URL is the same shell (the payload is read in the browser) ...
    again = requests.get(other, headers={"Accept-Language": "zh-CN"}, timeout=10)
    assert again.headers["ETag"] == zh.headers["ETag"] and again.text == zh.text
    # ... rendered once per language, not per scan: the app holds one shell for each.
    shells = issuer.app.extensions["anxinma.page.shells"]
    assert sorted(lang for lang, _root, _origins in shells) == ["en", "zh_CN"] and len(shells) == 2
    # ... and the service worker's refresh of it is a 304 without a body.
    fresh = requests.get(
        code, headers={"Accept-Language": "zh-CN", "If-None-Match": zh.headers["ETag"]}, timeout=10
    )
    assert fresh.status_code == 304 and fresh.content == b""
