"""The values claims hold, and their rules: subject kinds and credential types, service
categories and their bits, dates as days in UTC+8, masked display names, integer ranges.

docs/format.md §3 is the specification of each; nothing here knows CBOR.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from anxinma.errors import InvalidClaims

#: China Standard Time. Credential dates are whole days in this zone.
CHINA_TZ = timezone(timedelta(hours=8), "CST")
_EPOCH = date(1970, 1, 1)

_JS_SAFE_INTEGER = 2**53 - 1  # the page verifies in JavaScript: no integer may exceed this
#: Serials are status-list indexes: 32 bits.
MAX_SERIAL = 2**32 - 1
#: An issuer code is one of China's 6-digit administrative division codes (110000 Beijing …
#: 82xxxx Macao): the one home of the range, for the format, the key directory and the verifier.
MIN_DIVISION_CODE = 110000
MAX_DIVISION_CODE = 829999


class SubjectKind(StrEnum):
    """Who the credential speaks for: a worker (一人一码) or an enterprise (一企一证一码)."""

    WORKER = "worker"
    ENTERPRISE = "enterprise"


#: The ``type`` claim: (format version, subject kind) for each value this release reads.
CREDENTIAL_TYPES: dict[int, tuple[int, SubjectKind]] = {
    1: (1, SubjectKind.WORKER),
    2: (1, SubjectKind.ENTERPRISE),
}
_TYPE_OF_KIND = {kind: type_ for type_, (_, kind) in CREDENTIAL_TYPES.items()}
_KIND_OF_TYPE = {type_: kind for type_, (_, kind) in CREDENTIAL_TYPES.items()}
FORMAT_VERSION = 1


class Category(StrEnum):
    """Service categories; the value is the English slug, ``zh`` the label people read."""

    CLEANING = "cleaning"
    INFANT_CARE = "infant_care"
    MATERNITY_CARE = "maternity_care"
    ELDERLY_CARE = "elderly_care"
    HOME_COOK = "home_cook"
    MOVING = "moving"
    OTHER = "other"

    @property
    def bit(self) -> int:
        return _CATEGORY_BITS[self]

    @property
    def zh(self) -> str:
        return _CATEGORY_ZH[self]

    @property
    def en(self) -> str:
        """The English label (pages, consoles, badges: one spelling everywhere)."""
        return _CATEGORY_EN[self]

    @classmethod
    def parse(cls, name: str) -> Category:
        """Accept the Chinese label (保洁) or the slug (cleaning)."""
        found = _CATEGORY_BY_NAME.get(name.strip())
        if found is None:
            allowed = "、".join(c.zh for c in cls)
            raise InvalidClaims(
                f"unknown service category {name!r}; use one of {', '.join(c.value for c in cls)}",
                message_zh=f"未知的服务类别 {name!r}，可选：{allowed}",
            )
        return found


# Bit positions are part of the format: never renumber, only append.
_CATEGORY_BITS = {
    Category.CLEANING: 0,
    Category.INFANT_CARE: 1,
    Category.MATERNITY_CARE: 2,
    Category.ELDERLY_CARE: 3,
    Category.HOME_COOK: 4,
    Category.MOVING: 5,
    Category.OTHER: 6,
}
_CATEGORY_ZH = {
    Category.CLEANING: "保洁",
    Category.INFANT_CARE: "育婴",
    Category.MATERNITY_CARE: "母婴护理",
    Category.ELDERLY_CARE: "养老护理",
    Category.HOME_COOK: "家庭厨师",
    Category.MOVING: "搬家",
    Category.OTHER: "其他",
}
_CATEGORY_EN = {
    Category.CLEANING: "Cleaning",
    Category.INFANT_CARE: "Infant care",
    Category.MATERNITY_CARE: "Maternity care",
    Category.ELDERLY_CARE: "Elderly care",
    Category.HOME_COOK: "Home cooking",
    Category.MOVING: "Moving",
    Category.OTHER: "Other services",
}
_CATEGORY_BY_NAME: dict[str, Category] = {
    **{c.value: c for c in Category},
    **{zh: c for c, zh in _CATEGORY_ZH.items()},
    "月嫂": Category.MATERNITY_CARE,
}
_CATEGORY_MASK = (1 << len(_CATEGORY_BITS)) - 1


def categories_to_bits(categories: Iterable[Category]) -> int:
    """The bit set of the categories claim (bit n set for the category at position n)."""
    bits = 0
    for category in categories:
        bits |= 1 << _CATEGORY_BITS[category]
    return bits


#: Every subset of the categories, indexed by its bit set: decoding is one lookup.
_CATEGORY_SETS = tuple(
    frozenset(c for c, position in _CATEGORY_BITS.items() if bits >> position & 1)
    for bits in range(_CATEGORY_MASK + 1)
)


_BITS_OF_SET = {categories: bits for bits, categories in enumerate(_CATEGORY_SETS)}


def categories_from_bits(bits: int) -> frozenset[Category]:
    """The categories a bit set names; bits this version does not define are ignored here
    (the decoder refuses them before it gets this far)."""
    return _CATEGORY_SETS[bits & _CATEGORY_MASK]


_DIGIT_RUN = re.compile(r"\d{6,}")


def mask_name(full_name: str) -> str:
    """The masked display name a credential carries: 李小霞 -> 李*霞, 王芳 -> 王*.

    Keeps the first and (for three or more characters) the last character; the rest
    becomes one ``*``, so the length of the given name is not revealed either.
    """
    name = unicodedata.normalize("NFC", "".join(full_name.split()))
    if len(name) <= 1:
        raise InvalidClaims("a name needs at least two characters to mask", message_zh="姓名至少两个字")
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" + name[-1]


#: The last day a credential can name: 9999-12-31, the limit of Python's datetime.
MAX_DAY = (date(9999, 12, 31) - _EPOCH).days
_EPOCH_ORDINAL = _EPOCH.toordinal()
_FIRST_DAY = datetime(1970, 1, 1, tzinfo=CHINA_TZ)
_CST_OFFSET_SECONDS = 8 * 3600
_SECONDS_PER_DAY = 86400


def _to_day(value: datetime, field_name: str) -> int:
    """Days since 1970-01-01 of a datetime at 00:00 China Standard Time; else :class:`InvalidClaims`."""
    if value.tzinfo is CHINA_TZ and not (value.hour or value.minute or value.second or value.microsecond):
        days = value.toordinal() - _EPOCH_ORDINAL  # the common case: what parse_when and decode give
        if 0 <= days <= MAX_DAY:
            return days
    days, rest = divmod(int(value.timestamp()) + _CST_OFFSET_SECONDS, _SECONDS_PER_DAY)
    if rest or value.microsecond:
        raise InvalidClaims(
            f"{field_name} must be a whole day (00:00 China Standard Time, UTC+8), got {value.isoformat()}",
            message_zh=f"{field_name} 必须是北京时间整日 00:00，收到 {value.isoformat()}",
        )
    if not 0 <= days <= MAX_DAY:
        raise InvalidClaims(
            f"{field_name} must lie between 1970-01-01 and 9999-12-31, got {value.isoformat()}",
            message_zh=f"{field_name} 必须在 1970-01-01 与 9999-12-31 之间",
        )
    return days


def _check_day(field_name: str, value: Any) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidClaims(
            f"{field_name} must be an aware datetime", message_zh=f"{field_name} 必须是带时区的时间"
        )
    _to_day(value, field_name)


@functools.lru_cache(maxsize=4096)  # a city issues on a few hundred distinct days a year
def _from_day(days: int) -> datetime:
    d = _EPOCH + timedelta(days=days)
    return datetime(d.year, d.month, d.day, tzinfo=CHINA_TZ)


def parse_when(value: Any, field_name: str) -> datetime:
    """A date or an aware ISO 8601 datetime at 00:00 UTC+8, as a datetime in CHINA_TZ."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day, tzinfo=CHINA_TZ)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                parsed = datetime.combine(date.fromisoformat(text), datetime.min.time(), CHINA_TZ)
            else:
                parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise InvalidClaims(
                f"{field_name}: not an ISO 8601 date or time: {value!r}",
                message_zh=f"{field_name}：不是 ISO 8601 日期或时间：{value!r}",
            ) from exc
    else:
        raise InvalidClaims(
            f"{field_name}: expected a date, got {type(value).__name__}",
            message_zh=f"{field_name}：应为日期，收到 {type(value).__name__}",
        )
    if parsed.tzinfo is None:
        raise InvalidClaims(
            f"{field_name}: a time needs its UTC offset (e.g. +08:00)",
            message_zh=f"{field_name}：时间必须带时区（如 +08:00）",
        )
    _to_day(parsed, field_name)
    return parsed.astimezone(CHINA_TZ)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if not (type(value) is int or _is_int(value)) or not low <= value <= high:
        raise InvalidClaims(
            f"{name} must be an integer from {low} to {high}, got {value!r}",
            message_zh=f"{name} 必须是 {low} 到 {high} 之间的整数，收到 {value!r}",
        )


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if not _is_int(value):
        raise InvalidClaims(f"{name} must be an integer, got {value!r}", message_zh=f"{name} 必须是整数")
    return int(value)


def _as_bytes(name: str, value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    try:
        return bytes.fromhex(str(value).replace(":", ""))
    except ValueError as exc:
        raise InvalidClaims(f"{name} must be hex", message_zh=f"{name} 必须是十六进制") from exc


def _check_display_name(name: Any, kind: SubjectKind) -> None:
    if type(name) is str and (name, kind) in _DISPLAY_NAMES_SEEN:
        return
    _check_display_name_rules(name, kind)
    if type(name) is str:
        if len(_DISPLAY_NAMES_SEEN) >= _DISPLAY_NAMES_REMEMBERED:
            _DISPLAY_NAMES_SEEN.clear()
        _DISPLAY_NAMES_SEEN.add((name, kind))


#: Names already found to follow the rules (masked names repeat: 李*霞 stands for many people),
#: so that decoding a credential does not re-run the Unicode checks each time. Bounded.
_DISPLAY_NAMES_SEEN: set[tuple[str, SubjectKind]] = set()
_DISPLAY_NAMES_REMEMBERED = 8192


def _check_display_name_rules(name: Any, kind: SubjectKind) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InvalidClaims("display_name must be non-empty text", message_zh="显示名不能为空")
    if unicodedata.normalize("NFC", name) != name or any(unicodedata.category(ch)[0] == "C" for ch in name):
        raise InvalidClaims(
            "display_name must be NFC-normalised text without control characters",
            message_zh="显示名必须是 NFC 规范化文本，且不含控制字符",
        )
    limit = 24 if kind is SubjectKind.WORKER else 64
    if len(name.encode()) > limit:
        raise InvalidClaims(
            f"display_name is longer than {limit} bytes of UTF-8",
            message_zh=f"显示名超过 {limit} 字节（UTF-8）",
        )
    if _DIGIT_RUN.search(name):
        raise InvalidClaims(
            "display_name must not contain a number that could be an identity or phone number",
            message_zh="显示名不得包含身份证号或手机号等数字",
        )
    if kind is SubjectKind.WORKER and "*" not in name:
        raise InvalidClaims(
            "a worker's display_name must be masked (李*霞): use mask_name()",
            message_zh="服务员显示名必须脱敏（如 李*霞）",
        )
