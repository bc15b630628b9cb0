"""The page with the network cut after a first visit (a basement, a lift): the service worker
answers with the cached shell and assets, the page verifies against the cached trust data and
states its age; stale data is 状态未知, never 有效; a phone clock behind the trust data is named.

The network is cut twice over: Playwright's offline emulation and the issuer server stopped,
so nothing can be answered by the network."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import LiveIssuer, screenshot
from tests.verifier.test_page import verdict

pytestmark = pytest.mark.browser


def wait_until(page: Any, script: str, timeout: float = 15.0) -> None:
    """Poll ``script`` in the page (page.wait_for_function evaluates strings, which the page's
    CSP rightly forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {script}")
        time.sleep(0.05)


def first_visit(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert verdict(page)["status"] == "valid" and verdict(page)["source"] == "live"
    # The service worker took over and holds the shell; the page holds the trust data.
    wait_until(page, "navigator.serviceWorker.controller !== null")
    wait_until(
        page,
        """async () => {
          const names = await caches.keys();
          const shell = names.find(n => n.startsWith('anxinma-page-'));
          const bundle = await caches.open('anxinma-bundle');
          return !!shell && (await (await caches.open(shell)).keys()).length >= 4 && (await bundle.keys()).length >= 2;
        }""",
    )
    return page


def test_a_valid_credential_verifies_offline_after_the_first_visit(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    issued = live_issuer.credential()
    context = browser_context()
    page = first_visit(context, str(issued["code"]).replace("/v/", "/V/"))  # as a QR reader opens it
    context.set_offline(True)
    live_issuer.stop()
    page.reload()
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    seen = verdict(page)
    assert seen["status"] == "valid" and seen["word"] == "有效" and seen["source"] == "offline"
    assert "没有网络" in seen["notes"]  # the live step says why it is missing
    source = page.inner_text("#source")
    assert "离线" in source and "前" in source  # offline, and how old the revocation data is
    assert page.is_disabled("#entry-button") and "需要联网" in page.inner_text("#entry-hint")
    assert page.evaluate("window.__anxinma.verdictAt") < 3000
    screenshot(page, "page-offline-valid-zh")

    fragment = context.new_page()  # /v#<digits>: the payload never reaches any server
    fragment.goto(str(issued["code"]).replace("/v/", "/v#"))
    fragment.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert verdict(fragment)["status"] == "valid"

    stale = context.new_page()  # 30 hours later, still offline: the revocation data is too old
    stale.clock.set_fixed_time(datetime.now(UTC) + timedelta(hours=30))
    stale.goto(str(issued["code"]))
    stale.wait_for_selector("#verdict[data-final]", timeout=15000)
    seen = verdict(stale)
    assert seen["status"] == "status_unknown" and seen["word"] == "状态未知"
    assert "吊销数据已 1 天 6 小时 未更新" in seen["text"]
    screenshot(stale, "page-offline-stale-zh")

    behind = context.new_page()  # a phone whose clock says 2020
    behind.clock.set_fixed_time("2020-06-01T09:00:00+08:00")
    behind.goto(str(issued["code"]))
    behind.wait_for_selector("#verdict[data-final]", timeout=15000)
    seen = verdict(behind)
    assert seen["status"] == "status_unknown" and seen["reason"] == "clock_behind"
    assert "手机时间有误" in seen["text"] and seen["status"] != "not_yet_valid"
    screenshot(behind, "page-offline-clock-zh")


#: An init script that takes DecompressionStream away, as in Safari before 16.4.
NO_DECOMPRESSION_STREAM = "delete self.DecompressionStream; delete window.DecompressionStream;"


def test_without_decompression_stream_a_revoked_code_is_still_revoked_offline(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    """The status list is inflated by verify.js's own inflater: offline, with no live record to
    say so, a revoked credential is 已吊销 and not 状态未知."""
    valid, revoked = live_issuer.credential(), live_issuer.credential()
    answer = live_issuer.api(
        "POST", f"/api/v1/credentials/{revoked['serial']}/revoke", json={"reason": "left"}
    )
    assert answer.status_code == 200
    context = browser_context()
    context.add_init_script(NO_DECOMPRESSION_STREAM)
    page = first_visit(context, str(valid["code"]))
    assert page.evaluate("typeof DecompressionStream") == "undefined"
    context.set_offline(True)
    live_issuer.stop()
    page.goto(str(revoked["code"]))
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    seen = verdict(page)
    assert seen["source"] == "offline"
    assert seen["status"] == "revoked" and seen["word"] == "已吊销", seen
    page.goto(str(valid["code"]))
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert verdict(page)["status"] == "valid" and verdict(page)["source"] == "offline"


def test_a_second_visit_reads_the_cached_status_list_once_unless_the_issuer_published_anew(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    """Online, the page refreshes the status list after its offline verdict: the same token
    under the same trust list is not verified and inflated a second time; a new one is."""
    issued = live_issuer.credential()
    context = browser_context()
    first_visit(context, str(issued["code"]))
    again = context.new_page()
    again.goto(str(issued["code"]))
    again.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert verdict(again)["status"] == "valid"
    assert again.evaluate("window.__anxinma.listsLoaded") == 1  # the cached token only
    other = live_issuer.credential()  # same shard: revoking it publishes a new token
    response = live_issuer.api(
        "POST", f"/api/v1/credentials/{other['serial']}/revoke", json={"reason": "left"}
    )
    assert response.status_code == 200, response.text
    third = context.new_page()
    third.goto(str(issued["code"]))
    third.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert verdict(third)["status"] == "valid"
    assert third.evaluate("window.__anxinma.listsLoaded") == 2  # the cached token, then the new one
