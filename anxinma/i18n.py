"""Languages of the web pages: zh-CN first, English beside it, from real message catalogs.

One locale policy for every page of the service (the consoles of the issuer, the consumer's
verification page of the verifier), so a person who switched to English on one page stays in
English on the next. Each part keeps its own catalog beside its code
(``anxinma/<part>/translations/zh_Hans_CN/LC_MESSAGES/messages.po`` and the compiled ``.mo``;
the folder has Babel's canonical name, because Babel parses ``zh_CN`` to ``zh_Hans_CN`` and
gettext looks for that or ``zh``);
:func:`init_i18n` merges every directory it is given into one gettext domain.

Message ids are English source strings (gettext's convention, and what a developer greps
for); ``zh_CN`` is the default locale and its catalog must translate every id — a test keeps
it complete. ``scripts/i18n`` extracts, updates and compiles the catalogs.

Order of choice: ``?lang=`` on the request (then remembered in a cookie), the ``lang``
cookie, the browser's Accept-Language, else zh-CN.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Flask, Response, request

#: Locales we ship, in the order of preference when a browser states none.
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
COOKIE = "lang"
_COOKIE_AGE = 365 * 24 * 3600
_ALIASES = {"zh": "zh_CN", "zh-cn": "zh_CN", "zh_cn": "zh_CN", "zh-hans": "zh_CN", "en": "en", "en-us": "en"}


def normalise(tag: str | None) -> str | None:
    """A language tag as one of :data:`LOCALES`, or None when we do not ship it."""
    if not tag:
        return None
    key = tag.strip().lower().replace("_", "-")
    if key in _ALIASES:
        return _ALIASES[key]
    primary = key.split("-", 1)[0]
    return _ALIASES.get(primary)


def select_locale() -> str:
    """The locale of the current request (Flask-Babel's ``locale_selector``)."""
    chosen = normalise(request.args.get("lang")) or normalise(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return normalise(best) or DEFAULT_LOCALE


def html_lang() -> str:
    """The value for ``<html lang=…>`` (BCP 47): screen readers pick their voice from it."""
    return "zh-CN" if select_locale() == "zh_CN" else "en"


def init_i18n(app: Flask, translation_directories: Iterable[Path]) -> None:
    """Set up Flask-Babel on ``app`` with the given catalog directories merged.

    Also remembers an explicit ``?lang=`` in a cookie, and offers ``html_lang()`` and
    ``other_locale()`` to every template for the language switch.
    """
    from flask_babel import Babel

    directories = [str(Path(d)) for d in translation_directories]
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LOCALE
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(directories)
    Babel(app, locale_selector=select_locale)

    @app.after_request
    def _remember_language(response: Response) -> Response:
        chosen = normalise(request.args.get("lang"))
        if chosen and request.cookies.get(COOKIE) != chosen:
            response.set_cookie(COOKIE, chosen, max_age=_COOKIE_AGE, samesite="Lax", httponly=True)
        return response

    @app.context_processor
    def _language_helpers() -> dict[str, object]:
        def other_locale() -> str:
            return "en" if select_locale() == "zh_CN" else "zh_CN"

        return {"html_lang": html_lang, "current_locale": select_locale, "other_locale": other_locale}
