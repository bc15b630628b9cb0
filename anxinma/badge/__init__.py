"""Printed badges (居家上门服务证): the credential's printed form, as PDF.

A writer of a credential's form, like :mod:`anxinma.qr` (floor 2 in docs/interfaces.md): it
imports only :mod:`anxinma.credential`, :mod:`anxinma.qr`, :mod:`anxinma.errors` and
libraries. Everything printed about the worker comes from the credential (the masked name,
never a full one); the enterprise's name and the portrait come with each item.

Entry points: :func:`render_badges` (a batch, to a file, whole or not at all),
:func:`render_badge` (one card, for the encoding station after each card) and
:func:`read_batch` (the CSV / JSON lines file of ``anxinma badge --batch``).
"""

from anxinma.badge.batch import read_batch
from anxinma.badge.card import Card, prepare
from anxinma.badge.fonts import FONT_PACKAGE, FontFace, FontSet, default_fonts
from anxinma.badge.geometry import MIN_MODULE_DOTS, Layout
from anxinma.badge.items import (
    BadgeError,
    BadgeInputError,
    BadgeItem,
    FontNotFound,
    Photo,
    PhotoError,
    RowProblem,
)
from anxinma.badge.pdf import BadgeReport, check, render_badge, render_badges, render_pdf

__all__ = [
    "FONT_PACKAGE",
    "MIN_MODULE_DOTS",
    "BadgeError",
    "BadgeInputError",
    "BadgeItem",
    "BadgeReport",
    "Card",
    "FontFace",
    "FontNotFound",
    "FontSet",
    "Layout",
    "Photo",
    "PhotoError",
    "RowProblem",
    "check",
    "default_fonts",
    "prepare",
    "read_batch",
    "render_badge",
    "render_badges",
    "render_pdf",
]
