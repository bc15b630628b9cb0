"""Finding the 安心码 in a photo or screenshot: QR decoding with zxing-cpp, then picking ours.

A photo of a badge may hold several QR codes (the badge's, a company's WeChat, a payment
code on the counter behind it); every one is decoded, classified, and the first that decodes
as a 安心码 is chosen, with a sentence saying which and what the others were. Decoding tries
the image as taken first and, only when that finds nothing, a few cheap variants (smaller,
contrast-stretched, a global threshold), because phone photos fail in different ways: too
many pixels of noise, low contrast under a lamp, uneven light.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import zxingcpp
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from anxinma import credential as fmt
from anxinma.errors import MalformedCredential
from anxinma.messages import Text
from anxinma.verifier.errors import ImageError
from anxinma.verifier.reasons import REASONS
from anxinma.verifier.result import Status, VerificationResult

MAX_FILE_BYTES = 40 * 1024 * 1024
MAX_PIXELS = 64_000_000  # a 64 MP phone camera; anything larger is not a photo of a badge
_WORKING_EDGE = 1600  # the longest edge of the downscaled retry
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

#: A verification link (``…/v/<digits>``, ``…/V/…``, ``…/v#<digits>``) even when its payload is broken.
_LOOKS_LIKE_OURS = re.compile(r"^https?://[^/?#]+(?:/[^?#]*)?/v[/#]\d+$", re.IGNORECASE)
_PAYMENT_PREFIXES = (
    ("wxp://", "微信支付码", "a WeChat Pay code"),
    ("https://wx.tenpay.com", "微信支付码", "a WeChat Pay code"),
    ("https://payapp.weixin.qq.com", "微信支付码", "a WeChat Pay code"),
    ("https://qr.alipay.com", "支付宝付款码", "an Alipay code"),
    ("https://qr.95516.com", "云闪付付款码", "a UnionPay code"),
)


@dataclass(frozen=True)
class ScannedCode:
    """One QR code found in the image, in reading order (``index`` from 1)."""

    index: int
    text: str
    position: tuple[tuple[int, int], ...]
    kind: str  # "anxinma" | "anxinma_damaged" | "payment" | "url" | "text"
    label_zh: str
    label_en: str

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "text": self.text if len(self.text) <= 512 else self.text[:512] + "…",
            "position": [list(p) for p in self.position],
        }


@dataclass(frozen=True)
class ImageScan:
    """Every QR code in one image, and which of them is the 安心码."""

    width: int
    height: int
    codes: tuple[ScannedCode, ...]

    @property
    def chosen(self) -> ScannedCode | None:
        """The first code that decodes as a 安心码; else the first that looks like one (damaged)."""
        for kind in ("anxinma", "anxinma_damaged"):
            for code in self.codes:
                if code.kind == kind:
                    return code
        return None

    def reasons(self) -> list[str]:
        """What was found, in words: which code was used and what the others are."""
        chosen = self.chosen
        if not self.codes:
            return [REASONS("image_no_qr")]
        others = [c for c in self.codes if c is not chosen]
        described = Text(
            "、".join(f"第 {c.index} 个是{c.label_zh}" for c in others),
            "; ".join(f"#{c.index} is {c.label_en}" for c in others),
        )
        if chosen is None:
            return [REASONS("image_no_anxinma", count=len(self.codes), others=described)]
        if not others:
            return []
        return [REASONS("image_chosen", count=len(self.codes), chosen=chosen.index, others=described)]

    def to_json(self) -> dict[str, Any]:
        chosen = self.chosen
        return {
            "width": self.width,
            "height": self.height,
            "codes": [code.to_json() for code in self.codes],
            "chosen": chosen.index if chosen is not None else None,
        }


def classify(text: str) -> tuple[str, str, str]:
    """(kind, 中文 label, English label) of one QR code's text."""
    try:
        fmt.decode_text(text)
        return "anxinma", "安心码", "the 安心码"
    except MalformedCredential:
        pass
    if _LOOKS_LIKE_OURS.match(text.strip()):
        return "anxinma_damaged", "无法读取的安心码", "an unreadable 安心码"
    lower = text.strip().lower()
    for prefix, zh, en in _PAYMENT_PREFIXES:
        if lower.startswith(prefix):
            return "payment", zh, en
    if lower.startswith(("http://", "https://")):
        shown = text.strip()[:60]
        return "url", f"其他网址（{shown}）", f"another link ({shown})"
    return "text", "其他二维码", "another QR code"


def open_image(source: Path | str | bytes | IO[bytes] | Image.Image) -> Image.Image:
    """Open a photo or screenshot; raises :class:`ImageError` for anything that is not one."""
    if isinstance(source, Image.Image):
        return source
    try:
        if isinstance(source, Path | str):
            path = Path(source)
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ImageError(
                    f"{path.name} is {size // (1024 * 1024)} MB: too large for a photo",
                    message_zh=f"{path.name} 有 {size // (1024 * 1024)} MB，超出照片大小上限",
                )
            data: IO[bytes] = io.BytesIO(path.read_bytes())
        elif isinstance(source, bytes):
            if len(source) > MAX_FILE_BYTES:
                raise ImageError("the image is too large for a photo", message_zh="图片超出大小上限")
            data = io.BytesIO(source)
        else:
            data = io.BytesIO(source.read(MAX_FILE_BYTES + 1))
            if len(data.getbuffer()) > MAX_FILE_BYTES:
                raise ImageError("the image is too large for a photo", message_zh="图片超出大小上限")
        image = Image.open(data)
        if image.width * image.height > MAX_PIXELS:
            raise ImageError(
                f"{image.width}×{image.height} pixels is more than a photo of a badge needs",
                message_zh=f"{image.width}×{image.height} 像素超出上限",
            )
        image.load()
        return image
    except ImageError:
        raise
    except FileNotFoundError as exc:
        raise ImageError(f"no such file: {exc.filename}", message_zh=f"文件不存在：{exc.filename}") from exc
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ImageError(
            "not an image (PNG, JPEG, WebP, …) that can be read",
            message_zh="不是可读取的图片（PNG、JPEG、WebP 等）",
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:  # PIL raises these for damaged files
        raise ImageError(f"the image is damaged: {exc}", message_zh="图片已损坏，无法读取") from exc


def _variants(grey: Image.Image) -> Iterator[Image.Image]:
    yield grey
    longest = max(grey.size)
    if longest > _WORKING_EDGE:
        scale = _WORKING_EDGE / longest
        small = grey.resize(
            (max(1, int(grey.width * scale)), max(1, int(grey.height * scale))), Image.Resampling.LANCZOS
        )
        yield small
    else:
        small = grey
    yield ImageOps.autocontrast(small.filter(ImageFilter.MedianFilter(3)), cutoff=2)
    if max(grey.size) < 600:  # a small screenshot: give the finder patterns more pixels
        yield grey.resize((grey.width * 2, grey.height * 2), Image.Resampling.NEAREST)


def _decode(grey: Image.Image) -> list[tuple[Any, float]]:
    """(zxing result, factor back to ``grey``'s pixels) from the first variant that finds any."""
    for variant in _variants(grey):
        for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram):
            found = zxingcpp.read_barcodes(variant, formats=_QR_ONLY, binarizer=binarizer)
            if found:
                return [(code, grey.width / variant.width) for code in found]
    return []


def scan_image(source: Path | str | bytes | IO[bytes] | Image.Image) -> ImageScan:
    """Every QR code in the image, classified; raises :class:`ImageError` for a non-image."""
    grey = ImageOps.exif_transpose(open_image(source)).convert("L")
    codes = []
    found = _decode(grey)
    for code, scale in found:
        position = code.position
        corners = tuple(
            (int(point.x * scale), int(point.y * scale))
            for point in (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
        )
        codes.append((corners, code.text))
    codes.sort(key=lambda item: (min(y for _, y in item[0]), min(x for x, _ in item[0])))
    scanned = []
    for index, (corners, text) in enumerate(codes, 1):
        kind, zh, en = classify(text)
        scanned.append(ScannedCode(index, text, corners, kind, zh, en))
    return ImageScan(grey.width, grey.height, tuple(scanned))


def verify_scan(scan: ImageScan, verify: Callable[[str], VerificationResult]) -> VerificationResult:
    """Verify the chosen code with ``verify`` and add what the scan found to the reasons.

    No 安心码 in the image is a ``malformed`` result whose reasons say what was there instead.
    """
    chosen = scan.chosen
    notes = tuple(scan.reasons())
    if chosen is None:
        return VerificationResult(Status.MALFORMED, notes)
    result = verify(chosen.text)
    return dataclasses.replace(result, reasons=(*result.reasons, *notes))
