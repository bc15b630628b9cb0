"""The CJK font badges are set in: Noto Sans CJK SC from Debian's ``fonts-noto-cjk``.

The package ships OpenType/CFF collections (.ttc). fpdf2 reads a face out of a collection and
subsets CID-keyed CFF, so the PDF embeds only the glyphs a batch uses (a few dozen KiB) and
prints on any machine, with or without the font. Looked up only when a badge is drawn, so
nothing else in Anxinma needs the font installed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from anxinma.badge.items import FontNotFound

#: The Debian package to install when the font is missing (scripts/test installs it).
FONT_PACKAGE = "fonts-noto-cjk"
#: The face inside the collections: Simplified Chinese glyph forms.
FAMILY = "Noto Sans CJK SC"
#: Where distributions put the collections (Debian/Ubuntu, Fedora, Arch, Homebrew/macOS fonts).
SEARCH_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/google-noto-cjk"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / "Library/Fonts",
)
_FILES = {"regular": "NotoSansCJK-Regular.ttc", "bold": "NotoSansCJK-Bold.ttc"}


@dataclass(frozen=True, slots=True)
class FontFace:
    """One face: a font file and, for a collection, the index of the face in it."""

    path: Path
    index: int = 0


@dataclass(frozen=True, slots=True)
class FontSet:
    regular: FontFace
    bold: FontFace


def _missing(detail: str) -> FontNotFound:
    return FontNotFound(
        f"the CJK font {FAMILY} is missing ({detail}); install the Debian package {FONT_PACKAGE}: "
        f"apt-get install {FONT_PACKAGE}",
        message_zh=f"缺少中文字体 {FAMILY}（{detail}），请安装 Debian 软件包 {FONT_PACKAGE}："
        f"apt-get install {FONT_PACKAGE}",
    )


def _face_index(path: Path) -> int:
    """The index of the SC face, found by name (the order inside the collection is not a promise)."""
    from fontTools.ttLib import TTCollection, TTLibError  # type: ignore[import-untyped]

    try:
        collection = TTCollection(str(path), lazy=True)
    except (OSError, TTLibError) as exc:
        raise _missing(f"{path} cannot be read: {exc}") from None
    try:
        for index, font in enumerate(collection.fonts):
            if font["name"].getDebugName(1) == FAMILY:
                return index
    finally:
        collection.close()
    raise _missing(f"{path} has no face named {FAMILY}")


@functools.cache
def default_fonts() -> FontSet:
    """Find Noto Sans CJK SC regular and bold; raises :class:`FontNotFound` naming the package."""
    for directory in SEARCH_DIRS:
        regular, bold = (directory / _FILES["regular"], directory / _FILES["bold"])
        if regular.is_file() and bold.is_file():
            return FontSet(FontFace(regular, _face_index(regular)), FontFace(bold, _face_index(bold)))
    raise _missing(f"{_FILES['regular']} and {_FILES['bold']} not found in {SEARCH_DIRS[0]}")
