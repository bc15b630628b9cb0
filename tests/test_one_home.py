"""Small facts with one home each (issue 16, item 6): a value typed once, imported everywhere.

Each test reads the package's own source, so a new copy of the value fails here, not in the field.
"""

from __future__ import annotations

import re
from pathlib import Path

from anxinma import credential as fmt
from anxinma.keys import model

PACKAGE = Path(__file__).resolve().parent.parent / "anxinma"

#: Files another change is restructuring right now (issue 16's issuer work; the trust sync):
#: they switch to the one name when that change lands. Nothing else may type the value.
IN_FLIGHT: set[str] = set()


def _sources_typing(pattern: str, home: str) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name == home or name in IN_FLIGHT:
            continue
        code = [line for line in path.read_text("utf-8").splitlines() if not line.lstrip().startswith("#")]
        if re.search(pattern, "\n".join(code)):
            found.append(name)
    return found


def test_the_issuer_code_range_is_named_once_in_the_format() -> None:
    assert (fmt.MIN_DIVISION_CODE, fmt.MAX_DIVISION_CODE) == (110000, 829999)
    assert model.MIN_DIVISION_CODE is fmt.MIN_DIVISION_CODE  # the key directory imports it
    assert _sources_typing(r"\b(110000|829999)\b", "credential/values.py") == []


def test_the_default_base_url_is_named_once() -> None:
    assert fmt.DEFAULT_BASE_URL == "http://127.0.0.1:8600"
    assert _sources_typing(r"[\"']http://127\.0\.0\.1:8600", "credential/text.py") == []


def test_the_composition_root_registers_the_consumer_page_by_importing_it() -> None:
    """wsgi.py names the verifier's public blueprint; it no longer searches for it with importlib."""
    import anxinma.wsgi
    from anxinma.verifier.web import blueprint

    assert anxinma.wsgi.consumer_page is blueprint
    assert "importlib" not in (PACKAGE / "wsgi.py").read_text("utf-8")


def test_every_error_of_the_family_is_used_outside_its_definition() -> None:
    """No dead exception: each class of anxinma/errors.py is raised, caught or specialised
    somewhere else in the package. (An unknown issuer or key is a verdict, ``Status``, never an
    exception: ``UntrustedIssuer`` and ``UnknownKey`` were never raised and are gone.)"""
    import anxinma.errors as errors

    names = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, errors.AnxinmaError)
        and value.__module__ == errors.__name__
    ]
    sources = "\n".join(
        path.read_text("utf-8")
        for path in PACKAGE.rglob("*.py")
        if path.name != "errors.py" or path.parent != PACKAGE
    )
    assert names and [name for name in names if not re.search(rf"\b{name}\b", sources)] == []


def test_the_templates_readme_names_the_folders_that_exist() -> None:
    readme = (PACKAGE / "templates" / "README.md").read_text("utf-8")
    named = set(re.findall(r"`(\w+)/`", readme))
    folders = {
        path.name for path in (PACKAGE / "templates").iterdir() if path.is_dir() and path.name[0] != "_"
    }
    assert named == folders
    assert all((PACKAGE / "templates" / name).exists() for name in re.findall(r"`(\w+/\w+\.\w+)`", readme))
