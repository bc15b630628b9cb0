"""Beside test_page.py (a Chongqing worker on Ningbo's page, online, offline, revoked): the
revocation reaches Ningbo's page through Chongqing's own status data, not only through the live
record. With the live record cut, the next online visit fetches the freshness document from
Chongqing, sees another shard version listed, takes that shard from Chongqing's base URL (never
from Ningbo) and says 已吊销 on its own evidence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from anxinma import credential as fmt
from tests.federation.conftest import Federation
from tests.verifier.test_page import verdict

pytestmark = pytest.mark.browser


def test_a_chongqing_revocation_reaches_ningbos_page_through_chongqings_shard(
    federation: Federation, browser_context: Callable[..., Any]
) -> None:
    ningbo, chongqing = federation.ningbo.issuer, federation.chongqing.issuer
    issued = chongqing.credential()
    at_ningbo = fmt.decode_text(str(issued["code"])).to_url(ningbo.url)
    context = browser_context()
    context.route("**/api/v1/live", lambda route: route.abort())  # the verdict is the status data's
    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url))

    def visit() -> dict[str, str]:
        page = context.new_page()
        page.goto(at_ningbo)
        page.wait_for_selector("#verdict[data-final]", timeout=20000)
        seen = verdict(page)
        page.close()
        return seen

    assert visit()["status"] == "valid"
    answer = chongqing.api("POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "left"})
    assert answer.status_code == 200
    asked.clear()
    seen = visit()
    assert seen["status"] == "revoked" and seen["word"] == "已吊销" and seen["source"] == "offline", seen
    assert f"{chongqing.url}/status/500000/freshness" in asked
    assert f"{chongqing.url}/status/500000/0/compact" in asked
    assert not any("/status/500000" in url for url in asked if url.startswith(ningbo.url))
