"""Two cities under one regulator's root, on 127.0.0.1 (issue 15, "what to build" 3): Ningbo's
consumer page verifies a Chongqing worker online and offline after one visit, takes Chongqing's
freshness document, compact shard and live record from Chongqing's base URL (as the root-signed
trust list names it; its CSP names exactly the two origins), and shows a Chongqing revocation on
the next online visit. Both city services hold no root key: each serves the regulator's list
(ANXINMA_TRUST_LIST_URL, a file here) checked against the regulator's root (ANXINMA_ROOT_KEY)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anxinma import credential as fmt
from anxinma.cli import main
from anxinma.keys import KeyDirectory
from tests.conftest import LiveIssuer, free_port, screenshot
from tests.verifier.test_page import verdict

pytestmark = pytest.mark.browser


def _city(root: Path, name: str, code: int, title: str, port: int) -> Path:
    home = root / name
    KeyDirectory.init(home / "keys", issuer_code=code, issuer_name=title, base_url=f"http://127.0.0.1:{port}", insecure_dev=True)  # fmt: skip
    (home / "keys" / "root.key.pem").unlink()  # a city holds no root private key
    return home


@pytest.fixture
def cities(tmp_path: Path) -> Iterator[tuple[LiveIssuer, LiveIssuer]]:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    ports = free_port(), free_port()
    homes = (
        _city(tmp_path, "ningbo", 330200, "宁波市商务局", ports[0]),
        _city(tmp_path, "chongqing", 500000, "重庆市商务委员会", ports[1]),
    )
    regulator = tmp_path / "regulator"
    run("keys", "init", "--dir", str(regulator), "--insecure-dev")
    for home in homes:
        descriptor = home / "descriptor.json"
        descriptor.write_text(run("keys", "descriptor", "--dir", str(home / "keys")), "utf-8")
        run("keys", "add-issuer", str(descriptor), "--dir", str(regulator))
    listed = tmp_path / "trust-list.jwt"
    run("keys", "trust-list", "--dir", str(regulator), "-o", str(listed))
    root = tmp_path / "regulator-root.pem"
    root.write_text(run("keys", "root", "--dir", str(regulator)))
    started = [
        LiveIssuer(
            home,
            f"sqlite:///{home / 'anxinma.sqlite3'}",
            port=port,
            trust_list_url=str(listed),
            root_key_path=root,
        )
        for home, port in zip(homes, ports, strict=True)
    ]
    try:
        yield started[0], started[1]
    finally:
        for issuer in started:
            issuer.stop()


def test_ningbos_page_verifies_a_chongqing_worker_from_chongqings_data_online_offline_and_revoked(
    cities: tuple[LiveIssuer, LiveIssuer], browser_context: Callable[..., Any]
) -> None:
    ningbo, chongqing = cities
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
