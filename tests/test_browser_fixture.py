"""The browser the page tests stand on: Debian's Chromium, headless, with a network we can cut."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import PHONE, free_port


@pytest.mark.browser
def test_chromium_renders_a_local_page_and_can_go_offline(browser_context: Callable[..., Any]) -> None:
    import threading

    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index() -> str:
        return "<html lang='zh-CN'><body><p id='word'>有效</p></body></html>"

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        context = browser_context(viewport=PHONE)
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        assert page.inner_text("#word") == "有效"
        assert page.evaluate("window.innerWidth") == PHONE["width"]
        context.set_offline(True)
        with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
            page.goto(f"http://127.0.0.1:{port}/?again")
    finally:
        server.shutdown()
