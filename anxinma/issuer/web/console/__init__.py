"""The web consoles of the issuer (issue 7): log-in and roles, the enterprise console with
bulk import, the card operator's batches, the regulator's dashboard and the issuer admin's
pages, under ``/console/`` (docs/consoles.md).

Pages are rendered on the server (Jinja, ``anxinma/templates/issuer/``) in Chinese first with
an English switch (the issuer's catalog, ``anxinma/issuer/translations/``); everything they
do goes through :class:`~anxinma.issuer.services.issuer.IssuerServices` with the signed-in principal.
"""

from __future__ import annotations

from flask import Flask

#: Log-in attempts per client address (flask-limiter syntax): slows password guessing.
LOGIN_RATE_LIMIT = "20 per minute"


def init_app(app: Flask) -> None:
    """Register the consoles on the issuer's app, with the HTML error pages of the service."""
    from anxinma.issuer.web.console import (  # noqa: F401
        admin,
        batches,
        credit,
        imports,
        login,
        loop,
        regulator,
        workers,
    )
    from anxinma.issuer.web.console.base import blueprint, render_error

    app.register_blueprint(blueprint)
    app.extensions["anxinma.html_errors"] = render_error
    for limiter in app.extensions.get("limiter", ()):
        view = app.view_functions["console.login"]
        app.view_functions["console.login"] = limiter.limit(LOGIN_RATE_LIMIT, methods=["POST"])(view)


__all__ = ["init_app"]
