"""Languages of the pages: the locale policy of anxinma/i18n.py and the completeness of every
shipped catalog (zh-CN is the default, so an untranslated id would show English to a consumer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import Flask, render_template_string

import anxinma
from anxinma.i18n import init_i18n, normalise

PACKAGE = Path(anxinma.__file__).parent
CATALOGS = sorted(PACKAGE.glob("*/translations/*/LC_MESSAGES/messages.po"))


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    catalog = Catalog(locale="zh_CN")
    catalog.add("Valid", "有效")
    target = tmp_path / "zh_Hans_CN" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    application = Flask(__name__)
    init_i18n(application, [tmp_path])

    @application.route("/")
    def index() -> str:
        return render_template_string("{{ html_lang() }}|{{ _('Valid') }}|{{ other_locale() }}")

    return application


def test_default_locale_is_chinese(app: Flask) -> None:
    assert app.test_client().get("/").text == "zh-CN|有效|en"


def test_browser_language_is_honoured(app: Flask) -> None:
    response = app.test_client().get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.text == "en|Valid|zh_CN"


def test_explicit_switch_is_remembered_in_a_cookie(app: Flask) -> None:
    client = app.test_client()
    first = client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})
    assert first.text == "en|Valid|zh_CN"
    assert "lang=en" in first.headers["Set-Cookie"]
    assert client.get("/", headers={"Accept-Language": "zh-CN"}).text == "en|Valid|zh_CN"
    assert client.get("/?lang=zh-CN").text == "zh-CN|有效|en"


def test_unknown_language_falls_back_to_chinese(app: Flask) -> None:
    response = app.test_client().get("/?lang=xx", headers={"Accept-Language": "fr"})
    assert response.text == "zh-CN|有效|en"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    ("tag", "expected"), [("zh-Hans", "zh_CN"), ("ZH_cn", "zh_CN"), ("en-GB", "en"), ("de", None), ("", None)]
)
def test_language_tags_are_normalised(tag: str, expected: str | None) -> None:
    assert normalise(tag) == expected


def test_every_part_with_pages_ships_a_complete_compiled_catalog() -> None:
    parts_with_pages = sorted(d.name for d in (PACKAGE / "templates").iterdir() if d.is_dir())
    for part in parts_with_pages:
        assert (PACKAGE / part / "translations/zh_Hans_CN/LC_MESSAGES/messages.po").exists(), (
            f"anxinma/templates/{part}/ has pages but anxinma/{part} has no zh_CN catalog: run bash scripts/i18n"
        )
    for po_path in CATALOGS:
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
        assert untranslated == [], f"untranslated or fuzzy in {po_path}: {untranslated}"
        mo_path = po_path.with_suffix(".mo")
        assert mo_path.exists(), f"{mo_path} missing: run bash scripts/i18n"
        with mo_path.open("rb") as handle:
            compiled = read_mo(handle)
        assert {m.id: m.string for m in compiled if m.id} == {m.id: m.string for m in catalog if m.id}, (
            f"{mo_path} is older than its .po: run bash scripts/i18n"
        )
