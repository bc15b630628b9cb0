"""The verdict page links to the public comparison of the worker's enterprise (docs/credit.md):
"比较这家企业" online (the live record names the enterprise), opening its issuer's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import LiveIssuer, screenshot
from tests.verifier.test_page import verdict

pytestmark = pytest.mark.browser


def test_the_verdict_links_to_compare_this_enterprise(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    enterprise = live_issuer.enterprise("海曙好帮手家政服务有限公司")
    worker = live_issuer.worker(int(enterprise["id"]))  # type: ignore[call-overload]
    issued = live_issuer.credential(int(worker["id"]))  # type: ignore[call-overload]
    page = browser_context().new_page()
    page.goto(str(issued["code"]))
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert verdict(page)["status"] == "valid"
    link = page.locator("#enterprise-compare a")
    link.wait_for()
    assert link.inner_text() == "比较这家企业"
    assert link.get_attribute("href") == f"{live_issuer.url}/enterprises/compare?ids={enterprise['id']}"
    # The star level is labelled as the enterprise's own, beside the consumers' ratings.
    assert "星级（企业评定）" in page.inner_text("#facts")
    screenshot(page, "page-compare-link-zh")
    link.click()
    page.wait_for_load_state()
    assert page.locator("section.compared h2").inner_text() == "海曙好帮手家政服务有限公司"
