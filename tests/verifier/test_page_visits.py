"""确认入户 and the rating from the page: the tap records a Visit (what the regulator's display
rate counts); the rating goes through once and a replay of the same visit token is refused with
a clear message; a complaint reaches the enterprise's list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from anxinma.issuer.store.models import Visit
from tests.conftest import LiveIssuer, screenshot
from tests.verifier.test_page import verdict

pytestmark = pytest.mark.browser


def visits(issuer: LiveIssuer) -> int:
    with issuer.runtime.store.read() as session:
        return int(session.execute(select(func.count(Visit.id))).scalar_one())


def test_confirm_entry_then_one_rating_and_a_replay_is_refused(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    enterprise = live_issuer.enterprise()
    worker = live_issuer.worker(int(enterprise["id"]))  # type: ignore[call-overload]
    issued = live_issuer.credential(int(worker["id"]))  # type: ignore[call-overload]
    context = browser_context()
    page = context.new_page()
    page.goto(str(issued["code"]))
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert verdict(page)["status"] == "valid"
    assert visits(live_issuer) == 0
    page.click("#entry-button")
    page.wait_for_selector("#feedback:not([hidden])")
    assert visits(live_issuer) == 1
    assert "已于" in page.inner_text("#entry-hint") and page.is_disabled("#entry-button")

    page.click("label[for=star-4]")
    page.fill("#rate-comment", "准时，做事细心")
    page.click("#rate-submit")
    page.wait_for_selector("#rate-status.ok")
    assert "感谢" in page.inner_text("#rate-status") and page.is_disabled("#rate-submit")
    page.select_option("#complain-category", "fee")
    page.fill("#complain-summary", "结束时多收了 50 元交通费")
    page.click("#complain-submit")
    page.wait_for_selector("#complain-status.ok")
    assert "已提交给所属企业和监管部门" in page.inner_text("#complain-status")
    screenshot(page, "page-rated-zh")

    # The same visit token sent again (another tab, a copied token): the issuer refuses it.
    page.evaluate(
        """() => { const all = JSON.parse(localStorage.getItem('anxinma.visits'));
                   for (const k in all) all[k].rated = false;
                   localStorage.setItem('anxinma.visits', JSON.stringify(all)); }"""
    )
    page.reload()
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert verdict(page)["source"] == "live"
    page.click("label[for=star-1]")
    page.click("#rate-submit")
    page.wait_for_selector("#rate-status.refused")
    assert "这次服务已经评价过了" in page.inner_text("#rate-status")
    assert page.get_attribute("#rate-status", "data-code") == "already_rated"
    screenshot(page, "page-rating-refused-zh")

    live = live_issuer.api("POST", "/api/v1/live", token="", json={"code": issued["code"]}).json()["token"]
    import jwt

    assert jwt.decode(live, options={"verify_signature": False})["rating"] == {
        "count": 1,
        "average": 4.0,
        "verified_count": 0,
    }
    token = live_issuer.token("enterprise_admin", int(enterprise["id"]))  # type: ignore[call-overload]
    listed = live_issuer.api("GET", "/api/v1/complaints", token=token).json()["items"]
    assert [(c["category"], c["summary"]) for c in listed] == [("fee", "结束时多收了 50 元交通费")]
