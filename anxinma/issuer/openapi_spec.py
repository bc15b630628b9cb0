"""The OpenAPI document's content (kept apart from the blueprint that serves it)."""

from __future__ import annotations

from typing import Any


def build(base_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "安心码 Anxinma issuer API", "version": "1"},
        "servers": [{"url": base_url}],
        "paths": {},
        "components": {},
    }
