"""The worker's phone in headless Chromium at phone size (issue 18, items 1-3): enrol from the
console's QR, the dynamic code the page makes (verified by the Python verifier, read back from
a screenshot by zxing-cpp, expired when the screenshot is older than the window), the code
offline, a link opened twice, and the fallback key where WebCrypto lacks Ed25519."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from click.testing import CliRunner
from PIL import Image

from anxinma import credential as fmt
from anxinma.cli import main
from anxinma.credential.text import from_decimal
from tests.conftest import DESKTOP, PHONE, LiveIssuer, screenshot
from tests.issuer.console_support import account
from tests.issuer.test_console_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIssuer]:
    home = tmp_path_factory.mktemp("phone-issuer")
    served = LiveIssuer(home, f"sqlite:///{home / 'anxinma.sqlite3'}")
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def bundle(issuer: LiveIssuer, tmp_path_factory: pytest.TempPathFactory) -> tuple[LiveIssuer, Path]:
    """Where the Python verifier keeps the issuer's trust data (``anxinma verify --offline``)."""
    where = tmp_path_factory.mktemp("phone-bundle")
    (where / "root.pem").write_bytes(issuer.root_public_pem)
    return issuer, where


def verify(bundle: tuple[LiveIssuer, Path], code: str, at: datetime | None = None) -> dict[str, Any]:
    """``anxinma verify CODE --offline --json [--at]`` after a sync (the new serial's status)."""
    issuer, where = bundle
    synced = CliRunner().invoke(
        main,
        [
            "verifier",
            "sync",
            "--issuer",
            issuer.url,
            "--dir",
            str(where / "b"),
            "--root-key",
            str(where / "root.pem"),
        ],
    )
    assert synced.exit_code == 0, synced.output
    args = ["verify", code, "--bundle", str(where / "b"), "--offline", "--json"]
    if at is not None:
        args += ["--at", at.isoformat()]
    result = CliRunner().invoke(main, args)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def enrolment_url(issuer: LiveIssuer, worker_id: int) -> str:
    made = issuer.api("POST", f"/api/v1/workers/{worker_id}/enrolments", json={})
    assert made.status_code == 201, made.text
    return str(made.json()["url"])


def open_code(context: Any, url: str) -> Any:
    """Open ``url`` on the phone and wait for the first dynamic code."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-code-ready]", timeout=20_000)
    return page


def shown_code(page: Any) -> str:
    return str(page.get_attribute("[data-dynamic-code]", "data-url"))


def decoded_from_screen(page: Any) -> str:
    """The text zxing-cpp reads from a screenshot of the code as the phone shows it."""
    image = Image.open(io.BytesIO(page.locator("[data-dynamic-code]").screenshot()))
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
    return str(found[0].text)


def test_a_worker_enrols_from_the_console_qr_and_shows_a_code_that_verifies(
    issuer: LiveIssuer, bundle: tuple[LiveIssuer, Path], browser_context: Callable[..., Any]
) -> None:
    enterprise = int(issuer.enterprise()["id"])  # type: ignore[call-overload]
    worker = int(issuer.worker(enterprise)["id"])  # type: ignore[call-overload]
    card = issuer.credential(worker)
    username, password = account(issuer, "enterprise_admin", enterprise)
    desk = browser_context(viewport=DESKTOP).new_page()
    sign_in(desk, issuer, username, password)
    desk.goto(f"{issuer.url}/console/workers/{worker}")
    assert "尚未登记手机" in desk.inner_text("[data-phone-credential]")
    desk.click("[data-enrol-phone]")
    desk.wait_for_selector("[data-enrolment-qr] svg")
    screenshot(desk, "console-enrol-phone-desktop")
    link = desk.inner_text("[data-enrolment-url]").strip()
    (read,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(desk.locator("[data-enrolment-qr]").screenshot())))
    assert read.text == link and link.startswith(f"{issuer.url}/w/")

    phone = open_code(browser_context(viewport=PHONE), link)
    assert phone.url == f"{issuer.url}/w"  # the secret is gone from the address bar
    assert phone.get_attribute("body", "data-crypto") == "webcrypto"
    screenshot(phone, "phone-dynamic-code-zh")
    version = int(phone.get_attribute("[data-dynamic-code]", "data-qr-version") or 99)
    assert version <= 12

    made = shown_code(phone)
    presentation = fmt.decode_presentation(from_decimal(made.rsplit("/v/", 1)[1]))
    assert presentation.proof_verifies() and abs(presentation.time - time.time()) < 60
    assert presentation.credential.claims.archive_id == worker
    assert presentation.credential.claims.card_uid is None
    assert verify(bundle, made)["status"] == "valid"

    # The QR on the screen says the same, upper-case prefix and all, and a screenshot of it
    # stops verifying once it is older than the window.
    scanned = decoded_from_screen(phone)
    assert scanned.upper() == made.upper() and scanned.startswith(issuer.url.upper() + "/V/")
    assert verify(bundle, scanned)["status"] == "valid"
    later = datetime.fromtimestamp(presentation.time, UTC) + timedelta(seconds=91)
    assert verify(bundle, scanned, later)["status"] == "holder_proof_expired"

    # The console now shows both credentials; the card one was not replaced.
    desk.goto(f"{issuer.url}/console/workers/{worker}")
    assert f"{presentation.credential.claims.serial}" in desk.inner_text("[data-phone-credential]")
    status = issuer.api("GET", f"/api/v1/credentials/{card['serial']}").json()["status"]
    assert status == "active"
    desk.goto(f"{issuer.url}/console/credentials/{presentation.credential.claims.serial}")
    assert "截图下面的二维码无法通过核验" in desk.inner_text("[data-phone-note]")
    desk.goto(f"{issuer.url}/console/credentials/{card['serial']}")
    assert desk.locator("[data-phone-note]").count() == 0


def test_the_code_shows_offline_and_changes_every_30_seconds(
    issuer: LiveIssuer, bundle: tuple[LiveIssuer, Path], browser_context: Callable[..., Any]
) -> None:
    worker = int(issuer.worker()["id"])  # type: ignore[call-overload]
    context = browser_context(viewport=PHONE)
    page = open_code(context, enrolment_url(issuer, worker))
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    context.set_offline(True)
    offline = open_code(context, f"{issuer.url}/w")
    first = shown_code(offline)
    assert verify(bundle, first)["status"] == "valid"
    screenshot(offline, "phone-dynamic-code-offline")
    # A new code 30 s later (the page's own clock moved on), still without a network.
    offline.clock.install()
    offline.reload()
    offline.wait_for_selector("body[data-code-ready]")
    before = offline.get_attribute("body", "data-code-ready")
    offline.clock.run_for(31_000)
    offline.wait_for_selector(f"body[data-code-ready]:not([data-code-ready='{before}'])")
    second = shown_code(offline)
    assert second != first
    later = fmt.decode_presentation(from_decimal(second.rsplit("/v/", 1)[1]))
    assert later.proof_verifies() and later.time - int(before or 0) >= 30

    # The consumer's page, scanning the phone's code, finds it valid.
    context.set_offline(False)
    consumer = browser_context(viewport=PHONE).new_page()
    consumer.goto(first.replace("/v/", "/V/"))
    consumer.wait_for_selector("#verdict[data-final]", timeout=20_000)
    assert consumer.get_attribute("#verdict", "data-status") == "valid"


def test_a_link_opened_twice_shows_a_bilingual_page_and_changes_nothing(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    worker = int(issuer.worker()["id"])  # type: ignore[call-overload]
    link = enrolment_url(issuer, worker)
    first = open_code(browser_context(viewport=PHONE), link)
    serial = fmt.decode_presentation(
        from_decimal(shown_code(first).rsplit("/v/", 1)[1])
    ).credential.claims.serial
    other = browser_context(viewport=PHONE).new_page()
    answer = other.goto(link)
    assert answer is not None and answer.status == 410
    refused = other.locator("#refused")
    assert refused.get_attribute("data-reason") == "used"
    text = refused.inner_text()
    assert "已经用过" in text and "already used" in text
    assert other.locator("[data-dynamic-code]").count() == 0
    screenshot(other, "phone-enrolment-used-zh")
    assert issuer.api("GET", f"/api/v1/credentials/{serial}").json()["status"] == "active"
    forged = browser_context(viewport=PHONE).new_page()
    answer = forged.goto(link[:-3] + "abc")
    assert answer is not None and answer.status == 404
    assert forged.locator("#refused").get_attribute("data-reason") == "unknown"


NO_ED25519 = """
(() => {
  const generate = crypto.subtle.generateKey.bind(crypto.subtle);
  crypto.subtle.generateKey = (algorithm, ...rest) =>
    (algorithm && (algorithm.name || algorithm) === "Ed25519")
      ? Promise.reject(new DOMException("not supported", "NotSupportedError"))
      : generate(algorithm, ...rest);
})();
"""


def test_without_webcrypto_ed25519_the_fallback_key_makes_codes_that_verify(
    issuer: LiveIssuer, bundle: tuple[LiveIssuer, Path], browser_context: Callable[..., Any]
) -> None:
    worker = int(issuer.worker()["id"])  # type: ignore[call-overload]
    context = browser_context(viewport=PHONE)
    context.add_init_script(NO_ED25519)
    page = open_code(context, enrolment_url(issuer, worker))
    assert page.get_attribute("body", "data-crypto") == "tweetnacl"
    assert "安全性较低" in page.inner_text("#status")
    assert verify(bundle, shown_code(page))["status"] == "valid"


def test_the_worker_sees_their_own_record_rates_the_enterprise_and_keeps_the_record_offline(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    from datetime import date

    enterprise = int(issuer.enterprise("宁波安心家政服务有限公司")["id"])  # type: ignore[call-overload]
    soon = (date.today() + timedelta(days=10)).isoformat()
    worker = int(issuer.worker(enterprise, insurance_valid_until=soon)["id"])  # type: ignore[call-overload]
    uid = "04a1b2c3d4e5f6"
    card = issuer.credential(worker, card_uid=uid)
    context = browser_context(viewport=PHONE)
    page = open_code(context, enrolment_url(issuer, worker))
    serial = fmt.decode_presentation(
        from_decimal(shown_code(page).rsplit("/v/", 1)[1])
    ).credential.claims.serial
    phone_code = issuer.api("GET", f"/api/v1/credentials/{serial}").json()["code"]
    visit = issuer.api("POST", "/api/v1/visits", token="", json={"code": phone_code}).json()
    rated = issuer.api(
        "POST",
        f"/api/v1/visits/{visit['visit_id']}/rating",
        token="",
        json={"token": visit["rating_token"], "score": 5, "comment": "很细心"},
    )
    assert rated.status_code == 201, rated.text
    moment = datetime.now(fmt.CHINA_TZ)
    checked = issuer.api(
        "POST",
        "/api/v1/check-ins",
        token=issuer.token("card_operator", enterprise),
        json={
            "code": card["code"],
            "card_uid": uid,
            "month": moment.strftime("%Y-%m"),
            "station": "海曙站",
            "tapped_at": moment.isoformat(),
        },
    )
    assert checked.status_code in (200, 201), checked.text

    page.reload()
    page.wait_for_selector("body[data-record=fresh]", timeout=20_000)
    record = page.locator("#record")
    forms = {
        li.get_attribute("data-form"): li.get_attribute("data-status")
        for li in record.locator("[data-credentials] li").all()
    }
    assert forms == {"card": "active", "phone": "active"}
    assert "宁波安心家政服务有限公司" in record.locator("[data-enterprise]").inner_text()
    insurance = record.locator("[data-validity=insurance]")
    assert insurance.get_attribute("data-remind") == "true" and "请尽快续期" in insurance.inner_text()
    assert record.locator("[data-validity=health]").get_attribute("data-remind") is None
    assert "1 条评价，平均 5.0 星" in record.locator("[data-rating-summary]").inner_text()
    assert "很细心" in record.locator("[data-ratings]").inner_text()
    this_month = record.locator(f"[data-month='{moment.strftime('%Y-%m')}']")
    assert (
        this_month.get_attribute("data-visits") == "1" and this_month.get_attribute("data-checked") == "true"
    )
    assert "刚刚" in page.inner_text("#record-age")
    screenshot(page, "phone-worker-record-zh")

    form = record.locator(f"form[data-visit='{visit['visit_id']}']")
    form.locator("select").select_option("4")
    form.locator("input[name=comment]").fill("排班合理")
    form.locator("button").click()
    page.wait_for_selector(f"form[data-visit='{visit['visit_id']}'][data-rated=true]")
    ratings = issuer.api("GET", f"/api/v1/ratings?source=worker&enterprise_id={enterprise}").json()["items"]
    assert [(r["visit_id"], r["score"], r["comment"]) for r in ratings] == [
        (visit["visit_id"], 4, "排班合理")
    ]

    context.set_offline(True)
    offline = open_code(context, f"{issuer.url}/w")
    offline.wait_for_selector("body[data-record=kept]", timeout=20_000)
    assert offline.locator("[data-record-offline]").count() == 1
    assert "记录更新于" in offline.inner_text("#record-age")
    assert offline.locator("[data-dynamic-code] img").count() == 1
    assert offline.locator("section[data-tap-checkin]").count() == 1
    screenshot(offline, "phone-worker-record-offline-zh")


VECTOR = json.loads((Path(__file__).resolve().parent.parent / "vectors" / "presentation.json").read_text())
PKCS8_ED25519 = "302e020100300506032b657004220420"  # RFC 8410: the PrivateKeyInfo head of a 32-byte seed

MAKE_WITH_SEED = """async ([vector, pkcs8, engine]) => {
  const hex = t => Uint8Array.from(t.match(/../g), b => parseInt(b, 16));
  const toHex = b => Array.from(b, x => x.toString(16).padStart(2, "0")).join("");
  const credential = hex(vector.credential);
  let sign;
  if (engine === "webcrypto") {
    const key = await crypto.subtle.importKey("pkcs8", hex(pkcs8 + vector.holder_seed), {name: "Ed25519"}, false, ["sign"]);
    sign = async bytes => new Uint8Array(await crypto.subtle.sign({name: "Ed25519"}, key, bytes));
  } else {
    await new Promise((ok, fail) => { const s = document.createElement("script");
      s.src = "/static/verifier/vendor/nacl-fast.min.js"; s.onload = ok; s.onerror = fail; document.head.appendChild(s); });
    const pair = nacl.sign.keyPair.fromSeed(hex(vector.holder_seed));
    sign = async bytes => nacl.sign.detached(bytes, pair.secretKey);
  }
  const holder = {credential: () => credential, info: () => ({verify_base: "https://v.anxinma.gov.cn"}), sign};
  const code = await AnxinmaCode.make(holder, vector.time);
  const box = document.createElement("div");
  document.body.appendChild(box);
  const drawn = AnxinmaCode.render(box, code.segments);
  return {proofInput: toHex(AnxinmaCode.proofInput(credential, vector.time)), bytes: toHex(code.bytes),
          url: code.url, qr: code.segments.join(""), version: drawn.version};
}"""


@pytest.mark.parametrize("engine", ["webcrypto", "tweetnacl"])
def test_the_page_makes_exactly_the_bytes_of_the_format_vector(
    issuer: LiveIssuer, browser_context: Callable[..., Any], engine: str
) -> None:
    page = browser_context(viewport=PHONE).new_page()
    page.goto(f"{issuer.url}/w")
    page.wait_for_selector("body[data-enrolled=false]")  # the page's scripts ran (no string predicates: CSP)
    made = page.evaluate(MAKE_WITH_SEED, [VECTOR, PKCS8_ED25519, engine])
    assert made["proofInput"] == VECTOR["proof_input_hex"]
    assert made["bytes"] == VECTOR["presentation_hex"]  # the proof too: Ed25519 is deterministic
    assert made["url"] == VECTOR["url"] and made["qr"] == VECTOR["qr_text"]
    assert made["version"] == VECTOR["qr_version_m"] == 12


def test_a_phone_whose_clock_is_off_is_told_so(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    worker = int(issuer.worker()["id"])  # type: ignore[call-overload]
    context = browser_context(viewport=PHONE)
    page = open_code(context, enrolment_url(issuer, worker))
    page.wait_for_selector("body[data-clock-skew]")
    assert page.is_hidden("#clock")  # the phone's clock is the machine's: within the tolerance
    page.clock.install(time=time.time() + 600)  # the phone's clock 10 minutes ahead
    page.reload()
    page.wait_for_selector("#clock:not([hidden])", timeout=20_000)
    assert "快 6" in page.inner_text("#clock") and "ahead" in page.inner_text("#clock")
    screenshot(page, "phone-clock-ahead-zh")
