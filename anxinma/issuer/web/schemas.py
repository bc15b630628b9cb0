"""The bodies of the issuer's HTTP API, declared once (pydantic v2): the routes validate requests
with the request models (``Model.parse(body())``), the OpenAPI document (:mod:`.apidoc`) shows
all of them, and ``tests/issuer/test_openapi.py`` checks real answers against the answer models.

Request models whose fields a service also takes from the consoles or the bulk import live with
their rules in :mod:`anxinma.issuer.services.validation` (``WorkerFields``, ``EnterpriseFields``,
``BlacklistFields``); the API's own are here. Answer models are closed (``extra="forbid"``):
a key the code adds without declaring it fails the document test. The serialisers
(``web/serialize.py``) still build the dicts; these models say what those dicts are. The visits
and check-in bodies: :mod:`.schemas_visits`, :mod:`.schemas_checkins`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema
from werkzeug.datastructures import MultiDict

from anxinma.issuer.errors import ValidationFailed
from anxinma.issuer.services.auth import Role
from anxinma.issuer.services.district import valid_district
from anxinma.issuer.services.enrolments import DEFAULT_MINUTES, MAX_MINUTES
from anxinma.issuer.services.revocation import ALL_REASONS
from anxinma.issuer.services.validation import (
    REMOVAL_REASON_MESSAGE,
    REVOKE_REASON_MESSAGE,
    Body,
    CardUid,
    HolderKey,
    OptionalId,
    RemovalReason,
    RevokeReason,
    StatusReason,
    WorkerFields,
    field_errors,
)
from anxinma.issuer.store.models import MAX_ID

Score = Annotated[int, Field(ge=1, le=5)]


class Answer(BaseModel):
    """A JSON answer: closed, so an undeclared key fails the document test."""

    model_config = ConfigDict(extra="forbid")


# -- request bodies of the API's own -----------------------------------------------------------


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("必填", "required")
    return value


def _role(value: Any) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValueError("角色无效", "one of " + ", ".join(r.value for r in Role)) from None


def _label(value: Any) -> str | None:
    """A token's label: text (kept to 128 characters), or none; a list or a number is refused."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("应为文本", "text")
    return value[:128]


def _district(value: Any) -> str | None:
    """A regulator token's district: a 6-digit division code (区县, e.g. 330203), or none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not valid_district(value):
        raise ValueError("应为 6 位行政区划代码，如 330203", "a 6-digit division code, e.g. 330203")
    return value


Text = Annotated[str, PlainValidator(_text), WithJsonSchema({"type": "string"})]


class SessionCreate(Body):
    """Sign in with a console account."""

    username: Text
    password: Text


class WorkerRegistration(WorkerFields):
    """A worker's registration through the API."""

    enterprise_id: OptionalId = Field(
        default=None, description="issuer_admin only; an enterprise token implies its own"
    )


def _minutes(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_MINUTES:
        raise ValueError(f"有效分钟数应为 1 到 {MAX_MINUTES}", f"minutes is 1 to {MAX_MINUTES}")
    return value


class EnrolmentRequest(Body):
    """How long the one-time link stays valid (15 minutes unless given)."""

    minutes: Annotated[
        int,
        PlainValidator(_minutes),
        WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_MINUTES}),
    ] = DEFAULT_MINUTES


class Enrolment(Answer):
    url: str = Field(description="<base>/w/<one-time secret>: open it on the worker's phone (shown as a QR)")
    expires_at: datetime
    worker_id: int


class IssueRequest(Body):
    """Both optional: a card to bind, the worker's phone key."""

    card_uid: CardUid = None
    holder_key: HolderKey = None


class RevokeRequest(Body):
    missing = {"reason": REVOKE_REASON_MESSAGE}  # noqa: RUF012
    reason: RevokeReason


class StatusRequest(Body):
    reason: StatusReason = None


class BlacklistRemove(Body):
    missing = {"reason": REMOVAL_REASON_MESSAGE}  # noqa: RUF012
    reason: RemovalReason


class TokenCreate(Body):
    role: Annotated[
        Role,
        PlainValidator(_role),
        WithJsonSchema({"enum": [r.value for r in Role]}),
    ]
    enterprise_id: OptionalId = Field(
        default=None, description="enterprise_admin: required; card_operator: optional; others: absent"
    )
    label: Annotated[str | None, PlainValidator(_label), WithJsonSchema({"type": "string"})] = None
    district: Annotated[
        str | None,
        PlainValidator(_district),
        WithJsonSchema({"type": "string", "pattern": "^[1-9][0-9]{5}$"}),
    ] = Field(default=None, description="regulator only: the district (区县 division code) it is confined to")


class LiveRequest(Body):
    """Unknown fields are ignored here: other cities' verifiers call this public endpoint."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    missing = {"code": ("必填：安心码文本", "required: the credential's text form")}  # noqa: RUF012
    code: Annotated[
        Any,
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": 4096,
                "description": "any text form of the credential",
            }
        ),
    ]


# -- query parameters (the document lists each field as a parameter) -----------------------------


@dataclass(frozen=True)
class Between:
    """A whole number from ``low`` to ``high`` in a query string: the rule (digits only, in range)
    and its JSON Schema, as ``Annotated[int, Between(1, 100)]``."""

    low: int = 0
    high: int = MAX_ID  # the store's ids are 32-bit (store/models.py): beyond it names no row

    def check(self, value: Any) -> int:
        text = str(value)
        # ASCII digits only ("²".isdigit() is true, int("²") fails), and short before int().
        if (
            not (text.isascii() and text.isdigit())
            or len(text) > 20
            or not self.low <= int(text) <= self.high
        ):
            raise ValueError(
                f"应为 {self.low} 到 {self.high} 的整数", f"an integer from {self.low} to {self.high}"
            )
        return int(text)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}


def query_date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError("日期格式应为 YYYY-MM-DD", "a date looks like YYYY-MM-DD") from None


def _worker_status(value: Any) -> str:
    if value not in ("active", "left", "blacklisted"):
        raise ValueError("应为 active、left 或 blacklisted", "one of active, left, blacklisted")
    return str(value)


QueryId = Annotated[int | None, Between()]
QueryDate = Annotated[
    date | None, PlainValidator(query_date), WithJsonSchema({"type": "string", "format": "date"})
]


def _flag(value: Any) -> bool:
    """A query flag: true for 1/true/yes, false for 0/false/no (any case); anything else is 400
    (``?all=null`` is not read as false: a schema-breaking value is refused, not guessed)."""
    text = str(value).lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise ValueError("应为 true 或 false", "true or false")


Flag = Annotated[bool, PlainValidator(_flag), WithJsonSchema({"type": "boolean"})]


class Query(BaseModel):
    """Query parameters: :meth:`parse` reads them (absent or empty: the default), the document
    lists each field as a parameter. Unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> Self:
        given: dict[str, str] = {}
        for name in cls.model_fields:
            values = (
                args.getlist(name) if isinstance(args, MultiDict) else [args[name]] if name in args else []
            )
            if len(values) > 1:  # declared once: not silently read as its first value
                raise ValidationFailed({name: ("只能给一次", "give it once")})
            if values and values[0] != "":
                given[name] = values[0]
            elif values and cls.model_fields[name].annotation not in (str, str | None):
                # ?after= is no integer, ?resolved= no boolean: say so (only a text may be empty)
                raise ValidationFailed({name: ("不能为空", "must not be empty")})
        try:
            return cls.model_validate(given)
        except PydanticError as exc:
            raise ValidationFailed(field_errors(exc)) from None


class EnterpriseQuery(Query):
    after: Annotated[int, Between()] = 0
    per_page: Annotated[int, Between(1, 200)] = 50


class WorkerQuery(Query):
    enterprise_id: QueryId = None
    q: str | None = None
    status: Annotated[
        str | None,
        PlainValidator(_worker_status),
        WithJsonSchema({"enum": ["active", "left", "blacklisted"]}),
    ] = None
    page: Annotated[int, Between(1, 10000)] = 1
    after: QueryId = None
    per_page: Annotated[int, Between(1, 100)] = 20


class ImportQuery(Query):
    enterprise_id: QueryId = None
    issue: Flag = False


class ScanQuery(Query):
    since: QueryDate = None
    until: QueryDate = None


class QrQuery(Query):
    scale: Annotated[int, Between(1, 40)] = 8


class BlacklistQuery(Query):
    all: Flag = False
    after: Annotated[int, Between()] = 0


# -- answers ---------------------------------------------------------------------------------


class ZhEn(Answer):
    zh: str
    en: str


class Enterprise(Answer):
    id: int
    name: str
    credit_code: str
    credit_code_masked: str
    star_level: Score | None
    status: Literal["active", "blacklisted"]
    created_at: datetime


class EnterpriseList(Answer):
    items: list[Enterprise]
    next_after: int | None


class Attention(Answer):
    item: Literal["health_certificate", "insurance"]
    since: date | None


class TrainingRecord(Answer):
    name: str
    issued_on: date
    institution: str | None


class LiveCredential(Answer):
    serial: int
    status: str


class Worker(Answer):
    id: int
    enterprise_id: int
    name: str
    display_name: str
    id_number_masked: str
    phone_masked: str
    categories: list[str]
    categories_zh: list[str]
    skills: list[str]
    star_level: int | None
    health_certificate_valid_until: date | None
    insurance_valid_until: date | None
    attention: list[Attention]
    status: Literal["active", "left", "blacklisted"]
    photo_url: str | None
    created_at: datetime
    updated_at: datetime
    trainings: list[TrainingRecord] = []
    credential: LiveCredential | None = None


class WorkerList(Answer):
    items: list[Worker]
    page: int | None
    per_page: int
    has_more: bool
    next_after: int | None


class Revocation(Answer):
    reason: Annotated[str, WithJsonSchema({"enum": list(ALL_REASONS)})]
    at: datetime | None


class Credential(Answer):
    serial: int = Field(description="also the credential's status-list index")
    subject_kind: Literal["worker", "enterprise"]
    worker_id: int | None
    enterprise_id: int
    status: Literal["active", "suspended", "revoked"]
    attention: bool
    revocation: Revocation | None
    kid: str
    issued_at: datetime
    expires_at: datetime
    card_uid: str | None
    replaced_serial: int | None
    replaced_by: int | None
    display_name: str
    code: str = Field(description="the URL form (what the QR holds)")
    hex: str
    ndef_hex: str = Field(description="NDEF message: URI record, then external record anxinma.cn:c")
    qr_url: str
    size: int
    changed: bool = Field(
        default=False, description="status changes only: whether this call changed anything"
    )


class RowErrors(Answer):
    row: int
    fields: dict[str, ZhEn]


class ImportReport(Answer):
    rows: int
    created: int
    existing: int
    failed: int
    created_ids: list[int]
    existing_ids: list[int]
    credential_serials: list[int]
    errors: list[RowErrors]


class BlacklistEntry(Answer):
    id: int
    id_number_masked: str
    reason: str
    evidence_ref: str
    added_by: str
    added_at: datetime
    removed_at: datetime | None
    removed_by: str | None
    removal_reason: str | None
    revoked_serials: list[int] = []


class BlacklistList(Answer):
    items: list[BlacklistEntry]


class Session(Answer):
    token: str
    expires_at: datetime
    role: str
    enterprise_id: int | None


class Me(Answer):
    role: str
    enterprise_id: int | None
    kind: Literal["token", "session"]
    district: str | None = Field(
        default=None, description="a district regulator's district (only then present)"
    )


class Token(Answer):
    id: int
    token: str
    role: str
    enterprise_id: int | None
    district: str | None


class TokenRevoked(Answer):
    id: int
    revoked: bool


class ScanDay(Answer):
    day: date
    scans: int


class ScanDays(Answer):
    worker_id: int
    days: list[ScanDay]


class Live(Answer):
    token: str = Field(description="JWS typ anxinma-live+jwt (docs/interfaces.md)")


class Discovery(Answer):
    issuer_code: int
    name: str
    base_url: str
    trust_list: str
    jwks: str
    status_lists: list[str]
    status_freshness: str
    live_record: str
    openapi: str
    root_public_key: str


class TrustListStatus(BaseModel):
    """Open: what an operator's alert reads; the list's own fields only when one is served."""

    mode: Literal["url", "root_key"]
    source: str
    sequence: int | None = None
    issued_at: str | None = None
    expires_at: str | None = None
    age_seconds: int | None = None
    expires_in_seconds: int | None = None
    last_refresh: str | None
    last_error: str | None


class Jwks(BaseModel):
    keys: list[dict[str, Any]]
