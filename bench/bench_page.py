"""The consumer page in Chromium: time from navigation to the verdict, and page weight.

* **offline (cached)** — after a first visit, with the network cut (Playwright's offline
  emulation): the service worker answers the shell and assets, the page verifies against the
  cached trust list and status list (three Ed25519 signatures, an inflate). Target: median
  under 300 ms.
* **online, warm** — the same phone online: the offline verdict first, then the refreshed trust
  data and the signed live record (the final verdict).
* **online, cold** — a fresh browser profile each time (no service worker, nothing cached).

Times are the page's own marks (``window.__anxinma.verdictAt`` / ``finalAt``, ms since the
navigation started: ``performance.now()``), 20 loads each; page weight is the bytes the browser
moved (headers and bodies, from Playwright's ``request.sizes()``, service worker requests
included), for a cold first visit (with the worker's precache) and a warm reload.

``python -m bench page`` writes the ``page`` block of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._report import write_section

LOADS = 20
CHROMIUM = "/usr/bin/chromium"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _figures(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} | {_p95(values):.0f}"


class Weigher:
    """Bytes moved by a browser context: every finished request's headers and body."""

    def __init__(self, context: Any) -> None:
        self.total = 0
        self.requests = 0
        context.on("requestfinished", self._finished)

    def _finished(self, request: Any) -> None:
        response = request.response()
        if response is not None and response.from_service_worker:
            return  # answered by the worker's cache: nothing crossed the network
        try:
            sizes = request.sizes()
        except Exception:  # the context closed before the browser reported it
            return
        self.total += sizes["requestHeadersSize"] + sizes["responseHeadersSize"] + sizes["responseBodySize"]
        self.requests += 1

    def take(self) -> tuple[int, int]:
        moved, count = self.total, self.requests
        self.total = self.requests = 0
        return moved, count


def _load(page: Any, url: str) -> tuple[float, float]:
    page.goto(url)
    page.wait_for_selector("#verdict[data-final]", timeout=20000)
    marks = page.evaluate("window.__anxinma")
    status = page.get_attribute("#verdict", "data-status")
    if status != "valid":
        raise AssertionError(f"the benchmark credential was {status}")
    return float(marks["verdictAt"]), float(marks["finalAt"])


def _settle(page: Any, seconds: float = 10.0) -> None:
    """Until the service worker controls the page and its precache is complete."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready = page.evaluate(
            """async () => {
              if (!navigator.serviceWorker.controller) return false;
              const names = await caches.keys();
              const shell = names.find(n => n.startsWith('anxinma-page-'));
              return !!shell && (await (await caches.open(shell)).keys()).length >= 4;
            }"""
        )
        if ready:
            time.sleep(0.3)  # the worker's bundle prefetch
            return
        time.sleep(0.05)
    raise AssertionError("the service worker did not take over")


def measure(url: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    viewport = {"width": 360, "height": 780}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            cold_first: list[float] = []
            cold_final: list[float] = []
            cold_weight: list[int] = []
            for _ in range(LOADS):
                context = browser.new_context(viewport=viewport, locale="zh-CN")
                weigher = Weigher(context)
                page = context.new_page()
                first, final = _load(page, url)
                _settle(page)
                cold_first.append(first)
                cold_final.append(final)
                cold_weight.append(weigher.take()[0])
                context.close()

            context = browser.new_context(viewport=viewport, locale="zh-CN")
            weigher = Weigher(context)
            page = context.new_page()
            _load(page, url)
            _settle(page)
            weigher.take()
            warm_first: list[float] = []
            warm_final: list[float] = []
            warm_weight: list[int] = []
            for _ in range(LOADS):
                first, final = _load(page, url)
                warm_first.append(first)
                warm_final.append(final)
                warm_weight.append(weigher.take()[0])
            context.set_offline(True)
            offline: list[float] = []
            for _ in range(LOADS):
                first, _final = _load(page, url)
                offline.append(first)
            offline_weight = weigher.take()[0]
            engine = page.get_attribute("#verdict", "data-crypto")
            version = browser.version
            context.close()
        finally:
            browser.close()
    return {
        "cold_first": cold_first,
        "cold_final": cold_final,
        "cold_weight": cold_weight,
        "warm_first": warm_first,
        "warm_final": warm_final,
        "warm_weight": warm_weight,
        "offline": offline,
        "offline_weight": offline_weight,
        "engine": engine,
        "chromium": version,
    }


def static_bytes() -> dict[str, int]:
    static = Path(__file__).resolve().parent.parent / "anxinma" / "static" / "verifier"
    return {name: (static / name).stat().st_size for name in ("page.css", "verify.js", "page.js")} | {
        "vendor/nacl-fast.min.js (fallback only)": (static / "vendor" / "nacl-fast.min.js").stat().st_size
    }


def main() -> None:
    from tests.conftest import LiveIssuer

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        issuer = LiveIssuer(home, f"sqlite:///{home / 'anxinma.sqlite3'}", None)
        try:
            url = str(issuer.credential()["code"]).replace("/v/", "/V/")  # what a QR reader opens
            shell = len(issuer.api("GET", "/v", token="").content)
            figures = measure(url)
            load = os.getloadavg()[0]  # the machine is shared: the times scale with it
        finally:
            issuer.stop()
    sizes = static_bytes()
    kib = 1024
    body = f"""Headless Chromium {figures["chromium"]} at 360 × 780, the issuer served on 127.0.0.1
(werkzeug, SQLite), one valid worker credential opened as the QR's `/V/…` URL; {LOADS} loads
each. Times in ms from the start of the navigation (`performance.now()` at the page's marks);
"first verdict" is the first time `#verdict` carries a status, "final" when the live record
has been merged (online) or the network found missing (offline). Ed25519: {figures["engine"]}.
Load average at the end of the run: {load:.1f} on {os.cpu_count()} cores (other work shares the
machine; the times grow with it, the bytes do not).

| load | first verdict median | p95 | final median | p95 | bytes moved (median) |
| --- | ---: | ---: | ---: | ---: | ---: |
| offline, after a first visit (network cut; service worker) | {_figures(figures["offline"])} | — | — | {figures["offline_weight"] // LOADS} |
| online, warm (service worker, cached trust data) | {_figures(figures["warm_first"])} | {_figures(figures["warm_final"])} | {statistics.median(figures["warm_weight"]) / kib:.1f} KiB |
| online, cold (fresh profile) | {_figures(figures["cold_first"])} | {_figures(figures["cold_final"])} | {statistics.median(figures["cold_weight"]) / kib:.1f} KiB |

Cold weight is the first visit: the shell, its three assets, the trust list, the issuer's
freshness document and compact status shard (issue 15: Rice-coded, docs/page.md "How the page
keeps its trust data"), the live record, then the service worker (registered for `/v` and `/V/`)
with its own copy of the `/v` shell (the assets come from the HTTP cache: their URLs carry a
digest and are immutable) and the discovery document it reads to prefetch the freshness
document and every compact shard. The tweetnacl fallback
({sizes["vendor/nacl-fast.min.js (fallback only)"] / kib:.1f} KiB) is fetched and cached only by
browsers whose WebCrypto lacks Ed25519. Warm online loads with nothing changed move the shell's
304 refresh, the trust list's and the freshness document's revalidations (304) and the live
record; no shard (it is fetched only when the freshness document lists another version).
Uncompressed sizes: shell {shell / kib:.1f} KiB (the words of both languages inside, so the
switch works offline), {", ".join(f"{name} {size / kib:.1f} KiB" for name, size in sizes.items())}.
The werkzeug server here sends no gzip; behind nginx with gzip the text shrinks about 3-4×.
"""
    write_section("page", body)
    print(body)


if __name__ == "__main__":
    main()
