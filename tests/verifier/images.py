"""Render the photos a verifier is handed: screenshots, badges photographed at an angle, noisy phone shots.

Every image starts from :func:`anxinma.qr.make_qr` (the real QR of a real credential) and is
then degraded with PIL the way a camera degrades it.
"""

from __future__ import annotations

import io
import random

import segno
from PIL import Image, ImageDraw, ImageFilter

from anxinma import credential as fmt
from anxinma.qr import make_qr


def qr_image(qr: segno.QRCode, scale: int = 6) -> Image.Image:
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=4)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def credential_qr(
    cred: fmt.Credential, base_url: str = "https://v.anxinma.cn", scale: int = 6
) -> Image.Image:
    return qr_image(make_qr(cred, base_url), scale)


def badge(cred: fmt.Credential, base_url: str = "https://v.anxinma.cn") -> Image.Image:
    """A printed 居家上门服务证: coloured header, a photo box, a name line, the QR at the right."""
    card = Image.new("RGB", (1016, 640), (250, 250, 245))
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, 1016, 110), fill=(200, 30, 40))
    draw.rectangle((40, 160, 300, 500), fill=(180, 190, 200))  # the holder's photo
    for row in range(4):
        draw.rectangle((340, 180 + row * 70, 600, 210 + row * 70), fill=(60, 60, 60))
    code = credential_qr(cred, base_url, scale=7).resize((360, 360), Image.Resampling.NEAREST)
    card.paste(code, (620, 200))
    return card


def photograph(
    subject: Image.Image,
    *,
    size: tuple[int, int] = (1600, 1200),
    angle: float = 12.0,
    scale: float = 0.9,
    blur: float = 1.2,
    noise: int = 18,
    seed: int = 7,
) -> Image.Image:
    """``subject`` on a cluttered background, rotated, scaled, blurred and noisy: a phone photo."""
    rng = random.Random(seed)
    background = Image.new("RGB", size, (120, 110, 95))
    draw = ImageDraw.Draw(background)
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        shade = tuple(rng.randrange(60, 200) for _ in range(3))
        draw.rectangle((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)), fill=shade)  # type: ignore[arg-type]
    width = int(size[0] * scale * 0.6)
    item = subject.resize((width, int(subject.height * width / subject.width)), Image.Resampling.LANCZOS)
    item = item.convert("RGBA").rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    background.paste(item, ((size[0] - item.width) // 2, (size[1] - item.height) // 2), item)
    photo = background.filter(ImageFilter.GaussianBlur(blur))
    grain = Image.effect_noise(size, noise).convert("RGB")
    return Image.blend(photo, grain, 0.12)


def encoded(image: Image.Image, kind: str = "PNG", quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, quality=quality)
    return buffer.getvalue()
