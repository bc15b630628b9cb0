"""Drawing cards into a PDF with fpdf2, and writing the PDF whole or not at all.

Card layout (mm, origin top left; docs/badge.md has the picture): a title band across the top,
the portrait left with the serial under it, the masked name, service categories, enterprise
and validity in the middle, the QR right with "扫码验证 / Scan to verify" under it. All text is
Noto Sans CJK SC, embedded as a subset.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from anxinma.badge.card import Card, prepare
from anxinma.badge.fonts import FontSet, default_fonts
from anxinma.badge.geometry import (
    A4_HEIGHT_MM,
    A4_WIDTH_MM,
    CARD_HEIGHT_MM,
    CARD_WIDTH_MM,
    CARDS_PER_SHEET,
    CUT_MARK_GAP_MM,
    CUT_MARK_LENGTH_MM,
    DOT_MM,
    QR_MAX_SIDE_MM,
    QUIET_ZONE_MODULES,
    SAFE_MM,
    Layout,
    cut_lines,
    sheet_origin,
)
from anxinma.badge.items import (
    PHOTO_HEIGHT_MM,
    PHOTO_WIDTH_MM,
    BadgeError,
    BadgeInputError,
    BadgeItem,
    RowProblem,
)

#: Called as ``progress(stage, done, total)``; stage is "check" (items made ready), "draw"
#: (cards placed) or "write" (the PDF assembled, fonts subset).
Progress = Callable[[str, int, int], None]

TITLE_ZH = "居家上门服务证"
TITLE_EN = "HOME-SERVICE WORKER CARD"
SCAN_ZH = "扫码验证"
SCAN_EN = "Scan to verify"

_FONT = "notosanscjksc"
_BAND = (20, 83, 150)  # deep blue: the colour of most city service cards
_INK = (31, 41, 55)
_LABEL = (107, 114, 128)
_PLACEHOLDER_BG = (229, 231, 235)
_PLACEHOLDER_FG = (156, 163, 175)
_WHITE = (255, 255, 255)
_PT = 25.4 / 72  # one typographic point in mm

# The card's fixed grid (mm, from the card's top-left corner).
_BAND_HEIGHT = 10.5
_BODY_TOP = SAFE_MM + _BAND_HEIGHT + 2.5  # 15.5: photo top, QR top, first text line
_PHOTO_X = 4.5
_TEXT_X = _PHOTO_X + PHOTO_WIDTH_MM + 3.0  # 26.5
_QR_RIGHT = CARD_WIDTH_MM - 3.0
_TEXT_RIGHT = _QR_RIGHT - QR_MAX_SIDE_MM - 2.5  # the widest QR's quiet zone stays clear of text
_TEXT_WIDTH = _TEXT_RIGHT - _TEXT_X

#: Smallest text on the card, for labels; values are 6 pt and up, the name 15 pt (9 at least).
LABEL_PT = 5.5
NAME_SIZES = (15.0, 13.0, 11.0, 9.0)  # a name from another issuer may be longer than 李*霞
VALUE_SIZES = (7.0, 6.5, 6.0)


@dataclass(frozen=True, slots=True)
class BadgeReport:
    """What was written: the file, how many cards on how many pages, the QR versions and the
    smallest module printed (mm)."""

    path: Path | None
    cards: int
    pages: int
    size: int
    qr_versions: tuple[int, ...]
    min_module_mm: float


def render_pdf(
    items: Sequence[BadgeItem | Card],
    *,
    layout: Layout | str = Layout.CARD,
    fonts: FontSet | None = None,
    progress: Progress | None = None,
) -> tuple[bytes, BadgeReport]:
    """The PDF of ``items`` in ``layout``, as bytes, with its report.

    Every item is checked first; if any cannot be printed, :class:`BadgeInputError` lists
    them all (by ``item.line`` when set, else by position) and no PDF is made. Raises
    :class:`FontNotFound` when the CJK font is not installed and ``fonts`` is not given.
    """
    chosen = Layout(layout)
    if not items:
        raise BadgeError("no badges to print: the batch is empty", message_zh="没有可制证的记录：批次为空")
    cards = check(items, progress)
    document = _Document(fonts or default_fonts(), chosen, len(cards))
    for done, card in enumerate(cards, 1):
        document.add(card)
        if progress is not None:
            progress("draw", done, len(cards))
    if progress is not None:
        progress("write", 0, 1)
    data = document.output()  # fonts are subset here: the one step whose time grows with no card
    if progress is not None:
        progress("write", 1, 1)
    report = BadgeReport(
        path=None,
        cards=len(cards),
        pages=document.pages,
        size=len(data),
        qr_versions=tuple(sorted({card.qr_version for card in cards})),
        min_module_mm=min(card.module_mm for card in cards),
    )
    return data, report


def check(items: Sequence[BadgeItem | Card], progress: Progress | None = None) -> list[Card]:
    """:func:`prepare` every item; :class:`BadgeInputError` lists every item that fails."""
    cards: list[Card] = []
    problems: list[RowProblem] = []
    for position, item in enumerate(items, 1):
        try:
            cards.append(item if isinstance(item, Card) else prepare(item))
        except BadgeError as exc:
            source = item.item if isinstance(item, Card) else item
            line = source.line if source.line is not None else position
            problems.append(RowProblem(line, exc.message, exc.message_zh, from_file=source.line is not None))
        if progress is not None:
            progress("check", position, len(items))
    if problems:
        raise BadgeInputError(problems, total=len(items))
    return cards


def render_badges(
    items: Sequence[BadgeItem | Card],
    path: Path | str,
    *,
    layout: Layout | str = Layout.CARD,
    fonts: FontSet | None = None,
    progress: Progress | None = None,
) -> BadgeReport:
    """Write the badges of ``items`` to ``path``: the whole PDF or nothing.

    The PDF is made in memory, written to a temporary file beside ``path`` and renamed over
    it, so a crash or a bad row never leaves a half-written PDF (an older file at ``path``
    stays as it was). Raises what :func:`render_pdf` raises, and ``OSError`` for the file.
    """
    target = Path(path)
    data, report = render_pdf(items, layout=layout, fonts=fonts, progress=progress)
    _write_whole(target, data)
    return BadgeReport(
        target, report.cards, report.pages, report.size, report.qr_versions, report.min_module_mm
    )


def render_badge(
    item: BadgeItem | Card,
    path: Path | str,
    *,
    layout: Layout | str = Layout.CARD,
    fonts: FontSet | None = None,
) -> BadgeReport:
    """One card, e.g. from the encoding station right after the card was written and read back."""
    return render_badges([item], path, layout=layout, fonts=fonts)


def _write_whole(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Document:
    """An fpdf2 document of one layout; :meth:`add` places the next card."""

    def __init__(self, fonts: FontSet, layout: Layout, cards: int) -> None:
        self.layout = layout
        self.sheets_total = -(-cards // CARDS_PER_SHEET)
        size = (A4_WIDTH_MM, A4_HEIGHT_MM) if layout is Layout.A4 else (CARD_WIDTH_MM, CARD_HEIGHT_MM)
        pdf = FPDF(orientation="P", unit="mm", format=size)
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0, 0)
        pdf.c_margin = 0
        try:
            pdf.add_font(_FONT, "", str(fonts.regular.path), collection_font_number=fonts.regular.index)
            pdf.add_font(_FONT, "B", str(fonts.bold.path), collection_font_number=fonts.bold.index)
        except (OSError, RuntimeError) as exc:
            raise BadgeError(
                f"the badge font cannot be loaded: {exc}", message_zh=f"无法加载制证字体：{exc}"
            ) from None
        pdf.set_lang("zh-CN")
        pdf.set_title(f"{TITLE_ZH} / Home-Service Worker Cards")
        pdf.set_creator("anxinma badge")
        pdf.set_display_mode("fullpage")
        self.pdf = pdf
        self.count = 0
        self.sheets = 0

    @property
    def pages(self) -> int:
        return int(self.pdf.pages_count)

    def add(self, card: Card) -> None:
        if self.layout is Layout.CARD:
            self.pdf.add_page()
            origin = (0.0, 0.0)
        else:
            position = self.count % CARDS_PER_SHEET
            if position == 0:
                self.pdf.add_page()
                self.sheets += 1
                self._sheet_furniture()
            origin = sheet_origin(position)
        _draw_card(self.pdf, card, *origin)
        self.count += 1

    def _sheet_furniture(self) -> None:
        """Cut marks in the margins, in line with every cut, and a printing note between them."""
        pdf = self.pdf
        xs, ys = cut_lines()
        top, bottom = ys[0], ys[-1]
        left, right = xs[0], xs[-1]
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.15)
        gap, length = CUT_MARK_GAP_MM, CUT_MARK_LENGTH_MM
        for x in xs:
            pdf.line(x, top - gap - length, x, top - gap)
            pdf.line(x, bottom + gap, x, bottom + gap + length)
        for y in ys:
            pdf.line(left - gap - length, y, left - gap, y)
            pdf.line(right + gap, y, right + gap + length, y)
        pdf.set_text_color(*_LABEL)
        pdf.set_font(_FONT, "", 6.5)
        above = top - gap - length / 2 + 1.0
        below = bottom + gap + length / 2 + 1.0
        pdf.text(left + 4, above, f"{TITLE_ZH} · Home-Service Worker Cards")
        sheet = f"第 {self.sheets}/{self.sheets_total} 页 · sheet {self.sheets} of {self.sheets_total}"
        pdf.text(right - 4 - pdf.get_string_width(sheet), above, sheet)
        pdf.text(left + 4, below, "请按实际大小（100%）打印 · Print at actual size (100%)")
        cut = "沿裁切标记裁开 · Cut at the marks"
        pdf.text(right - 4 - pdf.get_string_width(cut), below, cut)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


# -- one card ------------------------------------------------------------------------------


def _draw_card(pdf: FPDF, card: Card, ox: float, oy: float) -> None:
    _draw_band(pdf, card, ox, oy)
    _draw_photo(pdf, card, ox + _PHOTO_X, oy + _BODY_TOP)
    _draw_serial(pdf, card, ox, oy)
    _draw_text(pdf, card, ox, oy)
    _draw_qr(pdf, card, ox, oy)


def _draw_band(pdf: FPDF, card: Card, ox: float, oy: float) -> None:
    pdf.set_fill_color(*_BAND)
    pdf.rect(
        ox + SAFE_MM,
        oy + SAFE_MM,
        CARD_WIDTH_MM - 2 * SAFE_MM,
        _BAND_HEIGHT,
        style="F",
        round_corners=True,
        corner_radius=1.6,
    )
    pdf.set_text_color(*_WHITE)
    left = ox + SAFE_MM + 2.5
    pdf.set_font(_FONT, "B", 12.5)
    pdf.text(left, oy + SAFE_MM + 6.1, TITLE_ZH)
    pdf.set_font(_FONT, "", 5.5)
    pdf.text(left, oy + SAFE_MM + 9.0, TITLE_EN)
    right = ox + CARD_WIDTH_MM - SAFE_MM - 2.5
    # The issuer's name is not in the credential: without one, the code alone says who issued it.
    issuer = card.item.issuer_name
    pdf.set_font(_FONT, "B", 7.0)
    name = _truncate(pdf, issuer, 30.0) if issuer else "签发 Issuer"
    pdf.text(right - pdf.get_string_width(name), oy + SAFE_MM + 5.2, name)
    pdf.set_font(_FONT, "", 5.5)
    code = f"签发 Issuer · {card.issuer_code}" if issuer else str(card.issuer_code)
    pdf.text(right - pdf.get_string_width(code), oy + SAFE_MM + 8.6, code)


def _draw_photo(pdf: FPDF, card: Card, x: float, y: float) -> None:
    w, h = PHOTO_WIDTH_MM, PHOTO_HEIGHT_MM
    if card.photo is not None:
        pdf.image(io.BytesIO(card.photo.jpeg), x=x, y=y, w=w, h=h)
    else:
        pdf.set_fill_color(*_PLACEHOLDER_BG)
        pdf.rect(x, y, w, h, style="F")
        pdf.set_fill_color(*_PLACEHOLDER_FG)
        with pdf.rect_clip(x, y, w, h):
            head = w * 0.42
            pdf.ellipse(x + (w - head) / 2, y + h * 0.2, head, head * 1.12, style="F")
            pdf.ellipse(x + w * 0.08, y + h * 0.66, w * 0.84, h * 0.62, style="F")
    pdf.set_draw_color(*_PLACEHOLDER_FG)
    pdf.set_line_width(0.15)
    pdf.rect(x, y, w, h, style="D")


def _draw_serial(pdf: FPDF, card: Card, ox: float, oy: float) -> None:
    centre = ox + _PHOTO_X + PHOTO_WIDTH_MM / 2
    top = oy + _BODY_TOP + PHOTO_HEIGHT_MM
    pdf.set_text_color(*_LABEL)
    pdf.set_font(_FONT, "", LABEL_PT)
    label = "编号 No."
    pdf.text(centre - pdf.get_string_width(label) / 2, top + 3.6, label)
    pdf.set_text_color(*_INK)
    pdf.set_font(_FONT, "B", 9.0)
    serial = str(card.serial)
    pdf.text(centre - pdf.get_string_width(serial) / 2, top + 7.6, serial)


def _draw_text(pdf: FPDF, card: Card, ox: float, oy: float) -> None:
    """Name, then the fields one under another; the worst case (all seven categories on
    three lines, a two-line enterprise) still ends inside the safe area (tests check it)."""
    x = ox + _TEXT_X
    pdf.set_text_color(*_INK)
    size, lines = _fit(pdf, [_Choice(_tokens(card.display_name), "", NAME_SIZES, 1, style="B")])
    pdf.set_font(_FONT, "B", size)
    baseline = oy + _BODY_TOP + 5.0
    pdf.text(x, baseline, lines[0])

    with_english = [f"{c.zh} {c.en}" for c in card.categories]
    chinese = [c.zh for c in card.categories]
    size, lines = _fit(
        pdf,
        [
            _Choice(with_english, "  ·  ", VALUE_SIZES[:2], 2, split=False),
            _Choice(chinese, "、", VALUE_SIZES, 2),
            _Choice(chinese, "、", VALUE_SIZES[1:], 3),
        ],
    )
    baseline = _field(pdf, x, baseline + 4.6, "服务类别 Services", size, lines)

    size, lines = _fit(pdf, [_Choice(_tokens(card.enterprise_name), "", VALUE_SIZES, 2)])
    baseline = _field(pdf, x, baseline + _FIELD_GAP, "所属企业 Enterprise", size, lines)

    validity = f"{card.valid_from.isoformat()} 至 {card.valid_until.isoformat()}"
    size, lines = _fit(pdf, [_Choice([validity], "", VALUE_SIZES, 1)])
    _field(pdf, x, baseline + _FIELD_GAP, "有效期 Valid", size, lines)


_FIELD_GAP = 3.4  # from a field's last baseline to the next label's baseline (mm)


def _field(pdf: FPDF, x: float, label_baseline: float, label: str, size: float, lines: list[str]) -> float:
    """A grey label and its value lines; returns the baseline of the last line."""
    pdf.set_text_color(*_LABEL)
    pdf.set_font(_FONT, "", LABEL_PT)
    pdf.text(x, label_baseline, label)
    pdf.set_text_color(*_INK)
    pdf.set_font(_FONT, "", size)
    leading = size * _PT * 1.3
    baseline = label_baseline + 0.6
    for line in lines:
        baseline += leading
        pdf.text(x, baseline, line)
    return baseline


def _draw_qr(pdf: FPDF, card: Card, ox: float, oy: float) -> None:
    module = card.module_mm
    side = card.qr_side_mm
    # Centre the symbol in the box the widest QR would take, so every card lines up.
    # and snap it to the printer's dot grid so that module edges fall on dot edges.
    left = _snap(ox + _QR_RIGHT - QR_MAX_SIDE_MM + (QR_MAX_SIDE_MM - side) / 2)
    top = _snap(oy + _BODY_TOP + (QR_MAX_SIDE_MM - side) / 2)
    pdf.set_fill_color(0, 0, 0)
    for column, row, width, height in _qr_rectangles(card.qr_rows):
        pdf.rect(left + column * module, top + row * module, width * module, height * module, style="F")
    centre = left + side / 2
    baseline = oy + _BODY_TOP + QR_MAX_SIDE_MM + QUIET_ZONE_MODULES * module + 2.2
    caption = f"{SCAN_ZH} {SCAN_EN}"
    pdf.set_text_color(*_INK)
    pdf.set_font(_FONT, "B", 6.5)
    pdf.text(centre - pdf.get_string_width(caption) / 2, baseline, caption)


def _snap(mm: float) -> float:
    return round(mm / DOT_MM) * DOT_MM


def _qr_rectangles(rows: Sequence[bytes]) -> list[tuple[int, int, int, int]]:
    """Dark modules as few rectangles: runs along each row, stacked where rows repeat a run.

    Fewer, larger rectangles draw faster and leave no hairline seams between modules in a
    viewer's anti-aliasing.
    """
    done: list[tuple[int, int, int, int]] = []
    open_runs: dict[tuple[int, int], int] = {}  # (start column, width) -> first row
    for y, row in enumerate(rows):
        runs: set[tuple[int, int]] = set()
        x, n = 0, len(row)
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                runs.add((start, x - start))
            else:
                x += 1
        for run in list(open_runs):
            if run not in runs:
                first = open_runs.pop(run)
                done.append((run[0], first, run[1], y - first))
        for run in runs:
            open_runs.setdefault(run, y)
    for run, first in open_runs.items():
        done.append((run[0], first, run[1], len(rows) - first))
    return done


# -- text fitting --------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9&'’.\-]*|\s+|.")


def _tokens(text: str) -> list[str]:
    """Units a line may break between: each CJK character, each Latin word, each space."""
    return _TOKEN.findall(text)


def _wrap(
    pdf: FPDF, units: Sequence[str], separator: str, width: float, *, split: bool = True
) -> list[str] | None:
    """Greedy line filling in the current font. A unit wider than a line is broken inside
    (at CJK characters and Latin words) when ``split``, else the text does not wrap: None."""
    lines: list[str] = []
    line = ""
    for unit in units:
        candidate = f"{line}{separator}{unit}" if line else unit.lstrip()
        if pdf.get_string_width(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line.rstrip())
        line = unit.lstrip()
        if pdf.get_string_width(line) > width:
            if not split:
                return None
            pieces = _wrap(pdf, _tokens(line), "", width) or [""]
            lines.extend(pieces[:-1])
            line = pieces[-1]
    if line.strip():
        lines.append(line.rstrip())
    return lines


@dataclass(frozen=True, slots=True)
class _Choice:
    """One way to set a field: its units joined by ``separator``, tried at each size."""

    units: Sequence[str]
    separator: str
    sizes: Sequence[float]
    max_lines: int
    split: bool = True
    style: str = ""


def _fit(pdf: FPDF, choices: Sequence[_Choice]) -> tuple[float, list[str]]:
    """The first choice, at the first of its sizes, whose lines fit the text column; failing
    all, the last choice at its smallest size, cut short with an ellipsis."""
    for choice in choices:
        for size in choice.sizes:
            pdf.set_font(_FONT, choice.style, size)
            lines = _wrap(pdf, choice.units, choice.separator, _TEXT_WIDTH, split=choice.split)
            if lines is not None and len(lines) <= choice.max_lines:
                return size, lines
    last = choices[-1]
    size = last.sizes[-1]
    pdf.set_font(_FONT, last.style, size)
    kept = (_wrap(pdf, last.units, last.separator, _TEXT_WIDTH) or [""])[: last.max_lines]
    kept[-1] = _truncate(pdf, kept[-1] + "…", _TEXT_WIDTH)
    return size, kept


def _truncate(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut (with an ellipsis) to ``width`` in the current font."""
    if pdf.get_string_width(text) <= width:
        return text
    body = text.rstrip("…")
    while body and pdf.get_string_width(body + "…") > width:
        body = body[:-1]
    return body + "…"
