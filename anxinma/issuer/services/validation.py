"""Field rules of the enterprise API, each failure a message in Chinese and English.

Identity numbers follow GB 11643-1999 (18 characters: 6-digit division, 8-digit birth date,
3-digit sequence, ISO 7064 MOD 11-2 check character); phone numbers are mainland mobiles.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from anxinma import credential as fmt
from anxinma.credential import Category, categories_to_bits
from anxinma.errors import InvalidClaims, MalformedCredential
from anxinma.issuer.errors import ValidationFailed, not_found

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


WORKER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "name": normalise_name,
    "id_number": normalise_id_number,
    "phone": normalise_phone,
    "categories": parse_categories,
    "skills": parse_skills,
    "star_level": parse_star_level,
    "health_certificate_valid_until": parse_date,
    "insurance_valid_until": parse_date,
    "trainings": parse_trainings,
    "photo_url": lambda v: None if v in (None, "") else _url(v),
}
_REQUIRED = ("name", "id_number", "phone", "categories")
_RENAMED = {"health_certificate_valid_until": "health_valid_until"}


def _url(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://\S{1,500}", value.strip()):
        raise ValueError("照片地址应为 http(s) 网址", "photo_url is an http(s) URL")
    return value.strip()


def worker_input(data: Any, *, partial: bool = False, allowed_extra: tuple[str, ...] = ()) -> WorkerInput:
    """Validate a worker body; raises :class:`ValidationFailed` listing every bad field at once."""
    if not isinstance(data, Mapping):
        raise ValidationFailed({"body": ("请求体应为 JSON 对象", "the body must be a JSON object")})
    errors: Errors = {}
    values: dict[str, Any] = {}
    for name in data:
        if name not in WORKER_FIELDS and name not in allowed_extra:
            errors[name] = ("未知字段", "unknown field")
    for name, parse in WORKER_FIELDS.items():
        if name not in data:
            if not partial and name in _REQUIRED:
                errors[name] = ("必填", "required")
            continue
        try:
            values[_RENAMED.get(name, name)] = parse(data[name])
        except ValueError as exc:
            zh, en = exc.args if len(exc.args) == 2 else (str(exc), str(exc))
            errors[name] = (zh, en)
    if errors:
        raise ValidationFailed(errors)
    return WorkerInput(**values, given=frozenset(values))
