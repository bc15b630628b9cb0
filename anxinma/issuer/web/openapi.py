"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json (filled in below)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

blueprint = Blueprint("openapi", __name__)


def document(base_url: str) -> dict[str, Any]:
    from anxinma.issuer.web.openapi_spec import build

    return build(base_url)


@blueprint.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    response = jsonify(document(current_app.extensions["anxinma"].config.base_url))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
