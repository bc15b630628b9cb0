"""The public enterprise directory in a real headless Chromium at phone (360 px) and desktop
width: search, pick three, compare them side by side, open one and read why it has its grade;
the red and black lists; screenshots under artifacts/screenshots/directory-*.png."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.rules import today_in_china
from tests.conftest import DESKTOP, PHONE, LiveIssuer, screenshot
from tests.issuer.console_support import Console
from tests.issuer.test_credit import _enterprise, _visit

pytestmark = pytest.mark.browser


def _city(issuer: LiveIssuer) -> list[int]:
    ids = [
        _enterprise(issuer, "宁波市海曙区好帮手家政服务有限公司", "330203"),
        _enterprise(issuer, "宁波江北安心阿姨家政服务有限公司", "330205", star_level=5),
        _enterprise(issuer, "鄞州甬城月嫂护理服务有限公司", "330212"),
        _enterprise(issuer, "北仑新开家政服务有限公司", "330206"),
    ]
    plans = [(3, 3, 5), (4, 2, 4), (3, 1, 2)]  # (workers, with a code, the consumers' score)
    for enterprise, (workers, coded, score) in zip(ids, plans, strict=False):
        for n in range(workers):
            worker = int(
                issuer.worker(
                    enterprise,
                    name="王秀英李芳张敏"[n] + "阿姨",
                    categories=["cleaning", "elderly_care"][: 1 + n % 2],
                )["id"]
            )  # type: ignore[call-overload]
            if n < coded:
                issued = issuer.credential(worker)
                visit, token = _visit(issuer, str(issued["code"]))
                issuer.api(
                    "POST", f"/api/v1/visits/{visit}/rating", token="", json={"token": token, "score": score}
                )
                if score <= 2 and n == 0:
                    visit, token = _visit(issuer, str(issued["code"]))
                    issuer.api(
                        "POST",
                        f"/api/v1/visits/{visit}/complaint",
                        token="",
                        json={
                            "token": token,
                            "category": "attitude",
                            "summary": "服务员态度不好，迟到一小时",
                        },
                    )
    service = issuer.runtime.service
    service.run(
        service.credit.red_add,
        Principal("token", "regulator-test", Role.REGULATOR),
        {
            "enterprise_id": ids[0],
            "reason": "连续三年零投诉、持证率 100%",
            "evidence_ref": "甬商务〔2026〕12号",
        },
    )
    service.daily.grade(today_in_china())
    service.credit.seconds = 0
    return ids


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_consumer_compares_three_enterprises_and_reads_why(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any], size: str
) -> None:
    ids = _city(live_issuer)
    viewport = PHONE if size == "phone" else DESKTOP
    page = browser_context(viewport=viewport).new_page()
    page.goto(live_issuer.url + "/enterprises")
    assert page.locator("h1").inner_text() == "家政服务企业"
    assert page.locator("tr[data-enterprise]").count() == 4
    screenshot(page, f"directory-list-{size}")
    # Nothing is wider than the screen (a phone scrolls down, never sideways).
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.get_by_label("企业名称或统一社会信用代码").fill("海曙")
    page.get_by_role("button", name="搜索").click()
    assert page.locator("tr[data-enterprise]").count() == 1
    page.goto(live_issuer.url + "/enterprises")
    for enterprise in ids[:3]:
        page.locator(f"#c-{enterprise}").check()
    page.get_by_role("button", name="比较所选企业").click()
    page.wait_for_load_state()
    assert "/enterprises/compare" in page.url
    columns = page.locator("section.compared")
    assert columns.count() == 3
    assert [int(columns.nth(n).get_attribute("data-enterprise") or 0) for n in range(3)] == ids[:3]
    assert columns.nth(0).locator(".grade").get_attribute("data-grade") == "A"
    # The star level is labelled as the enterprise's own statement beside the consumers' rating.
    assert columns.nth(0).get_by_text("企业自行声明，并非顾客评价").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    if size == "desktop":  # side by side: three columns on one row
        tops = {round(columns.nth(n).bounding_box()["y"]) for n in range(3)}
        assert len(tops) == 1
    screenshot(page, f"directory-compare-{size}")
    columns.nth(2).locator("h2 a").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="为什么是这个等级").is_visible()
    assert page.locator("tr[data-part='complaints']").count() == 1
    assert page.get_by_role("heading", name="怎样提高等级").is_visible()
    assert page.locator("table.history tbody tr").count() == 1
    screenshot(page, f"directory-enterprise-{size}")
    page.goto(live_issuer.url + "/enterprises/compare?ids=1,2,3,4")
    assert "最多同时比较 3 家企业" in page.content() and "compare at most 3 enterprises" in page.content()
    page.goto(live_issuer.url + "/credit-lists")
    assert "甬商务〔2026〕12号" in page.locator("table.red").inner_text()
    screenshot(page, f"directory-lists-{size}")
    page.goto(live_issuer.url + f"/enterprises/{ids[0]}?lang=en")
    assert page.get_by_role("heading", name="Why this grade").is_visible()
    assert "holding rate" in page.content().lower()


def test_the_regulator_publishes_the_red_list_from_the_console(live_issuer: LiveIssuer) -> None:
    enterprise = _enterprise(live_issuer, "海曙诚信家政服务有限公司")
    console = Console.signed_in(live_issuer, "regulator")
    assert console.get("/console/redlist").status_code == 200
    bad = console.post(
        "/console/redlist", {"enterprise_id": str(enterprise), "reason": "", "evidence_ref": ""}
    )
    assert bad.status_code == 400 and "必填" in bad.get_data(as_text=True)
    done = console.post(
        "/console/redlist", {"enterprise_id": str(enterprise), "reason": "零投诉", "evidence_ref": "R-9"}
    )
    assert done.status_code == 303
    public = live_issuer.api("GET", "/credit-lists", token="", headers={"Accept": "text/html"})
    assert "海曙诚信家政服务有限公司" in public.text and "R-9" in public.text
    owner = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    assert owner.get("/console/redlist").status_code == 403


def test_the_regulator_publishes_an_enterprise_on_the_red_list_in_chromium(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    from tests.issuer.console_support import account
    from tests.issuer.test_console_browser import sign_in

    _enterprise(live_issuer, "海曙诚信家政服务有限公司")
    page = browser_context(viewport=PHONE).new_page()
    sign_in(page, live_issuer, *account(live_issuer, "regulator"))
    page.get_by_role("link", name="诚信企业").first.click()
    page.wait_for_load_state()
    page.locator("#f-enterprise_id").select_option(label="海曙诚信家政服务有限公司")
    page.locator("#f-reason").fill("连续三年零投诉")
    page.locator("#f-evidence_ref").fill("甬商务〔2026〕12号")
    page.get_by_role("button", name="列入诚信企业名单").click()
    page.wait_for_load_state()
    assert "该企业已列入诚信企业名单" in page.inner_text("main")
    assert "海曙诚信家政服务有限公司" in page.inner_text("table")
    screenshot(page, "console-redlist-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "console-redlist-desktop")
