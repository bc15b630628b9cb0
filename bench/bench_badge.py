"""Badge PDF time per card, for a batch of 100, split into what is ours and what is not.

Ours: checking an item and laying out and drawing its card (text fitting, the QR as vector
rectangles, the photo placed), and assembling the PDF. Not ours, measured apart: QR encoding
(segno, through anxinma.qr.make_qr, most of it ISO 18004 mask selection), photo resampling
(Pillow, only for rows with a photo), and the once-a-PDF font work (loading the Noto CJK
collection, subsetting and embedding the glyphs a batch uses, both fontTools inside fpdf2).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from anxinma import credential as fmt
from anxinma.badge import BadgeItem, Card, Layout, Photo, default_fonts, prepare
from anxinma.badge import card as badge_card
from anxinma.badge import pdf as badge_pdf
from anxinma.keys import KeyDirectory
from anxinma.qr import make_qr
from bench._report import write_section

CARDS = 100
PHOTO_EVERY = 3  # one row in three has a photo
BASE = "https://v.anxinma.cn"
REPEAT = 5


def _items(folder: Path) -> list[BadgeItem]:
    from PIL import Image, ImageDraw

    store = KeyDirectory.init(folder / "keys", insecure_dev=True)
    kid, key = store.signing_key()
    photo = folder / "portrait.jpg"
    image = Image.new("RGB", (1200, 1600), (200, 220, 240))
    draw = ImageDraw.Draw(image)
    draw.ellipse((380, 320, 820, 830), fill=(230, 190, 160))
    draw.ellipse((160, 1000, 1040, 2000), fill=(40, 60, 110))
    image.save(photo, quality=90)
    items = []
    for i in range(CARDS):
        claims = fmt.Claims(
            issuer_code=store.issuer.code,
            serial=60_000 + i,
            subject_kind=fmt.SubjectKind.WORKER,
            archive_id=120_000 + i,
            enterprise_id=253,
            display_name=fmt.mask_name("李小霞"),
            categories=frozenset(
                {fmt.Category.INFANT_CARE, fmt.Category.ELDERLY_CARE, fmt.Category.CLEANING}
            ),
            issued_at=fmt.parse_when("2025-06-01", "issued_at"),
            expires_at=fmt.parse_when("2026-06-01", "expires_at"),
            card_uid=bytes([4, i, 0, 0, 0, 0, i]) if i % 2 else None,
        )
        cred = fmt.sign(claims, key, kid)
        items.append(
            BadgeItem(
                cred,
                "宁波市海曙区安心家政服务有限公司",
                BASE,
                photo=photo if i % PHOTO_EVERY == 0 else None,
                issuer_name="宁波市商务局",
            )
        )
    return items


def _timed(func: Callable[[], Any]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _median(func: Callable[[], Any]) -> float:
    return statistics.median(_timed(func) for _ in range(REPEAT))


@contextmanager
def _font_timer(totals: list[float]) -> Iterator[None]:
    """Time fpdf2's font embedding (subset + serialise) inside PDF assembly."""
    from fpdf.output import OutputProducer as producer

    original = getattr(producer, "_add_fonts", None)
    if original is None:  # another fpdf2 layout: report the fonts inside "assemble"
        yield
        return

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            totals.append(time.perf_counter() - start)

    producer._add_fonts = timed
    try:
        yield
    finally:
        producer._add_fonts = original


def _prepare_split(items: list[BadgeItem]) -> tuple[float, float]:
    """Seconds a card of QR encoding and of the rest of :func:`prepare`, from the same runs
    (the encoder is timed where prepare calls it)."""
    encoding: list[float] = []

    def timed_make_qr(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return make_qr(*args, **kwargs)
        finally:
            encoding.append(time.perf_counter() - start)

    runs = []
    badge_card.make_qr = timed_make_qr
    try:
        for _ in range(REPEAT):
            encoding.clear()
            total = _timed(lambda: [prepare(item) for item in items])
            runs.append((sum(encoding), total - sum(encoding)))
    finally:
        badge_card.make_qr = make_qr
    return statistics.median(r[0] for r in runs) / len(items), statistics.median(r[1] for r in runs) / len(
        items
    )


def _render_parts(cards: list[Card], layout: Layout) -> dict[str, float]:
    """One PDF, timed step by step (seconds)."""
    fonts = default_fonts()
    start = time.perf_counter()
    document = badge_pdf._Document(fonts, layout, len(cards))
    font_load = time.perf_counter() - start
    start = time.perf_counter()
    for card in cards:
        document.add(card)
    draw = time.perf_counter() - start
    embedded: list[float] = []
    with _font_timer(embedded):
        start = time.perf_counter()
        document.output()
        output = time.perf_counter() - start
    subset = sum(embedded)
    return {"font_load": font_load, "draw": draw, "subset": subset, "assemble": output - subset}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        items = _items(folder)
        photos = [item for item in items if item.photo is not None]
        bare = [
            BadgeItem(i.credential, i.enterprise_name, i.base_url, issuer_name=i.issuer_name) for i in items
        ]

        qr, check = _prepare_split(bare)
        photo_path = photos[0].photo
        assert isinstance(photo_path, Path)
        photo = _median(lambda: [Photo.load(photo_path) for _ in photos]) / len(photos)
        cards = [prepare(item) for item in items]

        rows = []
        for layout in (Layout.CARD, Layout.A4):
            runs = [_render_parts(cards, layout) for _ in range(REPEAT)]
            parts = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            total = _median(lambda layout=layout: badge_pdf.render_pdf(items, layout=layout))
            rows.append((layout, parts, total))

        batch = folder / "batch.csv"
        lines = ["code,enterprise_name,photo"]
        for item in items:
            lines.append(f"{item.credential.to_url(BASE)},{item.enterprise_name},{item.photo or ''}")
        batch.write_text("\n".join(lines) + "\n", "utf-8")
        command = [
            sys.executable,
            "-m",
            "anxinma.cli",
            "badge",
            "--batch",
            str(batch),
            "-o",
            str(folder / "b.pdf"),
        ]
        wall = _median(lambda: subprocess.run(command, check=True, capture_output=True))
        size = (folder / "b.pdf").stat().st_size

    ms = 1000
    lines = [
        f"A batch of {CARDS} badges, one row in {PHOTO_EVERY} with a 1200x1600 JPEG photo; "
        f"median of {REPEAT} runs. Per card unless marked *once a PDF*.",
        "",
        "| step | whose | card layout | A4 layout |",
        "| --- | --- | --- | --- |",
    ]
    (_, card_parts, card_total), (_, a4_parts, a4_total) = rows
    ours_card = check + (card_parts["draw"] + card_parts["assemble"]) / CARDS
    ours_a4 = check + (a4_parts["draw"] + a4_parts["assemble"]) / CARDS
    table = [
        ("check the item (claims, enterprise, QR fit)", "ours", check * ms, check * ms),
        (
            "lay out and draw the card",
            "ours (+ fpdf2 calls)",
            *(p["draw"] / CARDS * ms for p in (card_parts, a4_parts)),
        ),
        (
            "assemble the PDF, minus fonts",
            "ours (fpdf2)",
            *(p["assemble"] / CARDS * ms for p in (card_parts, a4_parts)),
        ),
        ("**our own work**", "**target < 20 ms**", ours_card * ms, ours_a4 * ms),
        ("QR encoding (segno via anxinma.qr, mask selection)", "library", qr * ms, qr * ms),
        ("photo: decode, crop, resample (per photo)", "library (Pillow)", photo * ms, photo * ms),
    ]
    for name, whose, a, b in table:
        lines.append(f"| {name} | {whose} | {a:.1f} ms | {b:.1f} ms |")
    for name, key in (("load the Noto CJK faces", "font_load"), ("subset and embed the fonts", "subset")):
        lines.append(
            f"| {name}, *once a PDF* | fontTools in fpdf2 | {card_parts[key] * ms:.0f} ms | {a4_parts[key] * ms:.0f} ms |"
        )
    lines += [
        f"| whole `render_pdf` of {CARDS} | all | {card_total:.2f} s ({card_total / CARDS * ms:.1f} ms/card) "
        f"| {a4_total:.2f} s ({a4_total / CARDS * ms:.1f} ms/card) |",
        "",
        f"`anxinma badge --batch` of {CARDS} rows (card layout), the whole command with interpreter start: "
        f"{wall:.2f} s, {size / 1024:.0f} KiB PDF ({size / CARDS / 1024:.1f} KiB a card, photos included).",
    ]
    body = "\n".join(lines)
    print(body)
    write_section("badge", body)


if __name__ == "__main__":
    main()
