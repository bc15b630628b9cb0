"""The claims set: :class:`Claims`, its CBOR map (the COSE payload), written directly and
read strictly (docs/format.md §3, §4).
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum
from typing import Any

import cbor2

from anxinma import ed25519
from anxinma.credential._cbor import (
    MAJOR_BYTES,
    MAJOR_MAP,
    MAJOR_TEXT,
    MAJOR_UINT,
    head,
    loads_canonical,
)
from anxinma.credential.values import (
    _BITS_OF_SET,
    _CATEGORY_MASK,
    _CATEGORY_SETS,
    _DISPLAY_NAMES_SEEN,
    _FIRST_DAY,
    _JS_SAFE_INTEGER,
    _KIND_OF_TYPE,
    _TYPE_OF_KIND,
    CHINA_TZ,
    CREDENTIAL_TYPES,
    FORMAT_VERSION,
    MAX_DAY,
    MAX_DIVISION_CODE,
    MAX_SERIAL,
    MIN_DIVISION_CODE,
    Category,
    SubjectKind,
    _as_bytes,
    _as_int,
    _check_day,
    _check_display_name,
    _check_int,
    _from_day,
    _is_int,
    _to_day,
    categories_to_bits,
    parse_when,
)
from anxinma.errors import (
    InvalidClaims,
    MalformedCredential,
    UnsupportedVersion,
)

_ONE_DAY = timedelta(days=1)


def last_valid_day(expires: date | datetime) -> date:
    """The last day a credential is valid, in China time, given its exclusive end.

    The format and the issuer's records keep the exclusive end (``expires_at``, midnight CST of
    the first day the credential no longer verifies; the store's ``expires_on`` is that day). A
    person is shown the day before ("valid until 2028-12-05"): on the badge, the verify page,
    the consoles and the command line alike, all through this one function.
    """
    if isinstance(expires, datetime):
        return expires.astimezone(CHINA_TZ).date() - _ONE_DAY
    return expires - _ONE_DAY


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


#: cnf (8) => {1: {1: 1 (OKP), -1: 6 (Ed25519), -2: h'<32 bytes>'}}, up to the key bytes.
_CNF_PREFIX = bytes.fromhex("08a101a301012006215820")


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
        # Each field read once (a decoder builds one Claims per scan); types before attributes,
        # so that a wrong type (a date for a datetime) falls to _check_rules and its message.
        code, serial, archive, enterprise = self.issuer_code, self.serial, self.archive_id, self.enterprise_id
        kind, categories, issued, expires = (
            self.subject_kind,
            self.categories,
            self.issued_at,
            self.expires_at,
        )
        uid, key = self.card_uid, self.holder_key
        return (
            type(code) is int
            and MIN_DIVISION_CODE <= code <= MAX_DIVISION_CODE
            and type(serial) is int
            and 0 <= serial <= MAX_SERIAL
            and type(archive) is int
            and 0 <= archive <= _JS_SAFE_INTEGER
            and type(enterprise) is int
            and 0 <= enterprise <= _JS_SAFE_INTEGER
            and type(kind) is SubjectKind
            and (self.display_name, kind) in _DISPLAY_NAMES_SEEN
            and type(categories) is frozenset
            and (
                _CATEGORY_SETS[_BITS_OF_SET.get(categories, 0)] is categories  # decoded: shared
                or all(type(c) is Category for c in categories)
            )
            and (bool(categories) or kind is SubjectKind.ENTERPRISE)
            and type(issued) is datetime
            and type(expires) is datetime
            and issued.tzinfo is CHINA_TZ
            and expires.tzinfo is CHINA_TZ
            and not (issued.hour or issued.minute or issued.second or issued.microsecond)
            and not (expires.hour or expires.minute or expires.second or expires.microsecond)
            and _FIRST_DAY <= issued < expires
            and (uid is None or (type(uid) is bytes and 4 <= len(uid) <= 10))
            and (key is None or (type(key) is bytes and len(key) == 32))
        )

    def _check_rules(self) -> None:
        """Every rule of the claims, one by one; raises :class:`InvalidClaims` naming the first broken."""
        _check_int("issuer_code", self.issuer_code, MIN_DIVISION_CODE, MAX_DIVISION_CODE)
        _check_int("serial", self.serial, 0, MAX_SERIAL)
        _check_int("archive_id", self.archive_id, 0, _JS_SAFE_INTEGER)
        _check_int("enterprise_id", self.enterprise_id, 0, _JS_SAFE_INTEGER)
        if type(self.subject_kind) is not SubjectKind:
            raise InvalidClaims(
                f"subject_kind must be worker or enterprise, got {self.subject_kind!r}",
                message_zh=f"subject_kind 必须是 worker 或 enterprise，收到 {self.subject_kind!r}",
            )
        _check_display_name(self.display_name, self.subject_kind)
        categories = self.categories
        if type(categories) is not frozenset or not all(type(c) is Category for c in categories):
            raise InvalidClaims(
                "categories must be a frozenset of Category", message_zh="服务类别必须是 Category 的集合"
            )
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
            raise InvalidClaims("claims must be a JSON object", message_zh="声明必须是 JSON 对象")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise InvalidClaims(
                f"unknown claim field(s): {', '.join(sorted(unknown))}",
                message_zh=f"未知字段：{', '.join(sorted(unknown))}",
            )
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
            raise InvalidClaims(
                "subject_kind must be 'worker' or 'enterprise'",
                message_zh="subject_kind 必须是 worker 或 enterprise",
            ) from exc
        raw_categories = data["categories"]
        if isinstance(raw_categories, str) or not isinstance(raw_categories, Iterable):
            raise InvalidClaims("categories must be a list", message_zh="服务类别必须是列表")
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

    @property
    def last_valid_day(self) -> date:
        """The last day the credential is valid, in China time (:func:`last_valid_day`)."""
        return last_valid_day(self.expires_at)

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

        The common case is checked cheaply and as strictly: :func:`_read_fields` accepts only
        the bytes :func:`_encode_claims` writes (exactly the claim keys of the format, in the
        deterministic order, each value of its CBOR type with the shortest head, nothing else),
        so what is left are the rules on values (known type, defined category bits, dates in
        range, then the checks of :class:`Claims`). Anything that fails is read again by the
        reference path (decode, re-encode canonically with cbor2, compare, then check each
        claim), which is the one that words the error.
        """
        fields = _read_fields(payload) if type(payload) is bytes else None  # bytearray: the reference
        claims = None if fields is None else _claims_of_fields(*fields)
        return _claims_reference(payload) if claims is None else claims


def _claims_of_fields(
    type_: int,
    issuer_code: int,
    serial: int,
    archive_id: int,
    enterprise_id: int,
    name: str,
    bits: int,
    issued: int,
    expires: int,
    card_uid: bytes | None,
    holder_key: bytes | None,
) -> Claims | None:
    """Claims of the values a fast reader found, or None where a rule on values fails (the
    reference reader then words it): known type, defined category bits, dates in range,
    then the checks of :class:`Claims`."""
    if type_ not in _KIND_OF_TYPE or bits & ~_CATEGORY_MASK or issued > MAX_DAY or expires > MAX_DAY:
        return None
    try:
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
    except InvalidClaims:
        return None


#: (type, issuer_code, serial, archive_id, enterprise_id, display_name, category bits,
#: issued day, expires day, card_uid, holder_key): the values of a claims map, unchecked.
ClaimFields = tuple[int, int, int, int, int, str, int, int, int, bytes | None, bytes | None]


def _claims_fields_python(payload: bytes) -> ClaimFields | None:
    """The values of a claims map when ``payload`` is exactly what :func:`_encode_claims`
    writes for them, else None: cbor2 (its C decoder) reads the map, and the values written again
    must give back the very same bytes (one comparison proves keys, order, types and heads).
    The C accelerator's ``claims_fields`` is the same rule, read byte by byte."""
    try:
        values = cbor2.loads(payload)
        type_, name = values[_K_TYPE], values[_K_DISPLAY_NAME]
        issuer_code, serial, archive_id, enterprise_id, bits, issued, expires = _GET_UNSIGNED_CLAIMS(values)
        card_uid = values.get(_K_CARD_UID)
        holder_key = values[_K_CNF][1][-2] if _K_CNF in values else None
        encoded = _encode_claims(
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
    except Exception:  # any other shape: not what the format writes
        return None
    if encoded != payload:
        return None
    return (
        type_,
        issuer_code,
        serial,
        archive_id,
        enterprise_id,
        name,
        bits,
        issued,
        expires,
        card_uid,
        holder_key,
    )


try:  # the C reader (optional, built where a compiler was present)
    from anxinma.credential._speedups import claims_fields as _read_fields
except ImportError:  # pragma: no cover - the Python reader is the same rule
    _read_fields = _claims_fields_python


def _claims_reference(payload: bytes) -> Claims:
    """The reference reader of the claims: every rule checked one by one, in the spec's order."""
    claims = _claims_from_map(loads_canonical(payload, "claims"))
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
    # type (1 or 2) and issuer_code (MIN_DIVISION_CODE … MAX_DIVISION_CODE: always a 4-byte
    # head) have one shape;
    # a value of another shape gives bytes no accepted payload has, or struct.error.
    start = _PACK_START(MAJOR_MAP | count, 0x20, type_, 0x21, MAJOR_UINT | 26, issuer_code)
    if holder_key is not None:
        # RFC 8747 §3.2: cnf with a COSE_Key (RFC 9053 §7.2: kty OKP = 1, crv Ed25519 = 6).
        start = start[:1] + _CNF_PREFIX + holder_key + start[1:]
    if categories < 24 and 0x100 <= issued_day <= 0xFFFF and 0x100 <= expires_day <= 0xFFFF:
        # The common tail: categories in the head byte, dates 1970-09 … 2149 in 2-byte heads.
        tail = _PACK_TAIL(
            0x26, categories, 0x27, MAJOR_UINT | 25, issued_day, 0x28, MAJOR_UINT | 25, expires_day
        )
    else:
        tail = b"".join(
            (
                b"\x26",
                head(MAJOR_UINT, categories),
                b"\x27",
                head(MAJOR_UINT, issued_day),
                b"\x28",
                head(MAJOR_UINT, expires_day),
            )
        )
    parts = [
        start,
        b"\x22",
        head(MAJOR_UINT, serial),
        b"\x23",
        head(MAJOR_UINT, archive_id),
        b"\x24",
        head(MAJOR_UINT, enterprise_id),
        b"\x25",
        head(MAJOR_TEXT, len(display_name)),
        display_name,
        tail,
    ]
    if card_uid is not None:
        parts += (b"\x29", head(MAJOR_BYTES, len(card_uid)), card_uid)
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
        raise MalformedCredential(
            "cnf must hold exactly one Ed25519 OKP COSE_Key",
            message_zh="cnf 必须恰好包含一个 Ed25519 OKP 公钥",
        )
    return bytes(key[-2])


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
