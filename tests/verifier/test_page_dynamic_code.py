"""The consumer page with a phone credential (issue 18, item 2): the dynamic code verifies,
a screenshot of the static code or an old dynamic code does not, and the page says what to do
in plain Chinese first; offline with an unchecked clock it says the clock may be wrong."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from anxinma import credential as fmt
from anxinma import ed25519
from tests.conftest import LiveIssuer, screenshot
from tests.verifier.test_page import open_page, verdict
from tests.verifier.test_page_offline import first_visit

pytestmark = pytest.mark.browser
HOLDER = ed25519.SigningKey(bytes(range(100, 132)))


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIssuer]:
    home = tmp_path_factory.mktemp("dynamic-code-issuer")
    served = LiveIssuer(home, f"sqlite:///{home / 'anxinma.sqlite3'}")
    try:
        yield served
    finally:
        served.stop()


def phone_credential(issuer: LiveIssuer) -> tuple[fmt.Credential, str]:
    worker = issuer.worker()
    response = issuer.api(
        "POST", f"/api/v1/workers/{worker['id']}/credentials", json={"holder_key": HOLDER.public_key.hex()}
    )
    assert response.status_code == 201, response.text
    code = str(response.json()["code"])
    base = fmt.base_url_of(code)
    assert base is not None
    return fmt.decode_text(code), base


def dynamic_code(cred: fmt.Credential, base: str, *, age: int = 0) -> str:
    return fmt.present(cred, HOLDER, int(time.time()) - age).to_url(base)


def test_the_dynamic_code_verifies_and_a_screenshot_of_the_static_code_asks_for_it(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    cred, base = phone_credential(issuer)
    context = browser_context()
    fresh = open_page(context, dynamic_code(cred, base).replace("/v/", "/V/"))  # as a QR reader opens it
    seen = verdict(fresh)
    assert seen["status"] == "valid" and seen["word"] == "有效" and seen["source"] == "live"
    assert not fresh.is_disabled("#entry-button")

    static = open_page(context, cred.to_url(base))
    seen = verdict(static)
    assert seen["status"] == "holder_proof_missing" and seen["word"] == "请出示动态码"
    assert seen["reason"] == "holder_proof_missing" and "tone-red" not in seen["tone"]
    assert "请服务员打开手机上的动态码" in static.inner_text("#advice")
    assert static.is_hidden("#person") and static.is_hidden("#entry")
    screenshot(static, "page-holder-proof-missing-zh")


def test_an_old_dynamic_code_is_expired_and_a_forged_proof_is_refused(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    cred, base = phone_credential(issuer)
    context = browser_context()
    old = open_page(context, dynamic_code(cred, base, age=600))
    seen = verdict(old)
    assert seen["status"] == "holder_proof_expired" and seen["word"] == "动态码已过期"
    assert "可能是截图" in seen["text"] and "请服务员在手机上刷新动态码" in old.inner_text("#advice")
    assert "未经网络校准" not in seen["notes"]  # online: the clock was checked with the server's
    screenshot(old, "page-holder-proof-expired-zh")

    raw = bytearray(fmt.parse_text(dynamic_code(cred, base)))
    raw[-5] ^= 0x01  # inside the proof
    forged = open_page(context, f"{base}/v/{fmt.to_decimal(bytes(raw))}")
    seen = verdict(forged)
    assert (
        seen["status"] == "bad_holder_proof" and seen["word"] == "动态码无效" and "tone-red" in seen["tone"]
    )
    assert "请勿放行" in seen["text"]


def test_offline_a_code_that_looks_old_by_an_unchecked_clock_names_the_clock(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    cred, base = phone_credential(issuer)
    context = browser_context()
    first_visit(context, dynamic_code(cred, base))  # the page and its trust data are now on this phone
    context.set_offline(True)
    ahead = context.new_page()  # a phone whose clock runs 10 minutes fast, with no network to check it
    ahead.clock.set_fixed_time(datetime.now(UTC) + timedelta(minutes=10))
    ahead.goto(dynamic_code(cred, base))
    ahead.wait_for_selector("#verdict[data-final]", timeout=15000)
    seen = verdict(ahead)
    assert seen["status"] == "holder_proof_expired" and seen["source"] == "offline"
    assert "本机时间未经网络校准" in seen["notes"] and "不一定是服务员的问题" in seen["notes"]
    screenshot(ahead, "page-holder-proof-clock-zh")


def test_a_phone_credential_revoked_since_the_sync_reads_revoked_online_with_or_without_its_proof(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    cred, base = phone_credential(issuer)
    response = issuer.api("POST", f"/api/v1/credentials/{cred.claims.serial}/revoke", json={"reason": "left"})
    assert response.status_code == 200, response.text
    context = browser_context()
    for url in (cred.to_url(base), dynamic_code(cred, base), dynamic_code(cred, base, age=600)):
        seen = verdict(open_page(context, url))
        assert seen["status"] == "revoked" and seen["word"] == "已吊销", url
