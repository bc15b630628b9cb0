"""The 安心码 credential format, version 1 — the one place the format lives.

Binary form: an untagged COSE_Sign1 (RFC 9052 §4.2) in deterministic CBOR (RFC 8949 §4.2.1)
whose payload is a CWT claims set (RFC 8392), signed with EdDSA / Ed25519. Text forms (URL,
decimal digits, hex) are encodings of that one binary form. docs/format.md is the
specification; tests/vectors/ holds its test vectors.

Layout decisions, each paid for in bytes (the budget: a typical worker credential at most
120 bytes, its URL in a QR of version 8 or lower at error correction M):

* protected header ``{1: -8, 4: kid}``: alg EdDSA and a 2-byte kid, both covered by the
  signature; the unprotected header is the empty map. The kid only has to be unique among
  one issuer's keys, because the issuer code in the claims (covered by the same signature)
  picks the issuer first; 2 bytes instead of 4 keep the example credential at 119 bytes.
* claims use one-byte keys (-1 … -10) from a table below; the holder key uses the registered
  ``cnf`` claim (RFC 8747) because its meaning is exactly that.
* one ``type`` claim names both the format version and the subject kind (1 = v1 worker,
  2 = v1 enterprise), so the version costs no byte of its own.
* dates are whole days in China Standard Time (UTC+8, no daylight saving), counted from
  1970-01-01: three bytes a date instead of five for seconds.
* the URL form carries the bytes as decimal digits, which a QR holds in numeric mode at 3.33
  bits a digit; the URL prefix goes in alphanumeric mode (upper case) beside it.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import re
import struct
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Any
from urllib.parse import urlsplit

import cbor2

from anxinma import ed25519
from anxinma.errors import (
    BadSignature,
    InvalidClaims,
    MalformedCredential,
    UnsupportedAlgorithm,
    UnsupportedVersion,
)

__all__ = [
    "CHINA_TZ",
    "MAX_CREDENTIAL_BYTES",
    "Category",
    "Claims",
    "Credential",
    "SubjectKind",
    "decode",
    "decode_text",
    "derive_kid",
    "from_decimal",
    "mask_name",
    "parse_text",
    "sign",
    "to_decimal",
]

#: China Standard Time. Credential dates are whole days in this zone.
CHINA_TZ = timezone(timedelta(hours=8), "CST")
_EPOCH = date(1970, 1, 1)

#: Anything longer is refused before it is parsed (the largest legal v1 credential is ~260 B).
MAX_CREDENTIAL_BYTES = 1024
#: Text forms longer than this are refused before they are decoded.
MAX_TEXT_LENGTH = 4096

KID_SIZE = 2
COSE_ALG_EDDSA = -8
_HEADER_ALG = 1
_HEADER_KID = 4
_JS_SAFE_INTEGER = 2**53 - 1  # the page verifies in JavaScript: no integer may exceed this
#: Serials are status-list indexes: 32 bits.
MAX_SERIAL = 2**32 - 1


class ClaimKey(IntEnum):
    """CBOR map keys of the claims set (docs/format.md, "Claims")."""

    CNF = 8  # RFC 8747 confirmation claim: {1: COSE_Key}
    TYPE = -1
    ISSUER_CODE = -2
    SERIAL = -3
    ARCHIVE_ID = -4
    ENTERPRISE_ID = -5
    DISPLAY_NAME = -6
    CATEGORIES = -7
    ISSUED_AT = -8
    EXPIRES_AT = -9
    CARD_UID = -10


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


# -- deterministic CBOR, the few items the format writes (RFC 8949 §3, §4.2.1) ----------

_MAJOR_UINT = 0x00
_MAJOR_BYTES = 0x40
_MAJOR_TEXT = 0x60
_MAJOR_ARRAY = 0x80
_MAJOR_MAP = 0xA0


_ONE_BYTE = tuple(bytes((i,)) for i in range(256))
_PACK_1 = struct.Struct(">BB").pack
_PACK_2 = struct.Struct(">BH").pack
_PACK_4 = struct.Struct(">BI").pack
_PACK_8 = struct.Struct(">BQ").pack


def _head(major: int, value: int) -> bytes:
    """The shortest head of a data item (RFC 8949 §4.2.1: preferred serialization)."""
    if value < 24:
        return _ONE_BYTE[major | value]
    if value < 0x100:
        return _PACK_1(major | 24, value)
    if value < 0x10000:
        return _PACK_2(major | 25, value)
    if value < 0x100000000:
        return _PACK_4(major | 26, value)
    return _PACK_8(major | 27, value)


def _bstr(data: bytes) -> bytes:
    return _head(_MAJOR_BYTES, len(data)) + data


#: cnf (8) => {1: {1: 1 (OKP), -1: 6 (Ed25519), -2: h'<32 bytes>'}}, up to the key bytes.
_CNF_PREFIX = bytes.fromhex("08a101a301012006215820")


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
        raise InvalidClaims(f"{field_name}: expected a date, got {type(value).__name__}")
    if parsed.tzinfo is None:
        raise InvalidClaims(
            f"{field_name}: a time needs its UTC offset (e.g. +08:00)",
            message_zh=f"{field_name}：时间必须带时区（如 +08:00）",
        )
    _to_day(parsed, field_name)
    return parsed.astimezone(CHINA_TZ)


@dataclass(frozen=True, slots=True)
class Claims:
    """What a credential asserts. Validated on construction: an instance is always encodable.

    Never carries an identity number, phone number or address: ``display_name`` must be
    masked for a worker, and no field accepts a run of six or more digits as text.
    """

    issuer_code: int
    serial: int
    subject_kind: SubjectKind
    archive_id: int
    enterprise_id: int
    display_name: str
    categories: frozenset[Category]
    issued_at: datetime
    expires_at: datetime
    card_uid: bytes | None = None
    holder_key: bytes | None = None

    def __post_init__(self) -> None:
        if not self._plainly_valid():
            self._check_rules()

    def _plainly_valid(self) -> bool:
        """The common case in one expression (decoded claims, parsed claims): when true, every
        rule :meth:`_check_rules` checks holds. When false, :meth:`_check_rules` decides."""
        issued, expires = self.issued_at, self.expires_at
        return (
            type(self.issuer_code) is int
            and 110000 <= self.issuer_code <= 829999
            and type(self.serial) is int
            and 0 <= self.serial <= MAX_SERIAL
            and type(self.archive_id) is int
            and 0 <= self.archive_id <= _JS_SAFE_INTEGER
            and type(self.enterprise_id) is int
            and 0 <= self.enterprise_id <= _JS_SAFE_INTEGER
            and type(self.subject_kind) is SubjectKind
            and (self.display_name, self.subject_kind) in _DISPLAY_NAMES_SEEN
            and type(self.categories) is frozenset
            and (
                _CATEGORY_SETS[_BITS_OF_SET.get(self.categories, 0)] is self.categories  # decoded: shared
                or all(type(c) is Category for c in self.categories)
            )
            and (bool(self.categories) or self.subject_kind is SubjectKind.ENTERPRISE)
            and issued.tzinfo is CHINA_TZ
            and expires.tzinfo is CHINA_TZ
            and type(issued) is datetime
            and type(expires) is datetime
            and not (issued.hour or issued.minute or issued.second or issued.microsecond)
            and not (expires.hour or expires.minute or expires.second or expires.microsecond)
            and _FIRST_DAY <= issued < expires
            and (self.card_uid is None or (type(self.card_uid) is bytes and 4 <= len(self.card_uid) <= 10))
            and (self.holder_key is None or (type(self.holder_key) is bytes and len(self.holder_key) == 32))
        )

    def _check_rules(self) -> None:
        """Every rule of the claims, one by one; raises :class:`InvalidClaims` naming the first broken."""
        _check_int("issuer_code", self.issuer_code, 110000, 829999)
        _check_int("serial", self.serial, 0, MAX_SERIAL)
        _check_int("archive_id", self.archive_id, 0, _JS_SAFE_INTEGER)
        _check_int("enterprise_id", self.enterprise_id, 0, _JS_SAFE_INTEGER)
        if type(self.subject_kind) is not SubjectKind:
            raise InvalidClaims(f"subject_kind must be worker or enterprise, got {self.subject_kind!r}")
        _check_display_name(self.display_name, self.subject_kind)
        categories = self.categories
        if type(categories) is not frozenset or not all(type(c) is Category for c in categories):
            raise InvalidClaims("categories must be a frozenset of Category")
        if not categories and self.subject_kind is SubjectKind.WORKER:
            raise InvalidClaims(
                "a worker credential names at least one service category",
                message_zh="服务员的安心码至少要有一个服务类别",
            )
        _check_day("issued_at", self.issued_at)
        _check_day("expires_at", self.expires_at)
        if self.expires_at <= self.issued_at:
            raise InvalidClaims("expires_at must be after issued_at", message_zh="到期日必须晚于签发日")
        if self.card_uid is not None and (
            type(self.card_uid) is not bytes or not 4 <= len(self.card_uid) <= 10
        ):
            raise InvalidClaims(
                "card_uid must be 4 to 10 bytes (an ISO 14443 UID or FeliCa IDm)",
                message_zh="卡号 card_uid 必须是 4 到 10 字节",
            )
        if self.holder_key is not None and (
            type(self.holder_key) is not bytes or len(self.holder_key) != ed25519.PUBLIC_KEY_SIZE
        ):
            raise InvalidClaims(
                "holder_key must be a 32-byte Ed25519 public key",
                message_zh="持有者公钥必须是 32 字节 Ed25519 公钥",
            )

    # -- JSON-friendly mapping (the claims file of `anxinma credential issue`) -------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Claims:
        """Build claims from the JSON field names; raises :class:`InvalidClaims` naming the field."""
        if not isinstance(data, Mapping):
            raise InvalidClaims("claims must be a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise InvalidClaims(f"unknown claim field(s): {', '.join(sorted(unknown))}")
        required = known - {"card_uid", "holder_key", "subject_kind"}
        missing = required - set(data)
        if missing:
            raise InvalidClaims(
                f"missing claim field(s): {', '.join(sorted(missing))}",
                message_zh=f"缺少字段：{', '.join(sorted(missing))}",
            )
        try:
            kind = SubjectKind(data.get("subject_kind", "worker"))
        except ValueError as exc:
            raise InvalidClaims("subject_kind must be 'worker' or 'enterprise'") from exc
        raw_categories = data["categories"]
        if isinstance(raw_categories, str) or not isinstance(raw_categories, Iterable):
            raise InvalidClaims("categories must be a list")
        return cls(
            issuer_code=_as_int("issuer_code", data["issuer_code"]),
            serial=_as_int("serial", data["serial"]),
            subject_kind=kind,
            archive_id=_as_int("archive_id", data["archive_id"]),
            enterprise_id=_as_int("enterprise_id", data["enterprise_id"]),
            display_name=data["display_name"],
            categories=frozenset(Category.parse(str(c)) for c in raw_categories),
            issued_at=parse_when(data["issued_at"], "issued_at"),
            expires_at=parse_when(data["expires_at"], "expires_at"),
            card_uid=_as_bytes("card_uid", data.get("card_uid")),
            holder_key=_as_bytes("holder_key", data.get("holder_key")),
        )

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready form; categories in the format's bit order, Chinese labels."""
        return {
            "issuer_code": self.issuer_code,
            "serial": self.serial,
            "subject_kind": self.subject_kind.value,
            "archive_id": self.archive_id,
            "enterprise_id": self.enterprise_id,
            "display_name": self.display_name,
            "categories": [c.zh for c in sorted(self.categories, key=lambda c: c.bit)],
            "issued_at": self.issued_at.astimezone(CHINA_TZ).isoformat(),
            "expires_at": self.expires_at.astimezone(CHINA_TZ).isoformat(),
            "card_uid": self.card_uid.hex() if self.card_uid is not None else None,
            "holder_key": self.holder_key.hex() if self.holder_key is not None else None,
        }

    # -- CBOR ------------------------------------------------------------------------------

    def to_cbor(self) -> bytes:
        """The CWT claims set in deterministic CBOR (the COSE payload)."""
        return _encode_claims(
            _TYPE_OF_KIND[self.subject_kind],
            self.issuer_code,
            self.serial,
            self.archive_id,
            self.enterprise_id,
            self.display_name.encode(),
            _bits_of(self.categories),
            _to_day(self.issued_at, "issued_at"),
            _to_day(self.expires_at, "expires_at"),
            self.card_uid,
            self.holder_key,
        )

    @classmethod
    def from_cbor(cls, payload: bytes) -> Claims:
        """Strict inverse of :meth:`to_cbor`: accepts exactly the bytes it writes.

        Raises :class:`MalformedCredential` (:class:`UnsupportedVersion` for an unknown type)
        naming the first rule the payload breaks.

        The common case is checked cheaply and as strictly: the C decoder reads the map, and
        the map's values written again by :func:`_encode_claims` must give back the very same
        bytes. That one comparison proves what the reference path checks one by one: exactly
        the claim keys of the format, in the deterministic order, each value of its CBOR type
        with the shortest head, nothing else. What is left are the rules on values (known type,
        defined category bits, dates in range, then the checks of :class:`Claims`). Anything
        that fails is read again by the reference path (decode, re-encode canonically with
        cbor2, compare, then check each claim), which is the one that words the error.
        """
        try:
            values = cbor2.loads(payload)
            type_, name = values[_K_TYPE], values[_K_DISPLAY_NAME]
            issuer_code, serial, archive_id, enterprise_id, bits, issued, expires = _GET_UNSIGNED_CLAIMS(
                values
            )
            card_uid = values.get(_K_CARD_UID)
            holder_key = values[_K_CNF][1][-2] if _K_CNF in values else None
            if (
                _encode_claims(
                    type_,
                    issuer_code,
                    serial,
                    archive_id,
                    enterprise_id,
                    name.encode(),
                    bits,
                    issued,
                    expires,
                    card_uid,
                    holder_key,
                )
                == payload
                and type_ in _KIND_OF_TYPE
                and not bits & ~_CATEGORY_MASK
                and issued <= MAX_DAY
                and expires <= MAX_DAY
            ):
                return _new_claims(  # in field order; validated as Claims() validates
                    issuer_code,
                    serial,
                    _KIND_OF_TYPE[type_],
                    archive_id,
                    enterprise_id,
                    name,
                    _CATEGORY_SETS[bits],
                    _from_day(issued),
                    _from_day(expires),
                    card_uid,
                    holder_key,
                )
        except Exception:  # only a shortcut: the reference path below meets the same input
            pass
        return _claims_reference(payload)


def _claims_reference(payload: bytes) -> Claims:
    """The reference reader of the claims: every rule checked one by one, in the spec's order."""
    claims = _claims_from_map(_loads_canonical(payload, "claims"))
    if claims.to_cbor() != payload:  # deterministic CBOR, but not ours: e.g. a float key -1.0
        raise MalformedCredential(
            "claims: deterministic CBOR, but not the v1 encoding of these claims",
            message_zh="声明：不是这些声明的 v1 编码",
        )
    return claims


def _encode_claims(
    type_: int,
    issuer_code: int,
    serial: int,
    archive_id: int,
    enterprise_id: int,
    display_name: bytes,
    categories: int,
    issued_day: int,
    expires_day: int,
    card_uid: bytes | None,
    holder_key: bytes | None,
) -> bytes:
    """The claims map in deterministic CBOR, written directly (it is the issuer's hot path).

    Every key of the map encodes to one byte, so the deterministic order of RFC 8949 §4.2.1
    (bytewise lexicographic, which here equals length-first) is the fixed order below: cnf
    (8 = 0x08), then type (-1 = 0x20) … card_uid (-10 = 0x29). The tests check these bytes
    against cbor2's canonical encoding of the same map for generated claims.
    """
    count = 9 + (card_uid is not None) + (holder_key is not None)
    # type (1 or 2) and issuer_code (110000 … 829999: always a 4-byte head) have one shape;
    # a value of another shape gives bytes no accepted payload has, or struct.error.
    start = _PACK_START(_MAJOR_MAP | count, 0x20, type_, 0x21, _MAJOR_UINT | 26, issuer_code)
    if holder_key is not None:
        # RFC 8747 §3.2: cnf with a COSE_Key (RFC 9053 §7.2: kty OKP = 1, crv Ed25519 = 6).
        start = start[:1] + _CNF_PREFIX + holder_key + start[1:]
    if categories < 24 and 0x100 <= issued_day <= 0xFFFF and 0x100 <= expires_day <= 0xFFFF:
        # The common tail: categories in the head byte, dates 1970-09 … 2149 in 2-byte heads.
        tail = _PACK_TAIL(
            0x26, categories, 0x27, _MAJOR_UINT | 25, issued_day, 0x28, _MAJOR_UINT | 25, expires_day
        )
    else:
        tail = b"".join(
            (
                b"\x26",
                _head(_MAJOR_UINT, categories),
                b"\x27",
                _head(_MAJOR_UINT, issued_day),
                b"\x28",
                _head(_MAJOR_UINT, expires_day),
            )
        )
    parts = [
        start,
        b"\x22",
        _head(_MAJOR_UINT, serial),
        b"\x23",
        _head(_MAJOR_UINT, archive_id),
        b"\x24",
        _head(_MAJOR_UINT, enterprise_id),
        b"\x25",
        _head(_MAJOR_TEXT, len(display_name)),
        display_name,
        tail,
    ]
    if card_uid is not None:
        parts += (b"\x29", _head(_MAJOR_BYTES, len(card_uid)), card_uid)
    return b"".join(parts)


_PACK_START = struct.Struct(">BBBBBI").pack
_PACK_TAIL = struct.Struct(">BBBBHBBH").pack


def _bits_of(categories: frozenset[Category]) -> int:
    bits = _BITS_OF_SET.get(categories)
    return categories_to_bits(categories) if bits is None else bits


# Claim keys as plain ints for the decoder's lookups (ClaimKey is the documented table).
_K_CNF = int(ClaimKey.CNF)
_K_TYPE = int(ClaimKey.TYPE)
_K_ISSUER_CODE = int(ClaimKey.ISSUER_CODE)
_K_SERIAL = int(ClaimKey.SERIAL)
_K_ARCHIVE_ID = int(ClaimKey.ARCHIVE_ID)
_K_ENTERPRISE_ID = int(ClaimKey.ENTERPRISE_ID)
_K_DISPLAY_NAME = int(ClaimKey.DISPLAY_NAME)
_K_CATEGORIES = int(ClaimKey.CATEGORIES)
_K_ISSUED_AT = int(ClaimKey.ISSUED_AT)
_K_EXPIRES_AT = int(ClaimKey.EXPIRES_AT)
_K_CARD_UID = int(ClaimKey.CARD_UID)

_CLAIM_KEYS = frozenset(int(k) for k in ClaimKey)
_REQUIRED_CLAIMS = (
    ClaimKey.ISSUER_CODE,
    ClaimKey.SERIAL,
    ClaimKey.ARCHIVE_ID,
    ClaimKey.ENTERPRISE_ID,
    ClaimKey.DISPLAY_NAME,
    ClaimKey.CATEGORIES,
    ClaimKey.ISSUED_AT,
    ClaimKey.EXPIRES_AT,
)
_REQUIRED_KEYS = frozenset(int(k) for k in _REQUIRED_CLAIMS)
_UNSIGNED_CLAIMS = (
    _K_ISSUER_CODE,
    _K_SERIAL,
    _K_ARCHIVE_ID,
    _K_ENTERPRISE_ID,
    _K_CATEGORIES,
    _K_ISSUED_AT,
    _K_EXPIRES_AT,
)
_GET_UNSIGNED_CLAIMS = operator.itemgetter(*_UNSIGNED_CLAIMS)
_ALL_INT = (int,) * len(_UNSIGNED_CLAIMS)
_CLAIM_TYPES: dict[ClaimKey, type] = {
    ClaimKey.ISSUER_CODE: int,
    ClaimKey.SERIAL: int,
    ClaimKey.ARCHIVE_ID: int,
    ClaimKey.ENTERPRISE_ID: int,
    ClaimKey.DISPLAY_NAME: str,
    ClaimKey.CATEGORIES: int,
    ClaimKey.ISSUED_AT: int,
    ClaimKey.EXPIRES_AT: int,
    ClaimKey.CARD_UID: bytes,
    ClaimKey.CNF: dict,
}


def _check_claims_map(claims: Any) -> None:
    """Every rule of the claims map, in the order the spec lists them; raises on the first broken."""
    if type(claims) is not dict:
        raise MalformedCredential("the payload is not a CWT claims map", message_zh="载荷不是声明映射")
    type_ = claims.get(_K_TYPE)
    if type_ is None:
        raise MalformedCredential("missing claim: type", message_zh="缺少声明：type")
    if not _is_int(type_):
        raise MalformedCredential("claim type must be an integer", message_zh="声明 type 必须是整数")
    if type_ not in CREDENTIAL_TYPES:
        raise UnsupportedVersion(
            f"credential type {type_} is not one this release reads (format version {FORMAT_VERSION})",
            message_zh=f"不支持的安心码类型 {type_}（本版本读取格式 v{FORMAT_VERSION}）",
        )
    if not _CLAIM_KEYS.issuperset(claims):
        unknown = sorted((k for k in claims if k not in _CLAIM_KEYS), key=repr)
        raise MalformedCredential(f"unknown claim key(s): {unknown}", message_zh=f"未知声明：{unknown}")
    if not claims.keys() >= _REQUIRED_KEYS:
        missing = next(key for key in _REQUIRED_CLAIMS if int(key) not in claims)
        raise MalformedCredential(
            f"missing claim: {missing.name.lower()}", message_zh=f"缺少声明：{missing.name.lower()}"
        )
    unsigned = _GET_UNSIGNED_CLAIMS(claims)
    if not (
        tuple(map(type, unsigned)) == _ALL_INT
        and min(unsigned) >= 0
        and type(claims[_K_DISPLAY_NAME]) is str
        and type(claims.get(_K_CARD_UID, b"")) is bytes
        and type(claims.get(_K_CNF, {})) is dict
    ):
        wrong = next(k for k, t in _CLAIM_TYPES.items() if int(k) in claims and not _has_type(claims[k], t))
        raise MalformedCredential(
            f"claim {wrong.name.lower()} has the wrong type", message_zh=f"声明 {wrong.name.lower()} 类型错误"
        )
    if claims[_K_CATEGORIES] & ~_CATEGORY_MASK:
        raise MalformedCredential(
            "categories has bits this version does not define", message_zh="服务类别含有未定义的位"
        )
    for key in (_K_ISSUED_AT, _K_EXPIRES_AT):
        if claims[key] > MAX_DAY:
            raise MalformedCredential(
                f"claim {ClaimKey(key).name.lower()} is out of range", message_zh="日期超出范围"
            )


def _claims_from_map(claims: Any) -> Claims:
    """The claims a decoded CBOR map asserts; :class:`MalformedCredential` names the first fault."""
    _check_claims_map(claims)
    return _build_claims(claims, _parse_cnf(claims[_K_CNF]) if _K_CNF in claims else None)


def _build_claims(claims: dict[int, Any], holder_key: bytes | None) -> Claims:
    """:class:`Claims` of a map whose keys and types are checked; a broken value rule is malformed."""
    try:
        return Claims(
            claims[_K_ISSUER_CODE],
            claims[_K_SERIAL],
            _KIND_OF_TYPE[claims[_K_TYPE]],
            claims[_K_ARCHIVE_ID],
            claims[_K_ENTERPRISE_ID],
            claims[_K_DISPLAY_NAME],
            _CATEGORY_SETS[claims[_K_CATEGORIES]],
            _from_day(claims[_K_ISSUED_AT]),
            _from_day(claims[_K_EXPIRES_AT]),
            claims.get(_K_CARD_UID),
            holder_key,
        )
    except InvalidClaims as exc:
        raise MalformedCredential(
            f"claims break a rule of the format: {exc.message}",
            message_zh=f"声明违反格式规则：{exc.message_zh}",
        ) from exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _has_type(value: Any, expected: type) -> bool:
    """The decoder's type rule: exactly the Python type cbor2 gives for the CBOR major type."""
    if expected is int:
        return type(value) is int and value >= 0
    return type(value) is expected


def _parse_cnf(cnf: dict[Any, Any]) -> bytes:
    key = cnf.get(1) if len(cnf) == 1 else None
    if (
        not isinstance(key, dict)
        or set(key) != {1, -1, -2}
        or key[1] != 1
        or key[-1] != 6
        or not isinstance(key[-2], bytes)
        or len(key[-2]) != ed25519.PUBLIC_KEY_SIZE
    ):
        raise MalformedCredential("cnf must hold exactly one Ed25519 OKP COSE_Key")
    return bytes(key[-2])


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
        raise InvalidClaims(f"{name} must be hex") from exc


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
        raise InvalidClaims("display_name must be NFC-normalised text without control characters")
    limit = 24 if kind is SubjectKind.WORKER else 64
    if len(name.encode()) > limit:
        raise InvalidClaims(f"display_name is longer than {limit} bytes of UTF-8")
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


def _loads_canonical(data: bytes, what: str) -> Any:
    """Decode one CBOR item and insist the bytes are its deterministic encoding.

    Re-encoding and comparing catches, in one rule, trailing bytes, indefinite lengths,
    non-shortest integers, unsorted or duplicate map keys and tags we never write.
    """
    try:
        value = cbor2.loads(data)
        canonical = cbor2.dumps(value, canonical=True)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError, LookupError) as exc:
        raise MalformedCredential(
            f"{what}: not valid CBOR ({exc})", message_zh=f"{what}：不是有效的 CBOR"
        ) from exc
    if canonical != data:
        raise MalformedCredential(
            f"{what}: not deterministic CBOR (RFC 8949 §4.2)", message_zh=f"{what}：不是确定性 CBOR 编码"
        )
    return value


def derive_kid(public_key: bytes) -> bytes:
    """The 2-byte key id: the first 16 bits of the RFC 9679 COSE Key Thumbprint.

    Anyone holding the public key computes the same kid. A kid is looked up within the
    issuer the claims name, so it need only be unique among that issuer's keys: the key
    directory refuses (and regenerates) a new key whose kid collides with one it already has.
    """
    return _derive_kid(bytes(public_key))


@functools.lru_cache(maxsize=1024)
def _derive_kid(public_key: bytes) -> bytes:
    # RFC 9679 §3: thumbprint over the deterministic encoding of the required OKP members.
    cose_key = cbor2.dumps({1: 1, -1: 6, -2: public_key}, canonical=True)
    return hashlib.sha256(cose_key).digest()[:KID_SIZE]


#: The protected header {1: -8, 4: h'<kid>'} up to the kid: map(2), alg: EdDSA, kid: bstr(2).
_PROTECTED_PREFIX = bytes.fromhex("a201270442")
#: The start of a v1 credential: array(4), bstr(7), then the protected header's prefix.
_CREDENTIAL_PREFIX = bytes((_MAJOR_ARRAY | 4, _MAJOR_BYTES | (len(_PROTECTED_PREFIX) + KID_SIZE)))
_CREDENTIAL_PREFIX += _PROTECTED_PREFIX
_KID_END = len(_CREDENTIAL_PREFIX) + KID_SIZE
#: RFC 9052 §4.4: array(4), "Signature1" — the start of every Sig_structure we sign.
_SIG_STRUCTURE_PREFIX = bytes((_MAJOR_ARRAY | 4, _MAJOR_TEXT | 10)) + b"Signature1"
_SIGNATURE_HEAD = _head(_MAJOR_BYTES, ed25519.SIGNATURE_SIZE)
_PROTECTED_HEAD = _head(_MAJOR_BYTES, len(_PROTECTED_PREFIX) + KID_SIZE)
_CREDENTIAL_HEAD = _head(_MAJOR_ARRAY, 4) + _PROTECTED_HEAD
_EMPTY_MAP_PAYLOAD_HEAD = bytes((_MAJOR_MAP, _MAJOR_BYTES | 24))  # {} then a bstr with a 1-byte length
#: The bytes of a credential around its payload: everything but the n payload bytes.
_ENVELOPE_SIZE = _KID_END + 3 + len(_SIGNATURE_HEAD) + ed25519.SIGNATURE_SIZE


def _protected_header(kid: bytes) -> bytes:
    return _PROTECTED_PREFIX + kid


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """RFC 9052 §4.4: the bytes Ed25519 signs, ["Signature1", protected, h'', payload]."""
    return b"".join((_SIG_STRUCTURE_PREFIX, _bstr(protected), b"\x40", _bstr(payload)))


def _cose_sign1(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    """RFC 9052 §4.2: [protected, unprotected = {}, payload, signature], untagged."""
    return b"".join((b"\x84", _bstr(protected), b"\xa0", _bstr(payload), _bstr(signature)))


@dataclass(frozen=True, slots=True)
class Credential:
    """Claims with the kid, the signature and the exact bytes that were signed."""

    claims: Claims
    kid: bytes
    signature: bytes
    protected: bytes = field(repr=False)
    payload: bytes = field(repr=False)
    raw: bytes = field(repr=False)

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()

    def to_bytes(self) -> bytes:
        return self.raw

    def to_hex(self) -> str:
        return self.raw.hex()

    def to_decimal(self) -> str:
        return to_decimal(self.raw)

    def to_url(self, base_url: str) -> str:
        """``https://<verify host>/v/<decimal>``: the form a phone camera opens."""
        return f"{_normalise_base(base_url)}/v/{self.to_decimal()}"

    def qr_segments(self, base_url: str) -> list[str]:
        """The URL as two QR segments: the prefix upper-cased (alphanumeric mode), the digits
        (numeric mode); the QR encoder picks each segment's mode from its characters.

        Scheme and host are case-insensitive and the service answers ``/V/`` as ``/v/``, so
        the upper-case prefix opens the same page while costing 5.5 instead of 8 bits a character.
        """
        return [f"{_normalise_base(base_url)}/v/".upper(), self.to_decimal()]

    def qr_text(self, base_url: str) -> str:
        """What a QR reader returns for :meth:`qr_segments`."""
        return "".join(self.qr_segments(base_url))

    def signed_bytes(self) -> bytes:
        return sig_structure(self.protected, self.payload)

    def verify_signature(self, public_key: bytes) -> None:
        """Raise :class:`BadSignature` unless the signature verifies under ``public_key``."""
        if not ed25519.verify(public_key, self.signature, self.signed_bytes()):
            raise BadSignature("the signature does not verify", message_zh="签名验证失败")


def _normalise_base(base_url: str) -> str:
    base = base_url.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"a verify base URL looks like https://v.example.cn, got {base_url!r}")
    return base


# Fast constructors for the hot paths: object.__new__ and the slots' own descriptors, which
# cost half of a frozen dataclass's __init__ (it goes through object.__setattr__ per field).
# They build exactly what the dataclass __init__ builds: Claims runs the same __post_init__.
_SET_ISSUER_CODE, _SET_SERIAL, _SET_SUBJECT_KIND, _SET_ARCHIVE_ID, _SET_ENTERPRISE_ID = (
    Claims.__dict__[name].__set__
    for name in ("issuer_code", "serial", "subject_kind", "archive_id", "enterprise_id")
)
_SET_DISPLAY_NAME, _SET_CATEGORIES, _SET_ISSUED_AT, _SET_EXPIRES_AT, _SET_CARD_UID, _SET_HOLDER_KEY = (
    Claims.__dict__[name].__set__
    for name in ("display_name", "categories", "issued_at", "expires_at", "card_uid", "holder_key")
)
_SET_CLAIMS, _SET_KID, _SET_SIGNATURE, _SET_PROTECTED, _SET_PAYLOAD, _SET_RAW = (
    Credential.__dict__[name].__set__
    for name in ("claims", "kid", "signature", "protected", "payload", "raw")
)
_new_object = object.__new__


def _new_claims(
    issuer_code: int,
    serial: int,
    subject_kind: SubjectKind,
    archive_id: int,
    enterprise_id: int,
    display_name: str,
    categories: frozenset[Category],
    issued_at: datetime,
    expires_at: datetime,
    card_uid: bytes | None,
    holder_key: bytes | None,
) -> Claims:
    claims: Claims = _new_object(Claims)
    _SET_ISSUER_CODE(claims, issuer_code)
    _SET_SERIAL(claims, serial)
    _SET_SUBJECT_KIND(claims, subject_kind)
    _SET_ARCHIVE_ID(claims, archive_id)
    _SET_ENTERPRISE_ID(claims, enterprise_id)
    _SET_DISPLAY_NAME(claims, display_name)
    _SET_CATEGORIES(claims, categories)
    _SET_ISSUED_AT(claims, issued_at)
    _SET_EXPIRES_AT(claims, expires_at)
    _SET_CARD_UID(claims, card_uid)
    _SET_HOLDER_KEY(claims, holder_key)
    claims.__post_init__()
    return claims


def _new_credential(
    claims: Claims, kid: bytes, signature: bytes, protected: bytes, payload: bytes, raw: bytes
) -> Credential:
    credential: Credential = _new_object(Credential)
    _SET_CLAIMS(credential, claims)
    _SET_KID(credential, kid)
    _SET_SIGNATURE(credential, signature)
    _SET_PROTECTED(credential, protected)
    _SET_PAYLOAD(credential, payload)
    _SET_RAW(credential, raw)
    return credential


def sign(claims: Claims, key: ed25519.SigningKey, kid: bytes | None = None) -> Credential:
    """Sign ``claims`` with an issuer key; the kid defaults to :func:`derive_kid` of its public key."""
    kid = derive_kid(key.public_key) if kid is None else kid
    if len(kid) != KID_SIZE:
        raise ValueError(f"a kid is {KID_SIZE} bytes")
    protected = _PROTECTED_PREFIX + kid
    payload = claims.to_cbor()
    payload_head = _head(_MAJOR_BYTES, len(payload))
    # The Sig_structure and the COSE_Sign1 share the protected header and the payload: their
    # bytes are joined directly (the same as sig_structure() and _cose_sign1(), which the tests
    # check against cbor2), because issuing is a hot path.
    signature = key.sign(
        b"".join((_SIG_STRUCTURE_PREFIX, _PROTECTED_HEAD, protected, b"\x40", payload_head, payload))
    )
    raw = b"".join((_CREDENTIAL_HEAD, protected, b"\xa0", payload_head, payload, _SIGNATURE_HEAD, signature))
    if len(raw) > MAX_CREDENTIAL_BYTES:  # pragma: no cover - claims limits keep it near 260 B
        raise InvalidClaims("the credential would exceed the 1 KiB limit")
    return _new_credential(claims, kid, signature, protected, payload, raw)


def decode(data: bytes) -> Credential:
    """Parse the binary form without trusting it (the signature is *not* checked here).

    Raises :class:`MalformedCredential` (or its subclasses :class:`UnsupportedVersion`,
    :class:`UnsupportedAlgorithm`) with a specific reason for every input that is not a
    well-formed v1 credential in deterministic CBOR.
    """
    if type(data) is not bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedCredential("a credential is bytes", message_zh="安心码的二进制形式必须是字节")
        data = bytes(data)
    if not data:
        raise MalformedCredential("empty input", message_zh="输入为空")
    if len(data) > MAX_CREDENTIAL_BYTES:
        raise MalformedCredential(
            f"{len(data)} bytes is more than the {MAX_CREDENTIAL_BYTES}-byte limit", message_zh="数据过长"
        )
    fast = _decode_common_form(data)
    if fast is not None:
        return fast
    return _decode_reference(data)


def _decode_reference(data: bytes) -> Credential:
    """The reference reader of the envelope: decode, re-encode canonically, compare, then check
    each member in the spec's order. It words every error :func:`decode` raises."""
    if data[0] == 0xD2:  # tag 18
        raise MalformedCredential(
            "a tagged COSE_Sign1 is not the v1 form (untagged, RFC 9052 §4.2)",
            message_zh="带标签的 COSE_Sign1 不是 v1 形式（应不带标签）",
        )
    outer = _loads_canonical(data, "credential")
    if isinstance(outer, cbor2.CBORTag):
        raise MalformedCredential(
            f"a credential behind CBOR tag {outer.tag} is not the v1 form (untagged COSE_Sign1)",
            message_zh=f"带 CBOR 标签 {outer.tag} 的数据不是 v1 形式（应为不带标签的 COSE_Sign1）",
        )
    if not isinstance(outer, list | tuple) or len(outer) != 4:
        raise MalformedCredential(
            "not a COSE_Sign1 structure (an array of four)", message_zh="不是 COSE_Sign1 结构"
        )
    protected, unprotected, payload, signature = outer
    if not isinstance(protected, bytes) or not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise MalformedCredential("COSE_Sign1 members have the wrong types")
    if unprotected != {}:
        raise MalformedCredential("the unprotected header must be empty in v1")
    if len(signature) != ed25519.SIGNATURE_SIZE:
        raise MalformedCredential("an Ed25519 signature is 64 bytes")
    header = _loads_canonical(protected, "protected header")
    if not isinstance(header, dict):
        raise MalformedCredential("the protected header is not a map")
    alg = header.get(_HEADER_ALG)
    if alg != COSE_ALG_EDDSA:
        raise UnsupportedAlgorithm(
            f"algorithm {alg!r} is not EdDSA (-8)", message_zh=f"不支持的签名算法 {alg!r}"
        )
    kid = header.get(_HEADER_KID)
    if set(header) != {_HEADER_ALG, _HEADER_KID} or not isinstance(kid, bytes) or len(kid) != KID_SIZE:
        raise MalformedCredential(
            f"the protected header must be exactly {{alg: EdDSA, kid: {KID_SIZE} bytes}}"
        )
    claims = Claims.from_cbor(payload)
    return Credential(claims, kid, signature, protected, payload, data)


def _decode_common_form(data: bytes) -> Credential | None:
    """The envelope of a well-formed credential checked by its exact bytes, or None.

    Every v1 credential is ``84 47 a2 01 27 04 42 <kid:2> a0 58 <n> <payload:n> 58 40 <sig:64>``
    (an array of 4; the 7-byte protected header {1: -8, 4: kid}; the empty map; the payload,
    whose length the claims' limits keep within 24 … 255 bytes, so its head is ``58 n``; the
    signature). When ``data`` is exactly that, every head is in its shortest form and the
    reference path of :func:`decode` could only go on to :meth:`Claims.from_cbor`, so this does
    the same without decoding and re-encoding the envelope; anything else returns None and
    the reference path words the error.
    """
    size = len(data) - _ENVELOPE_SIZE
    if (
        24 <= size <= 255
        and data[_KID_END : _KID_END + 3] == _EMPTY_MAP_PAYLOAD_HEAD + bytes((size,))
        and data.startswith(_CREDENTIAL_PREFIX)
        and data[-66:-64] == _SIGNATURE_HEAD
    ):
        payload = data[_KID_END + 3 : -66]
        return _new_credential(
            Claims.from_cbor(payload),
            data[_KID_END - KID_SIZE : _KID_END],
            data[-64:],
            data[2:_KID_END],
            payload,
            data,
        )
    return None


# -- text forms ---------------------------------------------------------------------------

# Decimal form: big-endian groups of 7 bytes, each written as exactly 17 digits
# (2**56 < 10**17); a final group of k bytes takes the fewest digits that hold 256**k - 1.
_GROUP_BYTES = 7
_DIGITS_FOR = {k: len(str(256**k - 1)) for k in range(1, _GROUP_BYTES + 1)}
_BYTES_FOR = {d: k for k, d in _DIGITS_FOR.items()}
_GROUP_DIGITS = _DIGITS_FOR[_GROUP_BYTES]


def to_decimal(data: bytes) -> str:
    """Bytes as decimal digits for QR numeric mode (2.43 digits a byte)."""
    full = len(data) - len(data) % _GROUP_BYTES
    out = [
        str(int.from_bytes(data[at : at + _GROUP_BYTES], "big")).zfill(_GROUP_DIGITS)
        for at in range(0, full, _GROUP_BYTES)
    ]
    if full < len(data):
        out.append(str(int.from_bytes(data[full:], "big")).zfill(_DIGITS_FOR[len(data) - full]))
    return "".join(out)


def from_decimal(text: str) -> bytes:
    """Strict inverse of :func:`to_decimal`: wrong lengths or out-of-range groups are malformed."""
    if not text.isascii() or not text.isdigit():
        raise MalformedCredential(
            "the decimal form holds only the digits 0-9", message_zh="数字形式只能包含数字"
        )
    full, rest = divmod(len(text), _GROUP_DIGITS)
    if rest and rest not in _BYTES_FOR:
        raise MalformedCredential(
            "the decimal form has a length no byte string encodes to (truncated?)",
            message_zh="数字形式的长度不对（不完整？）",
        )
    end = full * _GROUP_DIGITS
    try:
        groups = [
            int(text[at : at + _GROUP_DIGITS]).to_bytes(_GROUP_BYTES, "big")
            for at in range(0, end, _GROUP_DIGITS)
        ]
        if rest:
            groups.append(int(text[end:]).to_bytes(_BYTES_FOR[rest], "big"))
    except OverflowError:  # a group whose value does not fit its bytes
        raise MalformedCredential(
            "the decimal form has a group out of range", message_zh="数字形式中有一组超出范围"
        ) from None
    return b"".join(groups)


_HEX = re.compile(r"[0-9a-fA-F]+")


def parse_text(text: str) -> bytes:
    """Binary form from any text form: the URL (``/v/<digits>`` or ``/v#<digits>``, any case
    of scheme, host and ``v``), bare decimal digits, or hex (which always begins ``84``, the
    CBOR head of a four-element array; decimal digits always begin ``37``).
    """
    if not isinstance(text, str):
        raise MalformedCredential("a text form is a string")
    value = text.strip()
    if not value:
        raise MalformedCredential("empty input", message_zh="输入为空")
    if len(value) > MAX_TEXT_LENGTH:
        raise MalformedCredential("the text is far longer than any credential", message_zh="文本过长")
    if value[:8].lower().startswith(("https://", "http://")):
        return from_decimal(_payload_from_url(value))
    if value[:2] == "84" and _HEX.fullmatch(value):
        if len(value) % 2 == 0:
            return bytes.fromhex(value)
        if not value.isdigit():
            raise MalformedCredential(
                "the hex form has an odd number of digits (truncated?)",
                message_zh="十六进制形式的位数为奇数（不完整？）",
            )
    if value.isascii() and value.isdigit():
        return from_decimal(value)
    raise MalformedCredential(
        "this is not a 安心码 (not its URL, digits or hex form)", message_zh="这不是安心码"
    )


def _payload_from_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise MalformedCredential("not a valid URL", message_zh="不是有效的网址") from exc
    path = parts.path
    lower = path.lower()
    if parts.fragment and (lower.endswith("/v") or lower.endswith("/v/")):
        return parts.fragment
    marker = lower.rfind("/v/")
    if marker < 0 or parts.query:
        raise MalformedCredential(
            "this URL is not a 安心码 link (…/v/<digits>)", message_zh="该网址不是安心码链接"
        )
    return path[marker + 3 :]


def decode_text(text: str) -> Credential:
    """:func:`decode` of :func:`parse_text`: any text form to an (unverified) credential."""
    return decode(parse_text(text))
