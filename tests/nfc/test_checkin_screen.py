"""The desk's screen as a worker sees it: the real listener of ``anxinma station check-in``
(:class:`ConsoleDeskListener`) on a recording rich console while the desk reads emulated
cards, drawn by Chromium to artifacts/screenshots/checkin-desk.png to be looked at."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from anxinma.cli import BundleTapVerifier
from anxinma.nfc.checkin import CheckInDesk
from anxinma.nfc.checkin_display import ConsoleDeskListener
from anxinma.nfc.checkin_queue import CheckInQueue
from anxinma.nfc.reader import Reader
from tests.conftest import LiveIssuer, screenshot
from tests.nfc.checkin_helpers import copy_of, issued_card, sync_bundle
from tests.nfc.emulator import CardEmulator

pytestmark = pytest.mark.browser


def test_the_desk_screen_says_each_verdict_in_chinese_first_with_its_colour(
    tmp_path: Path, live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    first, _ = issued_card(live_issuer, 1, enterprise, name="李小霞")
    revoked, gone = issued_card(live_issuer, 2, enterprise, name="王芳")
    live_issuer.api("POST", f"/api/v1/credentials/{gone['serial']}/revoke", json={"reason": "left"})
    copy = copy_of(first, 3)
    verify = BundleTapVerifier(sync_bundle(live_issuer, tmp_path / "bundles"))
    url, code = verify.issuer_of(live_issuer.url)
    console = Console(
        record=True, width=78, file=io.StringIO(), force_terminal=True, color_system="truecolor"
    )
    listener = ConsoleDeskListener(console, sound=False)
    taps = [first, revoked, copy, first]
    with (
        CheckInQueue(tmp_path / "q.sqlite3") as queue,
        CardEmulator(taps) as emulator,
        Reader.open(emulator.path) as reader,
    ):
        desk = CheckInDesk(
            reader, queue, verify, issuer_url=url, issuer_code=code, station="海曙区服务站", listener=listener
        )
        listener.ready(
            {
                "station": "海曙区服务站",
                "issuer_url": url,
                "issuer_code": code,
                "bundle": str(tmp_path / "bundles"),
                "queue": str(tmp_path / "q.sqlite3"),
                "token": "",
            }
        )
        desk.run(taps=len(taps))
    text = console.export_text(clear=False)
    panels = re.split(r"\n(?=╭)", text)[1:]
    assert len(panels) == 4, text
    expected = [
        ("打卡成功", "CHECKED IN", "李*霞"),
        ("已吊销", "NOT CHECKED IN", "王*"),
        ("疑似复制卡", "POSSIBLE COPY", "李*霞"),
        ("本月已打卡", "ALREADY CHECKED IN THIS MONTH", "李*霞"),
    ]
    for panel, (zh, en, name) in zip(panels, expected, strict=True):
        assert zh in panel and en in panel and name in panel, panel
        assert panel.index(zh) < panel.index(en)  # Chinese first
    assert "请刷卡 / tap a card" in text and "未提供令牌" in text
    # A terminal gives a CJK character two cells: draw it in a font whose CJK glyphs are exactly
    # two Latin cells wide (Noto Sans Mono CJK), as the desk's terminal does.
    html = console.export_html(
        inline_styles=True,
        code_format=(
            "<html><head><meta charset='utf-8'></head>"
            "<body style='margin:0;padding:12px;background:{background};color:{foreground}'>"
            "<pre style=\"font-family:'Noto Sans Mono CJK SC',monospace;font-size:15px;line-height:1.3\">"
            "<code>{code}</code></pre></body></html>"
        ),
    )
    colours = set(re.findall(r"background-color: (#[0-9a-f]{6})", html))
    assert len(colours) >= 3, colours  # green, red and blue panels
    page = browser_context(viewport={"width": 760, "height": 900}).new_page()
    page.set_content(html)
    page.set_viewport_size({"width": 760, "height": int(page.evaluate("document.body.scrollHeight"))})
    screenshot(page, "checkin-desk")
