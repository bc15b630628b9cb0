"""Sizes on the card and on the sheet, in millimetres, and the QR module size rule.

docs/badge.md explains each number; the tests measure the printed result against them.
"""

from __future__ import annotations

from enum import StrEnum

#: ISO/IEC 7810 ID-1, the CR80 card every card printer takes.
CARD_WIDTH_MM = 85.6
CARD_HEIGHT_MM = 54.0
#: Nothing is printed closer than this to a card's edge: card printers leave an edge
#: unprinted, and a sheet cut by hand is off by a millimetre.
SAFE_MM = 2.5

#: A4 portrait, ten cards as two columns of five, edge to edge (one cut between two cards).
A4_WIDTH_MM = 210.0
A4_HEIGHT_MM = 297.0
SHEET_COLUMNS = 2
SHEET_ROWS = 5
CARDS_PER_SHEET = SHEET_COLUMNS * SHEET_ROWS
SHEET_LEFT_MM = (A4_WIDTH_MM - SHEET_COLUMNS * CARD_WIDTH_MM) / 2  # 19.4
SHEET_TOP_MM = (A4_HEIGHT_MM - SHEET_ROWS * CARD_HEIGHT_MM) / 2  # 13.5
#: Cut marks stand in the margin, in line with each cut, never on a card.
CUT_MARK_GAP_MM = 1.5
CUT_MARK_LENGTH_MM = 5.0

#: The QR is laid out on the grid of a 300 dpi card printer: a module is a whole number of
#: printer dots, so every module prints the same size (at 600 and 1200 dpi too).
PRINTER_DPI = 300
DOT_MM = 25.4 / PRINTER_DPI
#: The smallest module we print: 5 dots = 0.423 mm, inside the 0.33-0.5 mm that phone cameras
#: read at 15-25 cm; a code that would need smaller modules is refused, not printed.
MIN_MODULE_DOTS = 5
#: Larger modules than 7 dots (0.593 mm) buy nothing at arm's length and cost text room.
MAX_MODULE_DOTS = 7
#: The largest printed QR symbol (without its quiet zone) the card layout has room for.
QR_MAX_SIDE_MM = 27.0
#: ISO/IEC 18004 §7.3.8: four modules of light margin on every side.
QUIET_ZONE_MODULES = 4


class Layout(StrEnum):
    """``card``: one CR80 card a page, for card printers; ``a4``: ten a sheet, for office printers."""

    CARD = "card"
    A4 = "a4"


def module_dots(modules: int) -> int | None:
    """The module size, in printer dots, for a QR symbol ``modules`` modules wide.

    The largest size from :data:`MIN_MODULE_DOTS` to :data:`MAX_MODULE_DOTS` whose symbol fits
    :data:`QR_MAX_SIDE_MM`; ``None`` when even the smallest does not fit (the QR version is too
    high for a card: a shorter verify URL or fewer optional claims are needed).
    """
    for dots in range(MAX_MODULE_DOTS, MIN_MODULE_DOTS - 1, -1):
        if modules * dots * DOT_MM <= QR_MAX_SIDE_MM:
            return dots
    return None


def sheet_origin(position: int) -> tuple[float, float]:
    """Top-left corner (mm) of the card at ``position`` (0-9) on an A4 sheet, row by row."""
    row, column = divmod(position, SHEET_COLUMNS)
    return SHEET_LEFT_MM + column * CARD_WIDTH_MM, SHEET_TOP_MM + row * CARD_HEIGHT_MM


def cut_lines() -> tuple[list[float], list[float]]:
    """The x positions of the vertical cuts and the y positions of the horizontal cuts (mm)."""
    xs = [SHEET_LEFT_MM + column * CARD_WIDTH_MM for column in range(SHEET_COLUMNS + 1)]
    ys = [SHEET_TOP_MM + row * CARD_HEIGHT_MM for row in range(SHEET_ROWS + 1)]
    return xs, ys
