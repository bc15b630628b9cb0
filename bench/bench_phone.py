"""The worker's phone page in Chromium: time from opening the page to the first dynamic code.

* **enrol** — a fresh phone opens an enrolment link: the key pair (WebCrypto Ed25519), the
  POST that issues the phone credential, the first proof and its QR;
* **online** — the enrolled phone opens ``/w`` again (service worker in place, network up);
* **offline** — the same with the network cut (Playwright's offline emulation: CDP's network
  conditions): the page, its scripts, the key and the credential all come from the phone.

Times are the page's own mark (``window.__anxinmaPhone.firstCodeAt``: ``performance.now()``
when the first QR is drawn, ms since the navigation started). ``python -m bench phone`` writes
the ``phone`` block of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench._report import write_section

LOADS = 20
ENROLMENTS = 5
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 360, "height": 780}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _first_code(page: Any, url: str) -> tuple[float, int]:
    page.goto(url)
    page.wait_for_selector(
        "body[data-code-ready]", timeout=20000
    )  # no string predicates: the CSP forbids eval
    mark = page.evaluate("window.__anxinmaPhone")
    return float(mark["firstCodeAt"]), int(mark["version"])


def measure(issuer: Any) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            enrol: list[float] = []
            for _ in range(ENROLMENTS):
                worker = issuer.worker()
                link = issuer.api("POST", f"/api/v1/workers/{worker['id']}/enrolments", json={}).json()["url"]
                context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", device_scale_factor=2)
                page = context.new_page()
                took, version = _first_code(page, link)
                enrol.append(took)
                page.evaluate("navigator.serviceWorker.ready.then(() => true)")
                if len(enrol) < ENROLMENTS:
                    context.close()
            online = [_first_code(page, f"{issuer.url}/w")[0] for _ in range(LOADS)]
            context.set_offline(True)
            offline = [_first_code(page, f"{issuer.url}/w")[0] for _ in range(LOADS)]
            engine = page.get_attribute("body", "data-crypto")
            context.close()
            chromium = browser.version
        finally:
            browser.close()
    return {
        "enrol": enrol,
        "online": online,
        "offline": offline,
        "version": version,
        "engine": engine,
        "chromium": chromium,
    }


def main() -> None:
    from tests.conftest import LiveIssuer

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        issuer = LiveIssuer(home, f"sqlite:///{home / 'anxinma.sqlite3'}", None)
        try:
            figures = measure(issuer)
            base = issuer.url
            load = os.getloadavg()[0]
        finally:
            issuer.stop()

    def row(name: str, values: list[float]) -> str:
        return f"| {name} | {len(values)} | {statistics.median(values):.0f} | {_p95(values):.0f} |"

    body = f"""Headless Chromium {figures["chromium"]} at 360 × 780 (device scale 2), the issuer served on
127.0.0.1 (werkzeug, SQLite). Time in ms from the start of the navigation to the first dynamic
code drawn inside `[data-dynamic-code]` (the page's mark `window.__anxinmaPhone.firstCodeAt`).
Holder key: {figures["engine"]}. The code's QR: version **{figures["version"]}-M** for the base
`{base}` (a phone credential, no card UID; with `https://v.anxinma.gov.cn` it is 12-M,
docs/format.md §12.3). Load average at the end of the run: {load:.1f} on {os.cpu_count()} cores.

| open | loads | first code median | p95 |
| --- | ---: | ---: | ---: |
{row("enrolment link (key pair, issue, first code)", figures["enrol"])}
{row("`/w` online (enrolled, service worker in place)", figures["online"])}
{row("`/w` offline (network cut: page, key and credential from the phone)", figures["offline"])}
"""
    write_section("phone", body)
    print(body)
