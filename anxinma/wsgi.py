"""The composition root of the web service: the issuer's app with the other parts' blueprints.

Production: ``gunicorn -c python:anxinma.gunicorn_conf -w 4 -b 127.0.0.1:8600 'anxinma.wsgi:app'``
(docs/operations.md). ``app`` is built on first access (PEP 562), so importing this module for
``anxinma serve`` builds nothing twice. Both configure logging first (:func:`logging_setup`).
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


def _logged_compose(config: IssuerConfig) -> Flask:
    from anxinma.issuer.observability import logging_setup

    logging_setup()
    return compose(config)


serve = make_serve_command(_logged_compose)

#: gunicorn's arbiter stops (rather than starting the worker again, and again) when a worker
#: exits with this status: gunicorn.arbiter.Arbiter.APP_LOAD_ERROR.
GUNICORN_APP_LOAD_ERROR = 4


def __getattr__(name: str) -> Any:
    if name == "app":
        from anxinma.issuer.observability import logging_setup

        try:
            logging_setup()
            application = compose()
        except AnxinmaError as exc:  # a bad setting, no trust list: one line saying what to set
            print(f"错误 / error: {exc.explain()}", file=sys.stderr, flush=True)
            under_gunicorn = "gunicorn.arbiter" in sys.modules
            raise SystemExit(GUNICORN_APP_LOAD_ERROR if under_gunicorn else 2) from None
        globals()["app"] = application
        return application
    raise AttributeError(name)
