"""Ningbo's consumer page verifies a Chongqing worker (issue 15, build item 3), in Chromium.

Both cities serve the regulator's trust list and pin its root; the page on Ningbo's origin checks
a Chongqing credential against that list, fetches Chongqing's freshness document and compact
shard from Chongqing's base URL, pulls the live record from Chongqing, works offline after one
online visit, and shows a Chongqing revocation on the next online visit. Its CSP lets it talk to
exactly its own origin and the issuers of its trust list.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from anxinma import credential as fmt
from tests.conftest import screenshot
from tests.federation.conftest import Federation

pytestmark = pytest.mark.browser


def open_page(context: Any, url: str) -> tuple[Any, list[str]]:
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("#verdict[data-final]", timeout=20000)
    assert errors == []
    return page, requests


def state(page: Any) -> dict[str, str]:
    return page.eval_on_selector(  # type: ignore[no-any-return]
        "#verdict", "e => ({status: e.dataset.status, source: e.dataset.source})"
    )


def test_ningbo_page_verifies_a_chongqing_worker_online_offline_and_after_a_revocation(
    federation: Federation, browser_context: Any
) -> None:
    ningbo, chongqing = federation.ningbo, federation.chongqing
    issued = chongqing.issuer.credential()
    cred = fmt.decode_text(str(issued["code"]))
    url = cred.to_url(ningbo.url)  # scanned at a Ningbo door, opened on Ningbo's page
    context = browser_context()

    page, requests = open_page(context, url)
    assert state(page) == {"status": "valid", "source": "live"}
    from_chongqing = {urlsplit(u).path for u in requests if u.startswith(chongqing.url)}
    assert {"/status/500000/freshness", "/status/500000/0/compact", "/api/v1/live"} <= from_chongqing
    assert not any("/status/500000" in u for u in requests if u.startswith(ningbo.url))
    screenshot(page, "federation-chongqing-on-ningbo")

    shell = page.request.get(url)
    policy = dict(
        part.strip().split(" ", 1)
        for part in shell.headers["content-security-policy"].split(";")
        if " " in part.strip()
    )
    assert sorted(policy["connect-src"].split()) == sorted(["'self'", ningbo.url, chongqing.url])

    context.set_offline(True)
    offline, _ = open_page(context, url)
    assert state(offline) == {"status": "valid", "source": "offline"}

    context.set_offline(False)
    response = chongqing.issuer.api(
        "POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "left"}
    )
    assert response.status_code == 200, response.text
    after, _ = open_page(context, url)
    assert state(after)["status"] == "revoked"
