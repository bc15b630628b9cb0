"""QR rendering (anxinma.qr): the files a badge printer and a screen use, read back by a real
QR decoder (zxing-cpp) — the PNG directly, the SVG after rasterising it with resvg."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import resvg_py
import zxingcpp
from PIL import Image

from anxinma import credential as fmt
from anxinma.qr import ERROR_LEVEL, make_qr, render

VECTORS = Path(__file__).parent / "vectors"
BASE = "https://v.anxinma.gov.cn"
SCALE, BORDER = 8, 4


def vector(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text("utf-8"))
    return data


def decode_image(image: Image.Image) -> Any:
    (found,) = zxingcpp.read_barcodes(image)
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    return found


@pytest.mark.parametrize("name", ["typical-worker", "card-uid", "holder-key", "enterprise-limits"])
def test_the_png_decodes_to_the_credential_at_its_documented_version(tmp_path: Path, name: str) -> None:
    v = vector(name)
    cred = fmt.decode(bytes.fromhex(v["credential_hex"]))
    path = tmp_path / "badge.png"
    version = render(cred, BASE, path, scale=SCALE, border=BORDER)
    assert version == v["qr_version_m"]  # the version docs/format.md §6 records
    image = Image.open(path)
    assert image.format == "PNG"
    modules = 17 + 4 * version
    assert image.size == ((modules + 2 * BORDER) * SCALE,) * 2
    found = decode_image(image)
    assert found.text == v["qr_text"] == cred.qr_text(BASE)
    assert found.extra["Version"] == str(version) and found.extra["ECLevel"] == "M"
    assert fmt.parse_text(found.text) == cred.to_bytes()


def test_the_svg_is_a_scalable_image_of_the_same_code(tmp_path: Path) -> None:
    v = vector("typical-worker")
    cred = fmt.decode(bytes.fromhex(v["credential_hex"]))
    path = tmp_path / "badge.svg"
    version = render(cred, BASE, path, scale=SCALE, border=BORDER)
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    side = (17 + 4 * version + 2 * BORDER) * SCALE
    assert (root.get("width"), root.get("height")) == (str(side), str(side))
    png = resvg_py.svg_to_bytes(svg_path=str(path), background="#ffffff")
    found = decode_image(Image.open(io.BytesIO(bytes(png))))
    assert found.text == v["qr_text"]
    assert fmt.parse_text(found.text) == cred.to_bytes()


def test_a_small_badge_print_still_decodes(tmp_path: Path) -> None:
    """Scale 2 (2 px a module, a 2 cm code at 200 dpi) is still read."""
    cred = fmt.decode(bytes.fromhex(vector("typical-worker")["credential_hex"]))
    path = tmp_path / "small.png"
    render(cred, BASE, path, scale=2, border=BORDER)
    assert fmt.parse_text(decode_image(Image.open(path)).text) == cred.to_bytes()


def test_the_code_uses_the_alphanumeric_and_numeric_segments_at_level_m() -> None:
    cred = fmt.decode(bytes.fromhex(vector("typical-worker")["credential_hex"]))
    qr = make_qr(cred, BASE)
    assert ERROR_LEVEL.upper() == qr.error == "M"  # not boosted: the level the budget promises
    assert cred.qr_segments(BASE) == ["HTTPS://V.ANXINMA.GOV.CN/V/", cred.to_decimal()]
    assert qr.version == 8


def test_a_file_of_another_type_is_refused(tmp_path: Path) -> None:
    cred = fmt.decode(bytes.fromhex(vector("typical-worker")["credential_hex"]))
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        render(cred, BASE, tmp_path / "badge.jpg")
    assert not (tmp_path / "badge.jpg").exists()
