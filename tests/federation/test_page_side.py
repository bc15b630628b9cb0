"""Two cities under one regulator's root, on 127.0.0.1 (issue 15, "what to build" 3): Ningbo's
consumer page verifies a Chongqing worker online and offline after one visit, takes Chongqing's
freshness document, compact shard and live record from Chongqing's base URL (as the root-signed
trust list names it; its CSP names exactly the two origins), and shows a Chongqing revocation on
the next online visit. The federation fixture (tests/federation/conftest.py) makes the regulator and
the two city services as operators do; neither city holds a root key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from anxinma import credential as fmt
from tests.conftest import screenshot
from tests.federation.conftest import Federation
from tests.verifier.test_page import verdict

pytestmark = pytest.mark.browser


def test_ningbos_page_verifies_a_chongqing_worker_from_chongqings_data_online_offline_and_revoked(
    federation: Federation, browser_context: Callable[..., Any]
) -> None:
    ningbo, chongqing = federation.ningbo.issuer, federation.chongqing.issuer
    issued = chongqing.credential()
    digits = fmt.decode(bytes.fromhex(str(issued["hex"]))).to_decimal()
    at_ningbo = f"{ningbo.url}/v/{digits}"  # the Chongqing worker's code, opened on Ningbo's page
    context = browser_context()
    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url))
    page = context.new_page()
    response = page.goto(at_ningbo)
    assert response is not None
    connect = next(
        p.strip() for p in response.headers["content-security-policy"].split(";") if "connect-src" in p
    )
    assert connect == "connect-src 'self' " + " ".join(sorted((ningbo.url, chongqing.url)))
    page.wait_for_selector("#verdict[data-final]", timeout=20000)
    seen = verdict(page)
    assert seen["status"] == "valid" and seen["source"] == "live", seen
    assert "重庆市商务委员会" in page.inner_text("#person")
    for path in ("/status/500000/freshness", "/status/500000/0/compact", "/api/v1/live"):
        assert f"{chongqing.url}{path}" in asked, path  # from Chongqing, not from Ningbo
        assert f"{ningbo.url}{path}" not in asked, path
    screenshot(page, "page-two-cities-valid-zh")

    # Offline after that one visit: still verified, from Chongqing's data held on the phone.
    page.wait_for_timeout(1000)  # the service worker takes over
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#verdict[data-final]", timeout=20000)
    seen = verdict(page)
    assert seen["status"] == "valid" and seen["source"] == "offline", seen
    context.set_offline(False)

    # Chongqing revokes: Ningbo's page shows it on the next online visit, from the status data
    # (the live record is cut, so the shard is what says it).
    answer = chongqing.api("POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "left"})
    assert answer.status_code == 200
    context.route("**/api/v1/live", lambda route: route.abort())
    asked.clear()
    again = context.new_page()
    again.goto(at_ningbo)
    again.wait_for_selector("#verdict[data-final]", timeout=20000)
    seen = verdict(again)
    assert seen["status"] == "revoked" and seen["word"] == "已吊销" and seen["source"] == "offline", seen
    assert f"{chongqing.url}/status/500000/0/compact" in asked
