"""The encoding station prints badges: ``station encode --badges FILE.pdf --badge-dir DIR``.

The batch PDF holds every finished card in batch order, the cards of a run that stopped and
was resumed too; a badge that cannot be printed (its photo is missing) is named and left out,
and its card stays done in the journal. Each QR on the rasterised PDF decodes to its worker's
credential (zxing-cpp), in batch order.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from click.testing import CliRunner
from PIL import Image

from anxinma import credential as fmt
from anxinma.cli import main
from tests.nfc.emulator import CardEmulator, EmulatedCard
from tests.nfc.station_helpers import read_report


def qr_serials(pdf: Path, tmp_path: Path) -> list[int]:
    """The serial of the credential each page's QR holds, page by page (300 dpi, as printed)."""
    prefix = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "300", "-png", str(pdf), str(prefix)], check=True, timeout=120)
    serials = []
    # Page order is numeric (page-10 after page-9); a QR is read once per page even where the
    # decoder reports the same symbol twice, and another format's false positive is ignored.
    for page in sorted(tmp_path.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        texts = {
            found.text
            for found in zxingcpp.read_barcodes(Image.open(page))
            if found.format == zxingcpp.BarcodeFormat.QRCode
        }
        assert len(texts) == 1, (page.name, texts)
        serials.append(fmt.decode_text(texts.pop()).claims.serial)
        page.unlink()
    return serials


def encode(
    batch: Path, issuer: Any, emulator: CardEmulator, out: Path, token: str
) -> tuple[int, dict[str, Any]]:
    result = CliRunner(env={"ANXINMA_TOKEN": token}).invoke(
        main,
        [
            "station", "encode", "--batch", str(batch), "--issuer", issuer.url, "--device", emulator.path,
            "--card-timeout", "1.5", "--badges", str(out / "badges.pdf"), "--badge-dir", str(out / "cards"),
            "--issuer-name", "宁波市商务局", "--json",
        ],
    )  # fmt: skip
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines[-1]


@pytest.mark.slow
def test_a_resumed_batch_ends_with_its_badges_in_batch_order_and_a_bad_photo_loses_no_card(
    tmp_path: Path, live_issuer: Any
) -> None:
    enterprise = live_issuer.enterprise()
    workers = [
        str(live_issuer.worker(enterprise["id"], name=name)["id"]) for name in ("李小霞", "王芳", "张秀英")
    ]
    batch = tmp_path / "batch.csv"
    batch.write_text(
        "worker_id,display_name,enterprise_id,enterprise_name,photo\n"
        f"{workers[0]},李*霞,{enterprise['id']},{enterprise['name']},\n"
        f"{workers[1]},王*,{enterprise['id']},{enterprise['name']},photos/missing.jpg\n"
        f"{workers[2]},张*英,{enterprise['id']},{enterprise['name']},\n",
        encoding="utf-8",
    )
    token = live_issuer.token("card_operator")
    out = tmp_path / "out"
    with CardEmulator([EmulatedCard.blank(1), EmulatedCard.blank(2)]) as emulator:  # one card short
        code, first = encode(batch, live_issuer, emulator, out, token)
    assert code == 3 and first["done"] == 2 and first["pending"] == 1  # stopped: no third card
    assert first["badges"]["cards"] == 1 and [f["worker_id"] for f in first["badges"]["failed"]] == [
        workers[1]
    ]
    assert (
        "照片" in first["badges"]["failed"][0]["reason"] or "photo" in first["badges"]["failed"][0]["reason"]
    )

    with CardEmulator([EmulatedCard.blank(3)]) as emulator:  # the operator fetches another card
        code, second = encode(batch, live_issuer, emulator, out, token)
    assert code == 1 and second["done"] == 3 and second["pending"] == 0  # 1: a badge failed
    assert second["badges"]["cards"] == 2 and second["badges"]["written"] == 1
    report = read_report(Path(second["report"]))
    assert [report[w]["status"] for w in workers] == ["done"] * 3  # the badge failure undid nothing
    serials = [int(report[w]["serial"]) for w in workers]
    assert qr_serials(out / "badges.pdf", tmp_path) == [serials[0], serials[2]]  # batch order, across runs
    per_card = sorted(p.name for p in (out / "cards").glob("*.pdf"))
    assert per_card == sorted([f"{workers[0]}-{serials[0]}.pdf", f"{workers[2]}-{serials[2]}.pdf"])
    text = subprocess.run(
        ["pdftotext", str(out / "badges.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "居家上门服务证" in text and "宁波市商务局" in text and enterprise["name"][:6] in text
