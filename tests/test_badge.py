"""Printed badges: the PDF is rasterised at 300 dpi (pdftoppm) and every QR on it must decode
(zxing-cpp) to its row's credential; the Chinese must be in the text layer (pdftotext); the
fonts must be embedded subsets (pdffonts); bad rows must stop the batch with nothing written."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import zxingcpp
from click.testing import CliRunner, Result
from PIL import Image

from anxinma import credential as fmt
from anxinma.badge import (
    BadgeError,
    BadgeInputError,
    BadgeItem,
    Photo,
    fonts,
    read_batch,
    render_badge,
    render_badges,
)
from anxinma.badge.card import prepare
from anxinma.badge.geometry import (
    CARD_HEIGHT_MM,
    CARD_WIDTH_MM,
    CUT_MARK_GAP_MM,
    CUT_MARK_LENGTH_MM,
    DOT_MM,
    MIN_MODULE_DOTS,
    QUIET_ZONE_MODULES,
    SAFE_MM,
    SHEET_LEFT_MM,
    SHEET_TOP_MM,
    cut_lines,
    module_dots,
)
from anxinma.cli import main
from anxinma.ed25519 import SigningKey
from anxinma.keys import KeyDirectory
from anxinma.qr import make_qr

BASE = "https://v.anxinma.cn"
DPI = 300
PX_PER_MM = DPI / 25.4
PT_PER_MM = 72 / 25.4
ENTERPRISES = [
    "宁波市海曙区安心家政服务有限公司",
    "鄞州好帮手家政",
    "浙江省宁波市鄞州区幸福家庭家政服务有限责任公司",
    "Happy Home Services 宁波分公司",
]
NAMES = ["李小霞", "王芳", "欧阳娜娜", "张伟"]
CATEGORY_SETS = [
    {fmt.Category.INFANT_CARE, fmt.Category.ELDERLY_CARE, fmt.Category.CLEANING},
    {fmt.Category.MATERNITY_CARE},
    set(fmt.Category),
    {fmt.Category.HOME_COOK, fmt.Category.MOVING},
]


@dataclass(frozen=True)
class Issuer:
    kid: bytes
    key: SigningKey

    def credential(
        self,
        serial: int,
        *,
        name: str = "李小霞",
        categories: set[fmt.Category] | None = None,
        card_uid: bytes | None = None,
        holder_key: bytes | None = None,
        kind: fmt.SubjectKind = fmt.SubjectKind.WORKER,
    ) -> fmt.Credential:
        claims = fmt.Claims(
            issuer_code=330200,
            serial=serial,
            subject_kind=kind,
            archive_id=100_000 + serial,
            enterprise_id=253,
            display_name=fmt.mask_name(name) if kind is fmt.SubjectKind.WORKER else name,
            categories=frozenset(categories if categories is not None else {fmt.Category.CLEANING}),
            issued_at=fmt.parse_when("2025-06-01", "issued_at"),
            expires_at=fmt.parse_when("2026-06-01", "expires_at"),
            card_uid=card_uid,
            holder_key=holder_key,
        )
        return fmt.sign(claims, self.key, self.kid)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    store = KeyDirectory.init(tmp_path_factory.mktemp("keys") / "keys", insecure_dev=True)
    kid, key = store.signing_key()
    return Issuer(kid, key)


def portrait(path: Path, size: tuple[int, int] = (600, 800), mode: str = "RGB") -> Path:
    """A stand-in portrait (a face and shoulders in flat colours)."""
    from PIL import ImageDraw

    image = Image.new(mode, size, (200, 220, 240) if mode == "RGB" else (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.32, h * 0.2, w * 0.68, h * 0.52), fill=(230, 190, 160, 255))
    draw.ellipse((w * 0.13, h * 0.62, w * 0.87, h * 1.25), fill=(40, 60, 110, 255))
    image.save(path)
    return path


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["badge", *args], catch_exceptions=False)


def rasterise(pdf: Path, *, dpi: int = DPI) -> list[Image.Image]:
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, timeout=120)
    pages = sorted(pdf.parent.glob(f"{prefix.name}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [Image.open(page).convert("L") for page in pages]


def qr_codes(page: Image.Image) -> list[zxingcpp.Barcode]:
    return [code for code in zxingcpp.read_barcodes(page) if code.format == zxingcpp.BarcodeFormat.QRCode]


def pdftotext(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def pdffonts(pdf: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def word_boxes(pdf: Path) -> list[list[tuple[str, float, float, float, float]]]:
    """Per page, every word of the text layer with its em box in mm (x0, y0, x1, y1).

    pdftotext boxes run from the font's ascender to its descender (Noto CJK: 1.160 and
    0.288 em); the em box that CJK glyphs fill is 0.880 above to 0.120 below the baseline.
    """
    html = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = []
    for page in html.split("<page ")[1:]:
        words = []
        for a, b, c, d, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', page
        ):
            x0, y0, x1, y1 = (float(v) / PT_PER_MM for v in (a, b, c, d))
            em = (y1 - y0) / (1.160 + 0.288)
            baseline = y1 - 0.288 * em
            words.append((text, x0, baseline - 0.880 * em, x1, baseline + 0.120 * em))
        pages.append(words)
    return pages


# -- a batch of cards, one a page ----------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    pdf: Path
    credentials: list[fmt.Credential]
    enterprises: list[str]


@pytest.fixture(scope="module")
def card_batch(issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """Six workers in the NFC station's report format (extra columns), photos relative to the
    batch file, one with a PNG, two with no photo, one bound to a card UID."""
    folder = tmp_path_factory.mktemp("card-batch")
    (folder / "photos").mkdir()
    portrait(folder / "photos" / "li.jpg")
    portrait(folder / "photos" / "zhang.png", (480, 640), mode="RGBA")
    photos = ["photos/li.jpg", "", "photos/li.jpg", "photos/zhang.png", "", "photos/li.jpg"]
    credentials, enterprises = [], []
    lines = ["worker_id,serial,card_uid,code,enterprise_name,photo,notes"]
    for i in range(6):
        uid = bytes.fromhex("04a1b2c3d4e5f6") if i == 1 else None
        cred = issuer.credential(61442 + i, name=NAMES[i % 4], categories=CATEGORY_SETS[i % 4], card_uid=uid)
        credentials.append(cred)
        enterprises.append(ENTERPRISES[i % 4])
        lines.append(
            f'{i},{61442 + i},{uid.hex() if uid else ""},{cred.to_url(BASE)},"{ENTERPRISES[i % 4]}",{photos[i]},x'
        )
    (folder / "batch.csv").write_text("\n".join(lines) + "\n", "utf-8")
    pdf = folder / "cards.pdf"
    result = run_cli("--batch", str(folder / "batch.csv"), "-o", str(pdf), "--issuer-name", "宁波市商务局")
    assert result.exit_code == 0, result.output
    assert "6 card(s) on 6 page(s)" in result.stdout
    return Batch(pdf, credentials, enterprises)


def test_every_card_page_has_one_qr_that_decodes_to_its_rows_credential(card_batch: Batch) -> None:
    pages = rasterise(card_batch.pdf)
    assert len(pages) == len(card_batch.credentials)
    for page, cred in zip(pages, card_batch.credentials, strict=True):
        assert abs(page.width - CARD_WIDTH_MM * PX_PER_MM) <= 1.5
        assert abs(page.height - CARD_HEIGHT_MM * PX_PER_MM) <= 1.5
        codes = qr_codes(page)
        assert len(codes) == 1
        assert fmt.parse_text(codes[0].text) == cred.to_bytes()


def test_qr_is_printed_at_the_module_size_its_version_calls_for(card_batch: Batch) -> None:
    page = rasterise(card_batch.pdf)[0]
    (code,) = qr_codes(page)
    modules = make_qr(card_batch.credentials[0], BASE).symbol_size(border=0)[0]
    dots = module_dots(modules)
    assert dots is not None and dots >= MIN_MODULE_DOTS
    position = code.position
    width_px = position.top_right.x - position.top_left.x
    # at 300 dpi one printer dot is one pixel: the symbol is modules x dots pixels wide
    assert abs(width_px - modules * dots) <= 2
    assert width_px / modules * 25.4 / DPI >= 0.42


def test_module_size_rule_picks_whole_printer_dots_and_refuses_below_the_minimum() -> None:
    assert module_dots(41) == 7  # version 6
    assert module_dots(49) == 6  # version 8: 0.508 mm
    assert module_dots(53) == 6  # version 9
    assert module_dots(57) == 5  # version 10: 0.423 mm
    assert module_dots(61) == 5  # version 11
    assert module_dots(65) is None  # version 12 would need 0.35 mm modules
    assert MIN_MODULE_DOTS * DOT_MM >= 0.42


def test_a_qr_too_dense_for_the_card_is_refused(issuer: Issuer) -> None:
    cred = issuer.credential(
        4_000_000_000, name="欧阳娜娜", categories=set(fmt.Category), card_uid=bytes(10), holder_key=bytes(32)
    )
    base = "https://verify." + "anxinma-" * 12 + "example.cn"  # a base URL of 117 characters
    assert make_qr(cred, base).version >= 12
    with pytest.raises(BadgeError, match="version"):
        prepare(BadgeItem(cred, ENTERPRISES[0], base))


def test_chinese_text_is_in_the_pdf_text_layer(card_batch: Batch) -> None:
    text = pdftotext(card_batch.pdf)
    flat = text.replace("\n", "")
    for needle in (
        "居家上门服务证",
        "HOME-SERVICE WORKER CARD",
        "扫码验证",
        "Scan to verify",
        "宁波市商务局",
    ):
        assert needle in text
    for cred, enterprise in zip(card_batch.credentials, card_batch.enterprises, strict=True):
        claims = cred.claims
        assert claims.display_name in text
        assert enterprise.replace(" ", "") in flat.replace(" ", "")
        assert str(claims.serial) in text
        for category in claims.categories:
            assert category.zh in text
    assert "2025-06-01 至 2026-05-31" in text  # the last valid day, not the expiry day
    assert "李小霞" not in text


def test_fonts_are_embedded_as_subsets(card_batch: Batch) -> None:
    rows = pdffonts(card_batch.pdf)
    assert len(rows) >= 2  # regular and bold
    for row in rows:
        name, emb, sub = row[0], row[-5], row[-4]
        assert (emb, sub) == ("yes", "yes"), row
        assert re.fullmatch(r"[A-Z]{6}\+NotoSansCJKSC.*", name), row
    # six cards with three photos: a whole Noto CJK face alone would be 16 MB
    assert card_batch.pdf.stat().st_size < 300_000


def test_text_stays_inside_the_safe_area_and_clear_of_the_qr(card_batch: Batch) -> None:
    pages = rasterise(card_batch.pdf)
    for page, words in zip(pages, word_boxes(card_batch.pdf), strict=True):
        (code,) = qr_codes(page)
        p = code.position
        qr = [v / PX_PER_MM for v in (p.top_left.x, p.top_left.y, p.bottom_right.x, p.bottom_right.y)]
        quiet = QUIET_ZONE_MODULES * 0.5
        for text, x0, y0, x1, y1 in words:
            assert x0 >= SAFE_MM - 0.3 and x1 <= CARD_WIDTH_MM - SAFE_MM + 0.3, text
            assert y0 >= SAFE_MM - 0.3 and y1 <= CARD_HEIGHT_MM - SAFE_MM + 0.3, text
            inside_qr_zone = (
                x1 > qr[0] - quiet and x0 < qr[2] + quiet and y1 > qr[1] - quiet and y0 < qr[3] + quiet
            )
            assert not inside_qr_zone, f"{text!r} is in the QR's quiet zone"
        for i, (a, ax0, ay0, ax1, ay1) in enumerate(words):
            for b, bx0, by0, bx1, by1 in words[i + 1 :]:
                overlap = min(ax1, bx1) - max(ax0, bx0) > 0.2 and min(ay1, by1) - max(ay0, by0) > 0.2
                assert not overlap, f"{a!r} overlaps {b!r}"


def test_a_very_long_name_shrinks_to_fit_its_column(issuer: Issuer, tmp_path: Path) -> None:
    long_name = dataclasses.replace(issuer.credential(7).claims, display_name="欧阳*娜娜娜娜")
    cred = fmt.sign(long_name, issuer.key, issuer.kid)
    render_badge(BadgeItem(cred, ENTERPRISES[2], BASE), tmp_path / "one.pdf")
    (words,) = word_boxes(tmp_path / "one.pdf")
    (page,) = rasterise(tmp_path / "one.pdf")
    (code,) = qr_codes(page)
    qr_left = code.position.top_left.x / PX_PER_MM
    name = [w for w in words if w[0].startswith("欧阳")]
    assert name and name[0][3] < qr_left - 2.0


# -- A4 sheets -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sheet(issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """Twelve workers as JSON lines: one full sheet and two cards on the next."""
    folder = tmp_path_factory.mktemp("sheet")
    credentials = [
        issuer.credential(2000 + i, name=NAMES[i % 4], categories=CATEGORY_SETS[i % 4]) for i in range(12)
    ]
    enterprises = [ENTERPRISES[i % 4] for i in range(12)]
    lines = [
        json.dumps(
            {"code": c.to_hex(), "enterprise_name": e, "photo": None, "card_uid": None}, ensure_ascii=False
        )
        for c, e in zip(credentials, enterprises, strict=True)
    ]
    (folder / "batch.jsonl").write_text("\n".join(lines) + "\n\n", "utf-8")
    pdf = folder / "sheet.pdf"
    result = run_cli(
        "--batch", str(folder / "batch.jsonl"), "-o", str(pdf), "--layout", "a4", "--base-url", BASE
    )
    assert result.exit_code == 0, result.output
    return Batch(pdf, credentials, enterprises)


def test_a4_sheet_holds_ten_cards_each_qr_in_its_own_cell(sheet: Batch) -> None:
    pages = rasterise(sheet.pdf)
    assert len(pages) == 2
    seen = 0
    for number, page in enumerate(pages):
        assert abs(page.width - 210 * PX_PER_MM) <= 2 and abs(page.height - 297 * PX_PER_MM) <= 2
        codes = qr_codes(page)
        assert len(codes) == (10 if number == 0 else 2)
        for code in codes:
            p = code.position
            cx = (p.top_left.x + p.bottom_right.x) / 2 / PX_PER_MM
            cy = (p.top_left.y + p.bottom_right.y) / 2 / PX_PER_MM
            column, row = (
                int((cx - SHEET_LEFT_MM) // CARD_WIDTH_MM),
                int((cy - SHEET_TOP_MM) // CARD_HEIGHT_MM),
            )
            assert 0 <= column < 2 and 0 <= row < 5
            expected = sheet.credentials[number * 10 + row * 2 + column]
            assert fmt.parse_text(code.text) == expected.to_bytes()
            seen += 1
    assert seen == 12
    text = pdftotext(sheet.pdf)
    for cred in sheet.credentials:
        assert cred.claims.display_name in text
    assert "签发 Issuer" in text and "330200" in text  # no --issuer-name: the code says who issued it
    assert "第 1/2 页" in text and "第 2/2 页" in text


def test_a4_cut_marks_stand_in_line_with_every_cut_and_off_the_cards(sheet: Batch) -> None:
    page = rasterise(sheet.pdf)[0]
    xs, ys = cut_lines()
    dark = 128

    def px(mm: float) -> int:
        return round(mm * PX_PER_MM)

    def darkest(x0: float, y0: float, x1: float, y1: float) -> int:
        box = page.crop((px(x0), px(y0), px(x1) + 1, px(y1) + 1))
        return int(box.getextrema()[0])

    top, bottom, left, right = ys[0], ys[-1], xs[0], xs[-1]
    mark_near, mark_far = CUT_MARK_GAP_MM + 0.5, CUT_MARK_GAP_MM + CUT_MARK_LENGTH_MM - 0.5
    for x in xs:
        assert darkest(x - 0.1, top - mark_far, x + 0.1, top - mark_near) < dark
        assert darkest(x - 0.1, bottom + mark_near, x + 0.1, bottom + mark_far) < dark
        # the gap between a mark and the cards stays blank
        assert darkest(x - 0.1, top - CUT_MARK_GAP_MM + 0.3, x + 0.1, top - 0.3) > 200
    for y in ys:
        assert darkest(left - mark_far, y - 0.1, left - mark_near, y + 0.1) < dark
        assert darkest(right + mark_near, y - 0.1, right + mark_far, y + 0.1) < dark
        assert darkest(left - CUT_MARK_GAP_MM + 0.3, y - 0.1, left - 0.3, y + 0.1) > 200


# -- the station's single card -------------------------------------------------------------


def test_render_badge_writes_one_card_for_the_station(issuer: Issuer, tmp_path: Path) -> None:
    cred = issuer.credential(99, card_uid=bytes.fromhex("04112233445566"))
    photo = portrait(tmp_path / "p.png").read_bytes()
    report = render_badge(
        BadgeItem(cred, "鄞州好帮手家政", BASE, photo=photo, issuer_name="宁波市商务局"), tmp_path / "c.pdf"
    )
    assert (report.cards, report.pages) == (1, 1)
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "c.pdf")], check=True, capture_output=True, text=True
    ).stdout
    assert "242.65 x 153.07 pts" in info  # 85.6 x 54 mm
    (page,) = rasterise(tmp_path / "c.pdf")
    (code,) = qr_codes(page)
    assert fmt.parse_text(code.text) == cred.to_bytes()


# -- bad input -----------------------------------------------------------------------------


def test_bad_rows_are_all_listed_by_line_and_nothing_is_written(issuer: Issuer, tmp_path: Path) -> None:
    portrait(tmp_path / "ok.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"this is not a JPEG")
    good = issuer.credential(1).to_url(BASE)
    rows = [
        "code,enterprise_name,photo",
        f"{good},安心家政,ok.jpg",  # line 2: fine
        "not-a-code,安心家政,",  # line 3: bad code
        f"{issuer.credential(3).to_url(BASE)},安心家政,missing.jpg",  # line 4: no such photo
        f"{issuer.credential(4).to_url(BASE)},安心家政,broken.jpg",  # line 5: not an image
        f"{issuer.credential(5).to_url(BASE)},安心家政,",  # line 6: fine
        f"{issuer.credential(6, name='安心家政', categories=set(), kind=fmt.SubjectKind.ENTERPRISE).to_url(BASE)},安心家政,",
        f"{issuer.credential(7).to_url(BASE)},,",  # line 8: no enterprise
        f"{good},安心家政,",  # line 9: the same credential as line 2
    ]
    (tmp_path / "batch.csv").write_text("\n".join(rows) + "\n", "utf-8")
    output = tmp_path / "out.pdf"
    output.write_bytes(b"the previous batch")
    result = run_cli("--batch", str(tmp_path / "batch.csv"), "-o", str(output))
    assert result.exit_code == 2
    errors = result.stderr
    assert "未写入任何 PDF" in errors and "no PDF was written" in errors
    for line, words in {
        3: "这不是安心码",
        4: "照片文件不存在",
        5: "照片无法识别",
        7: "不是家政服务员的安心码",
        8: "企业名称",
        9: "第 2 行",
    }.items():
        assert re.search(rf"第 {line} 行 / line {line}: .*{words}", errors), (line, errors)
    assert "line 2:" not in errors and "line 6:" not in errors
    assert "Traceback" not in errors
    assert output.read_bytes() == b"the previous batch"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.csv", "broken.jpg", "ok.jpg", "out.pdf"]


def test_json_lines_report_a_line_that_is_not_an_object(issuer: Issuer, tmp_path: Path) -> None:
    good = json.dumps(
        {"code": issuer.credential(1).to_url(BASE), "enterprise_name": "安心家政"}, ensure_ascii=False
    )
    (tmp_path / "b.jsonl").write_text(f"{good}\n\n[1, 2]\n", "utf-8")
    with pytest.raises(BadgeInputError) as caught:
        read_batch(tmp_path / "b.jsonl")
    assert [p.line for p in caught.value.problems] == [3]


def test_a_batch_without_the_required_columns_or_rows_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cols.csv").write_text("serial,photo\n1,\n", "utf-8")
    with pytest.raises(BadgeError, match="enterprise_name"):
        read_batch(tmp_path / "cols.csv")
    (tmp_path / "empty.csv").write_text("code,enterprise_name,photo\n,,\n", "utf-8")
    with pytest.raises(BadgeError, match="no rows"):
        read_batch(tmp_path / "empty.csv")
    result = run_cli("--batch", str(tmp_path / "nowhere.csv"), "-o", str(tmp_path / "x.pdf"))
    assert result.exit_code == 2 and "批次文件不存在" in result.stderr


def test_the_stations_batch_file_is_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    # The console's batch file has no codes (they are issued while encoding): the badge
    # command must say so and point at --badges or the station's report, not list columns.
    path = tmp_path / "batch-7.csv"
    path.write_text(
        "worker_id,display_name,enterprise_id,enterprise_name,photo\n12,陈*芳,3,宁波好帮手家政,\n", "utf-8"
    )
    with pytest.raises(BadgeError) as refused:
        read_batch(path)
    assert "station encode --batch batch-7.csv" in refused.value.message
    assert "--badges" in refused.value.message and "report" in refused.value.message
    assert "写卡时才签发" in refused.value.message_zh


def test_the_badges_station_columns_are_the_stations_own() -> None:
    from anxinma.badge.batch import STATION_BATCH_COLUMNS
    from anxinma.nfc.batch import REQUIRED_COLUMNS

    assert set(REQUIRED_COLUMNS) == STATION_BATCH_COLUMNS  # badge cannot import nfc (nfc prints badges)


def test_a_code_without_a_url_needs_a_base_url(issuer: Issuer, tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text(
        f"code,enterprise_name\n{issuer.credential(1).to_decimal()},安心家政\n", "utf-8"
    )
    with pytest.raises(BadgeInputError, match="1 of 1"):
        read_batch(tmp_path / "b.csv")
    (card,) = read_batch(tmp_path / "b.csv", base_url=BASE)
    assert card.item.base_url == BASE


def test_a_csv_saved_by_excel_in_gb18030_is_read(issuer: Issuer, tmp_path: Path) -> None:
    text = f"code,enterprise_name,photo\r\n{issuer.credential(1).to_url(BASE)},鄞州好帮手家政,\r\n"
    (tmp_path / "gbk.csv").write_bytes(text.encode("gb18030"))
    (card,) = read_batch(tmp_path / "gbk.csv")
    assert card.enterprise_name == "鄞州好帮手家政"
    (tmp_path / "bom.csv").write_bytes(text.encode("utf-8-sig"))
    (card,) = read_batch(tmp_path / "bom.csv")
    assert card.enterprise_name == "鄞州好帮手家政"


@pytest.fixture
def no_font(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setattr(fonts, "SEARCH_DIRS", (tmp_path / "no-fonts",))
    fonts.default_fonts.cache_clear()
    yield
    fonts.default_fonts.cache_clear()


def test_a_missing_font_names_the_debian_package_and_writes_nothing(
    issuer: Issuer, tmp_path: Path, no_font: None
) -> None:
    (tmp_path / "b.csv").write_text(
        f"code,enterprise_name\n{issuer.credential(1).to_url(BASE)},安心家政\n", "utf-8"
    )
    result = run_cli("--batch", str(tmp_path / "b.csv"), "-o", str(tmp_path / "out.pdf"))
    assert result.exit_code == 2
    assert "fonts-noto-cjk" in result.stderr and "缺少中文字体" in result.stderr
    assert not (tmp_path / "out.pdf").exists()


# -- photos --------------------------------------------------------------------------------


def test_a_photo_is_turned_upright_cropped_to_the_box_and_flattened_on_white(tmp_path: Path) -> None:
    # stored sideways, as phones do: left half red, right half blue, EXIF says "rotate 90° CW"
    sideways = Image.new("RGB", (800, 600), (0, 0, 255))
    sideways.paste((255, 0, 0), (0, 0, 400, 600))
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways.save(tmp_path / "side.jpg", exif=exif.tobytes())
    upright = Image.open(io.BytesIO(Photo.load(tmp_path / "side.jpg").jpeg))
    assert upright.size[0] / upright.size[1] == pytest.approx(3 / 4, abs=0.01)
    top, bottom = (
        upright.getpixel((upright.width // 2, 5)),
        upright.getpixel((upright.width // 2, upright.height - 5)),
    )
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60  # red on top
    assert bottom[2] > 200 and bottom[0] < 60  # blue below

    clear = Image.new("RGBA", (300, 400), (0, 0, 0, 0))
    buffer = io.BytesIO()
    clear.save(buffer, "PNG")
    corner = Image.open(io.BytesIO(Photo.load(buffer.getvalue()).jpeg)).getpixel((2, 2))
    assert isinstance(corner, tuple) and min(corner) > 245  # transparent becomes white, not black


def test_only_jpeg_and_png_photos_are_accepted(tmp_path: Path) -> None:
    Image.new("RGB", (30, 40), "white").save(tmp_path / "p.gif")
    with pytest.raises(BadgeError, match="JPEG or PNG"):
        Photo.load(tmp_path / "p.gif")


def test_badges_can_be_written_from_items_without_a_file(issuer: Issuer, tmp_path: Path) -> None:
    items = [BadgeItem(issuer.credential(10 + i), ENTERPRISES[i], BASE) for i in range(3)]
    bad = BadgeItem(issuer.credential(20), " ", BASE)
    with pytest.raises(BadgeInputError) as caught:
        render_badges([*items, bad], tmp_path / "x.pdf", layout="a4")
    assert caught.value.problems[0].explain().startswith("第 4 项 / item 4")
    assert not (tmp_path / "x.pdf").exists()
