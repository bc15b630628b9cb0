"""Helpers of the console tests: a signed-in Flask test client that sends the page's CSRF
token with its forms, and console accounts for each role."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from anxinma.issuer.services.auth import Role
from tests.conftest import LiveIssuer

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def account(issuer: LiveIssuer, role: str, enterprise_id: int | None = None) -> tuple[str, str]:
    """A new console user of ``role``: (username, password)."""
    username = f"{role}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    issuer.runtime.service.accounts.create_user(username, password, Role(role), enterprise_id)
    return username, password


class Console:
    """A browser-like client of the consoles: cookies kept, CSRF tokens read from pages."""

    def __init__(self, issuer: LiveIssuer) -> None:
        self.issuer = issuer
        self.client: FlaskClient = issuer.app.test_client()
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        response = self.client.get(path, **kwargs)
        found = TOKEN.search(response.get_data(as_text=True)) if response.mimetype == "text/html" else None
        if found:
            self.token = found.group(1)
        return response

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> TestResponse:
        if csrf and not self.token:
            self.get("/console/login")
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf_token", self.token)
        response = self.client.post(path, data=body, **kwargs)
        found = TOKEN.search(response.get_data(as_text=True)) if response.mimetype == "text/html" else None
        if found:
            self.token = found.group(1)
        return response

    def login(self, username: str, password: str) -> TestResponse:
        self.get("/console/login")
        response = self.post("/console/login", {"username": username, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        self.get(response.headers["Location"])  # the token is bound to the user: read it again
        return response

    @classmethod
    def signed_in(cls, issuer: LiveIssuer, role: str, enterprise_id: int | None = None) -> Console:
        console = cls(issuer)
        console.login(*account(issuer, role, enterprise_id))
        return console


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def published_status(issuer: LiveIssuer, serial: int) -> Any:
    """The status the public status list (``GET /status/<code>/0``) gives ``serial``,
    verified with the keys of the served trust list."""
    from datetime import UTC, datetime

    from anxinma.keys import TrustList
    from anxinma.status_list import load_status_list

    trust = TrustList.load(issuer.trust_list(), issuer.root_public_key, now=datetime.now(UTC))

    def key_for(code: int, kid: bytes) -> bytes | None:
        found = trust.issuer(code)
        key = found.keys.get(kid) if found else None
        return key.public_key if key else None

    return load_status_list(issuer.status_list(0), key_for).status(serial)
