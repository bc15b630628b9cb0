"""The consumer page's part of the rating rule and of 举报假码 (issue 17 findings 4 and 6, issue 18
item 6), in Chromium against the served issuer: 确认入户 from a dynamic code records a verified
visit; a revoked code offers "report this code" (a valid one does not); the report reaches the
regulator's list and the code's enterprise, not another enterprise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.issuer.store.models import Visit
from tests.conftest import LiveIssuer, screenshot
from tests.verifier.test_page import open_page, verdict

pytestmark = pytest.mark.browser


def reports(issuer: LiveIssuer, token: str) -> list[dict[str, Any]]:
    response = issuer.api("GET", "/api/v1/reports", token=token)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


def test_a_revoked_code_can_be_reported_and_the_regulator_sees_it_another_enterprise_not(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    own, other = live_issuer.enterprise(), live_issuer.enterprise()
    worker = live_issuer.worker(int(own["id"]))  # type: ignore[call-overload]
    issued = live_issuer.credential(int(worker["id"]))  # type: ignore[call-overload]
    valid_code = str(live_issuer.credential(int(live_issuer.worker(int(own["id"]))["id"]))["code"])  # type: ignore[call-overload]
    context = browser_context()

    valid = open_page(context, valid_code)
    assert verdict(valid)["status"] == "valid"
    assert valid.is_hidden("#report")  # nothing to report about a valid code
    base = valid_code.split("/v/")[0]
    payment = open_page(context, f"{base}/v#" + "wxp%3A%2F%2Ff2f0Xy1")
    assert verdict(payment)["status"] == "malformed" and payment.is_hidden("#report")  # not a fake 安心码
    forged = bytearray(fmt.parse_text(valid_code))
    forged[-1] ^= 1
    bad = open_page(context, f"{base}/v/{fmt.to_decimal(bytes(forged))}")
    assert verdict(bad)["status"] == "bad_signature" and bad.is_visible("#report")

    revoke = live_issuer.api(
        "POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "left"}
    )
    assert revoke.status_code == 200, revoke.text
    page = open_page(context, str(issued["code"]))
    assert verdict(page)["status"] == "revoked"
    assert page.is_visible("#report") and page.get_attribute("#report", "data-status") == "revoked"
    assert "举报这个码" in page.inner_text("#report") and "不会询问或保存您的任何信息" in page.inner_text(
        "#report"
    )
    page.select_option("#report-reason", "revoked_in_use")
    page.fill("#report-note", "说是新换的证")
    page.click("#report-submit")
    page.wait_for_selector("#report-status.ok")
    assert "已提交给监管部门" in page.inner_text("#report-status") and page.is_disabled("#report-submit")
    screenshot(page, "page-report-sent-zh")

    listed = reports(live_issuer, live_issuer.token("regulator"))
    assert [(r["verdict"]["status"], r["reason"], r["note"], r["serial"]) for r in listed] == [
        ("revoked", "revoked_in_use", "说是新换的证", issued["serial"])
    ]
    assert listed[0]["record_status"] == "revoked" and listed[0]["enterprise_id"] == own["id"]
    own_token = live_issuer.token("enterprise_admin", int(own["id"]))  # type: ignore[call-overload]
    other_token = live_issuer.token("enterprise_admin", int(other["id"]))  # type: ignore[call-overload]
    assert [r["id"] for r in reports(live_issuer, own_token)] == [listed[0]["id"]]
    assert reports(live_issuer, other_token) == []


def test_entry_confirmed_from_a_dynamic_code_is_a_verified_visit(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    phone = ed25519.SigningKey.generate()
    worker = live_issuer.worker()
    response = live_issuer.api(
        "POST", f"/api/v1/workers/{worker['id']}/credentials", json={"holder_key": phone.public_key.hex()}
    )
    assert response.status_code == 201, response.text
    code = str(response.json()["code"])
    cred, base = fmt.decode_text(code), fmt.base_url_of(code)
    assert base is not None
    page = open_page(browser_context(), fmt.present(cred, phone, int(time.time())).to_url(base))
    assert verdict(page)["status"] == "valid"
    assert page.is_hidden("#report")
    page.click("#entry-button")
    page.wait_for_selector("#feedback:not([hidden])")
    with live_issuer.runtime.store.read() as session:
        stored = session.execute(select(Visit.credential_serial, Visit.__table__.c.verified)).all()
    assert [(int(s), bool(v)) for s, v in stored] == [(cred.claims.serial, True)]


def test_entry_tapped_after_the_window_of_a_fresh_dynamic_code_is_confirmed_unverified(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    """The code was fresh when the page judged it (80 s old, the window is 90 s); the consumer
    taps 确认入户 after the window: the issuer refuses the proof, the page confirms without it."""
    phone = ed25519.SigningKey.generate()
    worker = live_issuer.worker()
    response = live_issuer.api(
        "POST", f"/api/v1/workers/{worker['id']}/credentials", json={"holder_key": phone.public_key.hex()}
    )
    code = str(response.json()["code"])
    cred, base = fmt.decode_text(code), fmt.base_url_of(code)
    assert base is not None
    made = int(time.time()) - 80
    page = open_page(browser_context(), fmt.present(cred, phone, made).to_url(base))
    assert verdict(page)["status"] == "valid"
    time.sleep(max(0.0, made + 92 - time.time()))
    page.click("#entry-button")
    page.wait_for_selector("#feedback:not([hidden])")
    with live_issuer.runtime.store.read() as session:
        stored = session.execute(select(Visit.__table__.c.verified)).scalars().all()
    assert [bool(v) for v in stored] == [False]
