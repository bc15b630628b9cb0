"""Field rules of the enterprise API, each failure a message in Chinese and English.

Each rule is one function (``normalise_*``, ``parse_*``) raising ``ValueError(zh, en)``; the
pydantic field types below pair a rule with the JSON Schema the OpenAPI document shows for it,
so a request model (here :class:`WorkerFields`, the API's in ``web/schemas.py``) validates with
the rule and documents it from one declaration. The bulk import and the consoles use the same
model through :func:`worker_input`.

Identity numbers follow GB 11643-1999 (18 characters: 6-digit division, 8-digit birth date,
3-digit sequence, ISO 7064 MOD 11-2 check character); phone numbers are mainland mobiles.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, PlainValidator, WithJsonSchema
from pydantic import ValidationError as PydanticError

from anxinma import credential as fmt
from anxinma.credential import Category, categories_to_bits
from anxinma.errors import InvalidClaims, MalformedCredential
from anxinma.issuer.errors import ValidationFailed, not_found
from anxinma.issuer.store.models import MAX_ID

_ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"[1-8]\d{16}[\dX]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")
_CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

Errors = dict[str, tuple[str, str]]


def presented_credential(code: Any, issuer_code: int) -> tuple[bytes, fmt.Credential]:
    """The exact bytes and the credential of a code a caller presents (the live record, 确认入户):
    400 for text that is not a credential, 404 for one of another issuer. Whether this issuer
    signed exactly these bytes is the caller's lookup."""
    if not isinstance(code, str):
        raise ValidationFailed({"code": ("请提供安心码文本", "give the credential's text form")})
    try:
        raw = fmt.parse_text(code)
        presented = fmt.decode(raw)
    except MalformedCredential as exc:
        raise ValidationFailed({"code": (exc.message_zh, exc.message)}) from None
    if presented.claims.issuer_code != issuer_code:
        raise not_found("credential of this issuer", "本机构签发的安心码")
    return raw, presented


def id_check_character(first17: str) -> str:
    """GB 11643 / ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalise_id_number(value: Any, today: date | None = None) -> str:
    """The canonical ID number (upper-case X), or :class:`ValueError` with (zh, en) args."""
    if not isinstance(value, str):
        raise ValueError("身份证号必须是文本", "the ID number must be text")
    text = unicodedata.normalize("NFKC", value).strip().upper().replace(" ", "")
    if len(text) != 18:
        raise ValueError("身份证号应为 18 位", "an ID number has 18 characters")
    if not _ID_SHAPE.fullmatch(text):
        raise ValueError("身份证号格式不正确", "an ID number is 17 digits and a digit or X")
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise ValueError(
            "身份证号中的出生日期无效", "the birth date in the ID number is not a date"
        ) from None
    if born > (today or date.today()) or born.year < 1900:
        raise ValueError("身份证号中的出生日期不合理", "the birth date in the ID number is implausible")
    if id_check_character(text[:17]) != text[17]:
        raise ValueError("身份证号校验位错误（请核对）", "the ID number's check character is wrong (typo?)")
    return text


def normalise_phone(value: Any) -> str:
    if not isinstance(value, str | int):
        raise ValueError("手机号必须是文本", "the phone number must be text")
    text = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", str(value)))
    text = text.removeprefix("+86").removeprefix("0086")
    if not _MOBILE.fullmatch(text):
        raise ValueError(
            "手机号应为 11 位中国大陆手机号", "a mainland mobile number has 11 digits and starts 13–19"
        )
    return text


def normalise_credit_code(value: Any) -> str:
    """统一社会信用代码 (GB 32100-2015), check character verified."""
    if not isinstance(value, str):
        raise ValueError("统一社会信用代码必须是文本", "the credit code must be text")
    text = unicodedata.normalize("NFKC", value).strip().upper()
    if not _CREDIT_CODE.fullmatch(text):
        raise ValueError("统一社会信用代码应为 18 位", "a unified social credit code has 18 characters")
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(text[:17], _CREDIT_WEIGHTS, strict=True))
    if _CREDIT_CHARS[(31 - total % 31) % 31] != text[17]:
        raise ValueError("统一社会信用代码校验位错误", "the credit code's check character is wrong")
    return text


def credit_check_character(first17: str) -> str:
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def normalise_name(value: Any, *, limit: int = 32) -> str:
    if not isinstance(value, str):
        raise ValueError("姓名必须是文本", "the name must be text")
    text = unicodedata.normalize("NFC", "".join(value.split()))
    if len(text) < 2:
        raise ValueError("姓名至少两个字", "a name has at least two characters")
    if len(text) > limit:
        raise ValueError(f"姓名最多 {limit} 个字", f"a name has at most {limit} characters")
    if any(ch.isdigit() or (unicodedata.category(ch)[0] in "CPSZ" and ch not in "·•") for ch in text):
        raise ValueError("姓名只能包含文字", "a name holds letters only (and the middle dot ·)")
    return text


_SEPARATORS = re.compile(r"[、,，;；|/\s]+")


def normalise_org_name(value: Any) -> str:
    """An enterprise's registered name: letters, digits and the brackets names carry（分公司）."""
    if not isinstance(value, str):
        raise ValueError("企业名称必须是文本", "the name must be text")
    text = unicodedata.normalize("NFC", " ".join(value.split()))
    if not 2 <= len(text) <= 64:
        raise ValueError("企业名称应为 2 到 64 个字", "an enterprise name has 2 to 64 characters")
    if any(unicodedata.category(ch)[0] == "C" for ch in text) or re.search(r"\d{6,}", text):
        raise ValueError("企业名称含有不允许的字符", "the name holds characters that are not allowed")
    return text


def parse_categories(value: Any) -> int:
    items = [v for v in _SEPARATORS.split(value) if v] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ValueError("至少选择一个服务类别", "give at least one service category")
    try:
        return categories_to_bits(Category.parse(str(item)) for item in items)
    except InvalidClaims as exc:
        raise ValueError(exc.message_zh, exc.message) from None


def parse_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("日期格式应为 YYYY-MM-DD", "a date looks like YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip().replace("/", "-").replace(".", "-"))
    except ValueError:
        raise ValueError("日期格式应为 YYYY-MM-DD", "a date looks like YYYY-MM-DD") from None


def parse_star_level(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        level = int(value)
    except (TypeError, ValueError):
        level = 0
    if isinstance(value, bool) or not 1 <= level <= 5 or str(level) != str(value).strip():
        raise ValueError("星级应为 1 到 5 的整数", "the star level is a whole number from 1 to 5")
    return level


def parse_skills(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = [v for v in _SEPARATORS.split(value) if v] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and 0 < len(v) <= 32 for v in items):
        raise ValueError("技能应为文本列表（每项不超过 32 字）", "skills are a list of short texts")
    if len(items) > 20:
        raise ValueError("技能最多 20 项", "at most 20 skills")
    return [unicodedata.normalize("NFC", v.strip()) for v in items]


def parse_trainings(value: Any) -> list[tuple[str, date, str | None]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 50:
        raise ValueError("培训证书应为列表（最多 50 项）", "trainings are a list (at most 50)")
    out = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise ValueError("每个培训证书需要名称和发证日期", "each training needs a name and issued_on")
        issued = parse_date(item.get("issued_on"))
        if issued is None:
            raise ValueError("每个培训证书需要名称和发证日期", "each training needs a name and issued_on")
        institution = item.get("institution")
        out.append((item["name"].strip()[:128], issued, str(institution)[:128] if institution else None))
    return out


@dataclass(frozen=True)
class WorkerInput:
    """A validated worker registration (or the fields of an update that were given)."""

    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    categories: int | None = None
    skills: list[str] | None = None
    star_level: int | None = None
    health_valid_until: date | None = None
    insurance_valid_until: date | None = None
    trainings: list[tuple[str, date, str | None]] | None = None
    photo_url: str | None = None
    given: frozenset[str] = frozenset()


def _url(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"https?://\S{1,500}", value.strip()):
        raise ValueError("照片地址应为 http(s) 网址", "photo_url is an http(s) URL")
    return value.strip()


def parse_optional_id(value: Any) -> int | None:
    """An optional record id in a body (``enterprise_id``): a JSON integer the store can hold
    (ids are 32-bit: a larger one could name no row), not a bool or text."""
    if value is not None and (
        not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID
    ):
        raise ValueError(f"应为 0 到 {MAX_ID} 的整数", f"an integer from 0 to {MAX_ID}")
    return value


STATUS_REASON_MAX = 16  # the column credentials.revocation_reason


def status_reason(value: Any) -> str | None:
    """The optional reason of a suspension or reinstatement (kept in the audit entry)."""
    if value is not None and (not isinstance(value, str) or len(value) > STATUS_REASON_MAX):
        raise ValueError(f"原因最多 {STATUS_REASON_MAX} 个字符", f"at most {STATUS_REASON_MAX} characters")
    return value


def parse_card_uid(value: Any) -> bytes | None:
    """A card's UID as the API takes it: 4 to 10 bytes in hex, colons or spaces allowed."""
    if value is None:
        return None
    try:
        uid = bytes.fromhex(str(value).replace(":", "").replace(" ", ""))
    except ValueError:
        uid = b""
    if not 4 <= len(uid) <= 10:
        raise ValueError("卡号应为 4 到 10 字节的十六进制", "4 to 10 bytes in hex (an ISO 14443 UID)")
    return uid


def parse_holder_key(value: Any) -> bytes | None:
    """The worker's phone key (32 bytes, hex or base64url) for the credential's ``cnf`` claim."""
    if value is None:
        return None
    key = b""
    if isinstance(value, str):
        try:
            key = (
                bytes.fromhex(value)
                if len(value) == 64
                else base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            )
        except ValueError:
            key = b""
    if len(key) != 32:
        raise ValueError("应为 32 字节的 Ed25519 公钥", "a 32-byte Ed25519 public key, hex or base64url")
    return key


REVOKE_REASONS = ("left", "lost", "misconduct", "blacklisted")


REVOKE_REASON_MESSAGE = (
    "吊销原因应为 left（离职）、lost（遗失）、misconduct（违规）或 blacklisted（失信）",
    "reason is one of left, lost, misconduct, blacklisted",
)


def revoke_reason(value: Any) -> str:
    """Why a credential is revoked (``replaced`` is the issuer's own, never a caller's)."""
    if value not in REVOKE_REASONS:
        raise ValueError(*REVOKE_REASON_MESSAGE)
    return str(value)


REMOVAL_REASON_MESSAGE = ("必填：移出失信名单的理由", "required: why the person is removed")


def removal_reason(value: Any) -> str:
    """Why a blacklist entry is removed (kept, at most 500 characters)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(*REMOVAL_REASON_MESSAGE)
    return value.strip()[:500]


def _bounded_text(limit: int) -> tuple[Any, tuple[str, str]]:
    """A required text of at most ``limit`` characters (stripped), and its one message."""
    message = (f"必填，最多 {limit} 字", f"required, at most {limit} characters")

    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise ValueError(*message)
        return value.strip()

    return check, message


_text_500, _TEXT_500 = _bounded_text(500)
_text_256, _TEXT_256 = _bounded_text(256)


def check_field(name: str, rule: Any, value: Any) -> Any:
    """One field through its rule outside a model (a service's own argument): the rule's value,
    or :class:`ValidationFailed` naming the field."""
    try:
        return rule(value)
    except ValueError as exc:
        raise ValidationFailed({name: (str(exc.args[0]), str(exc.args[-1]))}) from None


# -- field types: a rule and what the document says of it ---------------------------------------
# The rule (PlainValidator) sees every value given, null too, so a type that may be absent says
# ``| None`` inside: an explicit null is the rule's to refuse, not pydantic's to let through.

_DATE_SCHEMA = {"type": "string", "format": "date"}
_STAR_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 5}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


IdNumber = Annotated[
    str | None,
    PlainValidator(normalise_id_number),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[1-8][0-9]{16}[0-9Xx]$",
            "description": "GB 11643 number (check character verified)",
        }
    ),
]
Phone = Annotated[
    str | None,
    PlainValidator(normalise_phone),
    WithJsonSchema({"type": "string", "pattern": "^1[3-9][0-9]{9}$", "description": "mainland mobile"}),
]
PersonName = Annotated[
    str | None,
    PlainValidator(normalise_name),
    WithJsonSchema({"type": "string", "minLength": 2, "maxLength": 32, "pattern": "^[^0-9]+$"}),
]
OrgName = Annotated[
    str,
    PlainValidator(normalise_org_name),
    WithJsonSchema({"type": "string", "minLength": 2, "maxLength": 64, "pattern": "\\S"}),
]
CreditCode = Annotated[
    str,
    PlainValidator(normalise_credit_code),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
            "description": "统一社会信用代码, check character verified",
        }
    ),
]
Categories = Annotated[
    int | None,
    PlainValidator(parse_categories),
    WithJsonSchema(
        {
            "type": "array",
            "minItems": 1,
            "items": {"enum": [*Category, *(c.zh for c in Category), "月嫂"]},
            "description": "slugs or Chinese labels: "
            + ", ".join(f"{c.value} {c.zh}" for c in Category)
            + " (月嫂 = maternity_care)",
        }
    ),
]
Skills = Annotated[
    list[str] | None,
    PlainValidator(parse_skills),
    WithJsonSchema(
        {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 32}, "maxItems": 20}
    ),
]
StarLevel = Annotated[int | None, PlainValidator(parse_star_level), WithJsonSchema(_nullable(_STAR_SCHEMA))]
OptionalDate = Annotated[date | None, PlainValidator(parse_date), WithJsonSchema(_nullable(_DATE_SCHEMA))]
Trainings = Annotated[
    list[tuple[str, date, str | None]] | None,
    PlainValidator(parse_trainings),
    WithJsonSchema(
        {
            "type": "array",
            "maxItems": 50,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "pattern": "\\S"},
                    "issued_on": _DATE_SCHEMA,
                    "institution": {"type": "string"},
                },
                "required": ["name", "issued_on"],
                "additionalProperties": False,
            },
        }
    ),
]
PhotoUrl = Annotated[
    str | None,
    PlainValidator(_url),
    WithJsonSchema(_nullable({"type": "string", "pattern": "^https?://\\S{1,500}$"})),
]
OptionalId = Annotated[
    int | None,
    PlainValidator(parse_optional_id),
    WithJsonSchema(_nullable({"type": "integer", "minimum": 0, "maximum": MAX_ID})),
]
StatusReason = Annotated[
    str | None,
    PlainValidator(status_reason),
    WithJsonSchema(_nullable({"type": "string", "maxLength": STATUS_REASON_MAX})),
]
RevokeReason = Annotated[str, PlainValidator(revoke_reason), WithJsonSchema({"enum": list(REVOKE_REASONS)})]
RemovalReason = Annotated[
    str, PlainValidator(removal_reason), WithJsonSchema({"type": "string", "pattern": "\\S"})
]
Text500 = Annotated[
    str, PlainValidator(_text_500), WithJsonSchema({"type": "string", "maxLength": 500, "pattern": "\\S"})
]
Text256 = Annotated[
    str, PlainValidator(_text_256), WithJsonSchema({"type": "string", "maxLength": 256, "pattern": "\\S"})
]
CardUid = Annotated[
    bytes | None,
    PlainValidator(parse_card_uid),
    WithJsonSchema(
        _nullable({"type": "string", "pattern": "^([0-9A-Fa-f]{2}){4,10}$", "description": "4–10 bytes, hex"})
    ),
]
HolderKey = Annotated[
    bytes | None,
    PlainValidator(parse_holder_key),
    WithJsonSchema(
        _nullable(
            {
                "type": "string",
                "description": "the worker's phone key (cnf, RFC 8747): 32-byte Ed25519, hex or base64url",
            }
        )
    ),
]


# -- request models ------------------------------------------------------------------------------


class Body(BaseModel):
    """A request body: closed (an unknown field is refused by name), validated field by field with
    the rules above; :meth:`parse` turns every failure into one :class:`ValidationFailed`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    #: The message for a required field left out, where it is not simply "必填 / required".
    missing: ClassVar[Mapping[str, tuple[str, str]]] = {}

    @classmethod
    def parse(cls, data: Any) -> Self:
        """The validated body, or :class:`ValidationFailed` naming every bad field at once."""
        if not isinstance(data, Mapping):
            raise ValidationFailed({"body": ("请求体应为 JSON 对象", "the body must be a JSON object")})
        try:
            return cls.model_validate(dict(data))
        except PydanticError as exc:
            raise ValidationFailed(field_errors(exc, cls.missing)) from None


def field_errors(exc: PydanticError, missing: Mapping[str, tuple[str, str]] | None = None) -> Errors:
    """Each failed field's message, Chinese and English: the rule's own ``ValueError(zh, en)``,
    or the two that pydantic itself finds (a required field missing, an unknown one given)."""
    errors: Errors = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        cause = (error.get("ctx") or {}).get("error")
        if error["type"] == "missing":
            errors[name] = (missing or {}).get(name, ("必填", "required"))
        elif error["type"] == "extra_forbidden":
            errors[name] = ("未知字段", "unknown field")
        elif isinstance(cause, ValueError) and len(cause.args) == 2:
            errors[name] = (str(cause.args[0]), str(cause.args[1]))
        else:
            errors[name] = ("格式不正确", error["msg"])
    return errors


class WorkerUpdate(Body):
    """The fields of a worker's archive an update may give (any subset)."""

    name: PersonName = None
    id_number: IdNumber = None
    phone: Phone = None
    categories: Categories = None
    skills: Skills = None
    star_level: StarLevel = None
    health_certificate_valid_until: OptionalDate = None
    insurance_valid_until: OptionalDate = None
    trainings: Trainings = None
    photo_url: PhotoUrl = None

    def to_input(self) -> WorkerInput:
        """What the workers service takes: only the fields given (``given``), renamed."""
        given = {
            name: getattr(self, name) for name in self.model_fields_set & WorkerUpdate.model_fields.keys()
        }
        values = {_RENAMED.get(name, name): value for name, value in given.items()}
        return WorkerInput(**values, given=frozenset(values))


class WorkerFields(WorkerUpdate):
    """A worker's registration: the API body (``web.schemas.WorkerRegistration`` adds
    ``enterprise_id``), a row of the bulk import, the console's form."""

    name: PersonName
    id_number: IdNumber
    phone: Phone
    categories: Categories


_RENAMED = {"health_certificate_valid_until": "health_valid_until"}


def worker_input(data: Any, *, partial: bool = False) -> WorkerInput:
    """Validate a worker body; raises :class:`ValidationFailed` listing every bad field at once."""
    return (WorkerUpdate if partial else WorkerFields).parse(data).to_input()


class EnterpriseFields(Body):
    """An enterprise's registration (the API's body, the issuer console's form)."""

    name: OrgName
    credit_code: CreditCode
    star_level: StarLevel = None


class BlacklistFields(Body):
    """A person put on the blacklist (失信名单), with the decision that puts them there."""

    missing = {"reason": _TEXT_500, "evidence_ref": _TEXT_256}

    id_number: IdNumber
    reason: Text500
    evidence_ref: Text256
