"""What a badge is made of, and the ways making one can fail.

A :class:`BadgeItem` is one card to print: the credential (the only source of the name, the
categories, the serial and the dates printed on it), the enterprise's name (the credential
carries only its id), an optional portrait and the verify base URL its QR points to.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from anxinma.credential import Credential
from anxinma.errors import AnxinmaError

#: The portrait box on the card (mm): 3:4, the shape of a Chinese ID photo cropped for a card.
PHOTO_WIDTH_MM = 19.0
PHOTO_HEIGHT_MM = PHOTO_WIDTH_MM * 4 / 3
#: Portraits are resampled for a 300 dpi card printer: more pixels only make the PDF bigger.
PHOTO_DPI = 300
#: Formats a portrait may come in (MPO is the JPEG variant some phone cameras write).
PHOTO_FORMATS = frozenset({"JPEG", "PNG", "MPO"})
#: A portrait larger than this many pixels is refused before it is decoded (Pillow's own
#: decompression-bomb limit is far higher).
MAX_PHOTO_PIXELS = 40_000_000
_PHOTO_PIXELS = (round(PHOTO_WIDTH_MM / 25.4 * PHOTO_DPI), round(PHOTO_HEIGHT_MM / 25.4 * PHOTO_DPI))


class BadgeError(AnxinmaError):
    """A badge PDF could not be made; nothing was written."""

    code = "badge"


class FontNotFound(BadgeError):
    """The CJK font the badges are set in is not installed (the message names the package)."""

    code = "font_missing"


class PhotoError(BadgeError):
    """A portrait that cannot be printed: missing, unreadable, not JPEG or PNG."""

    code = "bad_photo"


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One bad row of a batch (or one bad item): where it is and what is wrong with it.

    ``line`` is the line of the batch file as an editor numbers it (the CSV header is line 1),
    or, for items that came from no file, their position counted from 1.
    """

    line: int
    message: str
    message_zh: str
    from_file: bool = True

    def explain(self) -> str:
        where = (
            f"第 {self.line} 行 / line {self.line}"
            if self.from_file
            else f"第 {self.line} 项 / item {self.line}"
        )
        return f"{where}: {self.message_zh} / {self.message}"


class BadgeInputError(BadgeError):
    """Some rows (items) cannot become badges. Raised after *all* rows were checked, so one
    run lists every problem; raised before anything is written."""

    code = "badge_input"

    def __init__(self, problems: Sequence[RowProblem], *, total: int | None = None) -> None:
        self.problems = tuple(problems)
        self.total = total
        count = len(self.problems)
        of = f" of {total}" if total is not None else ""
        of_zh = f"（共 {total} 行）" if total is not None else ""
        super().__init__(
            f"{count}{of} row(s) cannot be printed; no PDF was written",
            message_zh=f"{count} 行无法制证{of_zh}，未写入任何 PDF",
        )

    def explain(self) -> str:
        lines = [super().explain(), *(f"  {problem.explain()}" for problem in self.problems)]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Photo:
    """A portrait ready for the card: cropped to 3:4 (a little above centre, where faces are),
    turned upright by its EXIF orientation, flattened onto white and resampled to 300 dpi."""

    jpeg: bytes

    @classmethod
    def load(cls, source: Path | bytes) -> Photo:
        """Read a JPEG or PNG from a path or from bytes.

        Raises :class:`PhotoError` for a missing or unreadable file, another image format, a
        truncated image or one too large to be a portrait.
        """
        name = str(source) if isinstance(source, Path) else "photo"
        try:
            data = source.read_bytes() if isinstance(source, Path) else bytes(source)
        except FileNotFoundError:
            raise PhotoError(f"photo file not found: {name}", message_zh=f"照片文件不存在：{name}") from None
        except OSError as exc:
            raise PhotoError(
                f"photo file cannot be read: {name} ({exc.strerror or exc})",
                message_zh=f"照片文件无法读取：{name}",
            ) from None
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in PHOTO_FORMATS:
                    raise PhotoError(
                        f"photo is {image.format or 'not an image'}, not JPEG or PNG: {name}",
                        message_zh=f"照片须为 JPEG 或 PNG 格式：{name}",
                    )
                if image.width * image.height > MAX_PHOTO_PIXELS:
                    raise PhotoError(
                        f"photo is too large ({image.width}x{image.height} pixels): {name}",
                        message_zh=f"照片像素过大（{image.width}x{image.height}）：{name}",
                    )
                # A JPEG decodes at 1/2, 1/4 or 1/8 scale for free: a 12-megapixel phone photo
                # then costs a tenth of the time, still larger than the 300 dpi box.
                side = 2 * max(_PHOTO_PIXELS)
                image.draft("RGB", (side, side))
                image.load()
                upright = ImageOps.exif_transpose(image)
        except PhotoError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise PhotoError(
                f"photo is not a readable JPEG or PNG image: {name}",
                message_zh=f"照片无法识别或已损坏（须为 JPEG 或 PNG）：{name}",
            ) from None
        return cls(_card_jpeg(upright))


def _card_jpeg(image: Image.Image) -> bytes:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    else:
        image = image.convert("RGB")
    fitted = ImageOps.fit(image, _PHOTO_PIXELS, Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    out = io.BytesIO()
    fitted.save(out, "JPEG", quality=90, optimize=True, dpi=(PHOTO_DPI, PHOTO_DPI))
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class BadgeItem:
    """One card to print.

    ``photo`` is a prepared :class:`Photo`, a path or the bytes of a JPEG/PNG, or ``None`` for
    the placeholder silhouette. ``issuer_name`` (e.g. 宁波市商务局) is printed beside the issuer
    code when known. ``line`` says where the item came from, for error messages.
    """

    credential: Credential
    enterprise_name: str
    base_url: str
    photo: Photo | Path | bytes | None = None
    issuer_name: str | None = None
    line: int | None = None
