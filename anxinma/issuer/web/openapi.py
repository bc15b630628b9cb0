"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json: generated from the app's
routes and their declarations (:mod:`.apidoc`, models in :mod:`.schemas`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

blueprint = Blueprint("openapi", __name__)


def document(app: Flask, base_url: str) -> dict[str, Any]:
    from anxinma.issuer.web import schemas_visits  # noqa: F401  (declares the visits routes)
    from anxinma.issuer.web.apidoc import document as build

    return build(app, base_url)


@blueprint.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    """The document, generated once per app (its routes do not change once it serves; ~0.2 s)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    made: dict[str, Any] = app.extensions.setdefault("anxinma.openapi", {})
    base_url = current_app.extensions["anxinma"].config.base_url
    if base_url not in made:
        made[base_url] = document(app, base_url)
    response = jsonify(made[base_url])
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
