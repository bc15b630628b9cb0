"""A :class:`BadgeItem` checked and made ready to draw: what the card will say, its QR matrix
and module size, its portrait. Everything that can fail fails here, before a PDF is begun."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from anxinma.badge.geometry import DOT_MM, MIN_MODULE_DOTS, QR_MAX_SIDE_MM, module_dots
from anxinma.badge.items import BadgeError, BadgeItem, Photo
from anxinma.credential import CHINA_TZ, Category, SubjectKind
from anxinma.qr import ERROR_LEVEL, make_qr

#: Enterprise names longer than this are refused: they would not fit two lines at 6 pt.
MAX_ENTERPRISE_CHARS = 40


@dataclass(frozen=True, slots=True)
class Card:
    """One card ready to draw. ``qr_rows`` is the QR symbol without its quiet zone, one
    ``bytes`` a row, 1 for a dark module."""

    item: BadgeItem
    display_name: str
    enterprise_name: str
    categories: tuple[Category, ...]
    serial: int
    issuer_code: int
    valid_from: date
    valid_until: date
    photo: Photo | None
    qr_rows: tuple[bytes, ...]
    qr_version: int
    module_dots: int

    @property
    def module_mm(self) -> float:
        return self.module_dots * DOT_MM

    @property
    def qr_side_mm(self) -> float:
        return len(self.qr_rows) * self.module_mm


def prepare(item: BadgeItem) -> Card:
    """Check an item and compute what its card shows.

    Raises :class:`BadgeError` (or :class:`PhotoError`) when the credential is not a worker's,
    the enterprise name is empty or too long, the photo cannot be printed, the verify base URL
    is not an http(s) URL, or the QR would need modules smaller than the design minimum.
    """
    claims = item.credential.claims
    if claims.subject_kind is not SubjectKind.WORKER:
        raise BadgeError(
            "not a worker's credential: badges are printed for home-service workers",
            message_zh="不是家政服务员的安心码，只能为服务员制证",
        )
    enterprise = " ".join(item.enterprise_name.split())
    if not enterprise:
        raise BadgeError("enterprise_name is empty", message_zh="企业名称（enterprise_name）为空")
    if len(enterprise) > MAX_ENTERPRISE_CHARS:
        raise BadgeError(
            f"enterprise_name is longer than {MAX_ENTERPRISE_CHARS} characters",
            message_zh=f"企业名称超过 {MAX_ENTERPRISE_CHARS} 个字",
        )
    photo = item.photo
    if photo is not None and not isinstance(photo, Photo):
        photo = Photo.load(photo if isinstance(photo, bytes) else Path(photo))
    try:
        qr = make_qr(item.credential, item.base_url)
    except ValueError as exc:
        raise BadgeError(
            f"bad verify base URL: {exc}", message_zh=f"验证网址无效：{item.base_url!r}"
        ) from None
    rows = tuple(bytes(row) for row in qr.matrix)
    dots = module_dots(len(rows))
    if dots is None:
        smallest = MIN_MODULE_DOTS * DOT_MM
        raise BadgeError(
            f"the QR is version {qr.version}-{ERROR_LEVEL.upper()} ({len(rows)} modules): it does not fit "
            f"{QR_MAX_SIDE_MM:g} mm at the minimum {smallest:.2f} mm a module; use a shorter verify URL",
            message_zh=f"二维码为 {qr.version} 版（{len(rows)} 模块），在每模块不小于 {smallest:.2f} mm 时"
            f"超出卡面 {QR_MAX_SIDE_MM:g} mm，请使用更短的验证网址",
        )
    return Card(
        item=item,
        display_name=claims.display_name,
        enterprise_name=enterprise,
        categories=tuple(sorted(claims.categories, key=lambda c: c.bit)),
        serial=claims.serial,
        issuer_code=claims.issuer_code,
        valid_from=claims.issued_at.astimezone(CHINA_TZ).date(),
        valid_until=claims.last_valid_day,  # not expires_at: that is the first day it no longer verifies
        photo=photo,
        qr_rows=rows,
        qr_version=int(qr.version),
        module_dots=dots,
    )
