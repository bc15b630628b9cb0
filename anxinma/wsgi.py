"""The composition root of the web service: the issuer's app with the other parts' blueprints.

Production: ``gunicorn -w 4 -b 127.0.0.1:8600 'anxinma.wsgi:app'`` (docs/operations.md).
``app`` is built on first access (PEP 562), so importing this module for ``anxinma serve``
builds nothing twice.
"""

from __future__ import annotations

import sys
from typing import Any

from flask import Flask

from anxinma.errors import AnxinmaError
from anxinma.issuer import IssuerConfig, create_app
from anxinma.issuer.commands import make_serve_command
from anxinma.verifier.web import blueprint as consumer_page


def compose(config: IssuerConfig | None = None) -> Flask:
    """The issuer's app with the consumer's verification page (the verifier's public blueprint)."""
    return create_app(config, blueprints=[consumer_page])


serve = make_serve_command(compose)


def __getattr__(name: str) -> Any:
    if name == "app":
        try:
            application = compose()
        except AnxinmaError as exc:  # e.g. no trust list at all: one line saying what to set
            print(f"错误 / error: {exc.explain()}", file=sys.stderr)
            raise SystemExit(2) from None
        globals()["app"] = application
        return application
    raise AttributeError(name)
